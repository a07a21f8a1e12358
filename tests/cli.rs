//! End-to-end tests of every command through the real binary (assert_cmd): one or two per
//! command, real keys and real crypto, each checking what DESIGN.md §3 promises.
use crate::common::{self, Net, at, json, ok, ok_json, output, run, s, secfile, snapshot};
use sha2::{Digest, Sha256};
use std::path::Path;

fn is_node_id(v: &serde_json::Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

fn grouped(fp: &str) -> String {
    fp.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Blocks of one chain in `log --chain NAME --json`.
fn chain_log(home: &Path, name: &str) -> Vec<serde_json::Value> {
    ok_json(home, &["log", "--chain", name]).as_array().unwrap().clone()
}

#[test]
fn init_master_then_member_pins_and_prints_master_fingerprint() {
    let d = tempfile::tempdir().unwrap();
    let hq = d.path().join("hq");
    let j = ok_json(&hq, &["init", "--name", "hq", "--role", "master"]);
    assert!(is_node_id(&j["id"]), "init --json has id: {j}");
    assert_eq!(j["role"], "master");
    let st = ok_json(&hq, &["status"]);
    assert_eq!(st["id"], j["id"], "status --json has the same id");
    let mfp = st["fingerprint"].as_str().unwrap().to_string();
    let card = d.path().join("hq.card");
    ok(&hq, &["card", "--out", s(&card)]);

    // text output prints the master's fingerprint for the out-of-band check
    let alice = d.path().join("alice");
    let out = ok(
        &alice,
        &["init", "--name", "alice", "--role", "member", "--master", s(&card)],
    );
    assert!(
        out.contains(&grouped(&mfp)),
        "member init prints the master fingerprint:\n{out}"
    );
    assert!(out.contains(j["id"].as_str().unwrap()), "and the master id:\n{out}");

    // --json, with the card on stdin
    let bob = d.path().join("bob");
    let mut c = at(
        &bob,
        &["--json", "init", "--name", "bob", "--role", "member", "--master", "-"],
    );
    c.write_stdin(std::fs::read(&card).unwrap());
    let (code, out, err) = output(c);
    assert_eq!(code, 0, "{err}");
    let b = json(&out);
    assert!(is_node_id(&b["id"]));
    assert_eq!(b["master"]["fingerprint"], mfp.as_str());
    assert_eq!(b["master"]["id"], j["id"]);
    assert_ne!(b["id"], j["id"]);

    #[cfg(unix)]
    for h in [&hq, &alice, &bob] {
        for k in ["age.key", "minisign.key"] {
            let p = h.join("keys").join(k);
            assert_eq!(mode(&p), 0o600, "{} is mode 0600", p.display());
        }
    }
    for h in [&hq, &alice, &bob] {
        ok(h, &["verify"]);
    }
}

#[test]
fn card_goes_to_file_stdout_and_dash() {
    let d = tempfile::tempdir().unwrap();
    let h = d.path().join("hq");
    ok(&h, &["init", "--name", "hq", "--role", "master"]);
    let f = d.path().join("hq.card");
    let (code, out, err) = run(&h, &["card", "--out", s(&f)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "card --out F prints nothing on stdout");
    assert!(err.contains(s(&f)), "status names the file: {err}");
    let file = std::fs::read(&f).unwrap();
    assert!(file.starts_with(b"secfile-card 1 "));
    assert_eq!(ok(&h, &["card"]).as_bytes(), file, "stdout by default");
    assert_eq!(ok(&h, &["card", "--out", "-"]).as_bytes(), file, "- is stdout");
    let j = ok_json(&h, &["card"]);
    assert_eq!(j["card"].as_str().unwrap().as_bytes(), file);
    assert_eq!(j["role"], "master");
    // the card checks as a card
    let v = ok_json(&h, &["verify", s(&f)]);
    assert_eq!(v["ok"], true);
}

#[test]
fn roster_admit_list_and_remove_then_export_skips_the_removed() {
    let net = Net::new(&["alice", "bob"]);
    let hq = net.home("hq");
    let list = ok_json(&hq, &["roster", "list"]);
    let rows = list.as_array().unwrap();
    let mut names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["alice", "bob", "hq"]);
    assert!(rows.iter().all(|r| r["status"] == "active" && is_node_id(&r["id"])));
    // the member derives the same roster from the master's chain it holds
    let mut from_alice: Vec<String> = ok_json(&net.home("alice"), &["roster", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let mut from_hq: Vec<String> = rows.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
    from_alice.sort();
    from_hq.sort();
    assert_eq!(from_alice, from_hq);
    assert!(ok(&hq, &["roster", "list"]).contains("alice"));

    let bob = net.id("bob");
    let alice = net.id("alice");
    let r = ok_json(&hq, &["roster", "remove", "bob"]);
    assert_eq!(r["id"], bob.as_str());
    let list = ok_json(&hq, &["roster", "list"]);
    let b = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "bob")
        .unwrap()
        .clone();
    assert_eq!(b["status"], "removed");
    // removed: no longer a recipient of a roster-wide export, and refused with --to
    let ex = ok_json(&hq, &["sync", "export"]);
    assert_eq!(ex["recipients"], serde_json::json!([alice]));
    assert!(hq.join("outbox").join(&alice).is_dir());
    assert!(
        !hq.join("outbox").join(&bob).exists(),
        "nothing in the removed member's outbox"
    );
    let (code, _, err) = run(&hq, &["sync", "export", "--to", "bob", "--out", "-"]);
    assert_eq!(code, 1, "not authorised: {err}");
}

#[test]
fn append_records_fields_and_attachment_by_sha256_only() {
    let net = Net::new(&["alice"]);
    let h = net.home("alice");
    let marker = b"ATTACHMENT-CONTENT-MUST-STAY-LOCAL";
    let mut content: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
    content.extend_from_slice(marker);
    let f = net.path("report.bin");
    std::fs::write(&f, &content).unwrap();
    let want = sha256_hex(&content);

    let j = ok_json(
        &h,
        &[
            "append",
            "--kind",
            "note",
            "--field",
            "a=1",
            "--field",
            "b=two words",
            "--attach",
            s(&f),
        ],
    );
    assert_eq!(j["kind"], "note");
    assert_eq!(j["height"], 1);
    let log = chain_log(&h, "alice");
    let last = log.last().unwrap();
    assert_eq!(last["hash"], j["hash"]);
    assert_eq!(last["kind"], "note");
    assert_eq!(last["body"]["fields"], serde_json::json!({"a": "1", "b": "two words"}));
    let att = &last["body"]["attachments"][0];
    assert_eq!(att["sha256"], want.as_str(), "independent SHA-256 of the attachment");
    assert_eq!(att["size"], content.len());
    assert_eq!(att["name"], "report.bin");
    // by hash only: the content is nowhere in the home
    for (p, bytes) in snapshot(&h) {
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "attachment content leaked into {}",
            p.display()
        );
    }
    // the block's hash is the SHA-256 of its file's exact bytes
    let file = h.join("chains").join(net.id("alice")).join("0000000001.yaml");
    assert_eq!(sha256_hex(&std::fs::read(file).unwrap()), j["hash"].as_str().unwrap());
    ok(&h, &["verify"]);
}

#[test]
fn sync_export_to_stdout_and_import_from_stdin_and_armor() {
    let net = Net::new(&["alice", "bob"]);
    ok(&net.home("hq"), &["append", "--kind", "note", "--field", "n=1"]);
    // --out - writes the binary bundle on stdout; sync import - reads it from stdin
    let out = at(&net.home("hq"), &["sync", "export", "--to", "alice", "--out", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.starts_with(b"secfile-bundle 1 "));
    let mut c = at(&net.home("alice"), &["--json", "sync", "import", "-"]);
    c.write_stdin(out.stdout);
    let (code, o, err) = output(c);
    assert_eq!(code, 0, "{err}");
    let j = json(&o);
    assert_eq!(j["added"], 1, "the new hq block: {j}");
    assert_eq!(j["kind"], "sync");
    // --armor: ASCII for an email body, accepted from a file and from stdin
    let a = net.path("to-bob.asc");
    ok(
        &net.home("hq"),
        &["sync", "export", "--to", "bob", "--armor", "--out", s(&a)],
    );
    let text = std::fs::read_to_string(&a).unwrap();
    assert!(text.starts_with("-----BEGIN SECFILE BUNDLE-----\n"));
    assert!(text.trim_end().ends_with("-----END SECFILE BUNDLE-----"));
    assert!(text.lines().all(|l| l.len() <= 64 && l.is_ascii()));
    let mut c = at(&net.home("bob"), &["sync", "import", "-"]);
    c.write_stdin(text.replace('\n', "\r\n"));
    let (code, _, err) = output(c);
    assert_eq!(code, 0, "CRLF armor from stdin: {err}");
    let a2 = net.path("to-alice.asc");
    ok(
        &net.home("hq"),
        &["sync", "export", "--to", "alice", "--all", "--armor", "--out", s(&a2)],
    );
    let j = ok_json(&net.home("alice"), &["sync", "import", s(&a2)]);
    assert_eq!(j["changed"], false);
    for n in ["hq", "alice", "bob"] {
        ok(&net.home(n), &["verify"]);
    }
}

#[test]
fn sync_export_without_to_goes_to_every_member_outbox() {
    let net = Net::new(&["alice", "bob"]);
    let hq = net.home("hq");
    ok(&hq, &["append", "--kind", "note"]);
    let j = ok_json(&hq, &["sync", "export"]);
    let mut want = vec![net.id("alice"), net.id("bob")];
    want.sort();
    assert_eq!(j["recipients"], serde_json::json!(want));
    let outs = j["out"].as_array().unwrap();
    assert_eq!(outs.len(), 2);
    for (name, id) in [("alice", net.id("alice")), ("bob", net.id("bob"))] {
        let dir = hq.join("outbox").join(&id);
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "bundle"))
            .collect();
        assert_eq!(files.len(), 1, "one bundle in {}", dir.display());
        assert!(files[0].with_extension("yaml").exists(), "with what it is beside it");
        let r = ok_json(&net.home(name), &["import", s(&files[0])]);
        assert_eq!(r["added"], 1, "{name}: {r}");
    }
    // with --out: one file, still encrypted to both
    let b = net.path("both.bundle");
    let j = ok_json(&hq, &["sync", "export", "--out", s(&b)]);
    assert_eq!(j["recipients"].as_array().unwrap().len(), 2);
    for name in ["alice", "bob"] {
        let r = ok_json(&net.home(name), &["sync", "import", s(&b)]);
        assert_eq!(r["changed"], false);
    }
}

#[test]
fn replayed_bundle_says_nothing_new_and_leaves_home_identical() {
    let net = Net::new(&["alice"]);
    let old = net.export("hq", "alice", "old.bundle");
    ok(&net.home("hq"), &["append", "--kind", "note"]);
    let new = net.export("hq", "alice", "new.bundle");
    ok(&net.home("alice"), &["sync", "import", s(&new)]);
    let before = snapshot(&net.home("alice"));
    for b in [&new, &old] {
        let (code, out, err) = run(&net.home("alice"), &["sync", "import", s(b)]);
        assert_eq!(code, 0, "{err}");
        assert!(out.is_empty());
        assert!(err.contains("nothing new"), "{err}");
        assert!(
            snapshot(&net.home("alice")) == before,
            "replaying {} changed the home",
            b.display()
        );
    }
    let j = ok_json(&net.home("alice"), &["import", s(&old)]);
    assert_eq!(j["changed"], false);
    assert_eq!(j["added"], 0);
}

#[test]
fn second_export_to_a_peer_is_incremental() {
    let net = Net::new(&["alice"]);
    let hq = net.home("hq");
    let full = ok_json(
        &hq,
        &["sync", "export", "--to", "alice", "--out", s(&net.path("1.bundle"))],
    );
    // alice answers, so hq learns alice's frontier
    net.sync("alice", "hq");
    ok(&hq, &["append", "--kind", "note"]);
    let inc = ok_json(
        &hq,
        &["sync", "export", "--to", "alice", "--out", s(&net.path("2.bundle"))],
    );
    assert_eq!(inc["blocks"], 1, "only the new block: {inc}");
    assert!(inc["blocks"].as_u64() < full["blocks"].as_u64());
    let all = ok_json(
        &hq,
        &[
            "sync",
            "export",
            "--to",
            "alice",
            "--all",
            "--out",
            s(&net.path("3.bundle")),
        ],
    );
    assert_eq!(all["blocks"].as_u64().unwrap(), full["blocks"].as_u64().unwrap() + 1);
    let r = ok_json(&net.home("alice"), &["sync", "import", s(&net.path("2.bundle"))]);
    assert_eq!(r["added"], 1);
}

#[test]
fn import_takes_several_bundles() {
    let net = Net::new(&["alice"]);
    ok(&net.home("hq"), &["append", "--kind", "note"]);
    let b1 = net.export("hq", "alice", "b1.bundle");
    ok(&net.home("hq"), &["append", "--kind", "note"]);
    let b2 = net.export("hq", "alice", "b2.bundle");
    let j = ok_json(&net.home("alice"), &["import", s(&b1), s(&b2)]);
    let a = j.as_array().expect("an array for several bundles");
    assert_eq!(a.len(), 2);
    assert_eq!(a[0]["added"], 1);
    assert_eq!(a[1]["added"], 1);
    let (code, _, _) = run(&net.home("alice"), &["import"]);
    assert_eq!(code, 2, "import needs a bundle");
    // each input is judged on its own: the good one is imported, the bad one reported
    ok(&net.home("hq"), &["append", "--kind", "note"]);
    let b3 = net.export("hq", "alice", "b3.bundle");
    let junk = net.path("junk.bundle");
    std::fs::write(&junk, b"not a bundle").unwrap();
    let (code, out, err) = run(&net.home("alice"), &["--json", "import", s(&junk), s(&b3)]);
    assert_eq!(code, 1, "one was rejected: {err}");
    let a = json(&out);
    let a = a.as_array().unwrap();
    assert_eq!(
        (a[0]["ok"].clone(), a[0]["kind"].clone()),
        (false.into(), "malformed".into()),
        "{out}"
    );
    assert_eq!(
        (a[1]["ok"].clone(), a[1]["added"].clone()),
        (true.into(), 1.into()),
        "{out}"
    );
    assert!(err.contains("junk.bundle"), "{err}");
}

#[test]
fn log_shows_one_chain_all_chains_and_global_order() {
    let net = Net::new(&["alice"]);
    ok(&net.home("alice"), &["append", "--kind", "note", "--field", "x=1"]);
    net.sync("alice", "hq");
    let hq = net.home("hq");
    let alice = net.id("alice");
    let one = chain_log(&hq, "alice");
    assert_eq!(one.len(), 2);
    assert!(one.iter().all(|b| b["chain"] == alice.as_str()));
    assert_eq!(chain_log(&hq, &alice).len(), 2, "--chain takes an id too");
    let every = ok_json(&hq, &["log"]);
    assert_eq!(every.as_array().unwrap().len(), 4, "hq 0,1 + alice 0,1");
    let global = ok_json(&hq, &["log", "--global"]);
    let g = global.as_array().unwrap();
    assert!(g.iter().all(|b| b["height"] != 0), "genesis blocks are not ordered");
    let keys: Vec<(u64, String)> = g
        .iter()
        .map(|b| (b["clock"].as_u64().unwrap(), b["chain"].as_str().unwrap().to_string()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ordered by (clock, chain id)");
    assert_eq!(g.last().unwrap()["kind"], "note");
    let text = ok(&hq, &["log", "--global"]);
    assert!(text.contains("alice:1") && text.contains("note"), "{text}");
    let (code, _, err) = run(&hq, &["log", "--chain", "nobody"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn status_and_verify_report_in_json() {
    let net = Net::new(&["alice"]);
    let h = net.home("alice");
    let st = ok_json(&h, &["status"]);
    assert!(is_node_id(&st["id"]));
    assert_eq!(st["admitted"], true);
    assert_eq!(st["role"], "member");
    let v = ok_json(&h, &["verify"]);
    assert_eq!(v["ok"], true);
    assert_eq!(v["problems"], serde_json::json!([]));
    // a tampered block: verify exits 1 and names the file
    let p = h.join("chains").join(net.id("hq")).join("0000000001.yaml");
    let b = std::fs::read(&p).unwrap();
    std::fs::write(&p, common::flipped(&b, b.len() / 2, 0x01)).unwrap();
    let (code, out, _) = run(&h, &["--json", "verify"]);
    assert_eq!(code, 1);
    let v = json(&out);
    assert_eq!(v["ok"], false);
    let probs = v["problems"].as_array().unwrap();
    assert!(!probs.is_empty());
    assert!(
        probs
            .iter()
            .any(|p| p["input"].as_str().unwrap().contains("0000000001.yaml")),
        "{v}"
    );
}

#[test]
fn completions_for_bash_zsh_fish() {
    for sh in ["bash", "zsh", "fish"] {
        let out = secfile().args(["completions", sh]).output().unwrap();
        assert!(out.status.success(), "{sh}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("secfile"), "{sh}");
        assert!(text.contains("COMPLETE"), "{sh}: the script calls secfile back: {text}");
    }
    let (code, _, err) = output({
        let mut c = secfile();
        c.args(["completions", "tcsh"]);
        c
    });
    assert_eq!(code, 2);
    common::assert_one_error_line(&err, &["tcsh"]);
}

#[test]
fn home_from_secfile_home_then_xdg_data_home_then_home() {
    let d = tempfile::tempdir().unwrap();
    let h = d.path().join("by-env");
    let (code, out, err) = output({
        let mut c = secfile();
        c.env("SECFILE_HOME", &h)
            .args(["--json", "init", "--name", "n1", "--role", "master"]);
        c
    });
    assert_eq!(code, 0, "{err}");
    let id = json(&out)["id"].clone();
    assert!(h.join("node.yaml").is_file());
    assert_eq!(ok_json(&h, &["status"])["id"], id);

    let xdg = d.path().join("xdg");
    let mut c = secfile();
    c.env("XDG_DATA_HOME", &xdg)
        .args(["init", "--name", "n2", "--role", "master"]);
    assert_eq!(output(c).0, 0);
    assert!(
        xdg.join("secfile/node.yaml").is_file(),
        "default home is $XDG_DATA_HOME/secfile"
    );
    let mut c = secfile();
    c.env("XDG_DATA_HOME", &xdg).args(["--json", "status"]);
    let (code, out, _) = output(c);
    assert_eq!(code, 0);
    assert_eq!(json(&out)["name"], "n2");
    // --home wins over SECFILE_HOME
    let mut c = secfile();
    c.env("SECFILE_HOME", &h)
        .args(["--home", s(&xdg.join("secfile")), "--json", "status"]);
    assert_eq!(json(&output(c).1)["name"], "n2");

    let home = d.path().join("userhome");
    let mut c = secfile();
    c.env("HOME", &home).args(["init", "--name", "n3", "--role", "master"]);
    assert_eq!(output(c).0, 0);
    assert!(home.join(".local/share/secfile/node.yaml").is_file());
}

#[test]
fn quiet_keeps_stderr_empty() {
    let net = Net::new(&["alice"]);
    let hq = net.home("hq");
    let f = net.path("c.card");
    let (_, _, loud) = run(&hq, &["card", "--out", s(&f)]);
    assert!(!loud.is_empty());
    let (code, out, err) = run(&hq, &["-q", "card", "--out", s(&f)]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let b = net.path("q.bundle");
    let (code, _, err) = run(&hq, &["-q", "sync", "export", "--to", "alice", "--out", s(&b)]);
    assert_eq!((code, err.as_str()), (0, ""));
    let (code, _, err) = run(&net.home("alice"), &["--quiet", "sync", "import", s(&b)]);
    assert_eq!((code, err.as_str()), (0, ""));
    // errors still show
    let (code, _, err) = run(&net.home("alice"), &["-q", "sync", "import", s(&net.path("nope"))]);
    assert_eq!(code, 3);
    common::assert_one_error_line(&err, &["nope"]);
}

#[test]
fn passphrase_file_protects_keys_and_is_never_prompted_for() {
    let d = tempfile::tempdir().unwrap();
    let h = d.path().join("p");
    let pw = d.path().join("pw");
    let bad = d.path().join("bad");
    std::fs::write(&pw, "correct horse\n").unwrap();
    std::fs::write(&bad, "wrong horse\n").unwrap();
    let cmd = |args: &[&str]| {
        let mut c = at(&h, args);
        c.env("SECFILE_SCRYPT_LOG_N", "10");
        c
    };
    let (code, _, err) = output(cmd(&[
        "--passphrase-file",
        s(&pw),
        "init",
        "--name",
        "p",
        "--role",
        "master",
    ]));
    assert_eq!(code, 0, "{err}");
    let key = std::fs::read_to_string(h.join("keys/age.key")).unwrap();
    assert!(key.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"), "{key}");
    assert!(!key.contains("AGE-SECRET-KEY"));
    let mkey = std::fs::read_to_string(h.join("keys/minisign.key")).unwrap();
    assert!(!mkey.is_empty());
    #[cfg(unix)]
    for k in ["age.key", "minisign.key"] {
        assert_eq!(mode(&h.join("keys").join(k)), 0o600);
    }
    let (code, _, err) = output(cmd(&["--passphrase-file", s(&pw), "append", "--kind", "note"]));
    assert_eq!(code, 0, "{err}");
    let before = snapshot(&h);
    // stdin null (not a terminal): never a prompt, a usage error at once
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_secfile"))
        .env_clear()
        .env("SECFILE_TIME", "2026-11-23T12:00:00Z")
        .arg("--home")
        .arg(&h)
        .args(["append", "--kind", "note"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let (code, err) = (out.status.code(), String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        code,
        Some(2),
        "no passphrase and no terminal: a usage error, no prompt: {err}"
    );
    common::assert_one_error_line(&err, &["passphrase"]);
    let (code, _, err) = output(cmd(&["--passphrase-file", s(&bad), "append", "--kind", "note"]));
    assert_eq!(code, 1, "{err}");
    common::assert_one_error_line(&err, &["age.key", "wrong passphrase"]);
    assert!(snapshot(&h) == before);
    // the environment variable works too; verify needs no key
    let mut c = cmd(&["append", "--kind", "note"]);
    c.env("SECFILE_PASSPHRASE_FILE", &pw);
    assert_eq!(output(c).0, 0);
    assert_eq!(output(cmd(&["verify"])).0, 0);
}

#[test]
fn two_concurrent_appenders_both_land_in_order() {
    let d = tempfile::tempdir().unwrap();
    let h = d.path().join("c");
    ok(&h, &["init", "--name", "c", "--role", "master"]);
    let spawn = |who: &'static str| {
        let h = h.clone();
        std::thread::spawn(move || {
            for i in 0..8 {
                let st = std::process::Command::new(env!("CARGO_BIN_EXE_secfile"))
                    .env_clear()
                    .env("SECFILE_LOCK_TIMEOUT", "30")
                    .env("SECFILE_TIME", "2026-11-23T12:00:00Z")
                    .arg("--home")
                    .arg(&h)
                    .args(["-q", "append", "--kind", "note", "--field"])
                    .arg(format!("who={who}"))
                    .arg("--field")
                    .arg(format!("i={i}"))
                    .stdout(std::process::Stdio::null())
                    .status()
                    .unwrap();
                assert!(st.success(), "{who} append {i}");
            }
        })
    };
    let (a, b) = (spawn("a"), spawn("b"));
    a.join().unwrap();
    b.join().unwrap();
    let log = chain_log(&h, "c");
    assert_eq!(log.len(), 17, "genesis + 16 appends");
    for (i, blk) in log.iter().enumerate() {
        assert_eq!(blk["height"], i, "contiguous heights");
        assert_eq!(blk["clock"], i, "clock = 1 + predecessor's");
        if i > 0 {
            assert_eq!(blk["prev"], log[i - 1]["hash"], "prev links");
        }
    }
    for who in ["a", "b"] {
        let is: Vec<String> = log
            .iter()
            .filter(|b| b["body"]["fields"]["who"] == who)
            .map(|b| b["body"]["fields"]["i"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            is,
            (0..8).map(|i| i.to_string()).collect::<Vec<_>>(),
            "{who}'s appends in order"
        );
    }
    let v = ok_json(&h, &["verify"]);
    assert_eq!(v["ok"], true, "{v}");
}

#[test]
fn busy_home_exits_4_and_is_unchanged() {
    let net = Net::new(&["alice"]);
    let h = net.home("alice");
    let before = snapshot(&h);
    let lock = std::fs::File::open(h.join("lock")).expect("the home has a lock file");
    lock.lock().unwrap();
    let mut c = at(&h, &["append", "--kind", "note"]);
    c.env("SECFILE_LOCK_TIMEOUT", "0.2");
    let t = std::time::Instant::now();
    let (code, _, err) = output(c);
    assert_eq!(code, 4, "{err}");
    assert!(t.elapsed() < std::time::Duration::from_secs(5), "a bounded wait");
    common::assert_one_error_line(&err, &[s(&h), "busy"]);
    assert!(err.lines().any(|l| l.starts_with("hint: ")), "says to retry: {err}");
    assert!(snapshot(&h) == before);
    drop(lock);
    ok(&h, &["append", "--kind", "note"]);
}

#[test]
fn inspect_shows_the_header_to_anyone_and_the_contents_to_its_recipient() {
    let net = Net::new(&["alice", "bob"]);
    ok(&net.home("hq"), &["append", "--kind", "note", "--field", "x=1"]);
    let b = net.export("hq", "alice", "for-alice.bundle");
    let (alice, bob) = (net.home("alice"), net.home("bob"));
    let before = snapshot(&alice);
    let j = ok_json(&alice, &["inspect", s(&b)]);
    assert_eq!(j["header"]["kind"], "sync");
    assert_eq!(j["header"]["sender"], net.id("hq").as_str());
    assert_eq!(j["sender_name"], "hq");
    assert_eq!(j["signature"], "good");
    assert_eq!(j["addressed"], true);
    let blocks = j["contents"]["blocks"].as_array().unwrap();
    assert!(blocks.iter().any(|b| b["kind"] == "note" && b["held"] == false), "{j}");
    assert!(blocks.iter().any(|b| b["held"] == true), "{j}");
    let text = ok(&alice, &["inspect", s(&b)]);
    assert!(text.contains("signature good") && text.contains("new here"), "{text}");
    assert!(snapshot(&alice) == before, "inspect writes nothing");
    // another node reads the header only
    let j = ok_json(&bob, &["inspect", s(&b)]);
    assert_eq!(j["addressed"], false);
    assert!(j["contents"].is_null());
    // with no home at all: the header
    let mut c = secfile();
    c.arg("--json")
        .arg("--home")
        .arg(net.path("nowhere"))
        .arg("inspect")
        .arg(&b);
    let (code, out, err) = output(c);
    assert_eq!(code, 0, "{err}");
    let want_id = ok_json(&alice, &["inspect", s(&b)])["header"]["id"].clone();
    assert!(want_id.as_str().is_some_and(|i| i.len() == 32), "{want_id}");
    assert_eq!(json(&out)["header"]["id"], want_id, "the same header without a home");
    assert!(json(&out)["signature"].as_str().unwrap().contains("no home"));
    // a damaged bundle is refused as import refuses it
    let mut bytes = std::fs::read(&b).unwrap();
    bytes.truncate(10);
    std::fs::write(net.path("bad.bundle"), &bytes).unwrap();
    assert_eq!(run(&alice, &["inspect", s(&net.path("bad.bundle"))]).0, 1);
}

#[test]
fn import_dry_run_reports_what_import_would_do_and_writes_nothing() {
    let net = Net::new(&["alice"]);
    ok(&net.home("hq"), &["append", "--kind", "note"]);
    let b = net.export("hq", "alice", "b.bundle");
    let alice = net.home("alice");
    let before = snapshot(&alice);
    let j = ok_json(&alice, &["import", "--dry-run", s(&b)]);
    assert_eq!(j["dry_run"], true);
    assert_eq!(j["added"], 1, "{j}");
    assert!(snapshot(&alice) == before, "a dry run writes nothing");
    let j = ok_json(&alice, &["import", s(&b)]);
    assert_eq!(j["added"], 1, "the real import does what the dry run said");
    // a bad input in a dry run is refused with the same exit code
    std::fs::write(net.path("junk.bundle"), b"junk").unwrap();
    assert_eq!(run(&alice, &["import", "--dry-run", s(&net.path("junk.bundle"))]).0, 1);
}

#[test]
fn usage_errors_print_a_json_document_under_json() {
    let d = tempfile::tempdir().unwrap();
    let (code, out, err) = run(d.path(), &["--json", "init", "--name", "x"]);
    assert_eq!(code, 2, "{err}");
    let j = json(&out);
    assert_eq!(j["ok"], false);
    assert_eq!(j["error"]["kind"], "usage");
    assert_eq!(j["error"]["exit"], 2);
    assert!(j["error"]["message"].as_str().unwrap().contains("--role"), "{j}");
    let (code, out, _) = run(d.path(), &["--json", "no-such-command"]);
    assert_eq!(code, 2);
    assert_eq!(json(&out)["error"]["kind"], "usage");
    // without --json, stdout stays empty
    let (_, out, _) = run(d.path(), &["init", "--name", "x"]);
    assert!(out.is_empty());
}

#[test]
fn expires_takes_offsets_and_durations() {
    let net = Net::new(&["alice"]);
    let doc = net.path("d.txt");
    std::fs::write(&doc, b"x").unwrap();
    let hq = net.home("hq");
    for (arg, want) in [
        ("2027-12-31T00:00:00+02:00", "2027-12-30T22:00:00Z"),
        ("30d", "2026-12-23T12:00:00Z"),
    ] {
        let j = ok_json(&hq, &["issue", "--to", "alice", "--attach", s(&doc), "--expires", arg]);
        let id = j["file"].as_str().unwrap();
        let show = ok_json(&hq, &["file", "list", "--all"]);
        let f = show.as_array().unwrap().iter().find(|f| f["id"] == id).unwrap().clone();
        assert_eq!(f["expires"], want, "--expires {arg}");
    }
    let (code, _, err) = run(
        &hq,
        &["issue", "--to", "alice", "--attach", s(&doc), "--expires", "soon"],
    );
    assert_eq!(code, 2, "{err}");
}

#[test]
fn status_explains_peers_outbox_and_what_holds_finality_back() {
    let net = Net::new(&["alice", "bob"]);
    let hq = net.home("hq");
    let doc = net.path("d.txt");
    std::fs::write(&doc, b"x").unwrap();
    ok(&hq, &["issue", "--to", "alice", "--attach", s(&doc)]);
    net.sync("hq", "alice");
    ok(&net.home("alice"), &["append", "--kind", "note"]);
    net.sync("alice", "hq");
    // finality is anchored at the master's latest block: one that has alice's block
    ok(&hq, &["checkpoint"]);
    let j = ok_json(&hq, &["status"]);
    let peers = j["peers"].as_array().unwrap();
    let alice = peers.iter().find(|p| p["name"] == "alice").unwrap();
    assert_eq!(alice["last_heard"], "2026-11-23T12:00:00Z", "{j}");
    let bob = peers.iter().find(|p| p["name"] == "bob").unwrap();
    assert!(bob["last_heard"].is_null(), "bob never sent anything: {j}");
    assert_eq!(j["outbox"].as_array().unwrap().len(), 1, "{j}");
    assert_eq!(j["outbox"][0]["kind"], "file");
    let f = &j["finality"];
    assert!(f["threshold"].is_u64(), "{j}");
    let stalled = f["stalled_by"].as_array().unwrap();
    assert!(
        stalled.contains(&serde_json::json!(net.id("bob"))),
        "bob holds finality back: {j}"
    );
    let text = ok(&hq, &["status"]);
    assert!(text.contains("waits for bob: last heard never"), "{text}");
    assert!(text.contains("awaiting a receipt"), "{text}");
    // the master lists every file it issued
    assert_eq!(ok_json(&hq, &["file", "list"]).as_array().unwrap().len(), 1);
}

/// Run `secfile ARGS` on a pseudo-terminal (util-linux `script`); returns what it drew.
fn on_a_terminal(home: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = format!("{} --home '{}'", env!("CARGO_BIN_EXE_secfile"), home.display());
    for a in args {
        cmd.push_str(&format!(" '{a}'"));
    }
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("TERM", "xterm")
        .env("SECFILE_TIME", "2026-11-23T12:00:00Z")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script(1) from util-linux");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn progress_bars_show_bytes_on_a_terminal_and_nothing_elsewhere() {
    if !common::stock_tools(&["script"]) {
        return;
    }
    let net = Net::new(&["alice"]);
    let big = net.path("big.bin");
    std::fs::write(&big, vec![1u8; 48 << 20]).unwrap();
    let hq = net.home("hq");
    let out = net.path("f.bundle");
    let (code, drawn) = on_a_terminal(&hq, &["issue", "--to", "alice", "--attach", s(&big), "--out", s(&out)]);
    assert_eq!(code, 0, "{drawn}");
    assert!(
        drawn.contains("issuing") && drawn.contains("MiB"),
        "a byte bar: {drawn:?}"
    );
    // silent under -q, --no-progress and --json, and when stderr is not a terminal
    for flag in ["-q", "--no-progress", "--json"] {
        let (code, drawn) = on_a_terminal(
            &hq,
            &[
                flag,
                "issue",
                "--to",
                "alice",
                "--attach",
                s(&big),
                "--out",
                s(&net.path("g.bundle")),
            ],
        );
        assert_eq!(code, 0);
        assert!(!drawn.contains("MiB/s") && !drawn.contains("eta"), "{flag}: {drawn:?}");
    }
    let (_, _, err) = run(
        &hq,
        &[
            "issue",
            "--to",
            "alice",
            "--attach",
            s(&big),
            "--out",
            s(&net.path("h.bundle")),
        ],
    );
    assert!(!err.contains("eta"), "{err}");
    let (code, drawn) = on_a_terminal(&net.home("alice"), &["import", s(&out)]);
    assert_eq!(code, 0, "{drawn}");
    assert!(drawn.contains("importing"), "{drawn:?}");
}

/// What bash completes for the words `line` (the last one being completed), with the
/// committed script loaded and `secfile` on the PATH.
fn bash_completes(line: &[&str]) -> Vec<String> {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_secfile")).parent().unwrap();
    let words: Vec<String> = line.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source {root}/completions/secfile.bash\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\nCOMP_TYPE=9\n_clap_complete_secfile secfile '{cur}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        root = env!("CARGO_MANIFEST_DIR"),
        words = words.join(" "),
        cword = line.len() - 1,
        cur = line[line.len() - 1],
        prev = line[line.len() - 2],
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()),
        )
        .env_remove("SECFILE_HOME")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn completion_offers_node_names_file_ids_and_subcommands() {
    if !common::stock_tools(&["bash"]) {
        return;
    }
    let net = Net::new(&["alice", "bob"]);
    let hq = net.home("hq");
    let doc = net.path("d.txt");
    std::fs::write(&doc, b"x").unwrap();
    let id = ok_json(&hq, &["issue", "--to", "alice", "--attach", s(&doc)])["file"]
        .as_str()
        .unwrap()
        .to_string();
    let h = s(&hq);
    let got = bash_completes(&["secfile", "--home", h, "issue", "--to", ""]);
    for n in ["alice", "bob", "hq"] {
        assert!(got.iter().any(|c| c == n), "--to offers {n}: {got:?}");
    }
    assert!(got.iter().any(|c| c == &net.id("alice")), "and ids: {got:?}");
    let got = bash_completes(&["secfile", "--home", h, "sync", "export", "--to", "al"]);
    assert_eq!(got, ["alice"], "{got:?}");
    let got = bash_completes(&["secfile", "--home", h, "file", "show", ""]);
    assert!(got.contains(&id), "file ids: {got:?}");
    let got = bash_completes(&["secfile", "--home", h, "op", "revoke", &id[..4]]);
    assert_eq!(got, std::slice::from_ref(&id), "{got:?}");
    // (a node id may start with "b" too: ids are random hex)
    let got = bash_completes(&["secfile", "--home", h, "roster", "remove", "b"]);
    assert!(
        got.contains(&"bob".to_string()) && !got.contains(&"alice".to_string()),
        "{got:?}"
    );
    assert!(got.iter().all(|c| c.starts_with('b')), "{got:?}");
    let got = bash_completes(&["secfile", "ros"]);
    assert_eq!(got, ["roster"], "subcommands: {got:?}");
    let bundle = ok_json(&hq, &["outbox"])[0]["bundle"].as_str().unwrap().to_string();
    let got = bash_completes(&["secfile", "--home", h, "resend", ""]);
    assert!(got.contains(&bundle), "{got:?}");
}

#[test]
fn extract_defaults_to_stdout_and_passphrase_file_takes_stdin() {
    let net = Net::new(&["alice"]);
    let doc = net.path("d.txt");
    std::fs::write(&doc, b"the content\n").unwrap();
    let b = net.path("f.bundle");
    let id = ok_json(
        &net.home("hq"),
        &["issue", "--to", "alice", "--attach", s(&doc), "--out", s(&b)],
    )["file"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&net.home("alice"), &["import", s(&b)]);
    assert_eq!(ok(&net.home("alice"), &["file", "extract", &id]), "the content\n");
    // a terminal is refused (exit 2), before anything is done
    let (code, drawn) = on_a_terminal(&net.home("alice"), &["file", "extract", &id]);
    assert_eq!(code, 2, "{drawn}");
    assert!(!drawn.contains("the content"), "{drawn}");
    // --passphrase-file - reads the passphrase from stdin
    let h = net.path("locked");
    let mut c = secfile();
    c.env("SECFILE_SCRYPT_LOG_N", "2")
        .args([
            "--home",
            s(&h),
            "--passphrase-file",
            "-",
            "init",
            "--name",
            "locked",
            "--role",
            "master",
        ])
        .write_stdin("correct horse\n");
    let (code, _, err) = output(c);
    assert_eq!(code, 0, "{err}");
    let mut c = secfile();
    c.args(["--home", s(&h), "--passphrase-file", "-", "append", "--kind", "note"])
        .write_stdin("correct horse\n");
    let (code, _, err) = output(c);
    assert_eq!(code, 0, "{err}");
    let mut c = secfile();
    c.args(["--home", s(&h), "--passphrase-file", "-", "append", "--kind", "note"])
        .write_stdin("wrong\n");
    assert_eq!(output(c).0, 1, "a wrong passphrase is refused");
}

#[test]
fn log_limit_shows_the_newest_entries() {
    let net = Net::new(&["alice"]);
    let hq = net.home("hq");
    for i in 0..5 {
        ok(&hq, &["append", "--kind", "note", "--field", &format!("n={i}")]);
    }
    let all = ok_json(&hq, &["log", "--chain", "hq"]);
    let two = ok_json(&hq, &["log", "--chain", "hq", "--limit", "2"]);
    let all = all.as_array().unwrap();
    assert_eq!(two.as_array().unwrap().as_slice(), &all[all.len() - 2..]);
    let g = ok_json(&hq, &["log", "--global", "--limit", "3"]);
    assert_eq!(g.as_array().unwrap().len(), 3);
    assert_eq!(g[2]["body"]["fields"]["n"], "4", "the newest last: {g}");
    let any = ok_json(&hq, &["log", "--limit", "1"]);
    assert_eq!(any[0]["body"]["fields"]["n"], "4");
}
