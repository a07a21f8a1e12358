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
