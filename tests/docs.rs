//! Generated documentation: `man/` and `completions/` must match what the clap definition
//! renders today, and the clap definition itself must be consistent.
//!
//! `SECFILE_UPDATE_DOCS=1 cargo test --test integration generated_docs` rewrites them.
use clap::CommandFactory;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const REGENERATE: &str = "run: SECFILE_UPDATE_DOCS=1 cargo test --test integration generated_docs";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `man/*.1` on disk, relative to the crate root.
fn man_pages_on_disk(root: &Path) -> BTreeSet<String> {
    match std::fs::read_dir(root.join("man")) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".1"))
            .map(|n| format!("man/{n}"))
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

#[test]
fn generated_docs_are_current() {
    let root = root();
    let files = secfile::cli::docs::render_all();
    let generated: BTreeSet<String> = files.iter().map(|(p, _)| p.clone()).collect();
    let stale_pages: Vec<String> = man_pages_on_disk(&root).difference(&generated).cloned().collect();

    if std::env::var_os("SECFILE_UPDATE_DOCS").is_some_and(|v| v == "1") {
        for (rel, bytes) in &files {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create doc dir");
            if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {rel}: {e}"));
                eprintln!("wrote {rel}");
            }
        }
        for rel in &stale_pages {
            std::fs::remove_file(root.join(rel)).unwrap_or_else(|e| panic!("remove {rel}: {e}"));
            eprintln!("removed {rel}");
        }
        return;
    }

    let mut wrong = Vec::new();
    for (rel, bytes) in &files {
        match std::fs::read(root.join(rel)) {
            Ok(disk) if disk == *bytes => {}
            Ok(_) => wrong.push(format!("  {rel} (differs)")),
            Err(_) => wrong.push(format!("  {rel} (missing)")),
        }
    }
    wrong.extend(stale_pages.iter().map(|rel| format!("  {rel} (no longer generated)")));
    assert!(
        wrong.is_empty(),
        "generated docs are stale:\n{}\n{REGENERATE}",
        wrong.join("\n")
    );
}

#[test]
fn cli_definition_is_consistent() {
    secfile::cli::Cli::command().debug_assert();
}

#[test]
fn generated_docs_main_man_page_has_required_sections() {
    let files = secfile::cli::docs::render_all();
    let (_, page) = files
        .iter()
        .find(|(p, _)| p == "man/secfile.1")
        .expect("man/secfile.1 is generated");
    let page = String::from_utf8_lossy(page);
    for section in ["EXIT STATUS", "FILES", "ENVIRONMENT", "SECURITY"] {
        let header = if section.contains(' ') {
            format!(".SH \"{section}\"")
        } else {
            format!(".SH {section}")
        };
        assert!(page.contains(&header), "man/secfile.1 lacks the {section} section");
    }
    for shell in [
        "completions/secfile.bash",
        "completions/_secfile",
        "completions/secfile.fish",
    ] {
        assert!(files.iter().any(|(p, _)| p == shell), "{shell} is not generated");
    }
}

/// Every example of `--help` and the man pages runs, in the scenario's order.
#[test]
fn every_example_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("report.pdf"), b"%PDF-1.4 a report\n").unwrap();
    std::fs::create_dir(d.join("usb")).unwrap();
    std::fs::create_dir(d.join("scans")).unwrap();
    std::fs::write(d.join("scans/scan-001.pdf"), b"a scan").unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_secfile")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let query = |node: &str, args: &[&str]| -> serde_json::Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_secfile"))
            .arg("--home")
            .arg(d.join(node))
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    };
    for (i, e) in secfile::cli::examples::SCENARIO.iter().enumerate() {
        let mut env: Vec<(&str, String)> = Vec::new();
        if e.line.contains("$FILE") {
            let f = query("alice", &["file", "list", "--all"]);
            env.push(("FILE", f[0]["id"].as_str().expect("a file by now").to_string()));
        }
        if e.line.contains("$BUNDLE") {
            let o = query("hq", &["outbox"]);
            env.push(("BUNDLE", o[0]["bundle"].as_str().expect("a bundle by now").to_string()));
        }
        let out = std::process::Command::new("bash")
            .args(["-c", e.line])
            .current_dir(d)
            .env_clear()
            .env("PATH", &path)
            .env("SECFILE_HOME", d.join(e.node))
            .env("SECFILE_LOCK_TIMEOUT", "5")
            .envs(env)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "example {i} ({}) as {}: `{}` failed:\n{}{}",
            e.command,
            e.node,
            e.line,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            e.line.starts_with(&format!("secfile {}", e.command)) || e.command == "init" || e.command == "card",
            "example {i} is not an example of {}: {}",
            e.command,
            e.line
        );
    }
    // every command that runs has an example, shown in its --help and man page
    let cmd = secfile::cli::command();
    let mut leaves = Vec::new();
    fn walk(c: &clap::Command, path: String, out: &mut Vec<String>) {
        let subs: Vec<_> = c
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
            .collect();
        if subs.is_empty() && !path.is_empty() {
            out.push(path.clone());
        }
        for s in subs {
            let p = if path.is_empty() {
                s.get_name().to_string()
            } else {
                format!("{path} {}", s.get_name())
            };
            walk(s, p, out);
        }
    }
    walk(&cmd, String::new(), &mut leaves);
    for l in &leaves {
        assert!(
            secfile::cli::examples::of(l).next().is_some(),
            "no example for `secfile {l}`"
        );
        let page = std::fs::read_to_string(root().join(format!("man/secfile-{}.1", l.replace(' ', "-")))).unwrap();
        assert!(page.contains(".SH EXAMPLES"), "man page of {l} has no EXAMPLES");
    }
}

/// Every error or problem kind the code can report is in the README's list.
#[test]
fn every_error_kind_is_documented() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut missing = BTreeSet::new();
    for e in walkdir::WalkDir::new(root().join("src"))
        .into_iter()
        .filter_map(Result::ok)
    {
        if e.path().extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let src = std::fs::read_to_string(e.path()).unwrap();
        // `rejected(INPUT, "kind"`, `invalid("kind"`, `Status::Invalid("kind"`, problem kinds
        for marker in ["rejected(", "invalid(\"", "Invalid(\"", "report.push(", "problem("] {
            let mut rest = src.as_str();
            while let Some(i) = rest.find(marker) {
                rest = &rest[i + marker.len()..];
                let window: String = rest.chars().take(160).collect();
                let Some(q) = window.find('"') else { continue };
                let after = &window[q + 1..];
                let Some(end) = after.find('"') else { continue };
                let word = &after[..end];
                let is_kind = !word.is_empty()
                    && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                    && (marker.ends_with('"')
                        || (window[..q].contains(',') && !window[..q].contains(';') && !window[..q].contains(')')));
                if is_kind && !readme.contains(&format!("`{word}`")) {
                    missing.insert(word.to_string());
                }
            }
        }
    }
    assert!(missing.is_empty(), "kinds not in README's list: {missing:?}");
}
