//! Man pages and completions generated from the clap definition. `man/` and
//! `completions/` are committed; a test regenerates them in memory and fails on drift.

/// The main page's DESCRIPTION (the `--help` text stays short).
const DESCRIPTION: &str = "secfile keeps a consortium of nodes that never share a network in agreement. One \
master and many members each append signed, hash-linked blocks to their own sub-chain (a directory of \
YAML files with detached minisign signatures) and exchange them in single-file bundles, signed with \
minisign and encrypted with age, carried by USB stick, email or pipes.

The master's chain is the trust root: it records who is admitted and removed, so the roster is itself \
on-chain and auditable. Every block can be checked with stock minisign and sha256sum.

Run `secfile init` to create a node, `secfile card` to export its public identity, `secfile roster \
admit` on the master to admit a member, and `secfile sync export` / `secfile sync import` to move blocks \
between nodes; `secfile verify` audits a home and reports every problem it finds.";

const EXTRA: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Success. An import that changed nothing, or left blocks pending for missing predecessors, is a success that says so.
.TP
\fB1\fR
Verification failed or input rejected: tampering, bad signature, fork, rollback, not authorised, malformed, over a limit. With \fB\-\-json\fR the error document names the kind.
.TP
\fB2\fR
Usage error.
.TP
\fB3\fR
I/O or environment error: no home, home already exists, permission, disk full.
.TP
\fB4\fR
Busy: another process holds the home's lock past a bounded wait; retry.
.SH FILES
.TP
\fIHOME\fR/node.yaml
Who this node is: name, role, node id, master id.
.TP
\fIHOME\fR/keys/
age identity (age\-keygen format) and minisign key pair; secret files mode 0600.
.TP
\fIHOME\fR/chains/\fIID\fR/\fIHEIGHT\fR.yaml, .yaml.minisig
Sub\-chain blocks and their detached minisign signatures.
.TP
\fIHOME\fR/pending/, \fIHOME\fR/forks/
Blocks waiting for predecessors; fork evidence.
.TP
\fIHOME\fR/peers/\fIID\fR.yaml
The frontier last received from each peer (makes exports incremental).
.TP
\fIHOME\fR/outbox/\fIRECIPIENT\fR/
Bundles made without \fB\-\-out\fR.
.TP
\fIHOME\fR/lock
The home's lock (released by the kernel when a process dies).
.SH ENVIRONMENT
.TP
\fBSECFILE_HOME\fR
The home directory (as \fB\-\-home\fR). Default: \fB$XDG_DATA_HOME/secfile\fR, else \fB$HOME/.local/share/secfile\fR.
.TP
\fBSECFILE_PASSPHRASE_FILE\fR
As \fB\-\-passphrase\-file\fR. secfile never prompts.
.TP
\fBSECFILE_LOCK_TIMEOUT\fR
Seconds to wait for the home's lock before exiting 4 (default 10).
.TP
\fBSECFILE_TIME\fR
Fixed time (Unix seconds or RFC 3339) for the informational time fields; for tests and reproducible fixtures.
.TP
\fBSECFILE_SCRYPT_LOG_N\fR
The scrypt work factor (log2 N) used when \fBinit \-\-passphrase\-file\fR encrypts the keys; lower it only for tests.
.TP
\fBSECFILE_SETTLE_BATCH\fR
Blocks settled per batch when the settled index is built (default 8192; memory follows it); for tests.
.TP
\fBXDG_DATA_HOME\fR, \fBHOME\fR
Locate the default home.
.SH SECURITY
Every bundle is signed by its sender (minisign) and encrypted to its recipients (age X25519); the signature and the payload digest are checked before anything is decrypted, and the whole age stream is authenticated before anything is written. Blocks are hashed and verified over their exact bytes. Secret key files are created mode 0600 and are never printed. Compare a master's fingerprint out of band before trusting its card.
"#;

/// Every generated file: (path relative to the crate root, bytes).
pub fn render_all() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    // As `clap_mangen::generate_to` does: no `help` subcommand page, and a built command
    // so that global flags reach every subcommand page and bin names read `secfile sync export`.
    // Global flags are listed apart on every page, under GLOBAL OPTIONS.
    let mut cmd = super::command()
        .disable_help_subcommand(true)
        .after_help(None::<&'static str>)
        .long_about(DESCRIPTION)
        .mut_args(|a| {
            if a.is_global_set() {
                a.help_heading("Global options")
            } else {
                a
            }
        });
    cmd.build();
    render_man(&cmd, &mut out);
    for (shell, name) in [
        (clap_complete::Shell::Bash, "secfile.bash"),
        (clap_complete::Shell::Zsh, "_secfile"),
        (clap_complete::Shell::Fish, "secfile.fish"),
    ] {
        out.push((
            format!("completions/{name}"),
            super::commands::completions::script(shell),
        ));
    }
    out
}

/// The page of `cmd` (already built), then one page per visible subcommand, recursively.
fn render_man(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name()).to_string();
    let source = format!("secfile {}", env!("CARGO_PKG_VERSION"));
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .source(source)
        .manual("secfile manual")
        .render(&mut page)
        .expect("render man page");
    let mut page = String::from_utf8(page).expect("man pages are UTF-8");
    let path = name
        .strip_prefix("secfile")
        .unwrap_or("")
        .trim_start_matches('-')
        .replace('-', " ");
    let mut extra = super::examples::man(&path).unwrap_or_default();
    extra.push_str(EXTRA);
    extra.push_str(&see_also(cmd, &name));
    // Keep clap's VERSION section last, after the sections every page carries.
    match page.find("\n.SH VERSION\n") {
        Some(i) => page.insert_str(i + 1, &extra),
        None => page.push_str(&extra),
    }
    out.push((format!("man/{name}.1"), page.into_bytes()));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_man(sub, out);
    }
}

/// `SEE ALSO`: the main page and the stock tools on the main page; the main page on the others.
fn see_also(cmd: &clap::Command, name: &str) -> String {
    let mut refs = Vec::new();
    if name != "secfile" {
        refs.push("\\fBsecfile\\fR(1)".to_string());
    }
    if let Some((parent, _)) = name.rsplit_once('-').filter(|(p, _)| *p != "secfile") {
        refs.push(format!("\\fB{}\\fR(1)", parent.replace('-', "\\-")));
    }
    if name == "secfile" {
        refs.extend(
            cmd.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| format!("\\fBsecfile\\-{}\\fR(1)", s.get_name().replace('-', "\\-"))),
        );
        refs.extend(["\\fBage\\fR(1)", "\\fBminisign\\fR(1)", "\\fBsha256sum\\fR(1)"].map(String::from));
    }
    format!(".SH \"SEE ALSO\"\n{}\n", refs.join(", "))
}
