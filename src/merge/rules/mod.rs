//! The rules of DESIGN §5, one pure function each, over plain values: no signatures, no
//! disk, no candidates. [`super::validate`] applies them to what a node holds; each file has
//! the table test of its rule.
pub mod admission;
pub mod anchor;
pub mod clock;
pub mod finality;
pub mod fork;
pub mod keys;
pub mod removal;
pub mod seen;

pub use anchor::NO_ANCHOR;
