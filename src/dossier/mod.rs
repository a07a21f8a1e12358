//! Security electronic files: requests, manifests signed by the master, the per-node file
//! store, and the state of every file derived from the global chain.
pub mod docs;
pub mod proof;
pub mod state;
pub mod store;

pub use docs::{ContentInfo, Manifest, RequestDoc};
