//! Block decoder: `Block::decode` (fast canonical reader, else the slow strict one) must
//! give exactly what the slow path gives, a decoded block must re-encode to its bytes, and
//! whenever `codec::parse_canonical` answers it must equal `codec::parse_strict`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use secfile::subchain::{Block, MAX_BLOCK, codec};

fuzz_target!(|data: &[u8]| {
    let got = Block::decode(data);
    let slow = Block::decode_slow(data);
    assert_eq!(got, slow, "fast and slow block decoders disagree");
    if let Ok(b) = &got {
        assert_eq!(
            b.encode().as_deref(),
            Ok(data),
            "a decoded block re-encodes differently"
        );
    }
    if let Some(fast) = codec::parse_canonical(data, MAX_BLOCK) {
        assert_eq!(
            Ok(fast),
            codec::parse_strict(data, MAX_BLOCK),
            "parse_canonical and parse_strict disagree"
        );
    }
});
