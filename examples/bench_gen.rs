//! Generate a large, valid secfile home for benchmarks (`bench/chain.sh`).
//!
//! ```text
//! cargo run --release --example bench_gen -- DIR K N            # new: K chains × N blocks
//! cargo run --release --example bench_gen -- DIR K N --extra PCT # append PCT% more blocks
//! cargo run --release --example bench_gen -- --frontier FROM TO   # TO learns FROM's frontier
//! ```
//!
//! `--frontier` stands for what a sync bundle from FROM would tell TO (`peers/<FROM>.yaml`)
//! when the history is too big for one bundle (over the entry limit at 1M blocks).
//!
//! Makes `DIR/master` (a master home holding K sub-chains: its own and those of K-1
//! admitted members) and `DIR/members/mNN` (the members' homes, whose keys sign their
//! blocks). Homes, keys and admissions go through the library (`node::init`,
//! `act::roster::admit`); the bulk blocks are encoded, signed and written here directly, in the
//! same valid form `append` makes: correct `prev`, `clock = 1 + max(pred, seen)`, a `seen`
//! that names the master's head (so every admission is in the causal past) and the block
//! written just before (so chains interleave and finality advances). Signing runs on all
//! cores; files are written without fsync (a benchmark fixture, not a store of record).
use secfile::digest;
use secfile::home::{Home, Role};
use secfile::identity::Keys;
use secfile::merge::bodies::GenericBody;
use secfile::node::{self, Node, Options};
use secfile::subchain::{self, Block, SeenRef, sign};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Fixed time so runs are comparable (2026-01-01T00:00:00Z).
const T0: i64 = 1_767_225_600;

struct Head {
    id: String,
    keys: Keys,
    height: u64,
    hash: String,
    clock: u64,
    /// Highest height of each other chain this chain has already named in `seen`.
    seen: BTreeMap<String, u64>,
}

fn die(msg: impl std::fmt::Display) -> ! {
    eprintln!("bench_gen: {msg}");
    std::process::exit(2)
}

fn opts() -> Options {
    Options {
        now: T0,
        ..Options::default()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() == 3 && args[0] == "--frontier" {
        let from = Node::open(Home::new(&args[1]), opts()).unwrap_or_else(|e| die(e));
        let to = Home::new(&args[2]);
        let l = from.load_settled().unwrap_or_else(|e| die(e));
        let ix = l.index.unwrap_or_else(|| die("the sending home is not clean"));
        let f = secfile::transport::sync::Frontier {
            node: from.id().to_string(),
            heads: ix.frontier(),
        };
        let p = secfile::transport::sync::peer_path(&to, from.id());
        secfile::home::atomic_write(&p, &f.encode()).unwrap_or_else(|e| die(e));
        return;
    }
    let (mut pos, mut extra) = (Vec::new(), None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--extra" {
            let v = it.next().unwrap_or_else(|| die("--extra needs PCT"));
            extra = Some(v.parse::<f64>().unwrap_or_else(|_| die("--extra PCT: a number")));
        } else {
            pos.push(a.clone());
        }
    }
    if pos.len() != 3 {
        die("usage: bench_gen DIR K N [--extra PCT]");
    }
    let dir = PathBuf::from(&pos[0]);
    let k: usize = pos[1].parse().unwrap_or_else(|_| die("K: a number"));
    let n: u64 = pos[2].parse().unwrap_or_else(|_| die("N: a number"));
    if k < 2 || n < k as u64 + 1 {
        die("want K >= 2 and N > K");
    }
    let t = std::time::Instant::now();
    let written = match extra {
        None => generate(&dir, k, n),
        Some(pct) => {
            let mut heads = open_heads(&dir);
            let total: u64 = heads.iter().map(|h| h.height + 1).sum();
            let count = ((total as f64) * pct / 100.0).round() as u64;
            let last = heads.iter().max_by_key(|h| h.clock).map(|h| h.id.clone());
            write_blocks(&dir.join("master"), &mut heads, count, last, None)
        }
    };
    eprintln!(
        "bench_gen: wrote {written} blocks in {:.1}s into {}",
        t.elapsed().as_secs_f64(),
        dir.display()
    );
}

fn generate(dir: &Path, k: usize, n: u64) -> u64 {
    if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(false) {
        die(format!("{}: not empty (use --extra to add blocks)", dir.display()));
    }
    let mh = Home::new(dir.join("master"));
    node::init(&mh, "master", Role::Master, None, &opts()).unwrap_or_else(|e| die(e));
    let master = Node::open(mh.clone(), opts()).unwrap_or_else(|e| die(e));
    let mcard = master.card().unwrap_or_else(|e| die(e)).to_bytes();
    for i in 1..k {
        let h = Home::new(dir.join("members").join(format!("m{i:02}")));
        node::init(
            &h,
            &format!("m{i:02}"),
            Role::Member,
            Some((&mcard, "master card")),
            &opts(),
        )
        .unwrap_or_else(|e| die(e));
        let card = Node::open(h, opts())
            .unwrap_or_else(|e| die(e))
            .card()
            .unwrap_or_else(|e| die(e));
        secfile::act::roster::admit(&master, &card.to_bytes(), "card").unwrap_or_else(|e| die(e));
    }
    let mut heads = open_heads(dir);
    let initial: u64 = heads.iter().map(|h| h.height + 1).sum();
    let last = Some(master.id().to_string());
    initial + write_blocks(&mh.root, &mut heads, k as u64 * n - initial, last, Some(n))
}

/// Every chain's head as stored in `DIR/master`, with the keys that sign it.
fn open_heads(dir: &Path) -> Vec<Head> {
    let mut keys: BTreeMap<String, Keys> = BTreeMap::new();
    let master = Node::open(Home::new(dir.join("master")), opts()).unwrap_or_else(|e| die(e));
    let mid = master.id().to_string();
    keys.insert(mid.clone(), master.keys().unwrap_or_else(|e| die(e)));
    let mdir = dir.join("members");
    let mut members: Vec<_> = std::fs::read_dir(&mdir)
        .unwrap_or_else(|e| die(format!("{}: {e}", mdir.display())))
        .map(|e| e.unwrap().path())
        .collect();
    members.sort();
    for p in members {
        let node = Node::open(Home::new(p), opts()).unwrap_or_else(|e| die(e));
        keys.insert(node.id().to_string(), node.keys().unwrap_or_else(|e| die(e)));
    }
    let mut heads: Vec<Head> = keys
        .into_iter()
        .map(|(id, keys)| {
            let cdir = master.home.chain_dir(&id);
            let top = std::fs::read_dir(&cdir)
                .unwrap_or_else(|e| die(format!("{}: {e}", cdir.display())))
                .filter_map(|e| subchain::parse_block_file_name(&e.ok()?.file_name().to_string_lossy()))
                .max()
                .unwrap_or_else(|| die(format!("{}: no blocks", cdir.display())));
            let bytes = std::fs::read(cdir.join(subchain::block_file_name(top))).unwrap_or_else(|e| die(e));
            let b = Block::decode(&bytes).unwrap_or_else(|e| die(e));
            Head {
                seen: b.seen.iter().map(|r| (r.chain.clone(), r.height)).collect(),
                id,
                keys,
                height: top,
                hash: digest::hex(&digest::sha256(&bytes)),
                clock: b.clock,
            }
        })
        .collect();
    // the master first: every round starts by advancing it
    heads.sort_by_key(|h| h.id != mid);
    heads
}

/// Write `count` blocks round-robin over the chains (none past height `cap - 1`).
fn write_blocks(home: &Path, heads: &mut [Head], count: u64, mut last: Option<String>, cap: Option<u64>) -> u64 {
    let home = Home::new(home);
    let master = heads[0].id.clone();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    const BATCH: usize = 4096;
    let mut done = 0u64;
    let mut batch: Vec<(usize, Block, Vec<u8>)> = Vec::with_capacity(BATCH);
    let mut round = 0u64;
    while done < count {
        let mut progressed = false;
        for c in 0..heads.len() {
            if done >= count {
                break;
            }
            if cap.is_some_and(|cap| heads[c].height + 1 >= cap) {
                continue;
            }
            progressed = true;
            // seen: the master's head, and the chain written last
            let mut seen = Vec::new();
            let mut clock = heads[c].clock;
            let mut refs: Vec<usize> = Vec::new();
            if let Some(mi) = heads.iter().position(|h| h.id == master) {
                refs.push(mi);
            }
            if let Some(li) = last.as_ref().and_then(|l| heads.iter().position(|h| &h.id == l)) {
                if !refs.contains(&li) {
                    refs.push(li);
                }
            }
            for r in refs {
                if r == c || heads[c].seen.get(&heads[r].id).is_some_and(|&h| h >= heads[r].height) {
                    continue;
                }
                clock = clock.max(heads[r].clock);
                seen.push(SeenRef {
                    chain: heads[r].id.clone(),
                    height: heads[r].height,
                    hash: heads[r].hash.clone(),
                });
            }
            seen.sort_by(|a, b| a.chain.cmp(&b.chain));
            let h = &mut heads[c];
            for r in &seen {
                h.seen.insert(r.chain.clone(), r.height);
            }
            let mut fields = BTreeMap::new();
            fields.insert("round".to_string(), round.to_string());
            fields.insert(
                "note".to_string(),
                format!("benchmark block {} of {}", h.height + 1, h.id),
            );
            let block = Block {
                chain: h.id.clone(),
                height: h.height + 1,
                prev: Some(h.hash.clone()),
                clock: clock + 1,
                time: secfile::timefmt::rfc3339(T0 + (round as i64)),
                seen,
                kind: "bench".into(),
                body: GenericBody {
                    fields,
                    attachments: vec![],
                }
                .to_value(),
            };
            let bytes = block.encode().unwrap_or_else(|e| die(e));
            h.height = block.height;
            h.hash = digest::hex(&digest::sha256(&bytes));
            h.clock = block.clock;
            last = Some(h.id.clone());
            batch.push((c, block, bytes));
            done += 1;
            if batch.len() == BATCH {
                flush(&home, heads, &mut batch, threads);
            }
        }
        if !progressed {
            break;
        }
        round += 1;
    }
    flush(&home, heads, &mut batch, threads);
    done
}

/// Sign a batch on every core and write it: signature first, then the block.
fn flush(home: &Home, heads: &[Head], batch: &mut Vec<(usize, Block, Vec<u8>)>, threads: usize) {
    if batch.is_empty() {
        return;
    }
    let per = batch.len().div_ceil(threads);
    std::thread::scope(|s| {
        for part in batch.chunks(per) {
            s.spawn(move || {
                let mut made_dirs = std::collections::BTreeSet::new();
                for (c, b, bytes) in part {
                    let sig = sign::sign(&heads[*c].keys.sign, bytes, &sign::block_comment(&b.chain, b.height))
                        .unwrap_or_else(|e| die(e));
                    let path = secfile::subchain::store::chain_path(home, &b.chain, b.height);
                    if made_dirs.insert(b.chain.clone()) {
                        std::fs::create_dir_all(path.parent().unwrap()).unwrap_or_else(|e| die(e));
                    }
                    let sig_path = format!("{}.minisig", path.display());
                    std::fs::write(&sig_path, sig.as_bytes()).unwrap_or_else(|e| die(format!("{sig_path}: {e}")));
                    std::fs::write(&path, bytes).unwrap_or_else(|e| die(format!("{}: {e}", path.display())));
                }
            });
        }
    });
    batch.clear();
}
