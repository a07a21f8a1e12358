//! The plaintext archive inside a bundle's payload: `bundle::PayloadReader` over arbitrary
//! bytes, each entry read alternately with `read_small` (with a limit) and `copy_to` into
//! a sink. A payload that reads to its end must be rebuilt byte for byte by `PayloadWriter`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use secfile::bundle::{PayloadReader, PayloadWriter};

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = PayloadReader::new(data) else {
        return;
    };
    let mut entries = Vec::new();
    let mut i = 0usize;
    let clean_end = loop {
        match r.next_entry() {
            Ok(None) => break true,
            Err(_) => break false,
            Ok(Some(e)) => {
                let bytes = if i % 2 == 0 {
                    r.read_small(&e, 1024)
                } else {
                    let mut sink = Vec::new();
                    r.copy_to(&e, &mut sink)
                        .map(|n| {
                            assert_eq!(n, e.size);
                            assert_eq!(sink.len() as u64, n);
                            sink
                        })
                        .map_err(|er| er.to_string())
                };
                match bytes {
                    Ok(b) => entries.push((e.name, b)),
                    Err(_) => break false,
                }
                i += 1;
            }
        }
    };
    if clean_end {
        assert!(r.next_entry().unwrap().is_none(), "entries after the end");
        let mut w = PayloadWriter::new(Vec::new()).unwrap();
        for (name, b) in &entries {
            w.entry(name, b).unwrap();
        }
        assert_eq!(
            w.finish().unwrap(),
            data,
            "a payload that reads cleanly rewrites differently"
        );
    }
});
