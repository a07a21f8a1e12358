//! The command line: the clap definition, one file per command under `commands/`, the
//! output conventions (stdout results, `--json`, stderr status) and the one place where
//! errors become exit codes. This is the only layer that prints, exits or reads
//! `SECFILE_*` variables.
pub mod commands;
pub mod complete;
pub mod docs;
pub mod examples;
pub mod exit;
pub mod ui;

use crate::error::Error;
use crate::home::Home;
use crate::node::{Node, Options};
use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;
pub use ui::Ui;

/// Signed, encrypted security files and Lamport-merged sub-chains for air-gapped consortia
#[derive(Debug, Parser)]
#[command(name = "secfile", version, max_term_width = 100)]
#[command(
    after_help = "Exit status: 0 success, 1 verification failed or input rejected, 2 usage error, 3 I/O or environment error, 4 busy (home locked; retry)."
)]
pub struct Cli {
    /// Node home directory [default: $XDG_DATA_HOME/secfile]
    #[arg(long, global = true, env = "SECFILE_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Print machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing on stderr but errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Never draw progress bars
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Read the passphrase protecting this node's keys from FILE (first line)
    #[arg(long, global = true, env = "SECFILE_PASSPHRASE_FILE", value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(commands::init::InitArgs),
    Card(commands::card::CardArgs),
    #[command(subcommand)]
    Roster(commands::roster::RosterCommand),
    Append(commands::append::AppendArgs),
    Request(commands::request::RequestArgs),
    Rekey(commands::rekey::RekeyArgs),
    Issue(commands::issue::IssueArgs),
    #[command(subcommand)]
    File(commands::file::FileCommand),
    #[command(subcommand)]
    Op(commands::op::OpCommand),
    Import(commands::import::ImportArgs),
    Inspect(commands::inspect::InspectArgs),
    #[command(subcommand)]
    Sync(commands::sync::SyncCommand),
    Xfer(commands::xfer::XferArgs),
    Outbox(commands::outbox::OutboxArgs),
    Resend(commands::resend::ResendArgs),
    Watch(commands::watch::WatchArgs),
    Merge(commands::merge::MergeArgs),
    Checkpoint(commands::checkpoint::CheckpointArgs),
    Prove(commands::prove::ProveArgs),
    Log(commands::log::LogArgs),
    Status(commands::status::StatusArgs),
    Verify(commands::verify::VerifyArgs),
    Completions(commands::completions::CompletionsArgs),
}

/// The clap definition with every command's examples in its `--help`.
pub fn command() -> clap::Command {
    examples::add_to(Cli::command())
}

/// Run the CLI with the process arguments and return the exit code.
pub fn main() -> i32 {
    // `COMPLETE=<shell> secfile -- WORDS…`: the completion scripts calling back
    clap_complete::CompleteEnv::with_factory(command).complete();
    let cli = match command()
        .try_get_matches()
        .and_then(|mut m| <Cli as clap::FromArgMatches>::from_arg_matches_mut(&mut m))
    {
        Ok(c) => c,
        Err(e) => {
            if !e.use_stderr() || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                let _ = e.print();
                return if e.use_stderr() { exit::USAGE } else { exit::OK };
            }
            let lines = usage_error_lines(&e.render().to_string());
            for line in &lines {
                eprintln!("{line}");
            }
            // --json before the error: a script still gets one JSON document
            if std::env::args_os()
                .skip(1)
                .take_while(|a| a != "--")
                .any(|a| a == "--json")
            {
                let message = lines[0].strip_prefix("secfile: error: ").unwrap_or(&lines[0]);
                let v = serde_json::json!({"ok": false, "error": {"kind": "usage", "message": message, "exit": exit::USAGE}});
                println!("{}", serde_json::to_string_pretty(&v).expect("json"));
            }
            return exit::USAGE;
        }
    };
    let ui = Ui::new(cli.json, cli.quiet, cli.no_progress);
    if ui.progress {
        ui::Bars::install();
    }
    match run(cli, &ui) {
        Ok(code) => code,
        Err(e) => {
            ui.error(&e);
            exit::code(&e)
        }
    }
}

/// A clap usage error as DESIGN §3 wants errors: one `secfile: error:` line (clap's
/// indented detail lines joined onto it), then `hint:` lines for its tips and usage.
fn usage_error_lines(rendered: &str) -> Vec<String> {
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("usage error");
    let mut msg = first.strip_prefix("error: ").unwrap_or(first).to_string();
    let mut hints = Vec::new();
    for l in lines {
        if let Some(t) = l.strip_prefix("tip: ") {
            hints.push(format!("hint: {t}"));
        } else if let Some(u) = l.strip_prefix("Usage: ") {
            hints.push(format!("hint: usage: {u}"));
        } else if let Some(m) = l.strip_prefix("For more information") {
            hints.push(format!("hint: for more information{m}"));
        } else {
            msg.push_str(if msg.ends_with(':') || l.starts_with('[') {
                " "
            } else {
                ", "
            });
            msg.push_str(l);
        }
    }
    let mut out = vec![format!("secfile: error: {}", ui::sanitize(&msg))];
    out.extend(hints.iter().map(|h| ui::sanitize(h)));
    out
}

fn run(cli: Cli, ui: &Ui) -> Result<i32, Error> {
    // completions need no home: they must work where none can be found (packaging, CI)
    if let Command::Completions(a) = &cli.command {
        return commands::completions::run(ui, commands::completions::CompletionsArgs { shell: a.shell });
    }
    let ctx = Context::from_cli(&cli)?;
    use Command::*;
    match cli.command {
        Init(a) => commands::init::run(&ctx, ui, a),
        Card(a) => commands::card::run(&ctx, ui, a),
        Roster(c) => commands::roster::run(&ctx, ui, c),
        Append(a) => commands::append::run(&ctx, ui, a),
        Request(a) => commands::request::run(&ctx, ui, a),
        Rekey(a) => commands::rekey::run(&ctx, ui, a),
        Issue(a) => commands::issue::run(&ctx, ui, a),
        File(c) => commands::file::run(&ctx, ui, c),
        Op(c) => commands::op::run(&ctx, ui, c),
        Import(a) => commands::import::run(&ctx, ui, a),
        Inspect(a) => commands::inspect::run(&ctx, ui, a),
        Sync(c) => commands::sync::run(&ctx, ui, c),
        Prove(a) => commands::prove::run(&ctx, ui, a),
        Xfer(a) => commands::xfer::run(&ctx, ui, a),
        Outbox(a) => commands::outbox::run(&ctx, ui, a),
        Resend(a) => commands::resend::run(&ctx, ui, a),
        Watch(a) => commands::watch::run(&ctx, ui, a),
        Merge(a) => commands::merge::run(&ctx, ui, a),
        Checkpoint(a) => commands::checkpoint::run(&ctx, ui, a),
        Log(a) => commands::log::run(&ctx, ui, a),
        Status(a) => commands::status::run(&ctx, ui, a),
        Verify(a) => commands::verify::run(&ctx, ui, a),
        Completions(a) => commands::completions::run(ui, a),
    }
}

/// What every command gets: the home and the options read from flags and environment.
pub struct Context {
    /// `None` when no home can be named (no `--home`, `SECFILE_HOME`, `XDG_DATA_HOME` or
    /// `HOME`): commands that need none (`verify P --master CARD`) still run.
    pub home: Option<Home>,
    pub passphrase: Option<age::secrecy::SecretString>,
    pub now: i64,
    pub lock_wait: Duration,
    pub age_work_factor: Option<u8>,
    pub settle_batch: usize,
}

impl Context {
    fn from_cli(cli: &Cli) -> Result<Context, Error> {
        let home = cli.home.clone().or_else(default_home);
        let passphrase = match &cli.passphrase_file {
            None => None,
            Some(p) => {
                let bytes = crate::input::read_bounded(p, crate::input::MAX_PASSPHRASE_FILE, "passphrase file")?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| Error::usage(format!("{}: passphrase file is not UTF-8 text", p.display())))?;
                let line = text.lines().next().unwrap_or("").to_string();
                if line.is_empty() {
                    return Err(Error::usage(format!("{}: passphrase file is empty", p.display())));
                }
                Some(age::secrecy::SecretString::from(line))
            }
        };
        let now = match std::env::var("SECFILE_TIME") {
            Ok(t) => t
                .parse::<i64>()
                .ok()
                .or_else(|| crate::timefmt::parse_rfc3339(&t))
                .ok_or_else(|| Error::usage(format!("SECFILE_TIME={t:?}: want Unix seconds or RFC 3339")))?,
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        };
        let lock_wait = match std::env::var("SECFILE_LOCK_TIMEOUT") {
            Ok(s) => Duration::from_secs_f64(
                s.parse::<f64>()
                    .ok()
                    .filter(|v| *v >= 0.0 && *v < 1e6)
                    .ok_or_else(|| Error::usage(format!("SECFILE_LOCK_TIMEOUT={s:?}: want seconds")))?,
            ),
            Err(_) => Duration::from_secs(10),
        };
        let age_work_factor =
            match std::env::var("SECFILE_SCRYPT_LOG_N") {
                Ok(s) => Some(s.parse::<u8>().ok().filter(|n| (1..=30).contains(n)).ok_or_else(|| {
                    Error::usage(format!("SECFILE_SCRYPT_LOG_N={s:?}: want an integer from 1 to 30"))
                })?),
                Err(_) => None,
            };
        let settle_batch = match std::env::var("SECFILE_SETTLE_BATCH") {
            Ok(s) => s
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Error::usage(format!("SECFILE_SETTLE_BATCH={s:?}: want a positive integer")))?,
            Err(_) => 0,
        };
        Ok(Context {
            home: home.map(Home::new),
            passphrase,
            now,
            lock_wait,
            age_work_factor,
            settle_batch,
        })
    }

    pub fn options(&self) -> Options {
        Options {
            now: self.now,
            lock_wait: self.lock_wait,
            passphrase: self.passphrase.clone(),
            age_work_factor: self.age_work_factor,
            settle_batch: self.settle_batch,
        }
    }

    /// The home named by the flags or the environment.
    pub fn home(&self) -> Result<&Home, Error> {
        self.home
            .as_ref()
            .ok_or_else(|| Error::Env("no home: set --home, SECFILE_HOME, XDG_DATA_HOME or HOME".into()))
    }

    /// Open the initialised home.
    pub fn node(&self) -> Result<Node, Error> {
        Node::open(self.home()?.clone(), self.options())
    }
}

/// Read a small input file or stdin (`-`), refusing more than `limit` bytes and anything
/// but a regular file (FIFOs, devices) without blocking.
pub fn read_input(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, Error> {
    crate::input::read_bounded(path, limit, "card")
}

/// clap value parser for text this node signs (`--field`, `--note`, `--reason`,
/// `--event`): no control or bidirectional characters (a usage error, exit 2).
pub fn own_text(s: &str) -> Result<String, String> {
    crate::text::check_own("", s).map(|()| s.to_string())
}

/// What an `--out` destination receives, for [`check_out`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutKind {
    /// Text (a card, armored bundle, the global chain): fine on a terminal.
    Text,
    /// A binary bundle or a file's content: never written to a terminal.
    Binary,
}

/// Check an `--out` destination before anything else is done (DESIGN §3, §4):
/// `-` with stdout a terminal refuses binary output (exit 2, as age refuses), and a path
/// whose directory does not exist is an I/O error naming that directory (exit 3) — no
/// command creates it.
pub fn check_out(out: Option<&std::path::Path>, kind: OutKind) -> Result<(), Error> {
    use std::io::IsTerminal;
    let Some(p) = out else { return Ok(()) };
    if crate::input::is_stdin(p) {
        if kind == OutKind::Binary && std::io::stdout().is_terminal() {
            return Err(Error::usage(
                "refusing to write binary output to a terminal: give --out FILE, redirect stdout, or use --armor where offered",
            ));
        }
        return Ok(());
    }
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::io(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory (for --out)"),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such directory (for --out; secfile never creates it)",
            ),
        )),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// [`OutKind::Binary`] unless `--armor`.
pub fn bundle_out(armor: bool) -> OutKind {
    if armor { OutKind::Text } else { OutKind::Binary }
}

/// The home when no `--home` is given (clap reads `SECFILE_HOME` into `--home`):
/// `$XDG_DATA_HOME/secfile`, else `$HOME/.local/share/secfile`.
pub fn default_home() -> Option<PathBuf> {
    match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(x) => Some(PathBuf::from(x).join("secfile")),
        None => Some(PathBuf::from(std::env::var_os("HOME")?).join(".local/share/secfile")),
    }
}

/// `--max-size SIZE`: bytes, or with a suffix k, M, G.
pub fn parse_max_size(s: &str) -> Result<u64, String> {
    let n =
        crate::bundle::parts::parse_size(s).ok_or_else(|| format!("{s:?}: want a size such as 20M, 512k or 4096"))?;
    if n < crate::bundle::parts::MIN_SIZE {
        return Err(format!(
            "{s}: parts must be at least {} bytes",
            crate::bundle::parts::MIN_SIZE
        ));
    }
    Ok(n)
}

/// How a path given on the command line is named in messages.
pub fn label(path: &std::path::Path) -> String {
    crate::input::label(path)
}

/// An attachment that may be `-`: stdin is copied to a temp file named `stdin` in the
/// home's tmp/ (content has to be read twice: hashed, then sent), counted and refused past
/// [`crate::input::MAX_ATTACHMENT`]; a path must be a regular file within that limit (a
/// FIFO or `/dev/zero` is refused without blocking). The guard removes the copy.
pub fn spool_stdin(node: &Node, path: &std::path::Path) -> Result<(PathBuf, Option<tempfile::TempDir>), Error> {
    use crate::input::{MAX_ATTACHMENT, check_file, copy_bounded, is_stdin};
    if !is_stdin(path) {
        check_file(path, MAX_ATTACHMENT, "attachment")?;
        return Ok((path.to_path_buf(), None));
    }
    let dir = node.home.tmp_dir();
    crate::home::ensure_dir(&dir)?;
    let td = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempdir_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    let p = td.path().join("stdin");
    let mut f = tempfile_create(&p)?;
    copy_bounded(
        &mut std::io::stdin().lock(),
        &mut f,
        MAX_ATTACHMENT,
        "stdin",
        &p,
        "attachment",
    )?;
    Ok((p, Some(td)))
}

/// Create a new file mode 0600 whatever the umask.
fn tempfile_create(p: &std::path::Path) -> Result<std::fs::File, Error> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(p).map_err(|e| Error::io(p, e))
}

#[cfg(test)]
mod tests {
    #[test]
    fn usage_errors_are_one_line_then_hints() {
        let r = "error: the following required arguments were not provided:\n  --name <NAME>\n  --role <ROLE>\n\nUsage: secfile init --name <NAME> --role <ROLE>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            super::usage_error_lines(r),
            [
                "secfile: error: the following required arguments were not provided: --name <NAME>, --role <ROLE>",
                "hint: usage: secfile init --name <NAME> --role <ROLE>",
                "hint: for more information, try '--help'.",
            ]
        );
    }
}
