//! Completion of values from the home: node names and ids (`--to`, `--for`, `--chain`,
//! `roster remove`), file ids (`file *`, `op *`) and outbox bundle ids (`resend`). The
//! shell scripts in `completions/` (`secfile completions SHELL`) call the binary back with
//! `COMPLETE=<shell>` (clap_complete's dynamic completion), so candidates are always the
//! home's current ones. A completer never fails: no home, no candidates.
use clap_complete::engine::CompletionCandidate;
use std::ffi::OsStr;
use std::path::PathBuf;

/// The home the command line being completed names (`--home DIR` or `--home=DIR`), else
/// the one the environment gives.
fn home() -> Option<crate::home::Home> {
    let args: Vec<String> = std::env::args().collect();
    let mut from_args = None;
    for (i, a) in args.iter().enumerate() {
        if a == "--home" {
            from_args = args.get(i + 1).cloned();
        } else if let Some(v) = a.strip_prefix("--home=") {
            from_args = Some(v.to_string());
        }
    }
    let dir = match from_args {
        Some(d) => PathBuf::from(d),
        None => match std::env::var_os("SECFILE_HOME").filter(|v| !v.is_empty()) {
            Some(h) => PathBuf::from(h),
            None => super::default_home()?,
        },
    };
    Some(crate::home::Home::new(dir))
}

fn node() -> Option<crate::node::Node> {
    let opts = crate::node::Options {
        lock_wait: std::time::Duration::ZERO,
        ..Default::default()
    };
    crate::node::Node::open(home()?, opts).ok()
}

fn starting(current: &OsStr, items: impl Iterator<Item = (String, String)>) -> Vec<CompletionCandidate> {
    let cur = current.to_string_lossy();
    items
        .filter(|(v, _)| v.starts_with(cur.as_ref()))
        .map(|(v, help)| CompletionCandidate::new(v).help(Some(help.into())))
        .collect()
}

/// Node names (with their ids as help), then ids.
pub fn nodes(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(st) = node().and_then(|n| n.load().ok()) else {
        return Vec::new();
    };
    let mut items: Vec<(String, String)> = Vec::new();
    for m in st.eval.members.values() {
        items.push((
            m.identity.name.clone(),
            format!("{} ({})", m.identity.id, m.identity.role.as_str()),
        ));
    }
    for m in st.eval.members.values() {
        items.push((m.identity.id.clone(), m.identity.name.clone()));
    }
    starting(current, items.into_iter())
}

/// Ids of the security files this node's chain knows.
pub fn files(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some((node, st)) = node().and_then(|n| n.load_view().ok().map(|st| (n, st))) else {
        return Vec::new();
    };
    let Ok(all) = crate::transport::files::states(&node, &st) else {
        return Vec::new();
    };
    let name = |id: &str| {
        st.eval
            .members
            .get(id)
            .map(|m| m.identity.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    starting(
        current,
        all.values().map(|f| {
            (
                f.id.clone(),
                format!("serial {}, held by {}", f.serial, name(&f.holder)),
            )
        }),
    )
}

/// Bundle ids kept in the outbox.
pub fn bundles(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(home) = home() else { return Vec::new() };
    let Ok(list) = crate::transport::outbox::list(&home) else {
        return Vec::new();
    };
    starting(
        current,
        list.into_iter().map(|e| {
            (
                e.meta.bundle.clone(),
                format!("{} to {}", e.meta.kind, e.meta.recipient),
            )
        }),
    )
}
