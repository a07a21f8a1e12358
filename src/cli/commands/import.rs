//! `secfile import` and the report shared with `sync import`.
use crate::cli::{Context, Ui, label};
use crate::error::Error;
use crate::transport::ImportReport;
use clap::Args;
use std::path::PathBuf;

/// Import bundles of any kind (idempotent; verifies everything before writing)
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Bundle files (- for stdin); armored or binary
    #[arg(required = true)]
    pub bundles: Vec<PathBuf>,
    /// Check and report everything importing would do, writing nothing (each bundle is
    /// judged against the home as it is)
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(ctx: &Context, ui: &Ui, a: ImportArgs) -> Result<i32, Error> {
    import_all(ctx, ui, &a.bundles, a.dry_run)
}

/// Import each bundle on its own (a transaction each): the good ones are imported, every
/// result is reported, and the exit status is 1 when any was rejected. An I/O or
/// environment error of the home stops at once.
pub fn import_all(ctx: &Context, ui: &Ui, bundles: &[PathBuf], dry_run: bool) -> Result<i32, Error> {
    let node = ctx.node()?;
    let lock = node.lock()?;
    let mut rows = Vec::new();
    let mut last_err = None;
    // a mail may carry several armored bundles: each is an input of its own
    let mut inputs: Vec<(&PathBuf, usize, String)> = Vec::new();
    for b in bundles {
        match crate::bundle::armored_count(b) {
            n if n > 1 => inputs.extend((0..n).map(|k| (b, k, format!("{} (bundle {} of {n})", label(b), k + 1)))),
            _ => inputs.push((b, 0, label(b))),
        }
    }
    let several = inputs.len() > 1;
    let mut released_refused = false;
    for (b, nth, l) in inputs {
        let r = node
            .begin_view_under(&lock, crate::act::Who::Anyone)
            .and_then(|mut tx| {
                let r = crate::transport::import::import_nth(&mut tx, b, &l, nth)?;
                if !dry_run {
                    tx.commit()?;
                }
                // a dry run drops the transaction: nothing it staged becomes visible
                Ok(r)
            });
        match r {
            Ok(r) => {
                let said = describe(&l, &r);
                ui.status(&if dry_run {
                    format!("dry run, nothing written: {said}")
                } else {
                    said
                });
                let mut j = to_json(&r);
                j["input"] = l.into();
                j["ok"] = true.into();
                if dry_run {
                    j["dry_run"] = true.into();
                } else {
                    j["released"] = release(&node, &lock, ui, &mut released_refused)?.into();
                }
                rows.push(j);
            }
            Err(e @ Error::Rejected { .. }) if several => {
                ui.error_line(&e);
                rows.push(refused_row(&l, &e));
                last_err = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    let json = if rows.len() == 1 {
        rows.into_iter().next().unwrap()
    } else {
        serde_json::Value::Array(rows)
    };
    if several || last_err.is_none() {
        ui.result("", json);
    }
    Ok(if last_err.is_some() || released_refused {
        crate::cli::exit::REJECTED
    } else {
        0
    })
}

/// Import the held bundles of split exports that are ready now (see
/// [`crate::transport::import::release_held`]), reporting each; their JSON rows.
pub fn release(
    node: &crate::node::Node,
    lock: &crate::home::Lock,
    ui: &Ui,
    refused: &mut bool,
) -> Result<Vec<serde_json::Value>, Error> {
    let mut rows = Vec::new();
    for (l, r) in crate::transport::import::release_held(node, lock)? {
        match r {
            Ok(r) => {
                ui.status(&describe(&l, &r));
                let mut j = to_json(&r);
                j["input"] = l.into();
                j["ok"] = true.into();
                rows.push(j);
            }
            Err(e) => {
                ui.error_line(&e);
                *refused = true;
                rows.push(refused_row(&l, &e));
            }
        }
    }
    Ok(rows)
}

/// The JSON row of an input that was refused.
fn refused_row(input: &str, e: &Error) -> serde_json::Value {
    serde_json::json!({"input": input, "ok": false, "kind": e.kind(), "message": e.to_string()})
}

pub fn describe(label: &str, r: &ImportReport) -> String {
    if let (Some((have, count)), "part") = (r.parts, r.kind.as_str()) {
        return format!(
            "{label}: part of bundle {} from {}: {have} of {count} held{}",
            r.bundle,
            r.sender_name,
            if have < count {
                "; the bundle is imported once all are here"
            } else {
                ""
            }
        );
    }
    if let Some(h) = &r.held {
        return format!(
            "{label}: bundle {} of {} of a split export from {}: {}, until the blocks before it are here (waits for {})",
            h.series.part,
            h.series.of,
            r.sender_name,
            if h.new { "held" } else { "already held" },
            h.waits.join(", ")
        );
    }
    if !r.changed() && r.receipted.is_empty() {
        return format!(
            "{label}: nothing new ({} already held); home unchanged",
            crate::cli::ui::plural(r.known, "block")
        );
    }
    let mut s = format!(
        "{label}: {} bundle from {}: {}",
        r.kind,
        r.sender_name,
        crate::cli::ui::plural(r.added, "new block")
    );
    if r.stored {
        match (r.kind.as_str(), &r.file) {
            ("request", Some(id)) => s.push_str(&format!(", request {id} stored (issue it with `secfile issue {id}`)")),
            ("rekey", _) => {
                if let Some((_, from, at)) = &r.rekey {
                    s.push_str(&format!(
                        ", new keys bound from its height {from} (rekey block at master height {at})"
                    ));
                }
            }
            (_, Some(id)) => s.push_str(&format!(", security file {id} received and accepted")),
            _ => {}
        }
    }
    if !r.pending.is_empty() {
        s.push_str(&format!(", {} pending", r.pending.len()));
        for p in &r.pending {
            s.push_str(&format!("\n  pending {p}"));
        }
    }
    if !r.receipted.is_empty() {
        s.push_str(&format!(
            ", receipts for {} of this node's bundles (dropped from the outbox)",
            r.receipted.len()
        ));
    }
    if r.forks > 0 {
        s.push_str(&format!(", {} fork evidence blocks kept", r.forks));
    }
    if r.keys_switched {
        s.push_str(", this node's key rotation is bound: switched to the new keys");
    }
    s
}

pub fn to_json(r: &ImportReport) -> serde_json::Value {
    serde_json::json!({
        "bundle": r.bundle, "kind": r.kind, "sender": r.sender, "sender_name": r.sender_name, "added": r.added,
        "file": r.file, "stored": r.stored,
        "pending": r.pending, "forks": r.forks, "known": r.known, "ignored": r.ignored, "changed": r.changed(),
        "receipted": r.receipted,
        "rekey": r.rekey.as_ref().map(|(id, from, at)| serde_json::json!({"id": id, "from": from, "height": at})),
        "keys_switched": r.keys_switched,
        "parts": r.parts.map(|(have, count)| serde_json::json!({"have": have, "count": count})),
        "held": r.held.as_ref().map(|h| serde_json::json!({
            "series": h.series.series, "part": h.series.part, "of": h.series.of, "waits": h.waits, "new": h.new,
        })),
    })
}
