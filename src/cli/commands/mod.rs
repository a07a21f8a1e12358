//! One file per command; each holds its `Args` (doc comment = help text) and `run`.
pub mod append;
pub mod card;
pub mod completions;
pub mod import;
pub mod init;
pub mod log;
pub mod merge;
pub mod roster;
pub mod status;
pub mod sync;
pub mod verify;
pub mod xfer;
