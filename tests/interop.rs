//! Interop with the stock tools an auditor has: the Debian `minisign` (C) and `age` (Go)
//! CLIs and coreutils `sha256sum`. Every block of every home is checked with
//! `minisign -Vm` and every `prev` with `sha256sum`; bundles (binary and armored) and cards
//! are cut apart, verified and decrypted with the shell recipes of docs/formats.md, which
//! these tests read out of the document and run with `sh -c`, so the document is tested.
//! Each check also has a tampered counterpart that must fail, so the checks can fail.
//!
//! A missing tool skips the test with `skipping: <tool> not installed`, unless `CI=true`,
//! where it fails.
use crate::common::{Net, copy_tree, formats_md, ok, recipe, run_recipe, stock_tools as tools};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

// ---------------------------------------------------------------------------------------
// stock tools

fn run_tool(cmd: &str, args: &[&str], cwd: &Path) -> Output {
    Command::new(cmd)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Stock `minisign -Vm FILE -x SIG -P PK`: the trusted comment it printed, or its error.
fn minisign_verify(file: &Path, sig: &Path, pk: &str) -> Result<String, String> {
    let out = run_tool("minisign", &["-Vm", s(file), "-x", s(sig), "-P", pk], Path::new("/"));
    if !out.status.success() {
        return Err(format!("{}{}", text(&out.stdout), text(&out.stderr)));
    }
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Signature and comment signature verified"), "{stdout}");
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Trusted comment: "))
        .map(str::to_string)
        .ok_or_else(|| format!("no trusted comment in {stdout:?}"))
}

/// Stock `sha256sum FILE`: the hex digest.
fn sha256sum(file: &Path) -> String {
    let out = run_tool("sha256sum", &[s(file)], Path::new("/"));
    assert!(
        out.status.success(),
        "sha256sum {}: {}",
        file.display(),
        text(&out.stderr)
    );
    let hex = text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()), "{hex}");
    hex
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

// ---------------------------------------------------------------------------------------
// the recipes of docs/formats.md

fn recipe_ok(name: &str, cwd: &Path, vars: &[(&str, &Path)]) -> String {
    let out = run_recipe(name, cwd, vars);
    assert!(
        out.status.success(),
        "recipe {name} failed in {}:\n{}{}",
        cwd.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Run a recipe that must fail with a `FAIL:` line containing `want`.
fn recipe_fails(name: &str, cwd: &Path, vars: &[(&str, &Path)], want: &str) {
    let out = run_recipe(name, cwd, vars);
    let err = text(&out.stderr);
    assert!(
        !out.status.success() && err.contains("FAIL:") && err.contains(want),
        "recipe {name} in {} should have failed with {want:?}; got {:?}:\n{}{err}",
        cwd.display(),
        out.status.code(),
        text(&out.stdout),
    );
}

// ---------------------------------------------------------------------------------------
// the consortium and reading its files with nothing but string matching

const NODES: [&str; 3] = ["hq", "alice", "bob"];

fn append(net: &Net, who: &str, kind: &str, field: &str) {
    ok(&net.home(who), &["append", "--kind", kind, "--field", field]);
}

/// hq (master), alice and bob, with blocks on every chain spread by direct and relayed syncs.
fn consortium() -> Net {
    let net = Net::new(&["alice", "bob"]);
    append(&net, "alice", "note", "x=1");
    // a block near MAX_BLOCK, so the age payloads span several 64 KiB STREAM chunks
    let fields: Vec<String> = (0..15)
        .map(|i| format!("f{i:02}={}", "0123456789abcdef".repeat(250)))
        .collect();
    let mut args = vec!["append", "--kind", "bulk"];
    for f in &fields {
        args.extend(["--field", f.as_str()]);
    }
    ok(&net.home("alice"), &args);
    append(&net, "bob", "note", "msg=hello & *world* #1 \"quoted\"");
    net.sync("alice", "hq");
    net.sync("bob", "hq");
    append(&net, "hq", "memo", "z=3");
    append(&net, "alice", "note", "x=2");
    net.sync("hq", "alice");
    net.sync("hq", "bob");
    net.sync("alice", "bob"); // alice's second block reaches bob directly, hq's relayed
    net
}

struct NodeInfo {
    id: String,
    name: String,
    role: String,
    fingerprint: String,
    /// The base64 public key from the node's own keys/minisign.pub.
    pk: String,
}

fn node_info(net: &Net, name: &str) -> NodeInfo {
    let home = net.home(name);
    let j: serde_json::Value = serde_json::from_str(&ok(&home, &["--json", "status"])).expect("status json");
    let pubfile = std::fs::read_to_string(home.join("keys/minisign.pub")).unwrap();
    let pk = pubfile
        .lines()
        .nth(1)
        .expect("minisign.pub key line")
        .trim()
        .to_string();
    NodeInfo {
        id: j["id"].as_str().unwrap().to_string(),
        name: j["name"].as_str().unwrap().to_string(),
        role: j["role"].as_str().unwrap().to_string(),
        fingerprint: j["fingerprint"].as_str().unwrap().to_string(),
        pk,
    }
}

/// Node infos by id.
fn infos(net: &Net) -> BTreeMap<String, NodeInfo> {
    NODES
        .iter()
        .map(|n| {
            let i = node_info(net, n);
            (i.id.clone(), i)
        })
        .collect()
}

/// `(chain, height, path)` of every block file under `chains/`, in order.
fn block_files(home: &Path) -> Vec<(String, u64, PathBuf)> {
    let mut v = Vec::new();
    for d in std::fs::read_dir(home.join("chains")).unwrap() {
        let d = d.unwrap();
        let chain = d.file_name().to_string_lossy().into_owned();
        for f in std::fs::read_dir(d.path()).unwrap() {
            let f = f.unwrap();
            let name = f.file_name().to_string_lossy().into_owned();
            if let Some(h) = name.strip_suffix(".yaml") {
                v.push((chain.clone(), h.parse().expect("ten digits"), f.path()));
            }
        }
    }
    v.sort();
    v
}

/// The value of a line `KEY: VALUE` at column `indent` (quotes removed).
fn field(doc: &[u8], indent: usize, key: &str) -> Option<String> {
    let prefix = format!("{}{key}: ", " ".repeat(indent));
    text(doc).lines().find_map(|l| {
        let v = l.strip_prefix(&prefix)?;
        Some(
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v)
                .to_string(),
        )
    })
}

fn sig_path(p: &Path) -> PathBuf {
    PathBuf::from(format!("{}.minisig", p.display()))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Copy a file with the byte at `at` changed.
fn tamper(from: &Path, to: &Path, at: usize) {
    let mut b = std::fs::read(from).unwrap();
    b[at] ^= 0x01;
    std::fs::write(to, b).unwrap();
}

// ---------------------------------------------------------------------------------------
// blocks

#[test]
fn blocks_check_with_stock_minisign_and_sha256sum() {
    if !tools(&["minisign", "sha256sum", "sh"]) {
        return;
    }
    let net = consortium();
    let nodes = infos(&net);
    // heights each home must hold, per chain: hq's memo went out before alice's second note
    let want: BTreeMap<&str, [u64; 3]> = [("hq", [4, 3, 2]), ("alice", [4, 4, 2]), ("bob", [4, 4, 2])].into();
    for home_name in NODES {
        let home = net.home(home_name);
        let blocks = block_files(&home);
        let mut per_chain: BTreeMap<String, u64> = BTreeMap::new();
        for (chain, height, path) in &blocks {
            *per_chain.entry(chain.clone()).or_default() += 1;
            let owner = nodes.get(chain).unwrap_or_else(|| panic!("{chain} is not a node"));
            let bytes = std::fs::read(path).unwrap();
            // the owner's key, from its own key file, is the one in its genesis block
            let genesis = std::fs::read(home.join("chains").join(chain).join("0000000000.yaml")).unwrap();
            assert_eq!(field(&genesis, 2, "minisign").as_deref(), Some(owner.pk.as_str()));
            let tc = minisign_verify(path, &sig_path(path), &owner.pk)
                .unwrap_or_else(|e| panic!("stock minisign rejects {}: {e}", path.display()));
            assert_eq!(tc, format!("secfile block {chain} {height}"), "{}", path.display());
            let prev = field(&bytes, 0, "prev").expect("prev line");
            if *height == 0 {
                assert_eq!(prev, "null");
            } else {
                let before = path.with_file_name(format!("{:010}.yaml", height - 1));
                assert_eq!(prev, sha256sum(&before), "prev of {}", path.display());
            }
        }
        let got = NODES.map(|n| per_chain.get(&nodes_id(&nodes, n)).copied().unwrap_or(0));
        assert_eq!(
            got, want[home_name],
            "blocks per chain (hq, alice, bob) in {home_name}'s home"
        );

        // the documented recipe agrees, block for block
        let out = recipe_ok("blocks", &home, &[]);
        let oks: Vec<&str> = out.lines().filter(|l| l.starts_with("ok ")).collect();
        assert_eq!(oks.len(), blocks.len(), "{out}");
        for ((_, _, path), line) in blocks.iter().zip(&oks) {
            let rel = path.strip_prefix(&home).unwrap();
            assert_eq!(*line, format!("ok {} {}", rel.display(), sha256sum(path)));
        }
    }
}

fn nodes_id(nodes: &BTreeMap<String, NodeInfo>, name: &str) -> String {
    nodes.values().find(|n| n.name == name).unwrap().id.clone()
}

#[test]
fn tampered_blocks_fail_the_stock_checks() {
    if !tools(&["minisign", "sha256sum", "sh"]) {
        return;
    }
    let net = consortium();
    let nodes = infos(&net);
    let alice = &nodes[&nodes_id(&nodes, "alice")];
    let bob_home = net.home("bob");
    let rel = PathBuf::from("chains").join(&alice.id);
    let b1 = rel.join("0000000001.yaml");
    let fresh = |name: &str| -> PathBuf {
        let d = net.path(name);
        copy_tree(&bob_home.join("chains"), &d.join("chains"), &[]);
        recipe_ok("blocks", &d, &[]); // untouched copy passes
        d
    };

    // a flipped byte: stock minisign refuses it
    let d = fresh("flip");
    let orig = std::fs::read(d.join(&b1)).unwrap();
    let edited = text(&orig).replace("\"x\": \"1\"", "\"x\": \"9\"");
    assert_ne!(edited.as_bytes(), &orig[..]);
    std::fs::write(d.join(&b1), edited).unwrap();
    assert!(minisign_verify(&d.join(&b1), &sig_path(&d.join(&b1)), &alice.pk).is_err());
    recipe_fails("blocks", &d, &[], "0000000001.yaml: bad signature");

    // two blocks' signatures swapped
    let d = fresh("swap");
    let b2 = rel.join("0000000002.yaml");
    let (s1, s2) = (sig_path(&d.join(&b1)), sig_path(&d.join(&b2)));
    let (x, y) = (std::fs::read(&s1).unwrap(), std::fs::read(&s2).unwrap());
    std::fs::write(&s1, y).unwrap();
    std::fs::write(&s2, x).unwrap();
    recipe_fails("blocks", &d, &[], "bad signature");

    // a deleted middle block
    let d = fresh("gap");
    std::fs::remove_file(d.join(&b1)).unwrap();
    recipe_fails("blocks", &d, &[], "expected height 1 here");

    // validly signed by the owner with the stock CLI (its key file works there too),
    // but with a broken `prev`: the sha256sum link catches it
    let d = fresh("relink");
    let orig = text(&std::fs::read(d.join(&b1)).unwrap());
    let prev = field(orig.as_bytes(), 0, "prev").unwrap();
    std::fs::write(d.join(&b1), orig.replace(&prev, &"0".repeat(64))).unwrap();
    let tc = format!("secfile block {} 1", alice.id);
    stock_sign(&net.home("alice"), &d.join(&b1), &tc);
    assert_eq!(
        minisign_verify(&d.join(&b1), &sig_path(&d.join(&b1)), &alice.pk),
        Ok(tc)
    );
    recipe_fails("blocks", &d, &[], "is not the SHA-256 of the block before");

    // validly signed, but for another height: the trusted comment catches it
    let d = fresh("comment");
    stock_sign(
        &net.home("alice"),
        &d.join(&b1),
        &format!("secfile block {} 7", alice.id),
    );
    recipe_fails("blocks", &d, &[], "trusted comment is 'secfile block");
}

/// Sign a file with the node's secret key using the stock minisign CLI.
fn stock_sign(home: &Path, file: &Path, trusted_comment: &str) {
    let key = home.join("keys/minisign.key");
    let out = run_tool(
        "minisign",
        &["-S", "-s", s(&key), "-m", s(file), "-t", trusted_comment],
        Path::new("/"),
    );
    assert!(out.status.success(), "stock minisign -S: {}", text(&out.stderr));
}

#[test]
fn keys_recipe_anchors_every_chain() {
    if !tools(&["sha256sum", "sh"]) {
        return;
    }
    let net = consortium();
    let nodes = infos(&net);
    for home_name in NODES {
        let home = net.home(home_name);
        let out = recipe_ok("keys", &home, &[]);
        let mut chains = BTreeMap::new();
        let mut admitted = Vec::new();
        for l in out.lines() {
            let w: Vec<&str> = l.split(' ').collect();
            if w[0] == "admitted" {
                assert!(!l.contains("not here"), "{l}");
                admitted.push(w[1].to_string());
            } else {
                chains.insert(w[0].to_string(), (w[1].to_string(), w[2].to_string(), w[3].to_string()));
            }
        }
        assert_eq!(chains.len(), 3, "{out}");
        for n in nodes.values() {
            assert_eq!(chains[&n.id], (n.role.clone(), n.name.clone(), n.fingerprint.clone()));
        }
        admitted.sort();
        let mut members = vec![nodes_id(&nodes, "alice"), nodes_id(&nodes, "bob")];
        members.sort();
        assert_eq!(admitted, members, "{out}");
    }
    // a master admit block naming another card hash fails the anchor
    let d = net.path("anchor");
    copy_tree(&net.home("bob").join("chains"), &d.join("chains"), &[]);
    let admit = d.join("chains").join(nodes_id(&nodes, "hq")).join("0000000001.yaml");
    let orig = text(&std::fs::read(&admit).unwrap());
    let card = field(orig.as_bytes(), 2, "card").unwrap();
    std::fs::write(&admit, orig.replace(&card, &"a".repeat(64))).unwrap();
    recipe_fails("keys", &d, &[], "card hash is not that of");
}

// ---------------------------------------------------------------------------------------
// cards

#[test]
fn cards_check_with_stock_minisign() {
    if !tools(&["minisign", "sha256sum", "sh"]) {
        return;
    }
    let net = Net::new(&["alice"]);
    for name in ["hq", "alice"] {
        let info = node_info(&net, name);
        let home = net.home(name);
        let card = net.path(&format!("{name}-export.card"));
        ok(&home, &["card", "--out", s(&card)]);
        let work = net.path(&format!("card-{name}"));
        let out = recipe_ok("card", &work, &[("CARD", &card)]);
        let role = if name == "hq" { "master" } else { "member" };
        let genesis = home.join("chains").join(&info.id).join("0000000000.yaml");
        assert_eq!(
            out,
            format!(
                "card of {name} ({role}) id {} fingerprint {}\ngenesis hash {}\n",
                info.id,
                info.fingerprint,
                sha256sum(&genesis)
            )
        );
        // the parts are exactly the genesis block and its signature
        assert_eq!(
            std::fs::read(work.join("genesis.yaml")).unwrap(),
            std::fs::read(&genesis).unwrap()
        );
        assert_eq!(
            std::fs::read(work.join("genesis.yaml.minisig")).unwrap(),
            std::fs::read(sig_path(&genesis)).unwrap()
        );
        let tc = minisign_verify(&work.join("genesis.yaml"), &work.join("genesis.yaml.minisig"), &info.pk);
        assert_eq!(tc, Ok(format!("secfile block {} 0", info.id)));

        // a changed byte in the card's block, and a card with an extra byte, both fail
        let bad = net.path(&format!("{name}-flipped.card"));
        let orig = std::fs::read(&card).unwrap();
        let at = find(&orig, format!("name: \"{name}\"").as_bytes()).unwrap() + 7;
        tamper(&card, &bad, at);
        recipe_fails(
            "card",
            &net.path(&format!("card-{name}-flipped")),
            &[("CARD", &bad)],
            "bad self-signature",
        );
        let long = net.path(&format!("{name}-long.card"));
        std::fs::write(&long, [orig.as_slice(), b"\n"].concat()).unwrap();
        recipe_fails(
            "card",
            &net.path(&format!("card-{name}-long")),
            &[("CARD", &long)],
            "extra bytes",
        );
    }
}

// ---------------------------------------------------------------------------------------
// bundles

/// Everything checked about a sync bundle that the bundle recipe opened in `work`: made by
/// `sender`, it must carry every block in `sender_home`.
fn check_opened_bundle(work: &Path, sender: &NodeInfo, sender_home: &Path, nodes: &BTreeMap<String, NodeInfo>) {
    let header = std::fs::read(work.join("header")).unwrap();
    let id = field(&header, 0, "id").unwrap();
    assert_eq!(field(&header, 0, "sender"), Some(sender.id.clone()));
    // the header signature, with the sender's own public key file, through stock minisign
    let tc = minisign_verify(&work.join("header"), &work.join("header.minisig"), &sender.pk);
    assert_eq!(tc, Ok(format!("secfile bundle sync {id}")));
    // the payload digest and size in the signed header, against stock sha256sum
    let payload_age = work.join("payload.age");
    assert_eq!(field(&header, 2, "sha256"), Some(sha256sum(&payload_age)));
    assert_eq!(
        field(&header, 2, "size"),
        Some(std::fs::metadata(&payload_age).unwrap().len().to_string())
    );
    assert!(
        std::fs::read(&payload_age)
            .unwrap()
            .starts_with(b"age-encryption.org/v1\n")
    );
    // the plaintext that stock age produced carries every block with its signature
    let plain = std::fs::read(work.join("payload")).unwrap();
    assert!(
        plain.starts_with(b"secfile-payload 1\n"),
        "{}",
        text(&plain[..40.min(plain.len())])
    );
    assert!(plain.len() > 64 * 1024, "the payload should span several age chunks");
    let blocks = block_files(sender_home);
    assert!(blocks.len() >= 7, "{} blocks", blocks.len());
    for (chain, height, path) in &blocks {
        let name = format!("blocks/{chain}/{height:010}-{}.yaml", sha256sum(path));
        for (entry, file) in [
            (name.clone(), path.clone()),
            (format!("{name}.minisig"), sig_path(path)),
        ] {
            let bytes = std::fs::read(&file).unwrap();
            let framed = [format!("{entry} {}\n", bytes.len()).as_bytes(), &bytes, b"\n"].concat();
            assert!(find(&plain, &framed).is_some(), "payload lacks {entry}");
        }
    }
    // the documented unpacking gives back the exact files, each still checking with stock
    // minisign under its owner's key
    let out = recipe_ok("payload", work, &[]);
    assert_eq!(out.lines().count(), 1 + 2 * blocks.len(), "{out}");
    let frontier = std::fs::read(work.join("entries/frontier.yaml")).unwrap();
    assert!(frontier.starts_with(format!("node: \"{}\"\nheads:\n", sender.id).as_bytes()));
    for (chain, height, path) in &blocks {
        let entry = work.join(format!("entries/blocks/{chain}/{height:010}-{}.yaml", sha256sum(path)));
        assert_eq!(std::fs::read(&entry).unwrap(), std::fs::read(path).unwrap());
        assert_eq!(
            std::fs::read(sig_path(&entry)).unwrap(),
            std::fs::read(sig_path(path)).unwrap()
        );
        let tc = minisign_verify(&entry, &sig_path(&entry), &nodes[chain].pk);
        assert_eq!(tc, Ok(format!("secfile block {chain} {height}")));
    }
}

#[test]
fn bundles_open_with_stock_minisign_and_age() {
    if !tools(&["minisign", "age", "sha256sum", "sh"]) {
        return;
    }
    let net = consortium();
    let nodes = infos(&net);
    let alice = &nodes[&nodes_id(&nodes, "alice")];
    let bundle = net.path("alice-all.bundle");
    ok(
        &net.home("alice"),
        &["sync", "export", "--to", "bob", "--all", "--out", s(&bundle)],
    );
    let bob = net.home("bob");

    let work = net.path("open");
    let out = recipe_ok("bundle", &work, &[("B", &bundle), ("H", &bob)]);
    assert!(out.starts_with("sync bundle ") && out.contains(&alice.id), "{out}");
    // the three parts put back together are the bundle
    let b = std::fs::read(&bundle).unwrap();
    let parts = ["header", "header.minisig", "payload.age"].map(|p| std::fs::read(work.join(p)).unwrap());
    let first = format!("secfile-bundle 1 {} {}\n", parts[0].len(), parts[1].len());
    assert_eq!([first.as_bytes(), &parts[0], &parts[1], &parts[2]].concat(), b);
    check_opened_bundle(&work, alice, &net.home("alice"), &nodes);
    // and secfile itself still takes the bundle the recipe read
    ok(&bob, &["sync", "import", s(&bundle)]);

    // tampering is caught before anything is decrypted
    let cases = [
        ("payload", b.len() - 1, "payload SHA-256 differs from the header"),
        (
            "header",
            first.len() + find(&parts[0], b"created: \"2").unwrap() + 12,
            "bad header signature",
        ),
        ("sig", first.len() + parts[0].len() + 60, "bad header signature"),
    ];
    for (what, at, want) in cases {
        let bad = net.path(&format!("tampered-{what}.bundle"));
        tamper(&bundle, &bad, at);
        let w = net.path(&format!("open-tampered-{what}"));
        recipe_fails("bundle", &w, &[("B", &bad), ("H", &bob)], want);
        assert!(!w.join("payload").exists(), "{what}: decrypted anyway");
    }
    let short = net.path("truncated.bundle");
    std::fs::write(&short, &b[..b.len() - 1]).unwrap();
    recipe_fails(
        "bundle",
        &net.path("open-short"),
        &[("B", &short), ("H", &bob)],
        "is not the",
    );
    // hq holds alice's key but is not a recipient: stock age cannot open it
    recipe_fails(
        "bundle",
        &net.path("open-hq"),
        &[("B", &bundle), ("H", &net.home("hq"))],
        "does not decrypt",
    );
}

#[test]
fn armored_bundles_open_after_the_documented_dearmor() {
    if !tools(&["minisign", "age", "sha256sum", "sh", "base64", "sed"]) {
        return;
    }
    let net = consortium();
    let nodes = infos(&net);
    let alice = &nodes[&nodes_id(&nodes, "alice")];
    // without --to: encrypted to every other roster member
    let asc = net.path("alice.asc");
    ok(
        &net.home("alice"),
        &["sync", "export", "--all", "--armor", "--out", s(&asc)],
    );
    let armored = text(&std::fs::read(&asc).unwrap());
    assert!(armored.starts_with("-----BEGIN SECFILE BUNDLE-----\n"));
    assert!(armored.ends_with("\n-----END SECFILE BUNDLE-----\n"));
    let bin = net.path("alice-from-asc.bundle");
    recipe_ok("dearmor", &net.path("dearmor"), &[("A", &asc), ("B", &bin)]);
    assert!(std::fs::read(&bin).unwrap().starts_with(b"secfile-bundle 1 "));
    for h in ["hq", "bob"] {
        let work = net.path(&format!("open-asc-{h}"));
        recipe_ok("bundle", &work, &[("B", &bin), ("H", &net.home(h))]);
        let header = text(&std::fs::read(work.join("header")).unwrap());
        for r in ["hq", "bob"] {
            assert!(header.contains(&format!("- \"{}\"\n", nodes_id(&nodes, r))), "{header}");
        }
        check_opened_bundle(&work, alice, &net.home("alice"), &nodes);
    }
    // one changed base64 character in the middle of the armor is caught
    let lines: Vec<&str> = armored.lines().collect();
    let mid = lines.len() / 2;
    let mut changed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let c = if changed[mid].starts_with('A') { "B" } else { "A" };
    changed[mid].replace_range(0..1, c);
    let bad_asc = net.path("bad.asc");
    std::fs::write(&bad_asc, changed.join("\n") + "\n").unwrap();
    let bad_bin = net.path("bad-from-asc.bundle");
    recipe_ok("dearmor", &net.path("dearmor-bad"), &[("A", &bad_asc), ("B", &bad_bin)]);
    recipe_fails(
        "bundle",
        &net.path("open-bad-asc"),
        &[("B", &bad_bin), ("H", &net.home("bob"))],
        "differs from the header",
    );
}

// ---------------------------------------------------------------------------------------
// the document itself

#[test]
fn formats_doc_limits_match_the_code() {
    use secfile::{bundle, envelope, subchain, transport::sync};
    let doc = formats_md();
    let limits: [(&str, u64); 10] = [
        ("MAX_BLOCK", subchain::MAX_BLOCK as u64),
        ("MAX_FIELD", subchain::MAX_FIELD as u64),
        ("MAX_FIELDS", subchain::MAX_FIELDS as u64),
        ("MAX_HEADER", bundle::MAX_HEADER as u64),
        ("MAX_BUNDLE", bundle::MAX_BUNDLE),
        ("MAX_RECIPIENTS", bundle::MAX_RECIPIENTS as u64),
        ("MAX_SIG", envelope::MAX_SIG as u64),
        ("MAX_ENTRIES", bundle::payload::MAX_ENTRIES),
        ("MAX_FRONTIER", sync::MAX_FRONTIER as u64),
        ("MAX_PROLOGUE", envelope::MAX_PROLOGUE as u64),
    ];
    for (name, value) in limits {
        let row = format!("| `{name}` | {value} |");
        assert!(doc.contains(&row), "docs/formats.md lacks the row {row}");
    }
    for r in ["keys", "blocks", "card", "dearmor", "bundle", "payload"] {
        assert!(recipe(r).starts_with("set -eu"), "recipe {r} starts with set -eu");
    }
}

// ---------------------------------------------------------------------------------------
// the signature rule (DESIGN §5): crafted signatures get stock minisign's verdict

/// Every crafted case of `common::craft` (torsion in R or the key, small-order points,
/// non-canonical R, S and key), written in minisign's file format: stock `minisign -V`
/// (libsodium) and secfile reach the same verdict, the one libsodium's rules give.
#[test]
fn crafted_signatures_get_the_verdict_of_stock_minisign() {
    if !tools(&["minisign"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut tried, mut accepted) = (0, 0);
    let mut wrong = Vec::new();
    for round in 0..3 {
        for (i, c) in crate::common::craft::cases(&format!("interop {round}"))
            .into_iter()
            .enumerate()
        {
            let data = dir.path().join(format!("{round}-{i}.yaml"));
            let sig = sig_path(&data);
            std::fs::write(&data, &c.data).unwrap();
            std::fs::write(&sig, &c.sig).unwrap();
            let stock = minisign_verify(&data, &sig, &c.pk_base64());
            let pk = minisign::PublicKey::from_bytes(&c.pk).unwrap();
            let ours = secfile::subchain::sign::verify(&pk, &c.data, c.sig.as_bytes(), &c.comment);
            let many = secfile::subchain::sign::verify_many(&[(&pk, &c.data[..], c.sig.as_bytes(), &c.comment[..])]);
            if stock.is_ok() != c.libsodium || ours.is_ok() != c.libsodium || many[0] != ours {
                wrong.push(format!(
                    "{}: libsodium's rule {}, stock minisign {stock:?}, secfile {ours:?}",
                    c.name, c.libsodium
                ));
            }
            if let Ok(tc) = &stock {
                assert_eq!(tc, &c.comment);
            }
            tried += 1;
            accepted += usize::from(ours.is_ok());
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    println!("{tried} crafted signatures, same verdict from stock minisign and secfile; {accepted} accepted by both");
}

/// End to end: a member's block re-signed by its owner with a mixed-order R (which the
/// batch verification used before took about 1 time in 2 with a torsion of order 2) is
/// reported by `secfile verify`, every time, and stock minisign refuses it too.
#[test]
fn a_block_signed_with_a_mixed_order_r_is_invalid_everywhere() {
    use crate::common::craft;
    let net = Net::new(&["alice"]);
    let home = net.home("alice");
    append(&net, "alice", "note", "x=1");
    let id = node_info(&net, "alice").id;
    let (chain, height, block) = block_files(&home).into_iter().rfind(|(c, ..)| *c == id).unwrap();
    assert!(height >= 1);
    let sk_text = std::fs::read_to_string(home.join("keys/minisign.key")).unwrap();
    let sk = minisign::SecretKey::from_unencrypted_box(minisign::SecretKeyBox::from_string(&sk_text).unwrap()).unwrap();
    let skb = sk.to_bytes(); // alg, kdf, chk (6) ‖ salt (32) ‖ limits (16) ‖ key id (8) ‖ seed ‖ pk
    let owner = craft::Owner::from_seed(&skb[62..94].try_into().unwrap(), skb[54..62].try_into().unwrap());
    let pk = owner.pk();
    assert_eq!(&pk[10..], &skb[94..126]);
    let data = std::fs::read(&block).unwrap();
    let tc = secfile::subchain::sign::block_comment(&chain, height);
    let honest = std::fs::read(sig_path(&block)).unwrap();
    for (n, j) in [(2, 0), (2, 0), (2, 0), (2, 0), (4, 0), (4, 1), (8, 0), (8, 3)] {
        let t = craft::torsion(n, j);
        let sig = craft::file(
            &owner,
            &data,
            &tc,
            |m| owner.sign_torsion(m, t),
            |m| owner.sign_honest(m),
        );
        std::fs::write(sig_path(&block), &sig).unwrap();
        let (code, out, _) = crate::common::run(&home, &["--json", "verify"]);
        assert_eq!(code, 1, "torsion of order {n}: {out}");
        let doc = crate::common::json(&out);
        assert_eq!(doc["ok"], false);
        let problems = doc["problems"].to_string();
        assert!(problems.contains("bad signature"), "{problems}");
        if tools(&["minisign"]) {
            assert!(minisign_verify(&block, &sig_path(&block), &craft::b64(&pk)).is_err());
        }
    }
    std::fs::write(sig_path(&block), honest).unwrap();
    ok(&home, &["verify"]);
}

/// Signature files whose signature line or global signature decode to more bytes than
/// minisign's 74 and 64: stock minisign refuses them, and so does secfile (minisign 0.10
/// read the first bytes and ignored the rest; the fuzzer's sign target found the global one).
#[test]
fn overlong_signature_lines_fail_stock_minisign_and_secfile() {
    if !tools(&["minisign"]) {
        return;
    }
    let chain = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/homes/hq/chains/9dd1e07a3c19a0c0");
    let block = chain.join("0000000001.yaml");
    let data = std::fs::read(&block).unwrap();
    let good = std::fs::read_to_string(sig_path(&block)).unwrap();
    let pk = "RWT2UfM9pDTt5czZ/1i8rRe9JJ7HpXu9XYJpqgj7acJocFv6BKphrO9U";
    let tc = "secfile block 9dd1e07a3c19a0c0 1";
    let pkey = minisign::PublicKey::from_base64(pk).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let variants = [
        ("good", good.clone()),
        ("global BAA=", good.replace("vs0bBA==\n", "vs0bBAA=\n")),
        ("global BAAA", good.replace("vs0bBA==\n", "vs0bBAAA\n")),
        (
            "signature line +2",
            good.replace(lines[1], &format!("{}AAA==", &lines[1][..lines[1].len() - 1])),
        ),
    ];
    for (name, sig) in variants {
        assert!(name == "good" || sig != good, "{name}: unchanged");
        let path = dir.path().join("sig");
        std::fs::write(&path, &sig).unwrap();
        let stock = minisign_verify(&block, &path, pk);
        let ours = secfile::subchain::sign::verify(&pkey, &data, sig.as_bytes(), tc);
        assert_eq!(stock.is_ok(), ours.is_ok(), "{name}: stock {stock:?}, secfile {ours:?}");
        assert_eq!(ours.is_ok(), name == "good", "{name}: {ours:?}");
    }
}

/// Issue 12: a bundle pasted into a mail (greeting, signature, CRLF, trailing blanks, a
/// quoted reply, two bundles) imports with secfile and de-armors with the documented
/// stock-tool recipe to the same bytes.
#[test]
fn armor_inside_a_mail_body_imports_and_dearmors_with_stock_tools() {
    if !tools(&["sh", "base64", "sed", "tr"]) {
        return;
    }
    let net = crate::common::Net::new(&["alice", "bob"]);
    ok(&net.home("hq"), &["append", "--kind", "note"]);
    let asc = net.path("b.asc");
    ok(
        &net.home("hq"),
        &["sync", "export", "--to", "alice", "--armor", "--out", s(&asc)],
    );
    let text = String::from_utf8(std::fs::read(&asc).unwrap()).unwrap();
    assert!(text.lines().all(|l| l.len() <= 76), "armor lines fit a mail");
    let plain = net.path("plain.bundle");
    recipe_ok("dearmor", &net.path("d0"), &[("A", &asc), ("B", &plain)]);
    let want = std::fs::read(&plain).unwrap();
    ok(&net.home("hq"), &["append", "--kind", "note"]);
    let asc2 = net.path("b2.asc");
    ok(
        &net.home("hq"),
        &["sync", "export", "--to", "alice", "--armor", "--out", s(&asc2)],
    );
    let second = String::from_utf8(std::fs::read(&asc2).unwrap()).unwrap();
    let quoted: String = text.lines().map(|l| format!("> {l}\n")).collect();
    let forms = [
        (
            "greeting",
            format!("Hello Alice,\n\nthe blocks you asked for:\n\n{text}\n-- \nhq desk\n"),
        ),
        ("crlf", text.replace('\n', "\r\n")),
        ("blanks", text.replace('\n', "  \n")),
        ("quoted", format!("On Monday hq wrote:\n{quoted}>\n> -- \n> hq desk\n")),
        ("two", format!("{text}\nand the newer one:\n{second}")),
    ];
    for (name, body) in &forms {
        let mail = net.path(&format!("{name}.eml"));
        std::fs::write(&mail, body).unwrap();
        let out = net.path(&format!("{name}.bundle"));
        recipe_ok("dearmor", &net.path(&format!("d-{name}")), &[("A", &mail), ("B", &out)]);
        assert_eq!(
            std::fs::read(&out).unwrap(),
            want,
            "{name}: the recipe gives the bundle"
        );
        let (code, stdout, err) = crate::common::run(&net.home("alice"), &["--json", "import", "--dry-run", s(&mail)]);
        assert_eq!(code, 0, "{name}: {err}");
        let j = crate::common::json(&stdout);
        let n = if *name == "two" { 2 } else { 1 };
        assert_eq!(j.as_array().map_or(1, Vec::len), n, "{name}: {stdout}");
    }
    let j = crate::common::ok_json(&net.home("alice"), &["import", s(&net.path("two.eml"))]);
    assert_eq!(j.as_array().unwrap().len(), 2, "both bundles of the mail imported: {j}");
    // damage inside a quoted armor is refused
    let bad = forms[3].1.replacen("> ", "> x", 4);
    std::fs::write(net.path("bad.eml"), bad).unwrap();
    assert_eq!(
        crate::common::run(&net.home("bob"), &["import", s(&net.path("bad.eml"))]).0,
        1
    );
}
