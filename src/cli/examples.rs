//! Examples for every command, in the order of one scenario (a master `hq`, members
//! `alice` and `bob`, a stick `usb/`). They are shown under `--help` and in the EXAMPLES
//! section of the man pages, and a test runs them all, in this order, so none rots:
//! each line runs as the node named in `node` (its home given by `SECFILE_HOME`), with
//! `$FILE` the security file of the scenario and `$BUNDLE` a bundle in hq's outbox.

/// One example.
pub struct Example {
    /// The command it is an example of (`roster admit`).
    pub command: &'static str,
    /// The node it runs as.
    pub node: &'static str,
    /// What it does.
    pub about: &'static str,
    /// The command line.
    pub line: &'static str,
}

const fn ex(command: &'static str, node: &'static str, about: &'static str, line: &'static str) -> Example {
    Example {
        command,
        node,
        about,
        line,
    }
}

/// The scenario, in order.
pub const SCENARIO: &[Example] = &[
    ex(
        "init",
        "hq",
        "create the master",
        "secfile init --name hq --role master",
    ),
    ex(
        "card",
        "hq",
        "export the master's card for the members",
        "secfile card --out hq.card",
    ),
    ex(
        "init",
        "alice",
        "create a member pinning the master's card (compare the fingerprint it prints)",
        "secfile init --name alice --role member --master hq.card",
    ),
    ex(
        "card",
        "alice",
        "export the member's card",
        "secfile card --out alice.card",
    ),
    ex(
        "init",
        "bob",
        "another member",
        "secfile init --name bob --role member --master hq.card",
    ),
    ex("card", "bob", "its card", "secfile card --out bob.card"),
    ex(
        "roster admit",
        "hq",
        "admit a member from its card",
        "secfile roster admit alice.card",
    ),
    ex("roster admit", "hq", "and another", "secfile roster admit bob.card"),
    ex(
        "roster list",
        "hq",
        "the roster, from the master's chain",
        "secfile roster list",
    ),
    ex(
        "sync export",
        "hq",
        "the blocks alice lacks, for her",
        "secfile sync export --to alice --out hq-to-alice.bundle",
    ),
    ex(
        "sync import",
        "alice",
        "import them (she now holds her admission)",
        "secfile sync import hq-to-alice.bundle",
    ),
    ex(
        "xfer",
        "hq",
        "or exchange through a stick, one command per visit",
        "secfile xfer usb/",
    ),
    ex("xfer", "bob", "bob's visit", "secfile xfer usb/"),
    ex(
        "append",
        "alice",
        "a generic block for scripts",
        "secfile append --kind inspection --field site=north",
    ),
    ex(
        "request",
        "alice",
        "ask the master for a security file on an event",
        "secfile request --event audit --field site=north --attach report.pdf --out request.bundle",
    ),
    ex(
        "inspect",
        "hq",
        "what a bundle carries, writing nothing",
        "secfile inspect request.bundle",
    ),
    ex(
        "import",
        "hq",
        "what importing it would do",
        "secfile import --dry-run request.bundle",
    ),
    ex(
        "issue",
        "hq",
        "issue the file the request asks for, expiring in 30 days",
        "secfile issue request.bundle --expires 30d --out file.bundle",
    ),
    ex(
        "import",
        "alice",
        "receive it (and accept it on her chain)",
        "secfile import file.bundle",
    ),
    ex("file list", "alice", "the files she holds", "secfile file list"),
    ex(
        "file show",
        "alice",
        "its manifest and state",
        "secfile file show $FILE",
    ),
    ex(
        "file extract",
        "alice",
        "its content, checked against the manifest",
        "secfile file extract $FILE --out copy.pdf",
    ),
    ex(
        "op endorse",
        "alice",
        "endorse it",
        "secfile op endorse $FILE --note checked",
    ),
    ex(
        "op annotate",
        "alice",
        "annotate it",
        "secfile op annotate $FILE --note 'filed in cabinet 3'",
    ),
    ex(
        "op transfer",
        "alice",
        "pass it on to bob (re-encrypted to him)",
        "secfile op transfer $FILE --to bob --out to-bob.bundle",
    ),
    ex("import", "bob", "bob receives it", "secfile import to-bob.bundle"),
    ex(
        "op reject",
        "bob",
        "and refuses it: alice holds it again",
        "secfile op reject $FILE --reason 'not ours'",
    ),
    ex("xfer", "bob", "bob's next visit to the stick", "secfile xfer usb/"),
    ex("xfer", "alice", "alice's", "secfile xfer usb/"),
    ex(
        "file history",
        "alice",
        "the file's life from the global chain",
        "secfile file history $FILE",
    ),
    ex(
        "op return",
        "alice",
        "give it back to the master",
        "secfile op return $FILE",
    ),
    ex("xfer", "alice", "carry it", "secfile xfer usb/"),
    ex("xfer", "hq", "the master's visit", "secfile xfer usb/"),
    ex(
        "op revoke",
        "hq",
        "revoke it",
        "secfile op revoke $FILE --reason returned",
    ),
    ex(
        "issue",
        "hq",
        "issue a file without a request",
        "secfile issue --to bob --attach report.pdf --field zone=3",
    ),
    ex("outbox", "hq", "what awaits a receipt", "secfile outbox"),
    ex(
        "resend",
        "hq",
        "write a kept bundle again",
        "secfile resend $BUNDLE --out again.bundle",
    ),
    ex(
        "checkpoint",
        "hq",
        "record the final chain as of now (xfer on the master does it when it imported blocks)",
        "secfile checkpoint",
    ),
    ex(
        "prove",
        "hq",
        "prove a file's state as of that checkpoint, for an outsider",
        "secfile prove $FILE --out file.proof",
    ),
    ex(
        "verify",
        "hq",
        "check a proof with the master's card alone (no home needed)",
        "secfile verify file.proof --master hq.card",
    ),
    ex(
        "merge",
        "hq",
        "the global chain: head, final and pending counts, and its anchor",
        "secfile merge",
    ),
    ex("log", "hq", "one chain's blocks", "secfile log --chain alice"),
    ex(
        "status",
        "hq",
        "this node, its peers, what holds finality back",
        "secfile status",
    ),
    ex("verify", "hq", "audit the home", "secfile verify"),
    ex(
        "watch",
        "alice",
        "turn each new scan in a folder into a request",
        "secfile watch scans/ --event scan --once",
    ),
    ex(
        "rekey",
        "alice",
        "rotate a member's keys: new keys and a rekey request for the master",
        "secfile rekey --out alice-rekey.bundle",
    ),
    ex(
        "roster rekey",
        "hq",
        "bind the member's new keys: a rekey block",
        "secfile roster rekey alice-rekey.bundle",
    ),
    ex(
        "sync export",
        "hq",
        "the rekey block for alice",
        "secfile sync export --to alice --out hq-rekey-to-alice.bundle",
    ),
    ex(
        "sync import",
        "alice",
        "alice switches to her new keys",
        "secfile sync import hq-rekey-to-alice.bundle",
    ),
    ex(
        "rekey",
        "hq",
        "rotate the master's own keys: a rekey block signed by its old key",
        "secfile rekey",
    ),
    ex("roster remove", "hq", "remove a member", "secfile roster remove bob"),
    ex(
        "completions",
        "hq",
        "install bash completions",
        "secfile completions bash > secfile.bash",
    ),
];

/// The examples of one command (`op transfer`).
pub fn of(command: &str) -> impl Iterator<Item = &'static Example> + '_ {
    SCENARIO.iter().filter(move |e| e.command == command)
}

/// The `--help` text after the options: `Examples:` and the command lines.
pub fn help(command: &str) -> Option<String> {
    let mut lines: Vec<String> = of(command)
        .map(|e| format!("  # {}\n  $ {}", e.about, e.line))
        .collect();
    if lines.is_empty() {
        return None;
    }
    lines.insert(0, "Examples:".into());
    Some(lines.join("\n"))
}

/// The man page's EXAMPLES section (roff).
pub fn man(command: &str) -> Option<String> {
    let mut out = String::from(".SH EXAMPLES\n");
    let mut any = false;
    for e in of(command) {
        any = true;
        out.push_str(&format!(
            ".PP\n{}:\n.PP\n.nf\n.RS 4\n{}\n.RE\n.fi\n",
            roff(e.about),
            roff(e.line)
        ));
    }
    any.then_some(out)
}

fn roff(s: &str) -> String {
    s.replace('\\', "\\\\").replace('-', "\\-").replace('\'', "\\(aq")
}

/// Add every command's examples to its `--help` (the clap definition, recursively).
pub fn add_to(cmd: clap::Command) -> clap::Command {
    fn walk(cmd: clap::Command, path: &str) -> clap::Command {
        let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
        let mut cmd = cmd;
        for n in names {
            let p = if path.is_empty() {
                n.clone()
            } else {
                format!("{path} {n}")
            };
            cmd = cmd.mut_subcommand(&n, |sub| {
                let sub = match help(&p) {
                    Some(h) => sub.after_help(h),
                    None => sub,
                };
                walk(sub, &p)
            });
        }
        cmd
    }
    walk(cmd, "")
}
