//! The one integration-test binary (fast rebuilds: one link instead of many).
mod bad_input;
mod cli;
mod common;
mod crash;
mod docs;
mod faults;
mod files;
mod fixtures_gen;
mod global;
mod hostile;
mod interop;
mod proofs;
mod prop;
mod rekey;
mod tamper;
mod verify_stream;
mod view;

#[test]
fn three_node_consortium_verifies() {
    let net = common::Net::new(&["alice", "bob"]);
    common::ok(&net.home("alice"), &["append", "--kind", "note", "--field", "x=1"]);
    net.sync("alice", "hq");
    net.sync("hq", "bob");
    for n in ["hq", "alice", "bob"] {
        common::ok(&net.home(n), &["verify"]);
    }
}
