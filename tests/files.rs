//! Security electronic files end to end (issue 4): request, issue, import, extract,
//! endorse, annotate, transfer, revoke and verify across several nodes; conflicts settled
//! by the global chain; bad input refused with its DESIGN exit code, one error line and
//! the home unchanged; and the file bundle opened with stock `age` and `minisign` as
//! docs/formats.md describes.
use crate::common::{
    Net, assert_one_error_line, assert_refused, at, copy_tree, json, ok, ok_json, output, recipe, run,
    run_recipe as sh, s, snapshot, stock_tools as tools,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const REJECTED: i32 = 1;

// ---------------------------------------------------------------------------------------
// helpers

/// Deterministic pseudo-random bytes (xorshift), so attachments are not compressible.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn write(net: &Net, name: &str, bytes: &[u8]) -> PathBuf {
    let p = net.path(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `issue …` at hq with `--json`; returns the file id.
fn issue(net: &Net, args: &[&str]) -> String {
    let mut a = vec!["issue"];
    a.extend_from_slice(args);
    let j = ok_json(&net.home("hq"), &a);
    let id = j["file"].as_str().expect("issue --json has file").to_string();
    assert_eq!(j["id"], id.as_str());
    id
}

/// `issue --to WHO --attach F --out OUT` at hq; returns the file id.
fn issue_to(net: &Net, who: &str, attach: &Path, out: &Path, extra: &[&str]) -> String {
    let mut a = vec!["--to", who, "--attach", s(attach), "--out", s(out)];
    a.extend_from_slice(extra);
    issue(net, &a)
}

/// Full-mesh sync among `names`, twice.
fn mesh(net: &Net, names: &[&str]) {
    for _ in 0..2 {
        for a in names {
            for b in names {
                if a != b {
                    net.sync(a, b);
                }
            }
        }
    }
}

/// Bring every node to a final global chain: each writes a block after it has seen
/// everything, twice, with full-mesh syncs in between; then the master (`hq`, always among
/// `names`) records a checkpoint, which anchors everything else (finality is anchored at
/// the master's latest block): only that checkpoint is pending anywhere.
fn settle(net: &Net, names: &[&str]) {
    assert!(names.contains(&"hq"));
    mesh(net, names);
    for _ in 0..2 {
        for n in names {
            ok(&net.home(n), &["append", "--kind", "tick"]);
        }
        mesh(net, names);
    }
    ok(&net.home("hq"), &["checkpoint"]);
    mesh(net, names);
    for n in names {
        let m = ok_json(&net.home(n), &["merge"]);
        assert_eq!(m["pending"], 1, "{n} has pending blocks besides hq's checkpoint: {m}");
    }
}

fn history(net: &Net, who: &str, id: &str) -> Value {
    ok_json(&net.home(who), &["file", "history", id])
}

fn list(net: &Net, who: &str, all: bool) -> Vec<Value> {
    let mut a = vec!["file", "list"];
    if all {
        a.push("--all");
    }
    ok_json(&net.home(who), &a)
        .as_array()
        .expect("file list --json is an array")
        .clone()
}

fn kinds(h: &Value) -> Vec<String> {
    h["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The events of a history that are final.
fn final_events(h: &Value) -> Vec<Value> {
    h["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["final"] == true)
        .cloned()
        .collect()
}

fn extract(net: &Net, who: &str, id: &str, out: &str) -> Vec<u8> {
    let p = net.path(out);
    ok(&net.home(who), &["file", "extract", id, "--out", s(&p)]);
    std::fs::read(&p).unwrap()
}

/// The bundle files in `home/outbox/<recipient id>/`.
fn outbox(home: &Path, recipient: &str) -> Vec<PathBuf> {
    let d = home.join("outbox").join(recipient);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&d)
        .map(|rd| {
            rd.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_none_or(|x| x != "yaml"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------
// 1. the whole story

#[test]
fn whole_story_request_issue_transfer_across_three_nodes() {
    let net = Net::new(&["alice", "bob"]);
    let (alice, bob) = (net.id("alice"), net.id("bob"));
    let nodes = ["hq", "alice", "bob"];
    // 3 MiB + 17 bytes: many of age's 64 KiB chunks, and a partial last one
    let original = noise(3 * 1024 * 1024 + 17, 42);
    let doc = write(&net, "report.pdf", &original);
    let req = net.path("req.bundle");
    let r = ok_json(
        &net.home("alice"),
        &[
            "request",
            "--event",
            "inspection",
            "--field",
            "site=north",
            "--field",
            "x=1",
            "--attach",
            s(&doc),
            "--out",
            s(&req),
        ],
    );
    let request_id = r["request"].as_str().unwrap().to_string();
    assert_eq!(r["recipient"], net.id("hq").as_str());

    let fb = net.path("f.bundle");
    let id = issue(&net, &[s(&req), "--out", s(&fb), "--expires", "2027-01-01"]);
    // alice imports the file: an accept block on her chain
    let before = ok_json(&net.home("alice"), &["status"]);
    let (code, _, err) = run(&net.home("alice"), &["import", s(&fb)]);
    assert_eq!(code, 0, "{err}");
    let rows = list(&net, "alice", false);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["id"], id.as_str());
    assert_eq!(rows[0]["holder"], alice.as_str());
    assert_eq!(rows[0]["state"], "tentative", "not final yet: {rows:?}");
    assert_eq!(rows[0]["request"], request_id.as_str());
    assert_eq!(rows[0]["expires"], "2027-01-01T00:00:00Z");
    let after = ok_json(&net.home("alice"), &["status"]);
    assert_ne!(before, after);
    let h = history(&net, "alice", &id);
    assert_eq!(kinds(&h), ["issue", "accept"]);
    assert!(
        h["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "tentative")
    );

    // the manifest, and the content byte-identical
    let show = ok_json(&net.home("alice"), &["file", "show", &id]);
    assert_eq!(show["manifest"]["event"], "inspection");
    assert_eq!(show["manifest"]["fields"]["site"], "north");
    assert_eq!(show["manifest"]["content"]["name"], "report.pdf");
    assert_eq!(show["manifest"]["content"]["size"], original.len() as u64);
    assert_eq!(show["manifest"]["holder"], alice.as_str());
    assert!(
        extract(&net, "alice", &id, "x1") == original,
        "extract differs from the attachment"
    );
    // to stdout too
    let out = at(&net.home("alice"), &["file", "extract", &id, "--out", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout == original);

    // endorse, annotate, transfer to bob
    ok(&net.home("alice"), &["op", "endorse", &id]);
    ok(&net.home("alice"), &["op", "annotate", &id, "--note", "seen on site"]);
    let tb = net.path("t.bundle");
    ok(
        &net.home("alice"),
        &["op", "transfer", &id, "--to", "bob", "--out", s(&tb)],
    );
    // alice no longer holds it (tentatively): a second transfer is refused
    let snap = snapshot(&net.home("alice"));
    assert_refused(
        run(
            &net.home("alice"),
            &["op", "transfer", &id, "--to", "bob", "--out", s(&net.path("t2.bundle"))],
        ),
        REJECTED,
        &[&id, "holder"],
        &net.home("alice"),
        &snap,
    );
    let (code, _, err) = run(&net.home("bob"), &["import", s(&tb)]);
    assert_eq!(code, 0, "{err}");
    let rows = list(&net, "bob", false);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], id.as_str());
    assert_eq!(rows[0]["holder"], bob.as_str());
    assert!(extract(&net, "bob", &id, "x2") == original);
    ok(&net.home("bob"), &["op", "endorse", &id, "--note", "received"]);

    // syncs until final: the same final life on every node
    settle(&net, &nodes);
    let want = [
        "issue", "accept", "endorse", "annotate", "transfer", "accept", "endorse",
    ];
    let mut lives = Vec::new();
    for n in nodes {
        let h = history(&net, n, &id);
        assert_eq!(kinds(&h), want, "{n}: {h}");
        for e in h["events"].as_array().unwrap() {
            assert_eq!(e["status"], "final", "{n}: {e}");
            assert!(e["reason"].is_null(), "{n}: {e}");
        }
        assert_eq!(h["holder"], bob.as_str());
        lives.push(final_events(&h));
        let all = list(&net, n, true);
        assert_eq!(all.len(), 1, "{n}");
        assert!(
            all[0]["id"].is_string() && all[0]["holder"] == bob.as_str(),
            "{n}: {all:?}"
        );
        assert_eq!(all[0]["state"], "final");
        assert_eq!(all[0]["endorsements"].as_array().unwrap().len(), 2);
        assert_eq!(all[0]["notes"][0], "seen on site");
        ok(&net.home(n), &["verify"]);
    }
    assert!(
        lives.windows(2).all(|w| w[0] == w[1]),
        "final histories differ: {lives:?}"
    );
    assert!(list(&net, "alice", false).is_empty(), "alice holds nothing any more");
    assert_eq!(list(&net, "bob", false).len(), 1);
    assert_eq!(
        list(&net, "hq", false).len(),
        1,
        "the master lists every file it issued"
    );
}

#[test]
fn issue_without_a_request_and_outbox_bundles_travel_by_xfer() {
    let net = Net::new(&["alice", "bob"]);
    let (hq, alice) = (net.id("hq"), net.id("alice"));
    let content = noise(70_000, 7);
    let doc = write(&net, "plan.bin", &content);
    // issue --to without --out: into hq's outbox for alice
    let j = ok_json(
        &net.home("hq"),
        &[
            "issue",
            "--to",
            "alice",
            "--attach",
            s(&doc),
            "--field",
            "k=v",
            "--field",
            "zone=3",
        ],
    );
    let id = j["file"].as_str().unwrap().to_string();
    assert_eq!(j["holder"], alice.as_str());
    let ob = outbox(&net.home("hq"), &alice);
    assert_eq!(ob.len(), 1, "{ob:?}");
    assert_eq!(j["out"], s(&ob[0]));
    // a request without --out: into alice's outbox for hq
    ok(
        &net.home("alice"),
        &["request", "--event", "audit", "--field", "who=alice"],
    );
    assert_eq!(outbox(&net.home("alice"), &hq).len(), 1);
    // the spool: hq leaves, alice takes (and leaves her request), hq takes
    let spool = net.path("stick");
    std::fs::create_dir(&spool).unwrap();
    ok(&net.home("hq"), &["xfer", s(&spool)]);
    ok(&net.home("alice"), &["xfer", s(&spool)]);
    let rows = list(&net, "alice", false);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["id"], id.as_str());
    assert!(extract(&net, "alice", &id, "x") == content);
    let show = ok_json(&net.home("alice"), &["file", "show", &id]);
    assert_eq!(show["manifest"]["fields"]["k"], "v");
    assert_eq!(show["manifest"]["fields"]["zone"], "3");
    assert_eq!(show["manifest"]["event"], "direct");
    assert!(show["manifest"]["request"].is_null());
    // until alice's receipt arrives, hq keeps the file bundle (a frontier is not a receipt)
    assert_eq!(outbox(&net.home("hq"), &alice).len(), 1);
    let on_stick = spool.join(&alice).join(&hq);
    let j = ok_json(&net.home("hq"), &["xfer", s(&spool)]);
    assert!(
        j["imported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["receipted"].as_array().is_some_and(|r| !r.is_empty())),
        "{j}"
    );
    assert!(
        outbox(&net.home("hq"), &alice).is_empty(),
        "alice's sync bundle carried her signed receipt: hq's outbox for her is empty"
    );
    assert!(
        !std::fs::read_dir(&on_stick).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(ob[0].file_stem().unwrap().to_str().unwrap())),
        "and the receipted bundle is gone from the stick"
    );
    assert_eq!(ok_json(&net.home("hq"), &["outbox"]).as_array().unwrap().len(), 0);
    let reqs: Vec<_> = std::fs::read_dir(net.home("hq").join("requests")).unwrap().collect();
    assert_eq!(reqs.len(), 1, "the master received alice's request through the spool");
    let rid = reqs[0].as_ref().unwrap().file_name().into_string().unwrap();
    assert!(
        net.home("hq")
            .join("requests")
            .join(&rid)
            .join("request.yaml")
            .is_file()
    );
    // a second direct issue, with an RFC 3339 expiry: the next serial
    let id2 = issue_to(
        &net,
        "bob",
        &doc,
        &net.path("fb.bundle"),
        &["--expires", "2027-06-30T12:00:00Z"],
    );
    ok(&net.home("bob"), &["import", s(&net.path("fb.bundle"))]);
    assert_eq!(list(&net, "bob", false)[0]["expires"], "2027-06-30T12:00:00Z");
    assert_ne!(id, id2);
    assert_eq!(list(&net, "hq", true).len(), 2);
    // the second file gets the next serial
    assert_eq!(
        list(&net, "hq", true)
            .iter()
            .map(|f| f["serial"].as_u64().unwrap())
            .max(),
        Some(2)
    );
}

#[test]
fn request_without_attachment_gets_a_generated_document() {
    let net = Net::new(&["alice"]);
    let req = net.path("req.bundle");
    ok(
        &net.home("alice"),
        &[
            "request",
            "--event",
            "fire-drill",
            "--field",
            "floor=2",
            "--out",
            s(&req),
        ],
    );
    let fb = net.path("f.bundle");
    let id = issue(&net, &[s(&req), "--out", s(&fb)]);
    ok(&net.home("alice"), &["import", s(&fb)]);
    let text = String::from_utf8(extract(&net, "alice", &id, "x")).unwrap();
    assert!(text.contains("fire-drill") && text.contains("floor: 2"), "{text}");
}

// ---------------------------------------------------------------------------------------
// 2. conflicts

#[test]
fn a_revocation_racing_a_transfer_is_settled_the_same_everywhere() {
    let net = Net::new(&["alice", "bob"]);
    let (alice, bob) = (net.id("alice"), net.id("bob"));
    let nodes = ["hq", "alice", "bob"];
    let doc = write(&net, "d", b"contested\n");
    let fb = net.path("f.bundle");
    let id = issue_to(&net, "alice", &doc, &fb, &[]);
    ok(&net.home("alice"), &["import", s(&fb)]);
    // concurrently: the master revokes (it has not seen alice's accept) and alice transfers
    ok(&net.home("hq"), &["op", "revoke", &id, "--reason", "lost key"]);
    let tb = net.path("t.bundle");
    ok(
        &net.home("alice"),
        &["op", "transfer", &id, "--to", "bob", "--out", s(&tb)],
    );
    ok(&net.home("bob"), &["import", s(&tb)]);
    // before finality each side shows its own tentative view
    let a = list(&net, "alice", true);
    assert_eq!(a[0]["holder"], bob.as_str());
    assert_eq!(a[0]["state"], "tentative");
    assert_eq!(a[0]["revoked"], false);
    let b = list(&net, "bob", false);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0]["state"], "tentative");
    settle(&net, &nodes);
    // the revocation came first in global order (lower clock): the transfer is rejected
    let mut lives = Vec::new();
    for n in nodes {
        let h = history(&net, n, &id);
        assert_eq!(h["holder"], alice.as_str(), "{n}: {h}");
        let ev = h["events"].as_array().unwrap();
        let t = ev.iter().find(|e| e["kind"] == "transfer").expect("transfer listed");
        assert_eq!(t["status"], "rejected", "{n}: {t}");
        assert!(t["reason"].as_str().unwrap().contains("revoked"), "{n}: {t}");
        let r = ev.iter().find(|e| e["kind"] == "revoke").unwrap();
        assert_eq!(r["status"], "final");
        assert!(r["clock"].as_u64() < t["clock"].as_u64());
        // bob's accept of a transfer that lost is rejected too
        let acc: Vec<_> = ev
            .iter()
            .filter(|e| e["kind"] == "accept" && e["by"] == bob.as_str())
            .collect();
        assert_eq!(acc.len(), 1);
        assert_eq!(acc[0]["status"], "rejected");
        assert!(ev.iter().all(|e| e["final"] == true));
        let all = list(&net, n, true);
        assert_eq!(all[0]["revoked"], true);
        assert_eq!(all[0]["revoke_reason"], "lost key");
        assert_eq!(all[0]["state"], "final");
        lives.push(h);
    }
    assert!(lives.windows(2).all(|w| w[0] == w[1]), "{lives:?}");
    assert!(list(&net, "bob", false).is_empty(), "bob does not hold it");
    // the text output says so as well
    let text = ok(&net.home("bob"), &["file", "history", &id]);
    assert!(text.contains("REJECTED (the file is revoked)"), "{text}");
}

#[test]
fn the_same_file_transferred_twice_from_a_copied_home() {
    // alice's home is copied before her transfer; the copy transfers the same file to carol.
    // The two transfers are two blocks at one height of alice's chain: a fork, so by
    // DESIGN §5 every node cuts alice's chain before it and neither transfer counts; every
    // node reports the same holder and both accepts as rejected.
    let net = Net::new(&["alice", "bob", "carol"]);
    let alice = net.id("alice");
    let nodes = ["hq", "alice", "bob", "carol"];
    let doc = write(&net, "d", b"twice\n");
    let fb = net.path("f.bundle");
    let id = issue_to(&net, "alice", &doc, &fb, &[]);
    ok(&net.home("alice"), &["import", s(&fb)]);
    mesh(&net, &nodes);
    let copy = net.path("alice-copy");
    copy_tree(&net.home("alice"), &copy, &["lock", "tmp"]);
    let (t1, t2) = (net.path("t1.bundle"), net.path("t2.bundle"));
    ok(
        &net.home("alice"),
        &["op", "transfer", &id, "--to", "bob", "--out", s(&t1)],
    );
    ok(&copy, &["op", "transfer", &id, "--to", "carol", "--out", s(&t2)]);
    ok(&net.home("bob"), &["import", s(&t1)]);
    ok(&net.home("carol"), &["import", s(&t2)]);
    // each new holder believes it holds the file, tentatively
    for (n, who) in [("bob", net.id("bob")), ("carol", net.id("carol"))] {
        let l = list(&net, n, false);
        assert_eq!(l.len(), 1, "{n}");
        assert_eq!(l[0]["holder"], who.as_str());
        assert_eq!(l[0]["state"], "tentative");
    }
    mesh(&net, &nodes);
    let mut seen = Vec::new();
    for n in nodes {
        let h = history(&net, n, &id);
        assert_eq!(h["holder"], alice.as_str(), "{n}: {h}");
        let ev = h["events"].as_array().unwrap();
        assert!(
            ev.iter().all(|e| e["kind"] != "transfer"),
            "{n}: forked transfers are cut: {h}"
        );
        let acc: Vec<_> = ev
            .iter()
            .filter(|e| e["kind"] == "accept" && e["by"] != alice.as_str())
            .collect();
        assert_eq!(acc.len(), 2, "{n}: {h}");
        for a in acc {
            assert_eq!(a["status"], "rejected", "{n}: {a}");
            assert!(a["reason"].as_str().unwrap().contains("not the holder"), "{n}: {a}");
        }
        seen.push(h);
        // the fork is reported by verify on every node
        let (code, out, _) = run(&net.home(n), &["--json", "verify"]);
        assert_eq!(code, 1, "{n}: {out}");
        assert!(
            json(&out)["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["kind"] == "fork")
        );
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

// ---------------------------------------------------------------------------------------
// 3. bad input

/// One bad-input case: where it runs, the arguments, the exit code and what the one error
/// line must mention.
struct Case {
    name: &'static str,
    home: PathBuf,
    args: Vec<String>,
    code: i32,
    needles: Vec<String>,
}

fn case(name: &'static str, home: PathBuf, args: &[&str], needles: &[&str]) -> Case {
    Case {
        name,
        home,
        args: args.iter().map(|a| a.to_string()).collect(),
        code: REJECTED,
        needles: needles.iter().map(|a| a.to_string()).collect(),
    }
}

/// The parts of a binary bundle: (header start, header end, signature end).
fn parts(b: &[u8]) -> (usize, usize, usize) {
    let nl = b.iter().position(|&c| c == b'\n').unwrap();
    let n: Vec<usize> = std::str::from_utf8(&b[..nl])
        .unwrap()
        .split(' ')
        .skip(2)
        .map(|x| x.parse().unwrap())
        .collect();
    (nl + 1, nl + 1 + n[0], nl + 1 + n[0] + n[1])
}

/// Re-sign a bundle's header, with `from` replaced by `to`, using the keys of `signer`.
fn forge_sender(bundle: &[u8], from: &str, to: &str, signer: &Path) -> Vec<u8> {
    let (h0, h1, s1) = parts(bundle);
    let header = String::from_utf8(bundle[h0..h1].to_vec()).unwrap();
    let header = header.replace(&format!("sender: \"{from}\""), &format!("sender: \"{to}\""));
    let kind = header
        .lines()
        .find_map(|l| l.strip_prefix("kind: "))
        .unwrap()
        .trim_matches('"');
    let id = header
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap()
        .trim_matches('"');
    let keys = secfile::identity::Keys::load(&secfile::home::Home::new(signer), false, None).unwrap();
    let sig =
        secfile::subchain::sign::sign(&keys.sign, header.as_bytes(), &format!("secfile bundle {kind} {id}")).unwrap();
    let mut out = format!("secfile-bundle 1 {} {}\n", header.len(), sig.len()).into_bytes();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(sig.as_bytes());
    out.extend_from_slice(&bundle[s1..]);
    out
}

#[test]
fn bad_input_is_refused_with_the_home_unchanged() {
    let net = Net::new(&["alice", "bob", "carol"]);
    let (hq, alice) = (net.home("hq"), net.home("alice"));
    let (bob, carol) = (net.home("bob"), net.home("carol"));
    let doc = write(&net, "doc", &noise(100_000, 3));
    // alice holds f1; f-rev is revoked; f-exp expired before SECFILE_TIME (2026-11-23)
    let f1 = issue_to(&net, "alice", &doc, &net.path("f1.bundle"), &[]);
    let frev = issue_to(&net, "alice", &doc, &net.path("frev.bundle"), &[]);
    let fexp = issue_to(
        &net,
        "alice",
        &doc,
        &net.path("fexp.bundle"),
        &["--expires", "2026-01-01"],
    );
    for f in ["f1", "frev", "fexp"] {
        ok(&alice, &["import", s(&net.path(&format!("{f}.bundle")))]);
    }
    ok(&hq, &["op", "revoke", &frev]);
    net.sync("hq", "alice");
    net.sync("hq", "bob");
    net.sync("alice", "bob");
    // bundles for alice not imported yet: one for bob, one to tamper with, one armored
    let fbob = net.path("fbob.bundle");
    issue_to(&net, "bob", &doc, &fbob, &[]);
    let f2 = net.path("f2.bundle");
    issue_to(&net, "alice", &doc, &f2, &[]);
    let f3 = net.path("f3.asc");
    issue_to(&net, "alice", &doc, &f3, &["--armor"]);
    let good = std::fs::read(&f2).unwrap();
    let (h0, h1, s1) = parts(&good);
    let hdr = std::str::from_utf8(&good[h0..h1]).unwrap();
    let in_digest = h0 + hdr.find("sha256: \"").unwrap() + 12;
    let header_flip = write(&net, "header-flipped.bundle", &{
        let mut b = good.clone();
        b[in_digest] = if b[in_digest] == b'0' { b'1' } else { b'0' };
        b
    });
    let sig_text = std::str::from_utf8(&good[h1..s1]).unwrap();
    let sig_at = h1 + sig_text.find('\n').unwrap() + 10;
    let sig_flip = write(&net, "signature-flipped.bundle", &{
        let mut b = good.clone();
        b[sig_at] = if b[sig_at] == b'A' { b'B' } else { b'A' };
        b
    });
    let payload_flip = write(&net, "payload-flipped.bundle", &{
        let mut b = good.clone();
        let at = s1 + (b.len() - s1) / 2;
        b[at] ^= 0x01;
        b
    });
    let truncated = write(&net, "truncated.bundle", &good[..good.len() - 1000]);
    let empty = write(&net, "empty.bundle", b"");
    let garbage = write(&net, "garbage.bundle", &noise(2048, 9));
    let armor = std::fs::read_to_string(&f3).unwrap();
    let mut lines: Vec<String> = armor.lines().map(String::from).collect();
    let c = lines[6].as_bytes()[9];
    lines[6].replace_range(9..10, if c == b'Q' { "R" } else { "Q" });
    let armor_broken = write(&net, "armor-letter.asc", (lines.join("\n") + "\n").as_bytes());

    // a non-member: mallory pinned hq's card and was admitted by a copy of hq's home, so
    // her request is addressed to hq, signed by a key hq's roster does not hold
    let mallory = net.home("mallory");
    ok(
        &mallory,
        &[
            "init",
            "--name",
            "mallory",
            "--role",
            "member",
            "--master",
            s(&net.path("hq.card")),
        ],
    );
    ok(&mallory, &["card", "--out", s(&net.path("mallory.card"))]);
    let hq_copy = net.path("hq-copy");
    copy_tree(&hq, &hq_copy, &["lock", "tmp"]);
    ok(&hq_copy, &["roster", "admit", s(&net.path("mallory.card"))]);
    let b = net.path("to-mallory.bundle");
    ok(&hq_copy, &["sync", "export", "--to", "mallory", "--out", s(&b)]);
    ok(&mallory, &["import", s(&b)]);
    let mreq = net.path("mallory-req.bundle");
    ok(&mallory, &["request", "--event", "e", "--out", s(&mreq)]);
    // a forged sender: mallory's request claiming to be alice's, validly signed by mallory
    let forged = write(
        &net,
        "forged-sender.bundle",
        &forge_sender(
            &std::fs::read(&mreq).unwrap(),
            &net.id("mallory"),
            &net.id("alice"),
            &mallory,
        ),
    );
    // a removed member: carol requests, then the master removes her
    let creq = net.path("carol-req.bundle");
    ok(&carol, &["request", "--event", "e", "--out", s(&creq)]);
    ok(&hq, &["roster", "remove", "carol"]);
    // an already issued request
    let areq = net.path("alice-req.bundle");
    ok(
        &alice,
        &["request", "--event", "e", "--attach", s(&doc), "--out", s(&areq)],
    );
    issue(&net, &[s(&areq), "--out", s(&net.path("from-req.bundle"))]);

    let out = net.path("out.bundle");
    let o = s(&out);
    let cases = vec![
        case(
            "file bundle for another node",
            alice.clone(),
            &["import", s(&fbob)],
            &[s(&fbob), "not to this node"],
        ),
        case(
            "header byte",
            alice.clone(),
            &["import", s(&header_flip)],
            &[s(&header_flip), "signature"],
        ),
        case(
            "signature byte",
            alice.clone(),
            &["import", s(&sig_flip)],
            &[s(&sig_flip), "signature"],
        ),
        case(
            "payload byte",
            alice.clone(),
            &["import", s(&payload_flip)],
            &[s(&payload_flip), "SHA-256"],
        ),
        case(
            "truncated",
            alice.clone(),
            &["import", s(&truncated)],
            &[s(&truncated), "truncated"],
        ),
        case("empty", alice.clone(), &["import", s(&empty)], &[s(&empty), "empty"]),
        case(
            "garbage",
            alice.clone(),
            &["import", s(&garbage)],
            &[s(&garbage), "not a secfile-bundle"],
        ),
        case(
            "broken armor",
            alice.clone(),
            &["import", s(&armor_broken)],
            &[s(&armor_broken)],
        ),
        case(
            "request from a non-member",
            hq.clone(),
            &["import", s(&mreq)],
            &[s(&mreq), "outside this roster"],
        ),
        case(
            "issue of a non-member's request",
            hq.clone(),
            &["issue", s(&mreq), "--out", o],
            &[s(&mreq), "outside this roster"],
        ),
        case(
            "forged sender",
            hq.clone(),
            &["import", s(&forged)],
            &[s(&forged), "signature"],
        ),
        case(
            "request from a removed member",
            hq.clone(),
            &["import", s(&creq)],
            &[s(&creq), "removed"],
        ),
        case(
            "issue of a removed member's request",
            hq.clone(),
            &["issue", s(&creq), "--out", o],
            &[s(&creq), "removed"],
        ),
        case(
            "a member issues",
            alice.clone(),
            &["issue", "--to", "bob", "--attach", s(&doc), "--out", o],
            &["only the master"],
        ),
        case(
            "a member issues from a request",
            alice.clone(),
            &["issue", s(&areq), "--out", o],
            &["only the master"],
        ),
        case(
            "a member revokes",
            alice.clone(),
            &["op", "revoke", &f1],
            &["only the master"],
        ),
        case(
            "a non-holder transfers",
            bob.clone(),
            &["op", "transfer", &f1, "--to", "alice", "--out", o],
            &[&f1, "holder"],
        ),
        case(
            "a non-holder endorses",
            bob.clone(),
            &["op", "endorse", &f1],
            &[&f1, "holder"],
        ),
        case(
            "transfer of a revoked file",
            alice.clone(),
            &["op", "transfer", &frev, "--to", "bob", "--out", o],
            &[&frev, "revoked"],
        ),
        case(
            "transfer of an expired file",
            alice.clone(),
            &["op", "transfer", &fexp, "--to", "bob", "--out", o],
            &[&fexp, "expired"],
        ),
        case(
            "extract of a file never received",
            bob.clone(),
            &["file", "extract", &f1, "--out", o],
            &[&f1, "never received"],
        ),
        case(
            "extract of an unknown id",
            alice.clone(),
            &["file", "extract", &"ab".repeat(16), "--out", o],
            &["never received"],
        ),
        Case {
            code: 2,
            ..case(
                "extract of a path, not an id",
                alice.clone(),
                &["file", "extract", &format!("../../bob/files/{f1}"), "--out", o],
                &["not a file id"],
            )
        },
        case(
            "second issue of a request",
            hq.clone(),
            &["issue", s(&areq), "--out", o],
            &["already issued"],
        ),
    ];
    let mut failures = Vec::new();
    for c in &cases {
        let before = snapshot(&c.home);
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let needles: Vec<&str> = c.needles.iter().map(String::as_str).collect();
        let r = run(&c.home, &args);
        println!("{}: exit {}: {}", c.name, r.0, r.2.trim());
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            assert_refused(r.clone(), c.code, &needles, &c.home, &before);
            assert!(!out.exists(), "no bundle written");
        }));
        if res.is_err() {
            failures.push(format!("{}: exit {} stderr {}", c.name, r.0, r.2.trim()));
        }
        // --json names the kind
        let mut j = vec!["--json", "-q"];
        j.extend_from_slice(&args);
        let (code, stdout, _) = run(&c.home, &j);
        if code == REJECTED && !json(&stdout)["error"]["kind"].is_string() {
            failures.push(format!("{}: --json has no error.kind: {stdout}", c.name));
        }
        let _ = std::fs::remove_file(&out);
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // a replayed file bundle: exit 0, says nothing new, no new block
    let before = snapshot(&alice);
    let (code, _, err) = run(&alice, &["import", s(&net.path("f1.bundle"))]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("nothing new"), "{err}");
    assert!(snapshot(&alice) == before, "a replay changed the home");
    // the untampered bundles still import
    ok(&alice, &["import", s(&f2)]);
    ok(&alice, &["import", s(&f3)]);
    ok(&bob, &["import", s(&fbob)]);
}

// ---------------------------------------------------------------------------------------
// 4. verify

fn verify_json(home: &Path, path: &Path) -> (i32, Value) {
    let (code, out, err) = run(home, &["--json", "verify", s(path)]);
    assert!(code == 0 || code == 1, "verify {}: exit {code}: {err}", path.display());
    let j = json(&out);
    assert_eq!(j["ok"], code == 0, "{j}");
    (code, j)
}

fn step<'a>(j: &'a Value, name: &str) -> Option<&'a Value> {
    j["steps"].as_array().unwrap().iter().find(|s| s["step"] == name)
}

fn step_ok(j: &Value, name: &str) -> bool {
    step(j, name).unwrap_or_else(|| panic!("no step {name}: {j}"))["ok"] == true
}

#[test]
fn verify_a_file_bundle_a_stored_file_and_extracted_content() {
    let net = Net::new(&["alice", "bob"]);
    let nodes = ["hq", "alice", "bob"];
    let content = noise(200_000, 11);
    let doc = write(&net, "doc", &content);
    let fb = net.path("f.bundle");
    let id = issue_to(&net, "alice", &doc, &fb, &["--expires", "2027-01-01"]);
    let alice = net.home("alice");
    // the bundle, before it is imported
    let (code, j) = verify_json(&alice, &fb);
    assert_eq!(code, 0, "{j}");
    for s in [
        "bundle-signature",
        "payload-digest",
        "manifest-signature",
        "content-digest",
        "expiry",
    ] {
        assert!(step_ok(&j, s), "{s}: {j}");
    }
    for st in j["steps"].as_array().unwrap() {
        assert!(st["step"].is_string() && st["ok"].is_boolean(), "{st}");
    }
    ok(&alice, &["import", s(&fb)]);
    let stored = alice.join("files").join(&id);
    let x = net.path("x");
    ok(&alice, &["file", "extract", &id, "--out", s(&x)]);
    settle(&net, &nodes);
    for p in [&fb, &stored, &x] {
        let (code, j) = verify_json(&alice, p);
        assert_eq!(code, 0, "{}: {j}", p.display());
        for s in ["manifest-signature", "content-digest", "expiry", "revocation", "holder"] {
            assert!(step_ok(&j, s), "{}: {s}: {j}", p.display());
        }
    }
    // tampered extracted content: no match
    let mut bad = content.clone();
    bad[1000] ^= 1;
    let xb = write(&net, "x-tampered", &bad);
    let (code, j) = verify_json(&alice, &xb);
    assert_eq!(code, 1, "{j}");
    assert!(
        j["problems"][0]["input"].as_str().unwrap().contains("x-tampered"),
        "{j}"
    );
    // tampered stored content: the content-digest step fails
    let snap = snapshot(&alice);
    std::fs::write(stored.join("content"), &bad).unwrap();
    let (code, j) = verify_json(&alice, &stored);
    assert_eq!(code, 1);
    assert!(!step_ok(&j, "content-digest"), "{j}");
    let (code, _, err) = run(&alice, &["file", "extract", &id, "--out", s(&net.path("y"))]);
    assert_eq!(code, 1, "{err}");
    assert_one_error_line(&err, &["does not match"]);
    assert!(!net.path("y").exists());
    crate::common::restore(&alice, &snap);
    // a tampered manifest: the signature step fails
    let m = std::fs::read_to_string(stored.join("manifest.yaml")).unwrap();
    std::fs::write(stored.join("manifest.yaml"), m.replace("2027-01-01", "2099-01-01")).unwrap();
    let (code, j) = verify_json(&alice, &stored);
    assert_eq!(code, 1);
    assert!(!step_ok(&j, "manifest-signature"), "{j}");
    crate::common::restore(&alice, &snap);

    // expired: later, by the clock of the verifier
    let mut c = at(&alice, &["--json", "verify", s(&x)]);
    c.env("SECFILE_TIME", "2027-03-01T00:00:00Z");
    let (code, out, _) = output(c);
    assert_eq!(code, 1);
    let j = json(&out);
    assert!(!step_ok(&j, "expiry"), "{j}");
    assert!(step_ok(&j, "manifest-signature") && step_ok(&j, "content-digest"));

    // revoked: once the revocation is final, every form fails on the revocation step
    ok(&net.home("hq"), &["op", "revoke", &id, "--reason", "superseded"]);
    settle(&net, &nodes);
    for p in [&fb, &stored, &x] {
        let (code, j) = verify_json(&alice, p);
        assert_eq!(code, 1, "{}: {j}", p.display());
        assert!(!step_ok(&j, "revocation"), "{}: {j}", p.display());
        assert!(step_ok(&j, "manifest-signature"));
        let text = run(&alice, &["verify", s(p)]);
        assert!(text.1.contains("revocation") && text.1.contains("FAIL"), "{}", text.1);
    }
}

// ---------------------------------------------------------------------------------------
// 5. interop: the payload with stock age, the manifest with stock minisign

fn sh_ok(name: &str, cwd: &Path, vars: &[(&str, &Path)]) -> String {
    let o = sh(name, cwd, vars);
    let t = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(
        o.status.success(),
        "recipe {name} failed in {}:\n{}{}",
        cwd.display(),
        t(&o.stdout),
        t(&o.stderr)
    );
    t(&o.stdout)
}

fn tool(cmd: &str, args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(cmd)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn file_bundle_opens_with_stock_age_and_minisign() {
    if !tools(&["age", "minisign", "sha256sum"]) {
        return;
    }
    let net = Net::new(&["alice"]);
    let content = noise(150_000, 5);
    let doc = write(&net, "doc", &content);
    let fb = net.path("f.bundle");
    // a field named like the content's keys must not confuse a shell reader
    let id = issue_to(
        &net,
        "alice",
        &doc,
        &fb,
        &["--field", "sha256=0000", "--field", "size=1"],
    );
    let alice = net.home("alice");
    let master_pk = std::fs::read_to_string(net.home("hq").join("keys/minisign.pub")).unwrap();
    let master_pk = master_pk.lines().nth(1).unwrap().to_string();

    // by hand, step by step: age -d with the holder's key, then the payload entries
    let w = net.path("by-hand");
    sh_ok("bundle", &w, &[("B", &fb), ("H", &alice)]);
    sh_ok("payload", &w, &[]);
    let e = w.join("entries");
    for f in ["manifest.yaml", "manifest.yaml.minisig", "content"] {
        assert!(e.join(f).is_file(), "{f} in the payload");
    }
    let age = tool(
        "age",
        &["-d", "-i", s(&alice.join("keys/age.key")), "-o", "p2", "payload.age"],
        &w,
    );
    assert!(age.status.success(), "{}", String::from_utf8_lossy(&age.stderr));
    assert!(std::fs::read(w.join("p2")).unwrap() == std::fs::read(w.join("payload")).unwrap());
    let v = tool(
        "minisign",
        &["-Vm", "manifest.yaml", "-x", "manifest.yaml.minisig", "-P", &master_pk],
        &e,
    );
    let out = String::from_utf8_lossy(&v.stdout);
    assert!(v.status.success(), "{out}{}", String::from_utf8_lossy(&v.stderr));
    assert!(
        out.contains(&format!("Trusted comment: secfile manifest {id}")),
        "{out}"
    );
    let sum = tool("sha256sum", &["content"], &e);
    let sum = String::from_utf8_lossy(&sum.stdout)
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let m = std::fs::read_to_string(e.join("manifest.yaml")).unwrap();
    assert!(m.contains(&format!("  sha256: \"{sum}\"\n")), "{m}");
    assert!(std::fs::read(e.join("content")).unwrap() == content);

    // the documented recipe does it all
    let out = sh_ok("file", &w, &[("H", &alice)]);
    assert!(out.contains(&id) && out.contains(&sum), "{out}");
    // and fails on a tampered manifest or content
    let orig = std::fs::read(e.join("manifest.yaml")).unwrap();
    std::fs::write(
        e.join("manifest.yaml"),
        m.replace("event: \"direct\"", "event: \"other\""),
    )
    .unwrap();
    let o = sh("file", &w, &[("H", &alice)]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("FAIL:"));
    std::fs::write(e.join("manifest.yaml"), &orig).unwrap();
    let mut bad = content.clone();
    bad[0] ^= 1;
    std::fs::write(e.join("content"), &bad).unwrap();
    let o = sh("file", &w, &[("H", &alice)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("FAIL:") && err.contains("SHA-256"),
        "{err}"
    );
}

#[test]
fn formats_doc_describes_security_files() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/formats.md")).unwrap();
    let row = format!("| `MAX_DOC` | {} |", secfile::dossier::docs::MAX_DOC);
    assert!(doc.contains(&row), "docs/formats.md lacks the row {row}");
    assert!(recipe("file").starts_with("set -eu"));
    for k in [
        "secfile request <request id>",
        "secfile manifest <file id>",
        "## Security files",
    ] {
        assert!(doc.contains(k), "docs/formats.md lacks {k:?}");
    }
}

#[test]
fn reject_gives_a_transfer_back_and_return_surrenders_the_file() {
    let net = Net::new(&["alice", "bob"]);
    let nodes = ["hq", "alice", "bob"];
    let (hq, alice, bob) = (net.id("hq"), net.id("alice"), net.id("bob"));
    let doc = write(&net, "d", b"returned\n");
    let fb = net.path("f.bundle");
    let id = issue_to(&net, "alice", &doc, &fb, &[]);
    ok(&net.home("alice"), &["import", s(&fb)]);
    // an issued file cannot be rejected: there is no transfer to refuse
    let (code, _, err) = run(&net.home("alice"), &["op", "reject", &id]);
    assert_eq!(code, 1, "{err}");
    let t = net.path("t.bundle");
    ok(
        &net.home("alice"),
        &["op", "transfer", &id, "--to", "bob", "--out", s(&t)],
    );
    ok(&net.home("bob"), &["import", s(&t)]);
    mesh(&net, &nodes);
    // bob refuses it: alice holds it again, on every node
    ok(&net.home("bob"), &["op", "reject", &id, "--reason", "not for us"]);
    let (code, _, err) = run(&net.home("bob"), &["op", "endorse", &id]);
    assert_eq!(code, 1, "bob no longer holds it: {err}");
    mesh(&net, &nodes);
    for n in nodes {
        let h = history(&net, n, &id);
        assert_eq!(h["holder"], alice.as_str(), "{n}: {h}");
        assert!(kinds(&h).contains(&"reject".to_string()), "{n}: {h}");
    }
    // alice gives it back to the master: surrendered, nothing but a revocation follows
    ok(&net.home("alice"), &["op", "return", &id]);
    let (code, _, err) = run(&net.home("alice"), &["op", "transfer", &id, "--to", "bob"]);
    assert_eq!(code, 1, "{err}");
    mesh(&net, &nodes);
    for n in nodes {
        let h = history(&net, n, &id);
        assert_eq!(h["holder"], hq.as_str(), "{n}: {h}");
        let show = ok_json(&net.home(n), &["file", "show", &id]);
        assert_eq!(show["surrendered"], true, "{n}: {show}");
    }
    let (code, out, err) = run(&net.home("alice"), &["--json", "op", "annotate", &id, "--note", "x"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(json(&out)["error"]["kind"], "surrendered");
    ok(&net.home("hq"), &["op", "revoke", &id, "--reason", "returned"]);
    // the master cannot return or reject
    let (code, _, _) = run(&net.home("hq"), &["op", "return", &id]);
    assert_eq!(code, 1);
    let _ = bob;
}

#[test]
fn a_reject_racing_an_endorse_and_a_return_racing_a_transfer_settle_in_global_order() {
    // a hostile holder signs conflicting operations from a copied home: whichever comes
    // first in global order wins on every node, the other is reported rejected
    let net = Net::new(&["alice", "bob"]);
    let nodes = ["hq", "alice", "bob"];
    let (hq, alice, bob) = (net.id("hq"), net.id("alice"), net.id("bob"));
    let doc = write(&net, "d", b"race\n");
    let fb = net.path("f.bundle");
    let id = issue_to(&net, "alice", &doc, &fb, &[]);
    ok(&net.home("alice"), &["import", s(&fb)]);
    mesh(&net, &nodes);
    // alice transfers to bob; bob's copied home rejects while bob's own endorses
    let t = net.path("t.bundle");
    ok(
        &net.home("alice"),
        &["op", "transfer", &id, "--to", "bob", "--out", s(&t)],
    );
    ok(&net.home("bob"), &["import", s(&t)]);
    mesh(&net, &nodes);
    ok(&net.home("bob"), &["op", "endorse", &id]);
    let (code, _, _) = run(&net.home("bob"), &["op", "reject", &id]);
    assert_eq!(code, 1, "after endorsing, the command refuses to reject");
    mesh(&net, &nodes);
    for n in nodes {
        let h = history(&net, n, &id);
        assert_eq!(h["holder"], bob.as_str(), "{n}: {h}");
    }
    // a return racing a transfer: bob returns on one copy, transfers on the other: a fork
    // of bob's chain — both cut, the holder stays bob everywhere
    let copy = net.path("bob-copy");
    copy_tree(&net.home("bob"), &copy, &["lock", "tmp"]);
    ok(&net.home("bob"), &["op", "return", &id]);
    ok(
        &copy,
        &[
            "op",
            "transfer",
            &id,
            "--to",
            "alice",
            "--out",
            s(&net.path("t2.bundle")),
        ],
    );
    let b = net.path("copy.bundle");
    ok(&copy, &["sync", "export", "--to", "hq", "--out", s(&b)]);
    ok(&net.home("hq"), &["sync", "import", s(&b)]);
    mesh(&net, &nodes);
    let mut heads = Vec::new();
    for n in nodes {
        let h = history(&net, n, &id);
        heads.push(h["holder"].clone());
        let ev = h["events"].as_array().unwrap();
        assert!(
            ev.iter().all(|e| e["kind"] != "return" || e["status"] != "final"),
            "{n}: {h}"
        );
    }
    assert!(
        heads.windows(2).all(|w| w[0] == w[1]),
        "one verdict everywhere: {heads:?}"
    );
    let _ = (hq, alice);
}

#[test]
fn watch_makes_one_request_per_complete_file_never_twice() {
    let net = Net::new(&["alice"]);
    let alice = net.home("alice");
    let drop = net.path("scans");
    std::fs::create_dir(&drop).unwrap();
    std::fs::write(drop.join("a.pdf"), b"first scan").unwrap();
    std::fs::write(drop.join("b.pdf"), b"second scan").unwrap();
    std::fs::write(drop.join(".partial"), b"ignored").unwrap();
    let watch = |home: &Path| {
        ok_json(
            home,
            &["watch", s(&drop), "--event", "scan", "--once", "--interval", "0.2"],
        )
    };
    let j = watch(&alice);
    assert_eq!(j["requests"].as_array().unwrap().len(), 2, "{j}");
    assert_eq!(outbox(&alice, &net.id("hq")).len(), 2);
    // never twice, across restarts
    let j = watch(&alice);
    assert_eq!(j["requests"].as_array().unwrap().len(), 0, "{j}");
    // a file that keeps growing is not taken until it stops
    let growing = drop.join("c.pdf");
    std::fs::write(&growing, b"x").unwrap();
    let g = growing.clone();
    let writer = std::thread::spawn(move || {
        for _ in 0..12 {
            std::thread::sleep(std::time::Duration::from_millis(40));
            let mut f = std::fs::OpenOptions::new().append(true).open(&g).unwrap();
            std::io::Write::write_all(&mut f, b"more").unwrap();
        }
    });
    let j = ok_json(
        &alice,
        &["watch", s(&drop), "--event", "scan", "--once", "--interval", "0.1"],
    );
    writer.join().unwrap();
    assert_eq!(j["requests"].as_array().unwrap().len(), 0, "still growing: {j}");
    let j = watch(&alice);
    assert_eq!(j["requests"].as_array().unwrap().len(), 1, "{j}");
    assert_eq!(j["requests"][0]["file"], "c.pdf");
    // a FIFO is reported without blocking, and --once then exits 1
    let fifo = drop.join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let (code, out, _) = run(
        &alice,
        &[
            "--json",
            "watch",
            s(&drop),
            "--event",
            "scan",
            "--once",
            "--interval",
            "0.1",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(json(&out)["failed"][0]["file"], "pipe");
    std::fs::remove_file(&fifo).unwrap();
    // the master receives them as requests
    let stick = net.path("stick");
    std::fs::create_dir(&stick).unwrap();
    ok(&alice, &["xfer", s(&stick)]);
    ok(&net.home("hq"), &["xfer", s(&stick)]);
    let st = ok_json(&net.home("hq"), &["status"]);
    assert_eq!(st["requests"].as_array().unwrap().len(), 3, "{st}");
    // the master cannot watch
    assert_eq!(
        run(&net.home("hq"), &["watch", s(&drop), "--event", "scan", "--once"]).0,
        1
    );
}

#[test]
fn watch_stops_cleanly_on_sigterm() {
    let net = Net::new(&["alice"]);
    let alice = net.home("alice");
    let drop = net.path("scans");
    std::fs::create_dir(&drop).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_secfile"))
        .arg("--home")
        .arg(&alice)
        .args(["watch", s(&drop), "--event", "scan", "--interval", "0.1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for i in 0..5 {
        std::fs::write(drop.join(format!("f{i}")), format!("file {i}")).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let t0 = std::time::Instant::now();
    let status = child.wait().unwrap();
    assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "a clean stop");
    assert!(!alice.join("tmp/tx").exists(), "nothing half-made");
    ok(&alice, &["verify"]);
    // whatever it made is whole: every request in the outbox has its block
    let n = outbox(&alice, &net.id("hq")).len();
    let log = ok_json(&alice, &["log", "--chain", "alice"]);
    let blocks = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["kind"] == "request")
        .count();
    assert_eq!(n, blocks);
}

#[test]
fn a_chunked_bundle_imports_from_its_parts_in_any_order_and_a_bad_part_is_refused_alone() {
    let net = Net::new(&["alice"]);
    let content = noise(100_000, 3);
    let doc = write(&net, "big.bin", &content);
    let out = net.path("file.bundle");
    let j = ok_json(
        &net.home("hq"),
        &[
            "issue",
            "--to",
            "alice",
            "--attach",
            s(&doc),
            "--out",
            s(&out),
            "--max-size",
            "40k",
        ],
    );
    let id = j["file"].as_str().unwrap().to_string();
    let parts: Vec<PathBuf> = j["out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PathBuf::from(p.as_str().unwrap()))
        .collect();
    assert!(parts.len() >= 3, "{j}");
    assert!(!out.exists(), "only parts at --out");
    for p in &parts {
        assert!(std::fs::metadata(p).unwrap().len() <= 40 << 10, "{}", p.display());
    }
    let alice = net.home("alice");
    // a damaged part is refused alone, the home unchanged
    let mut bad = std::fs::read(&parts[1]).unwrap();
    let n = bad.len();
    bad[n - 10] ^= 1;
    let badp = net.path("bad.part");
    std::fs::write(&badp, &bad).unwrap();
    let before = snapshot(&alice);
    let (code, _, err) = run(&alice, &["import", s(&badp)]);
    assert_eq!(code, 1, "{err}");
    assert!(snapshot(&alice) == before);
    // the others in reverse order: kept aside, listed by status, imported once complete
    let last = parts.len() - 1;
    for p in parts.iter().rev().take(last) {
        let j = ok_json(&alice, &["import", s(p)]);
        assert_eq!(j["kind"], "part", "{j}");
    }
    let st = ok_json(&alice, &["status"]);
    assert_eq!(st["parts"][0]["missing"], serde_json::json!([1]), "{st}");
    assert!(
        list(&net, "alice", false).is_empty(),
        "not imported before the set is whole"
    );
    // a part of another bundle does not join this set
    let other = net.path("other.bundle");
    let j2 = ok_json(
        &net.home("hq"),
        &[
            "issue",
            "--to",
            "alice",
            "--attach",
            s(&doc),
            "--out",
            s(&other),
            "--max-size",
            "40k",
        ],
    );
    let first_other = j2["out"][0].as_str().unwrap().to_string();
    let j = ok_json(&alice, &["import", &first_other]);
    assert_eq!(j["kind"], "part");
    assert_eq!(j["parts"]["have"], 1, "its own set: {j}");
    // the missing part, resent alone from the outbox
    let bundle = ok_json(&net.home("hq"), &["outbox"])
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["file"] == id.as_str())
        .unwrap()["bundle"]
        .as_str()
        .unwrap()
        .to_string();
    let again = net.path("again.bundle");
    let r = ok_json(
        &net.home("hq"),
        &[
            "resend",
            &bundle,
            "--out",
            s(&again),
            "--max-size",
            "40k",
            "--part",
            "1",
        ],
    );
    let p1 = r["out"][0].as_str().unwrap().to_string();
    let j = ok_json(&alice, &["import", &p1]);
    assert_eq!(j["kind"], "file", "the whole bundle imported: {j}");
    assert_eq!(j["parts"]["have"], j["parts"]["count"]);
    assert!(extract(&net, "alice", &id, "x.bin") == content);
    ok(&alice, &["verify"]);
    let st = ok_json(&alice, &["status"]);
    assert_eq!(
        st["parts"].as_array().unwrap().len(),
        1,
        "only the other set waits: {st}"
    );
}

#[test]
fn xfer_leaves_big_bundles_as_parts_and_the_recipient_joins_them() {
    let net = Net::new(&["alice"]);
    let content = noise(90_000, 5);
    let doc = write(&net, "big.bin", &content);
    let id = ok_json(&net.home("hq"), &["issue", "--to", "alice", "--attach", s(&doc)])["file"]
        .as_str()
        .unwrap()
        .to_string();
    let stick = net.path("stick");
    std::fs::create_dir(&stick).unwrap();
    let j = ok_json(&net.home("hq"), &["xfer", s(&stick), "--max-size", "32k"]);
    let parts: Vec<_> = j["left"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l.as_str().unwrap().contains(".p00"))
        .collect();
    assert!(parts.len() >= 3, "{j}");
    // a second visit leaves the same parts untouched
    let j = ok_json(&net.home("hq"), &["xfer", s(&stick), "--max-size", "32k"]);
    assert!(
        j["left"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| !l.as_str().unwrap().contains(".p00")),
        "{j}"
    );
    ok(&net.home("alice"), &["xfer", s(&stick)]);
    assert!(extract(&net, "alice", &id, "x.bin") == content);
    // alice's receipt: hq's outbox empties and the parts leave the stick
    ok(&net.home("hq"), &["xfer", s(&stick), "--max-size", "32k"]);
    assert!(outbox(&net.home("hq"), &net.id("alice")).is_empty());
    let left: Vec<_> = walkdir::WalkDir::new(&stick)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".p00"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn resend_writes_the_kept_bundle_again_plain_or_armored() {
    let net = Net::new(&["alice"]);
    let doc = write(&net, "d", b"kept\n");
    let j = ok_json(&net.home("hq"), &["issue", "--to", "alice", "--attach", s(&doc)]);
    let kept = PathBuf::from(j["outbox"].as_str().unwrap());
    let bundle = j["bundle"].as_str().unwrap().to_string();
    let again = net.path("again.bundle");
    ok(&net.home("hq"), &["resend", &bundle, "--out", s(&again)]);
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&kept).unwrap(),
        "byte for byte"
    );
    let asc = net.path("again.asc");
    ok(&net.home("hq"), &["resend", &bundle, "--out", s(&asc), "--armor"]);
    let text = std::fs::read_to_string(&asc).unwrap();
    assert!(text.starts_with("-----BEGIN SECFILE BUNDLE-----"));
    let j = ok_json(&net.home("alice"), &["import", s(&asc)]);
    assert_eq!(j["kind"], "file", "{j}");
    // an id the outbox does not hold
    let (code, out, _) = run(&net.home("hq"), &["--json", "resend", &"0".repeat(32)]);
    assert_eq!(code, 1);
    assert_eq!(json(&out)["error"]["kind"], "not-found");
    assert_eq!(run(&net.home("hq"), &["resend", "nonsense"]).0, 2);
}

/// The 1 GiB path, small: a content of several MiB (past the 1 MiB read size and many age
/// chunks) is issued with `--out` (its ciphertext written in place, `--out` sharing the
/// outbox bundle's bytes) and armored, imported, and extracted byte for byte.
#[test]
fn a_large_attachment_round_trips_byte_for_byte() {
    let net = Net::new(&["alice"]);
    let alice = net.id("alice");
    let content = noise(5 * 1024 * 1024 + 123, 11);
    let doc = write(&net, "big.bin", &content);
    let out = net.path("big.bundle");
    let id = issue_to(&net, "alice", &doc, &out, &[]);
    let ob = outbox(&net.home("hq"), &alice);
    assert_eq!(ob.len(), 1, "{ob:?}");
    let sent = std::fs::read(&out).unwrap();
    assert!(sent == std::fs::read(&ob[0]).unwrap(), "--out is the outbox bundle");
    // a copy, not a link: writing to --out leaves the bundle the outbox keeps as it was
    std::fs::write(&out, b"overwritten").unwrap();
    assert!(
        std::fs::read(&ob[0]).unwrap() == sent,
        "the outbox copy changed with --out"
    );
    std::fs::write(&out, &sent).unwrap();
    assert!(sent.len() > content.len());
    ok(&net.home("alice"), &["import", s(&out)]);
    assert!(extract(&net, "alice", &id, "big.out") == content);
    assert!(extract(&net, "alice", &id, "big.out2") == content);
    // armored: written again from the ciphertext, imported the same
    let asc = net.path("big.bundle.asc");
    let id2 = issue_to(&net, "alice", &doc, &asc, &["--armor"]);
    assert!(std::fs::read(&asc).unwrap().starts_with(b"-----BEGIN"));
    ok(&net.home("alice"), &["import", s(&asc)]);
    assert!(extract(&net, "alice", &id2, "big2.out") == content);
}
