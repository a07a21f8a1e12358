//! The one integration-test binary (fast rebuilds: one link instead of many).
mod common;
