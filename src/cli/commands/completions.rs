//! `secfile completions`
use crate::cli::{Cli, Ui};
use crate::error::Error;
use clap::{Args, CommandFactory};

/// Print shell completions (bash, zsh, fish, elvish, powershell)
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(_ui: &Ui, a: CompletionsArgs) -> Result<i32, Error> {
    clap_complete::generate(a.shell, &mut Cli::command(), "secfile", &mut std::io::stdout());
    Ok(0)
}
