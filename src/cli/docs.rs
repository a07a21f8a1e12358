//! Man pages and completions generated from the clap definition. `man/` and
//! `completions/` are committed; a test regenerates them in memory and fails on drift.
use super::Cli;
use clap::CommandFactory;

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
.SH SECURITY
Every bundle is signed by its sender (minisign) and encrypted to its recipients (age X25519); the signature and the payload digest are checked before anything is decrypted, and the whole age stream is authenticated before anything is written. Blocks are hashed and verified over their exact bytes. Secret key files are created mode 0600 and are never printed. Compare a master's fingerprint out of band before trusting its card.
"#;

/// Every generated file: (path relative to the crate root, bytes).
pub fn render_all() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let cmd = Cli::command();
    render_man(&cmd, "secfile", &mut out);
    for (shell, name) in [
        (clap_complete::Shell::Bash, "secfile.bash"),
        (clap_complete::Shell::Zsh, "_secfile"),
        (clap_complete::Shell::Fish, "secfile.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "secfile", &mut buf);
        out.push((format!("completions/{name}"), buf));
    }
    out
}

fn render_man(cmd: &clap::Command, name: &str, out: &mut Vec<(String, Vec<u8>)>) {
    let cmd = cmd.clone().name(name.to_string()).bin_name(name.replace('-', " "));
    let mut buf = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render(&mut buf).expect("render man page");
    buf.extend_from_slice(EXTRA.as_bytes());
    out.push((format!("man/{name}.1"), buf));
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() {
            continue;
        }
        render_man(sub, &format!("{name}-{}", sub.get_name()), out);
    }
}
