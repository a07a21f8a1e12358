//! Pure functions over blocks: validity (signatures, links, clocks, membership, roles),
//! forks, pending blocks, and — built on them — order, finality and the global chain.
//! Nothing here touches the disk.
pub mod bodies;
pub mod global;
pub mod sigcache;
pub mod validate;

pub use validate::{Cand, Evaluation, Status, evaluate, evaluate_with};
