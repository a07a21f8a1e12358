//! `secfile completions`
use crate::cli::Ui;
use crate::error::Error;
use clap::Args;

/// Print the shell completion script (bash, zsh, fish, elvish, powershell)
///
/// The script calls secfile back for every completion (`COMPLETE=<shell> secfile -- …`),
/// so node names and ids (--to, --for, --chain, roster remove), file ids (file, op) and
/// outbox bundle ids (resend) come from the home at the time you press TAB. Install e.g.
/// with `secfile completions bash > ~/.local/share/bash-completion/completions/secfile`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The registration script for a shell.
pub fn script(shell: clap_complete::Shell) -> Vec<u8> {
    let name = match shell {
        clap_complete::Shell::Bash => "bash",
        clap_complete::Shell::Elvish => "elvish",
        clap_complete::Shell::Fish => "fish",
        clap_complete::Shell::PowerShell => "powershell",
        clap_complete::Shell::Zsh => "zsh",
        _ => "bash",
    };
    let shells = clap_complete::env::Shells::builtins();
    let sh = shells.completer(name).expect("a built-in shell");
    let mut buf = Vec::new();
    sh.write_registration("COMPLETE", "secfile", "secfile", "secfile", &mut buf)
        .expect("write to memory");
    buf
}

pub fn run(_ui: &Ui, a: CompletionsArgs) -> Result<i32, Error> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    o.write_all(&script(a.shell)).map_err(|e| Error::io("stdout", e))?;
    Ok(0)
}
