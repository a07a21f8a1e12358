//! `secfile status`
use crate::cli::{Context, Ui};
use crate::error::Error;
use crate::merge::Status;
use clap::Args;

/// Show this node, its chains and peers, what awaits a receipt, and what holds finality back
///
/// Lists every chain held (height, clock), each peer with when a bundle from it was last
/// imported, the outbox (bundles awaiting their recipient's receipt), pending blocks and
/// forks, requests awaiting issue (master), and finality: its threshold and which chains
/// hold it back, in words.
#[derive(Debug, Args)]
pub struct StatusArgs {}

pub fn run(ctx: &Context, ui: &Ui, _a: StatusArgs) -> Result<i32, Error> {
    let node = ctx.node()?;
    let st = node.load_view()?;
    let me = node.id();
    let admitted = st.eval.members.contains_key(me);
    let fp = node.card()?.identity.fingerprint();
    let mut text = crate::cli::ui::Lines::new();
    text.line(format!(
        "node {} ({}) id {}",
        node.config.name,
        node.config.role.as_str(),
        me
    ));
    text.line(format!("fingerprint {}", crate::identity::grouped(&fp)));
    text.line(format!("master {}", node.config.master));
    let rotations = st.eval.members.get(me).map_or(0, |m| m.keys.len() - 1);
    let rekey_pending = crate::act::rekey::pending(&node);
    if rotations > 0 || rekey_pending {
        text.line(format!(
            "keys: rotated {rotations} time(s){}",
            if rekey_pending {
                "; a rotation awaits the master's rekey block (nothing is appended until it arrives)"
            } else {
                ""
            }
        ));
    }
    text.line(format!(
        "admitted: {}",
        if admitted {
            "yes"
        } else {
            "no (import a sync bundle from the master)"
        }
    ));
    let mut chains = Vec::new();
    for (id, seq) in &st.eval.chains {
        let Some(&i) = seq.last() else { continue };
        let b = st.block(i);
        let name = st
            .eval
            .members
            .get(id)
            .map(|m| m.identity.name.clone())
            .unwrap_or_default();
        text.line(format!(
            "  chain {:<16} {id} height {} clock {}",
            crate::text::Untrusted(&name),
            b.height,
            b.clock
        ));
        chains.push(serde_json::json!({"id": id, "name": name, "height": b.height, "clock": b.clock, "hash": crate::digest::hex(&st.cands[i].hash)}));
    }
    let pending: Vec<String> = st
        .eval
        .status
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Status::Pending(why) => Some(format!("{}:{} ({why})", st.cands[i].chain(), st.cands[i].height())),
            _ => None,
        })
        .collect();
    for p in &pending {
        text.line(format!("  pending {}", crate::text::Untrusted(p)));
    }
    let forks: Vec<_> = st
        .eval
        .forks
        .iter()
        .map(|f| serde_json::json!({"chain": f.chain, "height": f.height, "hashes": f.hashes}))
        .collect();
    for f in &st.eval.forks {
        text.line(format!(
            "  FORK chain {} height {}: {}",
            f.chain,
            f.height,
            f.hashes.join(" ")
        ));
    }
    // requests imported here (master) that no issue block answers yet
    let mut open_requests = Vec::new();
    if node.config.role == crate::home::Role::Master {
        let answered: std::collections::BTreeSet<String> = node
            .blocks_of_kind(&st, me, "issue")?
            .iter()
            .filter_map(|b| b.body_as::<crate::merge::bodies::IssueBody>().ok())
            .filter_map(|b| b.request)
            .collect();
        if let Ok(rd) = std::fs::read_dir(node.home.path("requests")) {
            for e in rd.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                if crate::dossier::docs::is_doc_id(&id) && !answered.contains(&id) {
                    text.line(format!("  request {id} awaits issue (secfile issue {id})"));
                    open_requests.push(id);
                }
            }
        }
        open_requests.sort();
    }
    // peers: when each was last heard from
    let mut peers = Vec::new();
    for m in st.eval.members.values().filter(|m| m.identity.id != me) {
        let heard = crate::transport::sync::last_heard(&node.home, &m.identity.id);
        text.line(format!(
            "  peer {:<16} {} last heard {}{}",
            m.identity.name,
            m.identity.id,
            heard
                .as_deref()
                .map(|t| ago(t, ctx.now))
                .unwrap_or_else(|| "never".into()),
            if m.removed.is_some() { " (removed)" } else { "" }
        ));
        peers.push(serde_json::json!({
            "id": m.identity.id, "name": m.identity.name, "last_heard": heard, "removed": m.removed.is_some(),
        }));
    }
    // the outbox
    let outbox = crate::transport::outbox::list(&node.home)?;
    let awaiting = outbox.iter().filter(|e| e.meta.wants_receipt()).count();
    if !outbox.is_empty() {
        text.line(format!(
            "  outbox: {}, {} awaiting a receipt (secfile outbox)",
            crate::cli::ui::plural(outbox.len(), "bundle"),
            awaiting
        ));
    }
    let outbox_json: Vec<_> = outbox
        .iter()
        .map(|e| {
            serde_json::json!({"bundle": e.meta.bundle, "kind": e.meta.kind, "recipient": e.meta.recipient,
                "created": e.meta.created, "file": e.meta.file, "request": e.meta.request,
                "path": e.path.display().to_string()})
        })
        .collect();
    // chunked bundles waiting for their other parts
    let mut parts_json = Vec::new();
    for (id, set) in crate::transport::import::kept_parts(&node) {
        let Some((_, p)) = set.iter().next() else { continue };
        let Ok(h) = crate::bundle::parts::parse(p, &p.display().to_string()).map(|x| x.header) else {
            continue;
        };
        text.line(format!(
            "  parts of bundle {id} from {}: {} of {} held",
            st.name_of(&h.sender),
            set.len(),
            h.count
        ));
        parts_json.push(
            serde_json::json!({"bundle": id, "sender": h.sender, "have": set.len(), "count": h.count,
            "missing": (1..=h.count).filter(|i| !set.contains_key(i)).collect::<Vec<_>>()}),
        );
    }
    // later bundles of split exports kept aside until the blocks before them are here
    let mut held_json = Vec::new();
    for (series, set) in crate::transport::import::kept_series(&node) {
        let parts: Vec<u64> = set.keys().copied().collect();
        text.line(format!(
            "  split export {series}: {} held until the blocks before {} here (bundles {})",
            crate::cli::ui::plural(parts.len(), "bundle"),
            if parts.len() == 1 { "it are" } else { "them are" },
            parts.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        ));
        held_json.push(serde_json::json!({"series": series, "parts": parts}));
    }
    // finality: the threshold and the chains at it
    let whole;
    let g = match st.view.as_deref() {
        Some(v) => &v.global,
        None => {
            whole = crate::merge::global::merge(&st.eval, &st.cands);
            &whole
        }
    };
    let stalled: Vec<&String> = g
        .bounds
        .iter()
        .filter(|(_, c)| Some(**c) == g.threshold)
        .map(|(id, _)| id)
        .collect();
    let name = |id: &str| st.name_of(id);
    let words: Vec<String> = stalled
        .iter()
        .map(|id| {
            let heard = crate::transport::sync::last_heard(&node.home, id);
            let when = if id.as_str() == me {
                "this node".to_string()
            } else {
                format!(
                    "last heard {}",
                    heard
                        .as_deref()
                        .map(|t| ago(t, ctx.now))
                        .unwrap_or_else(|| "never".into())
                )
            };
            format!("{}: {when}, clock {}", name(id), g.bounds[id.as_str()])
        })
        .collect();
    text.line(format!(
        "finality: {} final, anchor {}, threshold {}{}",
        g.final_count,
        g.anchor.map_or("none".into(), |m| format!("master block {m}")),
        g.threshold.map_or("none".into(), |t| t.to_string()),
        if words.is_empty() {
            String::new()
        } else {
            format!("; waits for {}", words.join("; "))
        }
    ));
    ui.lines(
        &text,
        serde_json::json!({
            "id": me, "name": node.config.name, "role": node.config.role.as_str(), "fingerprint": fp,
            "master": node.config.master, "admitted": admitted, "chains": chains,
            "keys": {"rotations": rotations, "rekey_pending": rekey_pending},
            "pending": pending, "forks": forks, "requests": open_requests, "home": node.home.root.display().to_string(),
            "peers": peers, "outbox": outbox_json, "awaiting_receipt": awaiting, "parts": parts_json, "held": held_json,
            "finality": {
                "final": g.final_count, "head": g.head_hex(), "anchor": g.anchor, "threshold": g.threshold,
                "stalled_by": stalled, "explained": words,
            },
        }),
    );
    Ok(0)
}

/// "3 days ago", "5 hours ago", "just now" (or the time itself when in the future).
fn ago(t: &str, now: i64) -> String {
    let Some(at) = crate::timefmt::parse_rfc3339(t) else {
        return t.to_string();
    };
    let d = now - at;
    if d < 0 {
        return format!("at {t}");
    }
    let (n, unit) = match d {
        0..60 => return "just now".into(),
        60..3600 => (d / 60, "minute"),
        3600..86_400 => (d / 3600, "hour"),
        _ => (d / 86_400, "day"),
    };
    format!("{} ago ({t})", crate::cli::ui::plural(n as usize, unit))
}
