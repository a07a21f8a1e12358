//! Proofs of a file's state (`prove ID --out P`, `verify P --master CARD`): made by the
//! holder or the master, checked on a machine with no home by secfile and by the
//! independent `tests/verify_proof.py` (Python stdlib + stock minisign, the recipe of
//! docs/formats.md); every flipped byte, a swapped checkpoint and a wrong card fail both.
//! The `files` root of checkpoints is recomputed by `verify` (kind `checkpoint`).
use crate::common::{Net, flipped, json, ok, ok_json, run, s, secfile, stock_tools};
use std::path::{Path, PathBuf};

/// Issue a file to `who` (imported there) and return its id.
fn give(net: &Net, who: &str, name: &str) -> String {
    let doc = net.path(name);
    std::fs::write(&doc, format!("content of {name}")).unwrap();
    let out = net.path(&format!("{name}.bundle"));
    let j = ok_json(
        &net.home("hq"),
        &["issue", "--to", who, "--attach", s(&doc), "--out", s(&out)],
    );
    ok(&net.home(who), &["import", s(&out)]);
    j["file"].as_str().unwrap().to_string()
}

/// Everyone sees everything, writes a block after it, twice; then hq checkpoints and the
/// members get the checkpoint: what was done before is final at that checkpoint.
fn settle(net: &Net, names: &[&str]) {
    let mesh = || {
        for a in names {
            for b in names {
                if a != b {
                    net.sync(a, b);
                }
            }
        }
    };
    for _ in 0..2 {
        mesh();
        for n in names {
            ok(&net.home(n), &["append", "--kind", "tick"]);
        }
    }
    mesh();
    ok(&net.home("hq"), &["checkpoint"]);
    mesh();
}

/// `secfile --json verify P --master CARD` with no home at all: (exit, JSON).
fn verify_alone(proof: &Path, card: &Path) -> (i32, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = secfile()
        .current_dir(dir.path())
        .args(["--json", "verify", s(proof), "--master", s(card)])
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        out.stderr.is_empty() || code != 3,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, json(&String::from_utf8_lossy(&out.stdout)))
}

/// The Python check (None when python3 or minisign is absent outside CI).
fn python(proof: &Path, card: &Path) -> Option<(i32, String)> {
    if !stock_tools(&["python3", "minisign"]) {
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/verify_proof.py");
    let out = std::process::Command::new("python3")
        .args([s(&script), s(proof), s(card), "--now", "2026-11-23T12:00:00Z"])
        .output()
        .unwrap();
    Some((
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

fn steps(j: &serde_json::Value) -> Vec<(String, bool)> {
    j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["step"].as_str().unwrap().to_string(), x["ok"].as_bool().unwrap()))
        .collect()
}

struct Scene {
    net: Net,
    files: Vec<String>,
    card: PathBuf,
}

/// hq, alice and bob; three files for alice and one for bob, all final at a checkpoint.
fn scene() -> Scene {
    let net = Net::new(&["alice", "bob"]);
    let mut files: Vec<String> = (0..3).map(|i| give(&net, "alice", &format!("a{i}.txt"))).collect();
    files.push(give(&net, "bob", "b0.txt"));
    settle(&net, &["hq", "alice", "bob"]);
    let card = net.path("hq.card");
    Scene { net, files, card }
}

fn prove(net: &Net, who: &str, id: &str, name: &str) -> PathBuf {
    let p = net.path(name);
    ok(&net.home(who), &["prove", id, "--out", s(&p)]);
    p
}

#[test]
fn a_proof_checks_with_the_master_card_alone_and_every_flipped_byte_fails() {
    let sc = scene();
    let net = &sc.net;
    let id = &sc.files[1];
    let p = prove(net, "alice", id, "a1.proof");
    let (code, j) = verify_alone(&p, &sc.card);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j["ok"], true);
    let names: Vec<String> = steps(&j)
        .into_iter()
        .map(|(n, ok)| {
            assert!(ok, "{n}: {j}");
            n
        })
        .collect();
    assert_eq!(
        names,
        [
            "master-key",
            "checkpoint-signature",
            "manifest-signature",
            "leaf",
            "inclusion",
            "holder",
            "revocation",
            "expiry",
            "as-of"
        ]
    );
    let detail = |j: &serde_json::Value, step: &str| {
        j["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["step"] == step)
            .unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(detail(&j, "holder").contains(&net.id("alice")), "{j}");
    assert!(detail(&j, "as-of").starts_with("as of checkpoint "), "{j}");
    // the text form names every step, and the master proves it too
    let out = secfile()
        .args(["verify", s(&p), "--master", s(&sc.card)])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for st in [
        "manifest-signature",
        "checkpoint-signature",
        "inclusion",
        "holder",
        "revocation",
        "expiry",
        "as-of",
    ] {
        assert!(text.contains(st), "{st} missing in {text}");
    }
    let pm = prove(net, "hq", id, "hq.proof");
    assert_eq!(
        std::fs::read(&pm).unwrap(),
        std::fs::read(&p).unwrap(),
        "holder and master write the same proof"
    );
    if let Some((code, out)) = python(&p, &sc.card) {
        assert_eq!(code, 0, "{out}");
    }
    // one flipped byte anywhere that matters: in the leaf, a sibling, the manifest, its
    // signature, the checkpoint, its signature
    let bytes = std::fs::read(&p).unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let at = |needle: &str, off: usize| text.find(needle).unwrap_or_else(|| panic!("{needle}")) + needle.len() + off;
    let cases = [
        ("leaf holder", at("holder ", 3)),
        ("leaf revoked", at("revoked ", 0)),
        ("sibling", at("\nsibling ", 10)),
        ("manifest", at("\nmanifest ", 30)),
        ("manifest signature", at("manifest.minisig ", 60)),
        ("checkpoint files root", at("  files: \"", 5)),
        ("checkpoint time", at("time: \"2", 2)),
        ("checkpoint signature", at("checkpoint.minisig ", 70)),
    ];
    for (what, i) in cases {
        for mask in [0x01u8, 0x04] {
            let bad = net.path("bad.proof");
            let b = flipped(&bytes, i, mask);
            if b[i].is_ascii_graphic() == bytes[i].is_ascii_graphic() || mask == 0x04 {
                std::fs::write(&bad, &b).unwrap();
                let (code, j) = verify_alone(&bad, &sc.card);
                assert_eq!(code, 1, "{what} flipped ({mask:#x}) passed: {j}");
                assert_eq!(j["ok"], false);
                assert!(!j["problems"].as_array().unwrap().is_empty());
                for pr in j["problems"].as_array().unwrap() {
                    assert!(pr["input"].as_str().unwrap().ends_with("bad.proof"), "{pr}");
                }
                if let Some((code, out)) = python(&bad, &sc.card) {
                    assert_eq!(code, 1, "python passed {what} flipped ({mask:#x}):\n{out}");
                }
            }
        }
    }
    // the master's card is the trust root: another card fails
    let (code, j) = verify_alone(&p, &net.path("alice.card"));
    assert_eq!(code, 1, "{j}");
    if let Some((code, out)) = python(&p, &net.path("alice.card")) {
        assert_eq!(code, 1, "{out}");
    }
    // truncated, or over the limit: refused with a kind, never a crash
    std::fs::write(net.path("short.proof"), &bytes[..bytes.len() - 10]).unwrap();
    let (code, j) = verify_alone(&net.path("short.proof"), &sc.card);
    assert_eq!(code, 1, "{j}");
    assert_eq!(j["problems"][0]["kind"], "proof-format", "{j}");
}

#[test]
fn a_stale_proof_proves_the_older_state_and_a_swapped_checkpoint_fails_inclusion() {
    let sc = scene();
    let net = &sc.net;
    let id = &sc.files[0];
    let old = prove(net, "alice", id, "old.proof");
    ok(&net.home("hq"), &["op", "revoke", id, "--reason", "stolen"]);
    settle(net, &["hq", "alice", "bob"]);
    // the old proof still proves what it says: not revoked as of its checkpoint
    let (code, j) = verify_alone(&old, &sc.card);
    assert_eq!(code, 0, "{j}");
    // the master proves the new state: revoked, so verify fails at the revocation step
    let new = prove(net, "hq", id, "new.proof");
    let (code, j) = verify_alone(&new, &sc.card);
    assert_eq!(code, 1, "{j}");
    let failed: Vec<String> = steps(&j).into_iter().filter(|(_, ok)| !ok).map(|(n, _)| n).collect();
    assert_eq!(failed, ["revocation"], "{j}");
    assert_eq!(j["problems"][0]["kind"], "revocation");
    if let Some((code, out)) = python(&new, &sc.card) {
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("revocation            FAIL"), "{out}");
    }
    let as_of = |j: &serde_json::Value| {
        j["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["step"] == "as-of")
            .unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(
        as_of(&verify_alone(&old, &sc.card).1),
        as_of(&j),
        "the two proofs name different checkpoints"
    );
    // the old leaf with the newer checkpoint (validly signed by the master): inclusion fails
    let cut = |b: &[u8]| {
        let t = String::from_utf8(b.to_vec()).unwrap();
        let i = t.find("\ncheckpoint ").unwrap();
        (t[..i].to_string(), t[i..].to_string())
    };
    let (old_head, _) = cut(&std::fs::read(&old).unwrap());
    let (_, new_tail) = cut(&std::fs::read(&new).unwrap());
    let swapped = net.path("swapped.proof");
    std::fs::write(&swapped, format!("{old_head}{new_tail}")).unwrap();
    let (code, j) = verify_alone(&swapped, &sc.card);
    assert_eq!(code, 1, "{j}");
    let failed: Vec<String> = steps(&j).into_iter().filter(|(_, ok)| !ok).map(|(n, _)| n).collect();
    assert_eq!(failed[0], "inclusion", "{j}");
    if let Some((code, out)) = python(&swapped, &sc.card) {
        assert_eq!(code, 1, "{out}");
    }
    // alice is no longer... still the holder of a revoked file: she may prove it too
    let (code, _, err) = run(&net.home("bob"), &["prove", id, "--out", s(&net.path("bob.proof"))]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("only its holder or the master"), "{err}");
}

#[test]
fn prove_refuses_what_no_checkpoint_includes_and_unknown_files() {
    let net = Net::new(&["alice"]);
    let id = give(&net, "alice", "x.txt");
    let out = net.path("x.proof");
    let (code, stdout, err) = run(&net.home("alice"), &["--json", "prove", &id, "--out", s(&out)]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(json(&stdout)["error"]["kind"], "not-final", "{stdout}");
    assert!(!out.exists());
    settle(&net, &["hq", "alice"]);
    ok(&net.home("alice"), &["prove", &id, "--out", s(&out)]);
    let (code, stdout, _) = run(
        &net.home("alice"),
        &["--json", "prove", &"0".repeat(32), "--out", s(&out)],
    );
    assert_eq!(code, 1);
    assert_eq!(json(&stdout)["error"]["kind"], "not-found", "{stdout}");
    // a proof needs the master's card where there is no home
    let dir = tempfile::tempdir().unwrap();
    let o = secfile()
        .current_dir(dir.path())
        .args(["verify", s(&out)])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    // in a home, the pinned master card is the default
    ok(&net.home("alice"), &["verify", s(&out)]);
}

/// Every node recomputes the `files` root of every checkpoint: one the master signed
/// with a root of its own making is a `checkpoint` problem.
#[test]
fn verify_reports_a_checkpoint_whose_files_root_disagrees() {
    let net = Net::new(&["alice"]);
    give(&net, "alice", "x.txt");
    settle(&net, &["hq", "alice"]);
    ok(&net.home("alice"), &["verify"]);
    let hq = net.home("hq");
    let j = ok_json(&hq, &["checkpoint"]);
    let (chain, height) = (j["chain"].as_str().unwrap().to_string(), j["height"].as_u64().unwrap());
    let path = hq.join("chains").join(&chain).join(format!("{height:0>10}.yaml"));
    let path = if path.exists() {
        path
    } else {
        std::fs::read_dir(hq.join("chains").join(&chain))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .max()
            .unwrap()
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let i = text.find("  files: \"").unwrap() + 10;
    let forged = format!("{}{}{}", &text[..i], "0".repeat(64), &text[i + 64..]);
    let keys = secfile::identity::Keys::load(&secfile::home::Home::new(&hq), false, None).unwrap();
    let sig = secfile::subchain::sign::sign(
        &keys.sign,
        forged.as_bytes(),
        &secfile::subchain::sign::block_comment(&chain, height),
    )
    .unwrap();
    std::fs::write(&path, &forged).unwrap();
    std::fs::write(format!("{}.minisig", path.display()), sig).unwrap();
    let (code, stdout, _) = run(&hq, &["--json", "verify"]);
    assert_eq!(code, 1, "{stdout}");
    let j = json(&stdout);
    let kinds: Vec<&str> = j["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["checkpoint"], "{j}");
    assert!(
        j["problems"][0]["message"].as_str().unwrap().contains("files root"),
        "{j}"
    );
    let (code, stdout, _) = run(&hq, &["--json", "prove", &"0".repeat(32), "--out", s(&net.path("p"))]);
    assert_eq!(code, 1, "{stdout}");
}

/// Regression (the caveat of checkpoint roots): the states under a checkpoint's root are
/// judged with membership as of its final chain, not with the roster held today. A file
/// transferred to bob before bob's removal keeps the root that checkpoint recorded when
/// every node recomputes it after the removal, and the proof made before still checks.
#[test]
fn a_later_removal_changes_no_earlier_files_root() {
    let net = Net::new(&["alice", "bob"]);
    let id = give(&net, "alice", "x.txt");
    let t = net.path("t.bundle");
    ok(
        &net.home("alice"),
        &["op", "transfer", &id, "--to", "bob", "--out", s(&t)],
    );
    ok(&net.home("bob"), &["import", s(&t)]);
    settle(&net, &["hq", "alice", "bob"]);
    let p = prove(&net, "bob", &id, "bob.proof");
    let card = net.path("hq.card");
    assert_eq!(verify_alone(&p, &card).0, 0);
    ok(&net.home("hq"), &["roster", "remove", "bob"]);
    settle(&net, &["hq", "alice"]);
    for n in ["hq", "alice"] {
        let (code, stdout, _) = run(&net.home(n), &["--json", "verify"]);
        assert_eq!(code, 0, "{n}: {stdout}");
    }
    assert_eq!(verify_alone(&p, &card).0, 0);
    // the newest checkpoint, after the removal, still says bob holds it (he received it
    // while a member); the master proves that
    let q = prove(&net, "hq", &id, "hq.proof");
    let (code, j) = verify_alone(&q, &card);
    assert_eq!(code, 0, "{j}");
    assert_ne!(std::fs::read(&p).unwrap(), std::fs::read(&q).unwrap());
}

#[test]
fn a_proof_after_the_master_rotated_its_keys_checks_with_the_original_card() {
    let net = Net::new(&["alice"]);
    // one file issued under the first key, the master rotates twice, one file after
    let before = give(&net, "alice", "before.txt");
    ok(&net.home("hq"), &["rekey"]);
    settle(&net, &["hq", "alice"]);
    ok(&net.home("hq"), &["rekey"]);
    let after = give(&net, "alice", "after.txt");
    settle(&net, &["hq", "alice"]);
    let card = net.path("hq.card");
    for (id, who) in [(&before, "alice"), (&after, "alice"), (&after, "hq")] {
        let p = prove(&net, who, id, &format!("{who}-{id}.proof"));
        let (code, j) = verify_alone(&p, &card);
        assert_eq!(code, 0, "{j}");
        assert!(steps(&j).iter().all(|(_, ok)| *ok), "{j}");
        if let Some((code, out)) = python(&p, &card) {
            assert_eq!(code, 0, "{out}");
        }
        // a proof with the rotation left out no longer checks: the checkpoint is signed by
        // a key the card alone does not give
        let q = net.path("cut.proof");
        std::fs::write(&q, without_rekeys(&std::fs::read(&p).unwrap())).unwrap();
        let (code, j) = verify_alone(&q, &card);
        assert_eq!(code, 1, "{j}");
        assert!(steps(&j).contains(&("checkpoint-signature".to_string(), false)), "{j}");
    }
    for n in ["hq", "alice"] {
        ok(&net.home(n), &["verify"]);
    }
}

/// A proof with its `rekey` and `rekey.minisig` parts cut out (framed by their length).
fn without_rekeys(proof: &[u8]) -> Vec<u8> {
    let (mut out, mut rest) = (Vec::new(), proof);
    while !rest.is_empty() {
        let nl = rest.iter().position(|&b| b == b'\n').unwrap();
        let line = std::str::from_utf8(&rest[..nl]).unwrap();
        let mut part = nl + 1;
        let name = line.split(' ').next().unwrap();
        if matches!(
            name,
            "manifest" | "manifest.minisig" | "rekey" | "rekey.minisig" | "checkpoint" | "checkpoint.minisig"
        ) {
            part += line.split(' ').nth(1).unwrap().parse::<usize>().unwrap() + 1;
        }
        if !name.starts_with("rekey") {
            out.extend_from_slice(&rest[..part]);
        }
        rest = &rest[part..];
    }
    out
}
