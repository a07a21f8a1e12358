//! Moving blocks between nodes: sync bundles (export and import), the per-peer frontier
//! that makes exports incremental, and the import of any bundle kind.
pub mod files;
pub mod import;
pub mod inspect;
pub mod medium;
pub mod outbox;
pub mod receipts;
pub mod sync;
pub mod watch;
pub mod xfer;

pub use import::{ImportReport, import};
