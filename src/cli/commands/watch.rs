//! `secfile watch`
use crate::cli::{Context, Ui, ui::sanitize};
use crate::error::Error;
use crate::transport::watch::{self, Done, Look, Watched};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Turn every new complete file in DIR into a request to the master (member)
///
/// A file is complete when two looks an interval apart find the same size and
/// modification time. Each becomes a request with the file attached, queued in the
/// outbox (xfer carries it); the home remembers it, so no file is requested twice, even
/// across restarts. A file that cannot be read is reported and tried again on the next
/// look. Stops cleanly on SIGINT or SIGTERM, between requests.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The folder to watch (e.g. where a scanner drops documents)
    pub dir: PathBuf,
    /// The trigger event recorded in every request (A-Z a-z 0-9 . _ -)
    #[arg(long)]
    pub event: String,
    /// Look twice, make the requests, and exit (for cron)
    #[arg(long)]
    pub once: bool,
    /// Seconds between looks
    #[arg(long, value_name = "S", default_value_t = 2.0)]
    pub interval: f64,
}

pub fn run(ctx: &Context, ui: &Ui, a: WatchArgs) -> Result<i32, Error> {
    if !(0.0..=86_400.0).contains(&a.interval) {
        return Err(Error::usage("--interval: seconds from 0 to 86400"));
    }
    if !crate::dossier::docs::is_event(&a.event) {
        return Err(Error::usage(format!(
            "--event {:?}: 1-64 of A-Z a-z 0-9 . _ -",
            a.event
        )));
    }
    let node = ctx.node()?;
    if node.config.role != crate::home::Role::Member {
        return Err(Error::rejected(
            node.id(),
            "not-authorised",
            "only members request security files; this node is the master",
        ));
    }
    if !a.dir.is_dir() {
        return Err(Error::Env(format!("{}: not a directory", a.dir.display())));
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).map_err(|e| Error::Env(format!("signal: {e}")))?;
    }
    let interval = Duration::from_secs_f64(a.interval);
    let mut made: Vec<serde_json::Value> = Vec::new();
    let mut failed: Vec<serde_json::Value> = Vec::new();
    let mut before = watch::look(&a.dir)?;
    loop {
        // sleep in small steps so a signal stops the wait at once
        let t0 = Instant::now();
        while t0.elapsed() < interval && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50).min(interval));
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let now = watch::look(&a.dir)?;
        failed.clear();
        for (name, why) in &now.problems {
            ui.warn(&format!("{}: {}", a.dir.join(name).display(), sanitize(why)));
            failed.push(serde_json::json!({"file": name, "message": why}));
        }
        for name in watch::complete(&before, &now) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            match one(&node, &a, &name) {
                Ok(Some(j)) => {
                    ui.status(&format!(
                        "{}: request {} queued in the outbox",
                        sanitize(&name),
                        j["request"].as_str().unwrap_or_default()
                    ));
                    made.push(j);
                }
                Ok(None) => {}
                // an unreadable file is reported and tried again on the next look; an
                // error of the home stops the watch
                Err(e @ (Error::Rejected { .. } | Error::Io { .. })) if !is_home_error(&node, &e) => {
                    ui.warn(&format!("{}: {}", sanitize(&name), sanitize(&e.to_string())));
                    failed.push(serde_json::json!({"file": name, "kind": e.kind(), "message": e.to_string()}));
                }
                Err(e) => return Err(e),
            }
        }
        before = next_before(now, &failed);
        if a.once {
            break;
        }
    }
    ui.result(
        "",
        serde_json::json!({"requests": made, "failed": failed, "stopped": stop.load(Ordering::Relaxed)}),
    );
    Ok(if a.once && !failed.is_empty() { 1 } else { 0 })
}

/// A file that failed is looked at afresh next time.
fn next_before(mut now: Look, failed: &[serde_json::Value]) -> Look {
    for f in failed {
        if let Some(n) = f["file"].as_str() {
            now.files.remove(n);
        }
    }
    now
}

fn is_home_error(node: &crate::node::Node, e: &Error) -> bool {
    matches!(e, Error::Io { input, .. } if input.starts_with(&node.home.root.display().to_string()))
}

/// Make the request of one complete file unless it was made before.
fn one(node: &crate::node::Node, a: &WatchArgs, name: &str) -> Result<Option<serde_json::Value>, Error> {
    let p = a.dir.join(name);
    let att = crate::ops::attachment(&p)?;
    let watched = Watched::load(&node.home)?;
    if watched.contains(name, &att.sha256) {
        return Ok(None);
    }
    let remember = |request: &str| {
        let mut w = watched.clone();
        w.done.push(Done {
            name: name.to_string(),
            sha256: att.sha256.clone(),
            size: att.size,
            request: request.to_string(),
        });
        (watch::path(&node.home), w.encode())
    };
    let mut fields = std::collections::BTreeMap::new();
    // the file's name, as the master will read it: no control or bidirectional characters
    let shown: String = name
        .chars()
        .map(|c| {
            if c.is_control() || ('\u{200e}'..='\u{206f}').contains(&c) {
                '?'
            } else {
                c
            }
        })
        .take(1024)
        .collect();
    fields.insert("file".to_string(), shown);
    let made = crate::act::request::request(
        node,
        crate::act::request::Request {
            event: &a.event,
            fields,
            attach: Some(&p),
            for_member: None,
            armor: false,
            out: None,
            remember: Some(&remember),
        },
    )?;
    Ok(Some(serde_json::json!({
        "file": name, "request": made.id, "bundle": made.sent.header.id, "sha256": att.sha256, "size": att.size,
    })))
}
