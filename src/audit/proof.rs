//! `verify P --master CARD`: check a proof file (DESIGN §3 `prove`) with the master's card
//! alone, no home needed, in named steps (docs/formats.md "Proofs").
use super::{Report, step};
use crate::dossier::proof::{self, Proof};
use crate::error::{Error, Result};
use crate::identity::Card;
use std::path::Path;

/// True when the file at `path` starts with the proof magic (a FIFO or device is not
/// opened: [`crate::input::open_regular`] refuses it, and this says no).
pub fn is_proof(path: &Path) -> bool {
    use std::io::Read;
    let want = format!("{} ", proof::MAGIC);
    let mut head = vec![0u8; want.len()];
    crate::input::open_regular(path)
        .ok()
        .and_then(|mut f| f.read_exact(&mut head).ok())
        .is_some_and(|()| head == want.as_bytes())
}

/// Check the proof at `path` against the master's `card` at time `now`: every step is
/// reported, each failed one as a problem of the step's kind.
pub fn verify_proof(path: &Path, card: &Card, now: i64, report: &mut Report) -> Result<()> {
    let label = path.display().to_string();
    let bytes = match crate::input::read_bounded(path, proof::MAX_PROOF, "proof") {
        Ok(b) => b,
        Err(Error::Rejected { kind, detail, .. }) => {
            report.push(&label, kind, detail);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    report.proofs += 1;
    let p = match Proof::parse(&bytes) {
        Ok(p) => p,
        Err(e) => {
            step(report, &label, "proof-format", Err(e));
            return Ok(());
        }
    };
    for (name, res) in proof::check(&p, card, now).steps {
        step(report, &label, name, res);
    }
    Ok(())
}
