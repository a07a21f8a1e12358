//! secfile: signed, encrypted security files and Lamport-merged sub-chains for nodes
//! that exchange everything by USB stick, email or pipes.
//!
//! Layers, imports pointing downward only:
//! `cli → audit, transport, merge, dossier → bundle, subchain, identity → home`.
//! Nothing below `cli` prints, exits or reads environment variables.
#![forbid(unsafe_code)]

pub mod act;
pub mod audit;
pub mod bundle;
pub mod cli;
pub mod digest;
pub mod dossier;
pub mod envelope;
pub mod error;
pub mod home;
pub mod identity;
pub mod input;
pub mod merge;
pub mod node;
pub mod ops;
pub mod par;
pub mod progress;
pub mod subchain;
pub mod text;
pub mod timefmt;
pub mod transport;

pub use error::{Error, Result};
