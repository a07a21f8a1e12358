//! Frontiers (`transport::sync::Frontier::decode`, from sync bundles and `peers/*.yaml`),
//! the `series.yaml` of a split export's bundles (`sync::Series::decode`) and sync entry
//! names (`sync::parse_entry_name`). A decoded frontier or series must survive encode →
//! decode; a parsed entry name must be rebuilt by `entry_name`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use secfile::transport::sync::{self, Frontier, Series};

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = Frontier::decode(data) {
        assert_eq!(Frontier::decode(&f.encode()).as_ref(), Ok(&f), "frontier round trip");
        assert!(f.covers(&f));
    }
    if let Ok(s) = Series::decode(data) {
        assert_eq!(Series::decode(&s.encode()).as_ref(), Ok(&s), "series round trip");
        assert!(s.part >= 1 && s.part <= s.of);
    }
    if let Ok(name) = std::str::from_utf8(data) {
        if let Some((chain, height, hash, is_sig)) = sync::parse_entry_name(name) {
            let mut again = sync::entry_name(&chain, height, &hash);
            if is_sig {
                again.push_str(".minisig");
            }
            assert_eq!(again, name, "entry name round trip");
        }
    }
});
