//! Cards: `identity::Card::parse` (framing, genesis block, identity, self-signature).
//! A parsed card must give its bytes back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use secfile::identity::Card;

fuzz_target!(|data: &[u8]| {
    if let Ok(card) = Card::parse(data) {
        assert_eq!(card.to_bytes(), data, "a parsed card re-frames differently");
        card.identity.check().expect("a parsed card's identity checks");
    }
});
