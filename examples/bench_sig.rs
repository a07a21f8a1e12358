//! Per-signature cost of Ed25519 verification on one core, for the signature rule
//! (bench/RESULTS.md): secfile's rule (`sign::ed25519_ok`, libsodium's verdict), the same
//! through `sign::verify_many` on one thread's worth of work (prehash, parsing), and for
//! comparison ed25519-dalek's `verify`, `verify_strict`, `verify_batch` of 512 (the old
//! path: not the rule), the batch plus the torsion check that would make it sound, and
//! the minisign crate's own `verify` (not the rule either).
//!
//! ```text
//! cargo build --release --example bench_sig && taskset -c 0 target/release/examples/bench_sig [N] [ROUNDS]
//! ```
//! Prints one line per method: median microseconds per Ed25519 signature over ROUNDS. A
//! third argument runs only the methods whose name contains it (`none`: the setup alone),
//! for counting instructions with `valgrind --tool=callgrind`, which the VM's noise does
//! not touch: subtract the count of `none` and divide by N.
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use secfile::subchain::sign;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(4096, |a| a.parse().unwrap());
    let rounds: usize = args.next().map_or(7, |a| a.parse().unwrap());
    let only = args.next().unwrap_or_default();
    let sk = SigningKey::from_bytes(&[7u8; 32]);
    let vk = sk.verifying_key();
    let mut pkb = b"Ed".to_vec();
    pkb.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    pkb.extend_from_slice(vk.as_bytes());
    let mpk = minisign::PublicKey::from_bytes(&pkb).unwrap();
    let key = sign::Key::new(&mpk);
    let msgs: Vec<[u8; 64]> = (0..n)
        .map(|i| std::array::from_fn(|j| (i * 31 + j * 7) as u8))
        .collect();
    let sigs: Vec<Signature> = msgs.iter().map(|m| sk.sign(m)).collect();
    let sig_bytes: Vec<[u8; 64]> = sigs.iter().map(|s| s.to_bytes()).collect();
    // minisign files for verify_many and the crate (each holds two signatures)
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let files: Vec<(Vec<u8>, String, String)> = (0..n / 2)
        .map(|i| {
            let data = format!("block {i}\n{}", "x".repeat(300)).into_bytes();
            let tc = sign::block_comment("c", i as u64);
            let f = minisign::sign(None, &kp.sk, std::io::Cursor::new(&data), Some(&tc), None)
                .unwrap()
                .into_string();
            (data, f, tc)
        })
        .collect();
    let items: Vec<sign::SigCheck<'_>> = files
        .iter()
        .map(|(d, f, tc)| (&kp.pk, &d[..], f.as_bytes(), &tc[..]))
        .collect();
    let mut results: Vec<(&str, Vec<f64>)> = Vec::new();
    let mut time = |name: &'static str, per: usize, f: &dyn Fn()| {
        if !name.contains(&only[..]) {
            return;
        }
        let t = Instant::now();
        f();
        let us = t.elapsed().as_secs_f64() * 1e6 / per as f64;
        match results.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(us),
            None => results.push((name, vec![us])),
        }
    };
    for _ in 0..rounds {
        // alternated, so that the VM's noise falls on every method alike
        time("secfile rule (sign::ed25519_ok)", n, &|| {
            for (m, s) in msgs.iter().zip(&sig_bytes) {
                assert!(sign::ed25519_ok(&key, m, s));
            }
        });
        time("ed25519-dalek verify", n, &|| {
            for (m, s) in msgs.iter().zip(&sigs) {
                vk.verify(m, s).unwrap();
            }
        });
        time("ed25519-dalek verify_strict", n, &|| {
            for (m, s) in msgs.iter().zip(&sigs) {
                vk.verify_strict(m, s).unwrap();
            }
        });
        time("ed25519-dalek verify_batch of 512 (old path)", n, &|| {
            for (m, s) in msgs.chunks(512).zip(sigs.chunks(512)) {
                let ms: Vec<&[u8]> = m.iter().map(|x| &x[..]).collect();
                ed25519_dalek::verify_batch(&ms, s, &vec![vk; s.len()]).unwrap();
            }
        });
        time("batch of 512 + R torsion check", n, &|| {
            for (m, s) in msgs.chunks(512).zip(sigs.chunks(512)) {
                for x in s {
                    let r = CompressedEdwardsY(x.r_bytes().to_owned()).decompress().unwrap();
                    assert!(r.is_torsion_free());
                }
                let ms: Vec<&[u8]> = m.iter().map(|x| &x[..]).collect();
                ed25519_dalek::verify_batch(&ms, s, &vec![vk; s.len()]).unwrap();
            }
        });
        time(
            "minisign crate verify (per Ed25519 signature)",
            2 * files.len(),
            &|| {
                for (d, f, _) in &files {
                    let sb = minisign::SignatureBox::from_string(f).unwrap();
                    minisign::verify(&kp.pk, &sb, std::io::Cursor::new(d), true, false, false).unwrap();
                }
            },
        );
        time(
            "sign::verify_many, whole files (per Ed25519 signature)",
            2 * files.len(),
            &|| {
                assert!(sign::verify_many(&items).iter().all(Result::is_ok));
            },
        );
    }
    for (name, v) in results {
        println!("{:>8.2} us  {name}", median(v));
    }
}
