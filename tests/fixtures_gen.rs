//! The generator of `fixtures/` (an ignored test, so it never runs by accident):
//!
//! ```text
//! cargo test --test integration regenerate_fixtures -- --ignored
//! ```
//!
//! It drives the real binary with the fixed clock of [`common::secfile`] to build a master
//! and two members, copies their homes into `fixtures/homes/`, makes one tampered copy of
//! bob's home per case in `fixtures/tampered/` (re-signing edited blocks with the chain
//! owner's key, so the specific rule fires rather than a signature failure), makes the
//! bundles of `fixtures/bundles/`, and writes the expectation tables `cases.tsv` that
//! `tests/tamper.rs` runs. Keys are fresh on every run, so ids and hashes change; the
//! tables use `{name}` placeholders resolved through `fixtures/ids.tsv`, so they do not.
use crate::common::{self, copy_tree, fixtures_dir, ok};
use secfile::home::Home;
use secfile::identity::Keys;
use secfile::subchain::{Block, sign};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// One expected problem of a tampered home (a row of `fixtures/tampered/cases.tsv`).
pub struct Expect {
    pub kind: &'static str,
    /// Path relative to the home that the problem's `input` must name.
    pub input: &'static str,
    /// A substring of the problem's message.
    pub message: &'static str,
}

/// A tampered-home case.
pub struct Case {
    pub name: &'static str,
    /// `fixture` (a committed folder) or `test-time` (made by tests/tamper.rs from a clean
    /// copy of bob's home: git cannot store FIFOs, and symlinks do not survive every checkout).
    pub made: &'static str,
    pub tamper: Option<fn(&Gen, &Path)>,
    pub expect: Vec<Expect>,
    /// Kinds of further problems that may follow from the tampering (cascades), `-` if none.
    pub others: &'static str,
    /// `ok`, or `expected-fail` when the row documents a known gap in src/.
    pub status: &'static str,
    pub note: &'static str,
}

/// The consortium being generated.
pub struct Gen {
    pub work: tempfile::TempDir,
    pub ids: BTreeMap<String, String>,
}

impl Gen {
    fn home(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }
    fn id(&self, name: &str) -> &str {
        &self.ids[name]
    }
    /// `chains/<id of name>/<height>.yaml`, relative to a home.
    fn block(&self, name: &str, height: u64) -> PathBuf {
        PathBuf::from(format!("chains/{}/{height:010}.yaml", self.id(name)))
    }
    fn init(&mut self, name: &str, master_card: Option<&Path>) {
        let h = self.home(name);
        let mut args = vec!["--json", "init", "--name", name, "--role"];
        let card;
        match master_card {
            None => args.push("master"),
            Some(c) => {
                card = c.to_str().unwrap().to_string();
                args.extend(["member", "--master", card.as_str()]);
            }
        }
        let out = ok(&h, &args);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        self.ids.insert(name.into(), v["id"].as_str().unwrap().into());
    }
    fn card(&self, name: &str) -> PathBuf {
        let p = self.path(&format!("{name}.card"));
        ok(&self.home(name), &["card", "--out", p.to_str().unwrap()]);
        p
    }
    fn sync(&self, from: &str, to: &str) {
        let b = self.path(&format!("{from}-{to}.bundle"));
        let bs = b.to_str().unwrap();
        ok(&self.home(from), &["sync", "export", "--to", to, "--out", bs]);
        ok(&self.home(to), &["sync", "import", bs]);
        fs::remove_file(&b).unwrap();
    }
    fn note(&self, name: &str, text: &str) {
        ok(
            &self.home(name),
            &["append", "--kind", "note", "--field", &format!("text={text}")],
        );
    }
}

fn sig_path(p: &Path) -> PathBuf {
    PathBuf::from(format!("{}.minisig", p.display()))
}

/// Edit a block's text in a case home.
fn edit(home: &Path, rel: &Path, f: impl FnOnce(String) -> String) {
    let p = home.join(rel);
    let text = fs::read_to_string(&p).unwrap();
    let new = f(text.clone());
    assert_ne!(new, text, "{}: edit changed nothing", rel.display());
    fs::write(&p, new).unwrap();
}

/// Re-sign a block in a case home with the key of `signer` (normally the chain owner), as
/// chain `chain` at `height`.
fn resign(g: &Gen, signer: &str, home: &Path, rel: &Path, chain: &str, height: u64) {
    let keys = Keys::load(&Home::new(g.home(signer)), false, None).unwrap();
    let p = home.join(rel);
    let bytes = fs::read(&p).unwrap();
    let sig = sign::sign(&keys.sign, &bytes, &sign::block_comment(chain, height)).unwrap();
    fs::write(sig_path(&p), sig).unwrap();
}

/// Re-sign a block of `owner`'s chain with the owner's key.
fn resign_own(g: &Gen, owner: &str, home: &Path, height: u64) {
    resign(g, owner, home, &g.block(owner, height), g.id(owner), height);
}

/// Move a block and its signature.
fn rename_block(home: &Path, from: &Path, to: &Path) {
    fs::rename(home.join(from), home.join(to)).unwrap();
    fs::rename(sig_path(&home.join(from)), sig_path(&home.join(to))).unwrap();
}

fn x(kind: &'static str, input: &'static str, message: &'static str) -> Expect {
    Expect { kind, input, message }
}

/// Every tampered-home case, with what `verify` must report.
pub fn cases() -> Vec<Case> {
    fn c(
        name: &'static str,
        tamper: Option<fn(&Gen, &Path)>,
        expect: Vec<Expect>,
        others: &'static str,
        note: &'static str,
    ) -> Case {
        Case {
            name,
            made: if tamper.is_some() { "fixture" } else { "test-time" },
            tamper,
            expect,
            others,
            status: "ok",
            note,
        }
    }
    const B3: &str = "chains/{bob}/0000000003.yaml";
    const B2: &str = "chains/{bob}/0000000002.yaml";
    const A4: &str = "chains/{alice}/0000000004.yaml";
    vec![
        c(
            "flipped-byte",
            Some(|g, h| {
                edit(h, &g.block("bob", 3), |t| t.replacen("bob-3", "bob-4", 1));
            }),
            vec![x("bad-signature", B3, "bad signature")],
            "-",
            "one byte of bob's head block changed (note text bob-3 -> bob-4); signature left as it was",
        ),
        c(
            "flipped-byte-middle",
            Some(|g, h| {
                edit(h, &g.block("bob", 2), |t| t.replacen("bob-2", "bob-3", 1));
            }),
            vec![
                x("bad-signature", B2, "bad signature"),
                x("after-invalid", B3, "{bob}/0000000002.yaml is invalid"),
            ],
            "-",
            "one byte of bob's middle block changed: its successor is reported as following an invalid block, not as missing",
        ),
        c(
            "deleted-middle-block",
            Some(|g, h| {
                let p = h.join(g.block("bob", 2));
                fs::remove_file(sig_path(&p)).unwrap();
                fs::remove_file(p).unwrap();
            }),
            vec![x("missing", B3, "missing {bob}:2")],
            "-",
            "bob's block 2 and its signature deleted: block 3 cannot be validated",
        ),
        c(
            "swapped-signatures",
            Some(|g, h| {
                let (a, b) = (
                    sig_path(&h.join(g.block("bob", 2))),
                    sig_path(&h.join(g.block("bob", 3))),
                );
                let (sa, sb) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
                fs::write(&a, sb).unwrap();
                fs::write(&b, sa).unwrap();
            }),
            vec![
                x("bad-signature", B2, "bad signature"),
                x("bad-signature", B3, "bad signature"),
            ],
            "-",
            "the .minisig files of bob's blocks 2 and 3 swapped",
        ),
        c(
            "truncated-block",
            Some(|g, h| {
                let p = h.join(g.block("alice", 4));
                let b = fs::read(&p).unwrap();
                fs::write(&p, &b[..b.len() / 2]).unwrap();
            }),
            vec![x("malformed", A4, "truncated")],
            "-",
            "alice's head block cut to half its length",
        ),
        c(
            "missing-signature",
            Some(|g, h| fs::remove_file(sig_path(&h.join(g.block("alice", 3)))).unwrap()),
            vec![
                x(
                    "missing-signature",
                    "chains/{alice}/0000000003.yaml",
                    "missing signature",
                ),
                x("after-invalid", A4, "{alice}/0000000003.yaml is invalid"),
            ],
            "-",
            "the .minisig of alice's block 3 deleted: block 4 follows an invalid block",
        ),
        c(
            "edited-clock",
            Some(|g, h| {
                let prev = Block::decode(&fs::read(h.join(g.block("bob", 2))).unwrap()).unwrap();
                edit(h, &g.block("bob", 3), |t| {
                    let b = Block::decode(t.as_bytes()).unwrap();
                    t.replacen(
                        &format!("clock: {}\n", b.clock),
                        &format!("clock: {}\n", prev.clock - 1),
                        1,
                    )
                });
                resign_own(g, "bob", h, 3);
            }),
            vec![x("clock", B3, "is not greater than its predecessor's")],
            "-",
            "bob's block 3 given a clock below its predecessor's, re-signed by bob",
        ),
        c(
            "copied-from-other-chain",
            Some(|g, h| {
                let (from, to) = (h.join(g.block("alice", 4)), h.join(g.block("bob", 4)));
                fs::copy(&from, &to).unwrap();
                fs::copy(sig_path(&from), sig_path(&to)).unwrap();
            }),
            vec![x(
                "misplaced",
                "chains/{bob}/0000000004.yaml",
                "block of chain {alice} found in the directory of chain {bob}",
            )],
            "-",
            "alice's block 4 (validly signed by alice) copied into bob's chain directory",
        ),
        c(
            "never-admitted-chain",
            Some(|g, h| {
                let id = g.id("mallory");
                copy_tree(
                    &g.home("mallory").join("chains").join(id),
                    &h.join("chains").join(id),
                    &[],
                );
            }),
            vec![x("not-admitted", "chains/{mallory}/0000000000.yaml", "never admitted")],
            "-",
            "the chain of mallory, a member initialised against hq's card but never admitted",
        ),
        c(
            "seen-missing",
            Some(|g, h| {
                edit(h, &g.block("bob", 2), |t| {
                    let mut b = Block::decode(t.as_bytes()).unwrap();
                    let r = b
                        .seen
                        .iter_mut()
                        .find(|r| r.chain == g.id("alice"))
                        .expect("bob 2 saw alice");
                    r.height = 9;
                    r.hash = secfile::digest::hex(&secfile::digest::sha256(b"no such block"));
                    String::from_utf8(b.encode().unwrap()).unwrap()
                });
                resign_own(g, "bob", h, 2);
            }),
            vec![x("missing", B2, "missing {alice}:9")],
            "missing",
            "bob's block 2 names alice:9 (which does not exist) in seen, re-signed by bob",
        ),
        c(
            "symlink-in-chains",
            None,
            vec![x("layout", B3, "symlink")],
            "-",
            "bob's block 3 replaced by a symlink to a copy of itself outside the store",
        ),
        c(
            "fifo-in-chains",
            None,
            vec![x("layout", B3, "not a regular file")],
            "-",
            "bob's block 3 replaced by a FIFO (verify must not block on it)",
        ),
        c(
            "dir-in-chains",
            None,
            vec![x("layout", B3, "not a regular file")],
            "-",
            "bob's block 3 replaced by a directory",
        ),
        c(
            "oversized-block",
            None,
            vec![x("limit", B3, "over the block limit")],
            "-",
            "bob's block 3 padded past the 64 KiB block limit (made at test time to keep fixtures/ small)",
        ),
        c(
            "stray-file-in-chains",
            Some(|g, h| fs::write(h.join(format!("chains/{}/notes.txt", g.id("bob"))), "hello\n").unwrap()),
            vec![x(
                "layout",
                "chains/{bob}/notes.txt",
                "unexpected file in a chain directory",
            )],
            "-",
            "a file that is not a block in bob's chain directory",
        ),
        c(
            "bom",
            Some(|g, h| {
                edit(h, &g.block("alice", 4), |t| format!("\u{feff}{t}"));
                resign_own(g, "alice", h, 4);
            }),
            vec![x("malformed", A4, "BOM")],
            "-",
            "a UTF-8 byte-order mark before alice's block 4, re-signed by alice",
        ),
        c(
            "yaml-alias",
            Some(|g, h| {
                edit(h, &g.block("bob", 3), |t| {
                    let b = Block::decode(t.as_bytes()).unwrap();
                    t.replacen(&format!("time: \"{}\"\n", b.time), "time: *t\n", 1)
                });
                resign_own(g, "bob", h, 3);
            }),
            vec![x("malformed", B3, "alias")],
            "-",
            "bob's block 3 with `time: *t` (a YAML alias), re-signed by bob",
        ),
        c(
            "duplicate-key",
            Some(|g, h| {
                edit(h, &g.block("alice", 4), |t| {
                    t.replacen("kind: \"note\"\n", "kind: \"note\"\nkind: \"note\"\n", 1)
                });
                resign_own(g, "alice", h, 4);
            }),
            vec![x("malformed", A4, "duplicate key")],
            "-",
            "alice's block 4 with its `kind` line twice, re-signed by alice",
        ),
        c(
            "broken-link",
            Some(|g, h| {
                edit(h, &g.block("bob", 3), |t| {
                    let b = Block::decode(t.as_bytes()).unwrap();
                    let p = b.prev.unwrap();
                    let q = format!("{}{}", if p.starts_with('0') { "1" } else { "0" }, &p[1..]);
                    t.replacen(&p, &q, 1)
                });
                resign_own(g, "bob", h, 3);
            }),
            vec![x("broken-link", B3, "prev does not match the hash of {bob}:2")],
            "-",
            "bob's block 3 with one hex digit of prev changed, re-signed by bob",
        ),
        c(
            "renamed-block",
            Some(|g, h| rename_block(h, &g.block("bob", 3), &g.block("bob", 5))),
            vec![x(
                "misplaced",
                "chains/{bob}/0000000005.yaml",
                "file name says height 5, the block says 3",
            )],
            "-",
            "bob's block 3 and its signature renamed to height 5",
        ),
        c(
            "signed-by-other-member",
            Some(|g, h| {
                edit(h, &g.block("bob", 3), |t| t.replacen("bob-3", "bob-X", 1));
                resign(g, "alice", h, &g.block("bob", 3), g.id("bob"), 3);
            }),
            vec![x("bad-signature", B3, "bad signature")],
            "-",
            "bob's block 3 edited and signed by alice's key (with the right trusted comment)",
        ),
        c(
            "forked-chain",
            Some(|g, h| {
                let p = h.join(g.block("bob", 3));
                let t = fs::read_to_string(&p).unwrap().replacen("bob-3", "bob-3-fork", 1);
                let hash = secfile::digest::hex(&secfile::digest::sha256(t.as_bytes()));
                let rel = PathBuf::from(format!("forks/{}/0000000003-{hash}.yaml", g.id("bob")));
                fs::create_dir_all(h.join(&rel).parent().unwrap()).unwrap();
                fs::write(h.join(&rel), t).unwrap();
                resign(g, "bob", h, &rel, g.id("bob"), 3);
            }),
            vec![x("fork", "chains/{bob}", "fork at height 3")],
            "-",
            "a second block 3 validly signed by bob, kept in forks/ as evidence",
        ),
    ]
}

/// A bundle case (a row of `fixtures/bundles/cases.tsv`).
pub struct BundleCase {
    pub name: &'static str,
    pub file: &'static str,
    /// The fixture home it is imported at (a copy of it).
    pub at: &'static str,
    pub exit: i32,
    /// The error kind of `import --json` (`-` for a success).
    pub kind: &'static str,
    pub message: &'static str,
    /// Exit code of `verify FILE` at that home.
    pub verify: i32,
    /// The problem kind `verify FILE` reports (`=`: the import's kind; `-`: none).
    pub verify_kind: &'static str,
    /// `ok`, or `expected-fail` when `verify FILE` is known not to meet the row (a gap in
    /// src/; the import part must still hold).
    pub status: &'static str,
    pub note: &'static str,
}

pub fn bundle_cases() -> Vec<BundleCase> {
    fn b(
        name: &'static str,
        file: &'static str,
        exit: i32,
        kind: &'static str,
        message: &'static str,
        verify: i32,
        note: &'static str,
    ) -> BundleCase {
        BundleCase {
            name,
            file,
            at: "alice",
            exit,
            kind,
            message,
            verify,
            verify_kind: if verify == 0 { "-" } else { "=" },
            status: "ok",
            note,
        }
    }
    vec![
        b(
            "valid",
            "hq-to-alice.bundle",
            0,
            "-",
            "nothing new",
            0,
            "sync export --to alice at hq after the last sync: alice holds it all already",
        ),
        b(
            "valid-armor",
            "hq-to-alice.bundle.asc",
            0,
            "-",
            "nothing new",
            0,
            "the same with --armor",
        ),
        b(
            "prologue-flipped",
            "prologue-flipped.bundle",
            1,
            "malformed",
            "not a secfile-bundle file",
            1,
            "one byte of the magic in the first line changed",
        ),
        b(
            "header-flipped",
            "header-flipped.bundle",
            1,
            "bad-signature",
            "header signature",
            1,
            "one hex digit of the payload digest in the signed header changed",
        ),
        b(
            "signature-flipped",
            "signature-flipped.bundle",
            1,
            "bad-signature",
            "header signature",
            1,
            "one base64 character of the header's signature changed",
        ),
        b(
            "payload-flipped",
            "payload-flipped.bundle",
            1,
            "tampered",
            "payload SHA-256 does not match",
            1,
            "one bit of the age payload flipped",
        ),
        b(
            "truncated",
            "truncated.bundle",
            1,
            "tampered",
            "truncated or extended",
            1,
            "cut in the middle of the payload",
        ),
        b("empty", "empty.bundle", 1, "malformed", "empty input", 1, "zero bytes"),
        b(
            "garbage",
            "garbage.bundle",
            1,
            "malformed",
            "not a secfile-bundle file",
            1,
            "1 KiB of pseudo-random bytes",
        ),
        b(
            "armor-broken",
            "armor-broken.bundle.asc",
            1,
            "malformed",
            "broken armor: bad character on line 5",
            1,
            "a `*` in line 5 of the armored bundle",
        ),
        b(
            "armor-truncated",
            "armor-truncated.bundle.asc",
            1,
            "malformed",
            "broken armor: missing -----END SECFILE BUNDLE----- (truncated?)",
            1,
            "the armored bundle cut after line 10",
        ),
        b(
            "readdressed",
            "readdressed.bundle",
            1,
            "bad-signature",
            "header signature",
            1,
            "hq's bundle to bob with bob's id in the signed header's recipients replaced by alice's",
        ),
        b(
            "forged-block-inside",
            "forged-block-inside.bundle",
            1,
            "bad-signature",
            "block {hq}:3: bad signature",
            1,
            "bob (a member) sends alice hq's block 3 with its note edited under hq's signature; \
             verify FILE checks the blocks inside too",
        ),
        b(
            "for-another-node",
            "hq-to-bob.bundle",
            1,
            "not-addressed",
            "bundle is addressed to {bob}, not to this node ({alice})",
            0,
            "a valid bundle from hq to bob, imported at alice (verify only checks what it can)",
        ),
        b(
            "outsider",
            "outsider-to-alice.bundle",
            1,
            "outsider",
            "signed by {hq2}, a node outside this roster",
            1,
            "from hq2, the master of a second consortium that admitted alice's card, to alice",
        ),
        BundleCase {
            verify_kind: "outsider",
            ..b(
                "outsider-to-its-member",
                "outsider-to-carol.bundle",
                1,
                "not-addressed",
                "bundle is addressed to {carol}, not to this node ({alice})",
                1,
                "from hq2 to carol, its own member, imported at alice; verify FILE (which checks bundles not addressed to it) names the outsider",
            )
        },
    ]
}

/// The two tables as the generator writes them: (tampered/cases.tsv, bundles/cases.tsv).
pub fn render_tables() -> (String, String) {
    let mut t = String::from(
        "# Generated by tests/fixtures_gen.rs (see fixtures/README.md); one row per expected problem.\n\
         # {name} stands for the node id in fixtures/ids.tsv. input is relative to the home.\n\
         # case\tmade\texit\tkind\tinput\tmessage\tothers\tstatus\tnote\n",
    );
    for c in cases() {
        for e in &c.expect {
            t.push_str(&format!(
                "{}\t{}\t1\t{}\t{}\t{}\t{}\t{}\t{}\n",
                c.name, c.made, e.kind, e.input, e.message, c.others, c.status, c.note
            ));
        }
    }
    let mut u = String::from(
        "# Generated by tests/fixtures_gen.rs (see fixtures/README.md). Each file is imported at a copy of\n\
         # the `at` home: exit code, error kind of --json (- on success), message substring; then the exit code\n\
         # of `verify FILE` there and the problem kind it reports (= the import's kind, - none).\n\
         # case\tfile\tat\texit\tkind\tmessage\tverify\tverify_kind\tstatus\tnote\n",
    );
    for b in bundle_cases() {
        u.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            b.name, b.file, b.at, b.exit, b.kind, b.message, b.verify, b.verify_kind, b.status, b.note
        ));
    }
    (t, u)
}

fn write_tables(root: &Path) {
    let (t, u) = render_tables();
    fs::write(root.join("tampered/cases.tsv"), t).unwrap();
    fs::write(root.join("bundles/cases.tsv"), u).unwrap();
}

/// Rewrite only the two tables (after editing expectations, e.g. flipping an
/// `expected-fail` to `ok`), keeping keys, homes and bundles as they are.
#[test]
#[ignore = "rewrites fixtures/*/cases.tsv: run explicitly, see fixtures/README.md"]
fn regenerate_tables() {
    write_tables(&fixtures_dir());
}

/// The committed tables are what the generator's tables say.
#[test]
fn tables_match_the_generator() {
    let (t, u) = render_tables();
    let root = fixtures_dir();
    let stale = fs::read_to_string(root.join("tampered/cases.tsv")).unwrap() != t
        || fs::read_to_string(root.join("bundles/cases.tsv")).unwrap() != u;
    assert!(
        !stale,
        "fixtures/*/cases.tsv differ from tests/fixtures_gen.rs: run\n  \
         cargo test --test integration regenerate_tables -- --ignored\n\
         (or regenerate_fixtures when a tampering itself changed)"
    );
}

/// Offsets of a binary bundle's parts: (header start, signature start, payload start).
fn bundle_parts(b: &[u8]) -> (usize, usize, usize) {
    let nl = b.iter().position(|&c| c == b'\n').unwrap();
    let first = std::str::from_utf8(&b[..nl]).unwrap();
    let f: Vec<usize> = first.split(' ').skip(2).map(|n| n.parse().unwrap()).collect();
    (nl + 1, nl + 1 + f[0], nl + 1 + f[0] + f[1])
}

fn make_bundles(g: &Gen, dir: &Path) {
    let export = |from: &str, to: &str, file: &str, armor: bool| {
        let out = dir.join(file);
        let mut args = vec!["sync", "export", "--to", to, "--out", out.to_str().unwrap()];
        if armor {
            args.push("--armor");
        }
        ok(&g.home(from), &args);
        fs::read(out).unwrap()
    };
    let bin = export("hq", "alice", "hq-to-alice.bundle", false);
    let asc = export("hq", "alice", "hq-to-alice.bundle.asc", true);
    export("hq", "bob", "hq-to-bob.bundle", false);
    export("hq2", "alice", "outsider-to-alice.bundle", false);
    export("hq2", "carol", "outsider-to-carol.bundle", false);
    let (hs, ss, ps) = bundle_parts(&bin);
    let put = |name: &str, bytes: &[u8]| fs::write(dir.join(name), bytes).unwrap();

    let mut v = bin.clone();
    v[7] ^= 0x01; // secfile-bundle -> secfile,bundle
    put("prologue-flipped.bundle", &v);

    let mut v = bin.clone();
    let at = hs + find(&bin[hs..ss], b"sha256: \"") + 9;
    v[at] = if v[at] == b'0' { b'1' } else { b'0' };
    put("header-flipped.bundle", &v);

    let mut v = bin.clone();
    let at = ss + find(&bin[ss..ps], b"\n") + 1 + 20; // 20th char of the signature line
    v[at] = if v[at] == b'A' { b'B' } else { b'A' };
    put("signature-flipped.bundle", &v);

    let mut v = bin.clone();
    v[ps + (bin.len() - ps) / 2] ^= 0x01;
    put("payload-flipped.bundle", &v);

    put("truncated.bundle", &bin[..ps + (bin.len() - ps) / 2]);
    put("empty.bundle", b"");
    let mut garbage = Vec::new();
    let mut s = secfile::digest::sha256(b"garbage");
    while garbage.len() < 1024 {
        garbage.extend_from_slice(&s);
        s = secfile::digest::sha256(&s);
    }
    put("garbage.bundle", &garbage);

    let mut v = fs::read(dir.join("hq-to-bob.bundle")).unwrap();
    let (hs, ss, _) = bundle_parts(&v);
    let at = hs + find(&v[hs..ss], g.id("bob").as_bytes());
    v[at..at + 16].copy_from_slice(g.id("alice").as_bytes());
    put("readdressed.bundle", &v);

    forged_block_bundle(g, &dir.join("forged-block-inside.bundle"));

    let text = String::from_utf8(asc).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[4].replace_range(10..11, "*");
    put("armor-broken.bundle.asc", format!("{}\n", lines.join("\n")).as_bytes());
    let cut: Vec<&str> = text.lines().take(10).collect();
    put("armor-truncated.bundle.asc", format!("{}\n", cut.join("\n")).as_bytes());
}

/// Remove every empty directory under `dir` (deepest first).
fn prune_empty_dirs(dir: &Path) {
    for e in walkdir::WalkDir::new(dir).min_depth(1).contents_first(true) {
        let e = e.unwrap();
        if e.file_type().is_dir() && fs::read_dir(e.path()).unwrap().next().is_none() {
            fs::remove_dir(e.path()).unwrap();
        }
    }
}

/// A sync bundle from bob (a member alice trusts) to alice carrying hq's block 3 with its
/// note edited but hq's signature kept: the envelope is sound, a block inside is not. Made
/// with the library, since no command makes such a thing.
fn forged_block_bundle(g: &Gen, out: &Path) {
    use secfile::transport::sync::{Frontier, entry_name};
    let keys = Keys::load(&Home::new(g.home("bob")), false, None).unwrap();
    let alice = secfile::identity::Card::parse(&fs::read(g.path("alice.card")).unwrap()).unwrap();
    let p = g.home("bob").join(g.block("hq", 3));
    let bytes = fs::read_to_string(&p).unwrap().replacen("hq-3", "hq-X", 1).into_bytes();
    let sig = fs::read(sig_path(&p)).unwrap();
    let name = entry_name(g.id("hq"), 3, &secfile::digest::hex(&secfile::digest::sha256(&bytes)));
    let frontier = Frontier {
        node: g.id("bob").into(),
        heads: vec![],
    };
    let nb = secfile::bundle::NewBundle {
        kind: "sync",
        sender: g.id("bob"),
        key: &keys.sign,
        recipients: vec![(g.id("alice").into(), alice.identity.recipient().unwrap())],
        created: "2026-11-23T12:00:00Z".into(),
        armor: false,
        size_hint: 0,
    };
    let (tmp, _) = secfile::bundle::create(nb, out.parent().unwrap(), |pw| {
        pw.entry("frontier.yaml", &frontier.encode())?;
        pw.entry(&name, &bytes)?;
        pw.entry(&format!("{name}.minisig"), &sig)
    })
    .unwrap();
    tmp.persist(out).unwrap();
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("needle in bundle")
}

/// Build the consortium of the fixtures in a temp dir.
fn build() -> Gen {
    let mut g = Gen {
        work: tempfile::tempdir().unwrap(),
        ids: BTreeMap::new(),
    };
    g.init("hq", None);
    let hq_card = g.card("hq");
    for m in ["alice", "bob"] {
        g.init(m, Some(&hq_card));
        let c = g.card(m);
        ok(&g.home("hq"), &["roster", "admit", c.to_str().unwrap()]);
    }
    g.sync("hq", "alice");
    g.sync("hq", "bob");
    g.note("alice", "alice-1");
    g.note("alice", "alice-2");
    g.note("bob", "bob-1");
    g.sync("alice", "hq");
    g.sync("bob", "hq");
    g.note("hq", "hq-3");
    g.sync("hq", "alice");
    g.sync("hq", "bob");
    g.note("alice", "alice-3");
    g.note("bob", "bob-2");
    g.note("bob", "bob-3");
    g.note("alice", "alice-4");
    g.sync("alice", "hq");
    g.sync("bob", "hq");
    g.sync("hq", "alice");
    g.sync("hq", "bob");
    // never admitted: a member pinned to hq whose card hq never sees
    g.init("mallory", Some(&hq_card));
    // a second consortium: hq2 admits its own member carol, and alice's card
    g.init("hq2", None);
    let hq2_card = g.card("hq2");
    g.init("carol", Some(&hq2_card));
    let carol = g.card("carol");
    ok(&g.home("hq2"), &["roster", "admit", carol.to_str().unwrap()]);
    let alice = g.path("alice.card");
    ok(&g.home("hq2"), &["roster", "admit", alice.to_str().unwrap()]);
    for n in ["hq", "alice", "bob"] {
        let out = ok(&g.home(n), &["--json", "verify"]);
        assert!(out.contains("\"ok\": true"), "{n}: {out}");
    }
    g
}

#[test]
#[ignore = "rewrites fixtures/: run explicitly, see fixtures/README.md"]
fn regenerate_fixtures() {
    let g = build();
    let root = fixtures_dir();
    for d in ["homes", "tampered", "bundles"] {
        let p = root.join(d);
        if p.exists() {
            fs::remove_dir_all(&p).unwrap();
        }
        fs::create_dir_all(&p).unwrap();
    }
    for n in ["hq", "alice", "bob"] {
        copy_tree(&g.home(n), &root.join("homes").join(n), &["lock", "tmp"]);
    }
    // git keeps no empty directories: leave none here either, so the tests see what a clone sees
    let ids: String = g.ids.iter().map(|(n, id)| format!("{n}\t{id}\n")).collect();
    fs::write(
        root.join("ids.tsv"),
        format!("# name\tnode id (fixtures/README.md)\n{ids}"),
    )
    .unwrap();
    for c in cases() {
        if let Some(t) = c.tamper {
            let dir = root.join("tampered").join(c.name);
            copy_tree(&g.home("bob"), &dir, &["lock", "tmp"]);
            t(&g, &dir);
        }
    }
    make_bundles(&g, &root.join("bundles"));
    write_tables(&root);
    prune_empty_dirs(&root);
    // keep git from touching the bytes (block hashes are over exact bytes)
    fs::write(root.join(".gitattributes"), "* -text\n").unwrap();
    common::ok(&g.home("hq"), &["verify"]);
}
