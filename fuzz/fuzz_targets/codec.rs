//! The canonical YAML codec: `check_raw`, `parse_strict`, `parse_canonical` (must agree
//! with `parse_strict` whenever it answers, and answer whenever `parse_strict` accepts), and
//! `emit` round trips: what parses emits to the same bytes and parses back to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use secfile::subchain::codec;

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let raw = codec::check_raw(data, LIMIT);
    let strict = codec::parse_strict(data, LIMIT);
    if strict.is_ok() {
        assert!(raw.is_ok(), "parse_strict accepted what check_raw refuses: {raw:?}");
    }
    let fast = codec::parse_canonical(data, LIMIT);
    match (&fast, &strict) {
        (Some(f), s) => assert_eq!(Ok(f), s.as_ref(), "parse_canonical and parse_strict disagree"),
        (None, Ok(s)) => panic!("parse_strict accepts {s:?} but parse_canonical does not"),
        (None, Err(_)) => {}
    }
    if let Ok(v) = strict {
        let text = codec::emit(&v).expect("a parsed value emits");
        assert_eq!(text.as_bytes(), data, "emit(parse(x)) != x");
        assert_eq!(
            codec::parse_strict(text.as_bytes(), LIMIT),
            Ok(v),
            "emit(parse(x)) parses differently"
        );
    }
});
