//! The signature floor of `bench/chain.sh`: verify every block signature of a home
//! (BLAKE2b-512 prehash + the two Ed25519 checks of a minisign signature), each signature on
//! its own (ed25519-dalek's cofactorless `verify`: the equation of the signature rule,
//! without its cheap byte checks), on all cores, timing only the cryptography. No batch
//! verification: it is not the signature rule (DESIGN §5, docs/formats.md "The signature
//! rule"), so a batch floor would measure work that no sound verifier may do.
//!
//! ```text
//! cargo run --release --example bench_floor -- HOME
//! ```
//! Prints `floor_read SECONDS FILES` (listing the chain directories and reading every block
//! and signature file once, warm: the I/O any full check must do; the faster of one thread
//! a core and as many threads as secfile's scan, which wins when the files are not cached) and `floor_verify SECONDS BLOCKS`.
use blake2::{Blake2b512, Digest};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use secfile::subchain::{self, Block};
use std::collections::HashMap;

fn b64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("bad base64"),
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for &c in s.trim().as_bytes().iter().filter(|&&c| c != b'=') {
        acc = (acc << 6) | val(c) as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

struct Item {
    key: VerifyingKey,
    data: Vec<u8>,
    sig: Signature,
    global_msg: Vec<u8>,
    global: Signature,
}

fn main() {
    let home = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: bench_floor HOME"));
    let chains = home.join("chains");
    let mut items = Vec::new();
    let mut keys: HashMap<String, VerifyingKey> = HashMap::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&chains).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for d in dirs {
        let chain = d.file_name().unwrap().to_string_lossy().into_owned();
        let g = Block::decode(&std::fs::read(d.join(subchain::block_file_name(0))).unwrap()).unwrap();
        let pk = minisign::PublicKey::from_base64(g.body_str("minisign").unwrap()).unwrap();
        let raw: [u8; 32] = pk.to_bytes()[10..42].try_into().unwrap();
        keys.insert(chain.clone(), VerifyingKey::from_bytes(&raw).unwrap());
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if subchain::parse_block_file_name(&name).is_none() {
                continue;
            }
            let data = std::fs::read(&p).unwrap();
            let text = std::fs::read_to_string(format!("{}.minisig", p.display())).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let sb = b64(lines[1]);
            assert_eq!(&sb[..2], b"ED", "prehashed signature");
            let sig = Signature::from_slice(&sb[10..74]).unwrap();
            let tc = lines[2].strip_prefix("trusted comment: ").unwrap();
            let mut global_msg = sb[10..74].to_vec();
            global_msg.extend_from_slice(tc.as_bytes());
            let global = Signature::from_slice(&b64(lines[3])).unwrap();
            items.push(Item {
                key: keys[&chain],
                data,
                sig,
                global_msg,
                global,
            });
        }
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    // the faster of one reader a core and secfile's scan threads
    let (secs, files) = [threads, secfile::par::io_threads()]
        .into_iter()
        .map(|t| read_floor(&chains, t))
        .fold((f64::MAX, 0), |best, r| if r.0 < best.0 { r } else { best });
    println!("floor_read {secs:.3} {files}");
    let t = std::time::Instant::now();
    let per = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        for part in items.chunks(per) {
            s.spawn(move || {
                for i in part {
                    let hash: [u8; 64] = Blake2b512::digest(&i.data).into();
                    i.key.verify(&hash, &i.sig).expect("the signature verifies");
                    i.key
                        .verify(&i.global_msg, &i.global)
                        .expect("the global signature verifies");
                }
            });
        }
    });
    println!("floor_verify {:.3} {}", t.elapsed().as_secs_f64(), items.len());
}

/// Time listing the chain directories and reading every file under `chains/` (twice: the
/// first run warms the cache). The listing is part of the floor: a check of a directory
/// has to find its files before it reads them. Seconds and files read.
fn read_floor(chains: &std::path::Path, threads: usize) -> (f64, usize) {
    let mut dirs: Vec<_> = std::fs::read_dir(chains).unwrap().map(|d| d.unwrap().path()).collect();
    dirs.sort();
    let mut secs = 0.0;
    let mut count = 0;
    for _ in 0..2 {
        let t = std::time::Instant::now();
        let lists: Vec<Vec<std::path::PathBuf>> = std::thread::scope(|s| {
            let hs: Vec<_> = dirs
                .chunks(dirs.len().div_ceil(threads))
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .flat_map(|d| std::fs::read_dir(d).unwrap().map(|f| f.unwrap().path()))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let files: Vec<_> = lists.into_iter().flatten().collect();
        let per = files.len().div_ceil(threads);
        std::thread::scope(|s| {
            for part in files.chunks(per) {
                s.spawn(move || part.iter().map(|p| std::fs::read(p).unwrap().len()).sum::<usize>());
            }
        });
        secs = t.elapsed().as_secs_f64();
        count = files.len();
    }
    (secs, count)
}
