//! Pure functions over blocks: validity (signatures, links, clocks, membership, roles),
//! forks, pending blocks, and — built on them — order, finality and the global chain.
//! Nothing here touches the disk.
pub mod bodies;
pub mod global;
pub mod index;
pub mod rules;
pub mod sigcache;
#[cfg(test)]
mod sim_tests;
pub mod validate;

pub use validate::{Base, Cand, Evaluation, Status, evaluate, evaluate_on, evaluate_with};
