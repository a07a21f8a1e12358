//! Bad input (issue 2): every case exits with its DESIGN.md §3 code, prints one error line
//! (plus optional `hint:` lines) naming the input and the reason, and leaves the home
//! byte-identical.
use crate::common::{Net, assert_refused, at, flipped, is_root, ok, output, run, s, snapshot};
use std::path::{Path, PathBuf};

const REJECTED: i32 = 1;
const USAGE: i32 = 2;
const ENV: i32 = 3;
const BUSY: i32 = 4;

/// Write `bytes` to `name` in the net's dir and return the path.
fn write(net: &Net, name: &str, bytes: &[u8]) -> PathBuf {
    let p = net.path(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Import `bundle` at `home` and assert it is refused with exit 1, naming the bundle
/// and `reason`, with the home unchanged.
fn refused_import(home: &Path, bundle: &Path, reason: &str) {
    let before = snapshot(home);
    assert_refused(
        run(home, &["import", s(bundle)]),
        REJECTED,
        &[s(bundle), reason],
        home,
        &before,
    );
}

/// Bad cards: (file name, bytes, reason in the message).
fn bad_cards(net: &Net, good: &[u8]) -> Vec<(PathBuf, &'static str)> {
    // flip a base64 letter inside the signature line (the line after the untrusted comment)
    let text = std::str::from_utf8(good).unwrap();
    let at = text.find("untrusted comment: ").unwrap();
    let sig_line = at + text[at..].find('\n').unwrap() + 1 + 20;
    let mut sig = good.to_vec();
    sig[sig_line] = if sig[sig_line] == b'A' { b'B' } else { b'A' };
    vec![
        (
            write(net, "garbage.card", b"this is not a card\n"),
            "not a secfile-card",
        ),
        (write(net, "truncated.card", &good[..good.len() / 2]), "truncated"),
        (write(net, "empty.card", b""), "empty"),
        (write(net, "badsig.card", &sig), "signature"),
        (write(net, "flipped-body.card", &flipped(good, 100, 0x01)), ""),
    ]
}

#[test]
fn malformed_cards_are_refused_by_init_and_admit() {
    let net = Net::new(&["alice"]);
    let master = std::fs::read(net.path("hq.card")).unwrap();
    let member = std::fs::read(net.path("alice.card")).unwrap();
    // init --master: exit 1 and no home made
    for (card, why) in bad_cards(&net, &master) {
        let h = net.path("newbie");
        let (code, _, err) = run(
            &h,
            &["init", "--name", "newbie", "--role", "member", "--master", s(&card)],
        );
        assert_eq!(code, REJECTED, "{}: {err}", card.display());
        crate::common::assert_one_error_line(&err, &[s(&card), why]);
        assert!(!h.exists(), "no home left behind for {}", card.display());
    }
    // roster admit: exit 1 and the master unchanged
    let hq = net.home("hq");
    for (card, why) in bad_cards(&net, &member) {
        let before = snapshot(&hq);
        assert_refused(
            run(&hq, &["roster", "admit", s(&card)]),
            REJECTED,
            &[s(&card), why],
            &hq,
            &before,
        );
    }
}

#[test]
fn wrong_role_cards_are_refused() {
    let net = Net::new(&["alice"]);
    let h = net.path("newbie");
    let alice_card = net.path("alice.card");
    let (code, _, err) = run(
        &h,
        &[
            "init",
            "--name",
            "newbie",
            "--role",
            "member",
            "--master",
            s(&alice_card),
        ],
    );
    assert_eq!(code, REJECTED, "{err}");
    crate::common::assert_one_error_line(&err, &[s(&alice_card), "not master"]);
    assert!(!h.exists());
    let hq = net.home("hq");
    let before = snapshot(&hq);
    let master_card = net.path("hq.card");
    assert_refused(
        run(&hq, &["roster", "admit", s(&master_card)]),
        REJECTED,
        &[s(&master_card), "role master"],
        &hq,
        &before,
    );
}

#[test]
fn init_over_an_existing_home_is_refused() {
    let net = Net::new(&["alice"]);
    for (name, args) in [
        ("hq", vec!["init", "--name", "hq2", "--role", "master"]),
        (
            "alice",
            vec![
                "init",
                "--name",
                "a2",
                "--role",
                "member",
                "--master",
                s(&net.path("hq.card")),
            ],
        ),
    ] {
        let h = net.home(name);
        let before = snapshot(&h);
        assert_refused(run(&h, &args), ENV, &[s(&h), "already exists"], &h, &before);
    }
    // a non-empty directory that is not a home
    let d = net.path("stuff");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("keep.txt"), "mine").unwrap();
    let before = snapshot(&d);
    assert_refused(
        run(&d, &["init", "--name", "x", "--role", "master"]),
        ENV,
        &[s(&d), "not empty"],
        &d,
        &before,
    );
}

#[test]
fn roster_admit_by_a_member_is_refused() {
    let net = Net::new(&["alice"]);
    let h = net.home("alice");
    let card = net.path("carol.card");
    let c = net.home("carol");
    ok(
        &c,
        &[
            "init",
            "--name",
            "carol",
            "--role",
            "member",
            "--master",
            s(&net.path("hq.card")),
        ],
    );
    ok(&c, &["card", "--out", s(&card)]);
    let before = snapshot(&h);
    let alice = net.id("alice");
    assert_refused(
        run(&h, &["roster", "admit", s(&card)]),
        REJECTED,
        &[&alice, "only the master"],
        &h,
        &before,
    );
    assert_refused(
        run(&h, &["roster", "remove", "hq"]),
        REJECTED,
        &[&alice, "only the master"],
        &h,
        &before,
    );
}

#[test]
fn bundle_for_another_node_is_refused() {
    let net = Net::new(&["alice", "bob"]);
    ok(&net.home("hq"), &["append", "--kind", "note"]);
    let b = net.export("hq", "bob", "for-bob.bundle");
    refused_import(&net.home("alice"), &b, "not to this node");
    let mut c = at(&net.home("alice"), &["--json", "import", s(&b)]);
    c.arg("--quiet");
    let (code, out, _) = output(c);
    assert_eq!(code, REJECTED);
    assert_eq!(crate::common::json(&out)["error"]["kind"], "not-addressed");
}

#[test]
fn bundle_signed_by_an_outsider_is_refused() {
    let net = Net::new(&["alice"]);
    // a second, separate consortium: master `other` and its member `om`
    let other = net.home("other");
    ok(&other, &["init", "--name", "other", "--role", "master"]);
    ok(&other, &["card", "--out", s(&net.path("other.card"))]);
    let om = net.home("om");
    ok(
        &om,
        &[
            "init",
            "--name",
            "om",
            "--role",
            "member",
            "--master",
            s(&net.path("other.card")),
        ],
    );
    ok(&om, &["card", "--out", s(&net.path("om.card"))]);
    ok(&other, &["roster", "admit", s(&net.path("om.card"))]);
    let b = net.export("other", "om", "outsider-to-om.bundle");
    let h = net.home("alice");
    let before = snapshot(&h);
    let (code, _, err) = run(&h, &["import", s(&b)]);
    assert_eq!(code, REJECTED, "{err}");
    crate::common::assert_one_error_line(&err, &[s(&b)]);
    assert!(snapshot(&h) == before);
    // the outsider even addresses alice (her card is public): still refused, as an outsider
    ok(&other, &["roster", "admit", s(&net.path("alice.card"))]);
    let b = net.export("other", "alice", "outsider-to-alice.bundle");
    refused_import(&h, &b, "outside this roster");
    let (code, out, _) = run(&h, &["--json", "-q", "sync", "import", s(&b)]);
    assert_eq!(code, REJECTED);
    assert_eq!(crate::common::json(&out)["error"]["kind"], "outsider");
}

#[test]
fn a_flipped_byte_anywhere_in_a_bundle_is_refused() {
    let net = Net::new(&["alice"]);
    ok(&net.home("hq"), &["append", "--kind", "note", "--field", "k=v"]);
    let good = std::fs::read(net.export("hq", "alice", "good.bundle")).unwrap();
    let h = net.home("alice");
    let before = snapshot(&h);
    // the parts: prologue line, header, signature, payload
    let nl = good.iter().position(|&b| b == b'\n').unwrap();
    let pro: Vec<usize> = std::str::from_utf8(&good[..nl])
        .unwrap()
        .split(' ')
        .skip(2)
        .map(|n| n.parse().unwrap())
        .collect();
    let (header_end, sig_end) = (nl + 1 + pro[0], nl + 1 + pro[0] + pro[1]);
    let mut offsets: Vec<usize> = (0..=nl).collect(); // every prologue byte
    offsets.extend((nl + 1..header_end).step_by(3)); // header
    offsets.extend(header_end..sig_end.min(header_end + 45)); // untrusted comment, all of it
    offsets.extend((header_end..sig_end).step_by(2)); // signature
    offsets.push(sig_end - 1); // its final newline
    offsets.extend((sig_end..sig_end + 200).step_by(5)); // age header
    offsets.extend((sig_end..good.len()).step_by((good.len() - sig_end) / 40 + 1)); // payload
    offsets.push(good.len() - 1);
    offsets.sort();
    offsets.dedup();
    let f = net.path("flipped.bundle");
    let mut accepted = Vec::new();
    for &o in &offsets {
        for mask in [0x01u8, 0x80] {
            std::fs::write(&f, flipped(&good, o, mask)).unwrap();
            let (code, _, err) = run(&h, &["import", s(&f)]);
            let part = match o {
                _ if o <= nl => "prologue",
                _ if o < header_end => "header",
                _ if o < sig_end => "signature",
                _ => "payload",
            };
            if code != REJECTED {
                accepted.push(format!("{part} offset {o} ^{mask:#04x}: exit {code}: {}", err.trim()));
                crate::common::restore(&h, &before);
                continue;
            }
            crate::common::assert_one_error_line(&err, &[s(&f)]);
            assert!(
                snapshot(&h) == before,
                "{part} offset {o}: refused but the home changed"
            );
        }
    }
    assert!(
        accepted.is_empty(),
        "{} of {} flipped bundles not refused with exit 1 (header ends at {header_end}, signature at {sig_end}):\n{}",
        accepted.len(),
        offsets.len() * 2,
        accepted.join("\n")
    );
    // the unflipped bundle still imports
    assert_eq!(run(&h, &["import", s(&net.path("good.bundle"))]).0, 0);
}

#[test]
fn truncated_empty_and_garbage_bundles_are_refused() {
    let net = Net::new(&["alice"]);
    let good = std::fs::read(net.export("hq", "alice", "good.bundle")).unwrap();
    let h = net.home("alice");
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let cases: Vec<(PathBuf, &str)> = vec![
        (write(&net, "empty.bundle", b""), "empty"),
        (write(&net, "garbage.bundle", &garbage), "not a secfile-bundle"),
        (write(&net, "text.bundle", b"hello\n"), "not a secfile-bundle"),
        (write(&net, "prologue-only.bundle", &good[..20]), "truncated"),
        (write(&net, "header-cut.bundle", &good[..200]), "truncated"),
        (
            write(&net, "payload-cut.bundle", &good[..good.len() - 100]),
            "truncated",
        ),
        (write(&net, "one-short.bundle", &good[..good.len() - 1]), "truncated"),
        (write(&net, "extended.bundle", &[&good[..], b"x"].concat()), "extended"),
    ];
    for (b, why) in cases {
        refused_import(&h, &b, why);
    }
    // a directory is not a bundle
    let d = net.path("a-dir");
    std::fs::create_dir(&d).unwrap();
    refused_import(&h, &d, "not a regular file");
    // stdin: empty
    let before = snapshot(&h);
    let mut c = at(&h, &["sync", "import", "-"]);
    c.write_stdin(Vec::<u8>::new());
    assert_refused(output(c), REJECTED, &["stdin", "empty"], &h, &before);
}

#[test]
fn broken_armor_is_refused() {
    let net = Net::new(&["alice"]);
    let a = net.path("good.asc");
    ok(
        &net.home("hq"),
        &["sync", "export", "--to", "alice", "--armor", "--out", s(&a)],
    );
    let text = std::fs::read_to_string(&a).unwrap();
    let h = net.home("alice");
    let lines: Vec<String> = text.lines().map(String::from).collect();
    let mut star = lines.clone();
    star[3].replace_range(10..11, "*");
    let no_end: Vec<String> = lines.iter().filter(|l| !l.contains("END")).cloned().collect();
    let mut dropped = lines.clone();
    dropped.remove(4);
    let mut letter = lines.clone();
    let c = letter[5].as_bytes()[7];
    letter[5].replace_range(7..8, if c == b'Q' { "R" } else { "Q" });
    // text after the END line is a mail's signature, not damage (issue 12); inside the
    // armor a line of text is refused
    let mut inside = lines.clone();
    inside.insert(3, "not armor".into());
    let cases = [
        ("star.asc", star, "bad character on line 4"),
        ("no-end.asc", no_end, "missing -----END"),
        ("dropped-line.asc", dropped, ""),
        ("other-letter.asc", letter, ""),
        ("text-inside.asc", inside, "line 4"),
    ];
    for (name, ls, why) in cases {
        let p = write(&net, name, (ls.join("\n") + "\n").as_bytes());
        refused_import(&h, &p, why);
    }
    let p = write(&net, "begin-only.asc", b"-----BEGIN SECFILE BUNDLE-----\n");
    refused_import(&h, &p, "missing");
}

#[test]
fn missing_home_is_an_environment_error() {
    let p = Path::new("/nonexistent/x");
    for args in [
        &["status"][..],
        &["verify"],
        &["append", "--kind", "note"],
        &["sync", "import", "-"],
    ] {
        let (code, _, err) = run(p, args);
        assert_eq!(code, ENV, "{args:?}: {err}");
        crate::common::assert_one_error_line(&err, &["/nonexistent/x", "no secfile home"]);
    }
    assert!(!p.exists());
}

#[test]
fn unreadable_home_is_an_environment_error() {
    if is_root() {
        eprintln!("SKIP unreadable_home_is_an_environment_error: running as root, which ignores permissions");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let net = Net::new(&["alice"]);
    let h = net.home("alice");
    let before = snapshot(&h);
    std::fs::set_permissions(&h, std::fs::Permissions::from_mode(0o000)).unwrap();
    let results: Vec<_> = [&["status"][..], &["append", "--kind", "note"], &["verify"]]
        .iter()
        .map(|a| (a.to_vec(), run(&h, a)))
        .collect();
    std::fs::set_permissions(&h, std::fs::Permissions::from_mode(0o700)).unwrap();
    for (args, (code, _, err)) in results {
        assert_eq!(code, ENV, "{args:?}: {err}");
        crate::common::assert_one_error_line(&err, &[s(&h)]);
    }
    assert!(snapshot(&h) == before);
}

#[test]
fn home_locked_by_another_process_is_busy() {
    let net = Net::new(&["alice"]);
    let b = net.export("hq", "alice", "b.bundle");
    let h = net.home("alice");
    let before = snapshot(&h);
    let lock = std::fs::File::open(h.join("lock")).unwrap();
    lock.lock().unwrap();
    for args in [
        &["import", s(&b)][..],
        &["append", "--kind", "note"],
        &["sync", "export", "--to", "hq", "--out", s(&net.path("x.bundle"))],
    ] {
        let mut c = at(&h, args);
        c.env("SECFILE_LOCK_TIMEOUT", "0.2");
        assert_refused(output(c), BUSY, &[s(&h), "busy"], &h, &before);
    }
    assert!(!net.path("x.bundle").exists());
    let hq = net.home("hq");
    let before = snapshot(&hq);
    let l2 = std::fs::File::open(hq.join("lock")).unwrap();
    l2.lock().unwrap();
    let mut c = at(&hq, &["roster", "remove", "alice"]);
    c.env("SECFILE_LOCK_TIMEOUT", "0.2");
    assert_refused(output(c), BUSY, &[s(&hq), "busy"], &hq, &before);
    // reading commands do not need the lock
    assert_eq!(run(&h, &["status"]).0, 0);
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let net = Net::new(&[]);
    let h = net.home("hq");
    let before = snapshot(&h);
    assert_refused(run(&h, &["status", "--bogus"]), USAGE, &["--bogus"], &h, &before);
    assert_refused(run(&h, &["frobnicate"]), USAGE, &["frobnicate"], &h, &before);
    assert_refused(run(&h, &["append"]), USAGE, &["--kind"], &h, &before);
    assert_refused(
        run(&h, &["append", "--kind", "note", "--field", "nokey"]),
        USAGE,
        &["nokey", "KEY=VALUE"],
        &h,
        &before,
    );
}
