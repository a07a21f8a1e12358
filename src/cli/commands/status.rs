//! `secfile status`
use crate::cli::{Context, Ui};
use crate::error::Error;
use crate::merge::Status;
use clap::Args;

/// Show this node, its chains, pending blocks and forks
#[derive(Debug, Args)]
pub struct StatusArgs {}

pub fn run(ctx: &Context, ui: &Ui, _a: StatusArgs) -> Result<i32, Error> {
    let node = ctx.node()?;
    let st = node.load()?;
    let me = node.id();
    let admitted = st.eval.members.contains_key(me);
    let fp = node.card()?.identity.fingerprint();
    let mut text = format!(
        "node {} ({}) id {}\nfingerprint {}\nmaster {}\nadmitted: {}\n",
        node.config.name,
        node.config.role.as_str(),
        me,
        crate::identity::grouped(&fp),
        node.config.master,
        if admitted {
            "yes"
        } else {
            "no (import a sync bundle from the master)"
        }
    );
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
        text.push_str(&format!(
            "  chain {name:<16} {id} height {} clock {}\n",
            b.height, b.clock
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
        text.push_str(&format!("  pending {p}\n"));
    }
    let forks: Vec<_> = st
        .eval
        .forks
        .iter()
        .map(|f| serde_json::json!({"chain": f.chain, "height": f.height, "hashes": f.hashes}))
        .collect();
    for f in &st.eval.forks {
        text.push_str(&format!(
            "  FORK chain {} height {}: {}\n",
            f.chain,
            f.height,
            f.hashes.join(" ")
        ));
    }
    // finality: the master block it is anchored at, T, and the chains holding it back
    let g = crate::merge::global::merge(&st.eval, &st.cands);
    let stalled_by: Vec<&String> = g
        .bounds
        .iter()
        .filter(|(_, b)| Some(**b) == g.threshold)
        .map(|(id, _)| id)
        .collect();
    if let (Some(m), Some(t)) = (g.anchor, g.threshold) {
        text.push_str(&format!(
            "finality: anchor {m} threshold {t} (held back by {})\n",
            stalled_by.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
        ));
    }
    let finality = serde_json::json!({"anchor": g.anchor, "threshold": g.threshold, "stalled_by": stalled_by});
    // requests imported here (master) that no issue block answers yet
    let mut open_requests = Vec::new();
    if node.config.role == crate::home::Role::Master {
        let answered: std::collections::BTreeSet<String> = st.eval.chains[me]
            .iter()
            .filter_map(|&i| st.block(i).body_as::<crate::merge::bodies::IssueBody>().ok())
            .filter_map(|b| b.request)
            .collect();
        if let Ok(rd) = std::fs::read_dir(node.home.path("requests")) {
            for e in rd.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                if crate::dossier::docs::is_doc_id(&id) && !answered.contains(&id) {
                    text.push_str(&format!("  request {id} awaits issue (secfile issue {id})\n"));
                    open_requests.push(id);
                }
            }
        }
        open_requests.sort();
    }
    ui.result(
        &text,
        serde_json::json!({
            "id": me, "name": node.config.name, "role": node.config.role.as_str(), "fingerprint": fp,
            "master": node.config.master, "admitted": admitted, "chains": chains,
            "pending": pending, "forks": forks, "requests": open_requests, "finality": finality, "home": node.home.root.display().to_string(),
        }),
    );
    Ok(0)
}
