//! The `secfile` binary: a thin shell around [`secfile::cli::main`].
fn main() {
    std::process::exit(secfile::cli::main());
}
