# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_secfile_global_optspecs
    string join \n home= json q/quiet no-progress passphrase-file= h/help V/version
end

function __fish_secfile_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_secfile_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_secfile_using_subcommand
    set -l cmd (__fish_secfile_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c secfile -n "__fish_secfile_needs_command" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_needs_command" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_needs_command" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_needs_command" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_needs_command" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_needs_command" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_needs_command" -s V -l version -d 'Print version'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "init" -d 'Create a node: keys, home layout and genesis block'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "card" -d 'Export this node\'s card (its self-signed public identity)'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "roster" -d 'Manage and show the roster (membership is recorded on the master\'s chain)'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "append" -d 'Append a generic block to this node\'s chain (for scripts)'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "request" -d 'Ask the master for a security file (member): a request bundle plus a `request` block'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "issue" -d 'Issue a security file (master): from a member\'s request bundle, or directly with --to'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "file" -d 'Security files: the ones held here, their manifests, content and life on the chain'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "op" -d 'Operate on a security file: each operation is a block, settled by the global chain'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "import" -d 'Import bundles of any kind (idempotent; verifies everything before writing)'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "sync" -d 'Exchange blocks with other nodes in sync bundles'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "xfer" -d 'Exchange through a spool directory on a mounted medium (USB stick)'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "merge" -d 'Compute the global chain: valid blocks of every sub-chain ordered by (clock, chain id)'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "checkpoint" -d 'Append a checkpoint block: the final chain\'s count, head and threshold at this block'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "log" -d 'Show blocks: one chain, every chain, or the global order'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "status" -d 'Show this node, its chains, pending blocks and forks'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "verify" -d 'Audit the home, or the bundles, cards and homes given, and report every problem'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, elvish, powershell)'
complete -c secfile -n "__fish_secfile_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secfile -n "__fish_secfile_using_subcommand init" -l name -d 'This node\'s name in the roster (1-64 of A-Z a-z 0-9 . _ -)' -r
complete -c secfile -n "__fish_secfile_using_subcommand init" -l role -d 'The node\'s role' -r -f -a "master\t''
member\t''"
complete -c secfile -n "__fish_secfile_using_subcommand init" -l master -d 'The master\'s card (members only; - for stdin)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand init" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand init" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand init" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand init" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand init" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secfile -n "__fish_secfile_using_subcommand card" -l out -d 'Write the card to FILE (- for stdout, the default)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand card" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand card" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand card" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand card" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand card" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand card" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and not __fish_seen_subcommand_from admit remove list help" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand roster; and not __fish_seen_subcommand_from admit remove list help" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand roster; and not __fish_seen_subcommand_from admit remove list help" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and not __fish_seen_subcommand_from admit remove list help" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and not __fish_seen_subcommand_from admit remove list help" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and not __fish_seen_subcommand_from admit remove list help" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and not __fish_seen_subcommand_from admit remove list help" -f -a "admit" -d 'Admit a member from its card (master only): an `admit` block'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and not __fish_seen_subcommand_from admit remove list help" -f -a "remove" -d 'Remove a member (master only): a `remove` block with the member\'s cutoff'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and not __fish_seen_subcommand_from admit remove list help" -f -a "list" -d 'List the roster as derived from the master\'s chain held here'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and not __fish_seen_subcommand_from admit remove list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from admit" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from admit" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from admit" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from admit" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from admit" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from admit" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from remove" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from remove" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from remove" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from remove" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from list" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from list" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from list" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from help" -f -a "admit" -d 'Admit a member from its card (master only): an `admit` block'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a member (master only): a `remove` block with the member\'s cutoff'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the roster as derived from the master\'s chain held here'
complete -c secfile -n "__fish_secfile_using_subcommand roster; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secfile -n "__fish_secfile_using_subcommand append" -l kind -d 'The block kind (a-z 0-9 . _ -, not a built-in kind)' -r
complete -c secfile -n "__fish_secfile_using_subcommand append" -l field -d 'A field KEY=VALUE (repeatable)' -r
complete -c secfile -n "__fish_secfile_using_subcommand append" -l attach -d 'A file recorded by hash (repeatable; - for stdin)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand append" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand append" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand append" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand append" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand append" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand append" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secfile -n "__fish_secfile_using_subcommand request" -l event -d 'The trigger event (A-Z a-z 0-9 . _ -)' -r
complete -c secfile -n "__fish_secfile_using_subcommand request" -l field -d 'A field KEY=VALUE (repeatable)' -r
complete -c secfile -n "__fish_secfile_using_subcommand request" -l attach -d 'A file to send to the master with the request (- for stdin)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand request" -l for -d 'The member the file is for [default: this node]' -r
complete -c secfile -n "__fish_secfile_using_subcommand request" -l out -d 'Write the bundle to FILE (- for stdout)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand request" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand request" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand request" -l armor -d 'Write ASCII armor fit for an email body'
complete -c secfile -n "__fish_secfile_using_subcommand request" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand request" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand request" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand request" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secfile -n "__fish_secfile_using_subcommand issue" -l to -d 'Issue without a request, to this member' -r
complete -c secfile -n "__fish_secfile_using_subcommand issue" -l attach -d 'The content (with --to; - for stdin)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand issue" -l field -d 'A field KEY=VALUE (with --to; repeatable)' -r
complete -c secfile -n "__fish_secfile_using_subcommand issue" -l event -d 'The event recorded in the manifest (with --to)' -r
complete -c secfile -n "__fish_secfile_using_subcommand issue" -l expires -d 'Expiry date (YYYY-MM-DD or RFC 3339 UTC)' -r
complete -c secfile -n "__fish_secfile_using_subcommand issue" -l out -d 'Write the bundle to FILE (- for stdout)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand issue" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand issue" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand issue" -l armor -d 'Write ASCII armor fit for an email body'
complete -c secfile -n "__fish_secfile_using_subcommand issue" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand issue" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand issue" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand issue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secfile -n "__fish_secfile_using_subcommand file; and not __fish_seen_subcommand_from list show extract history help" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand file; and not __fish_seen_subcommand_from list show extract history help" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand file; and not __fish_seen_subcommand_from list show extract history help" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand file; and not __fish_seen_subcommand_from list show extract history help" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand file; and not __fish_seen_subcommand_from list show extract history help" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand file; and not __fish_seen_subcommand_from list show extract history help" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand file; and not __fish_seen_subcommand_from list show extract history help" -f -a "list" -d 'List the security files this node holds (or every file the chain knows, with --all)'
complete -c secfile -n "__fish_secfile_using_subcommand file; and not __fish_seen_subcommand_from list show extract history help" -f -a "show" -d 'Show a file\'s manifest and its state from the global chain'
complete -c secfile -n "__fish_secfile_using_subcommand file; and not __fish_seen_subcommand_from list show extract history help" -f -a "extract" -d 'Write a file\'s content, checked against the manifest\'s SHA-256'
complete -c secfile -n "__fish_secfile_using_subcommand file; and not __fish_seen_subcommand_from list show extract history help" -f -a "history" -d 'A file\'s life from the global chain: final, tentative and rejected events'
complete -c secfile -n "__fish_secfile_using_subcommand file; and not __fish_seen_subcommand_from list show extract history help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from list" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from list" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from list" -l all -d 'Every file in the global chain, whoever holds it'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from list" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from show" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from show" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from show" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from show" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from extract" -l out -d 'Where to write the content (- for stdout)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from extract" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from extract" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from extract" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from extract" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from extract" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from extract" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from history" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from history" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from history" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from history" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from history" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from history" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the security files this node holds (or every file the chain knows, with --all)'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a file\'s manifest and its state from the global chain'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "extract" -d 'Write a file\'s content, checked against the manifest\'s SHA-256'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "history" -d 'A file\'s life from the global chain: final, tentative and rejected events'
complete -c secfile -n "__fish_secfile_using_subcommand file; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secfile -n "__fish_secfile_using_subcommand op; and not __fish_seen_subcommand_from endorse annotate transfer revoke help" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand op; and not __fish_seen_subcommand_from endorse annotate transfer revoke help" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand op; and not __fish_seen_subcommand_from endorse annotate transfer revoke help" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand op; and not __fish_seen_subcommand_from endorse annotate transfer revoke help" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand op; and not __fish_seen_subcommand_from endorse annotate transfer revoke help" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand op; and not __fish_seen_subcommand_from endorse annotate transfer revoke help" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand op; and not __fish_seen_subcommand_from endorse annotate transfer revoke help" -f -a "endorse" -d 'Endorse a file you hold'
complete -c secfile -n "__fish_secfile_using_subcommand op; and not __fish_seen_subcommand_from endorse annotate transfer revoke help" -f -a "annotate" -d 'Annotate a file with a note'
complete -c secfile -n "__fish_secfile_using_subcommand op; and not __fish_seen_subcommand_from endorse annotate transfer revoke help" -f -a "transfer" -d 'Transfer a file you hold to another member (re-encrypted to the new holder)'
complete -c secfile -n "__fish_secfile_using_subcommand op; and not __fish_seen_subcommand_from endorse annotate transfer revoke help" -f -a "revoke" -d 'Revoke a file (master only)'
complete -c secfile -n "__fish_secfile_using_subcommand op; and not __fish_seen_subcommand_from endorse annotate transfer revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from endorse" -l note -d 'An optional note' -r
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from endorse" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from endorse" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from endorse" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from endorse" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from endorse" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from endorse" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from annotate" -l note -d 'The note' -r
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from annotate" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from annotate" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from annotate" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from annotate" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from annotate" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from annotate" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from transfer" -l to -d 'The new holder (name or id)' -r
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from transfer" -l out -d 'Write the bundle to FILE (- for stdout) [default: outbox/<member>/]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from transfer" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from transfer" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from transfer" -l armor -d 'Write ASCII armor fit for an email body'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from transfer" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from transfer" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from transfer" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from transfer" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from revoke" -l reason -d 'Why' -r
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from revoke" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from revoke" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from revoke" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from revoke" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from help" -f -a "endorse" -d 'Endorse a file you hold'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from help" -f -a "annotate" -d 'Annotate a file with a note'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from help" -f -a "transfer" -d 'Transfer a file you hold to another member (re-encrypted to the new holder)'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke a file (master only)'
complete -c secfile -n "__fish_secfile_using_subcommand op; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secfile -n "__fish_secfile_using_subcommand import" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand import" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand import" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand import" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand import" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand import" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and not __fish_seen_subcommand_from export import help" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand sync; and not __fish_seen_subcommand_from export import help" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand sync; and not __fish_seen_subcommand_from export import help" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and not __fish_seen_subcommand_from export import help" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and not __fish_seen_subcommand_from export import help" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and not __fish_seen_subcommand_from export import help" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and not __fish_seen_subcommand_from export import help" -f -a "export" -d 'Export the blocks a peer lacks (own and relayed) as a sync bundle'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and not __fish_seen_subcommand_from export import help" -f -a "import" -d 'Import a sync bundle (idempotent; nothing is written unless every block checks)'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and not __fish_seen_subcommand_from export import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from export" -l to -d 'The peer (name or node id)' -r
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from export" -l out -d 'Write the bundle to FILE (- for stdout)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from export" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from export" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from export" -l all -d 'Send every block, not just what the peer lacks (for a new peer)'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from export" -l armor -d 'Write ASCII armor fit for an email body'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from export" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from export" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from import" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from import" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from import" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from import" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from help" -f -a "export" -d 'Export the blocks a peer lacks (own and relayed) as a sync bundle'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from help" -f -a "import" -d 'Import a sync bundle (idempotent; nothing is written unless every block checks)'
complete -c secfile -n "__fish_secfile_using_subcommand sync; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secfile -n "__fish_secfile_using_subcommand xfer" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand xfer" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand xfer" -l armor -d 'Leave ASCII-armored bundles'
complete -c secfile -n "__fish_secfile_using_subcommand xfer" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand xfer" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand xfer" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand xfer" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secfile -n "__fish_secfile_using_subcommand merge" -l out -d 'Write the global chain to FILE (- for stdout)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand merge" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand merge" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand merge" -l include-pending -d 'Also list the tentative tail (valid blocks not yet final)'
complete -c secfile -n "__fish_secfile_using_subcommand merge" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand merge" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand merge" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand merge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secfile -n "__fish_secfile_using_subcommand checkpoint" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand checkpoint" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand checkpoint" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand checkpoint" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand checkpoint" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand checkpoint" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secfile -n "__fish_secfile_using_subcommand log" -l chain -d 'Only this chain (node name or id)' -r
complete -c secfile -n "__fish_secfile_using_subcommand log" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand log" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand log" -l global -d 'All valid blocks in global order (clock, chain id)'
complete -c secfile -n "__fish_secfile_using_subcommand log" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand log" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand log" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand log" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand status" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand status" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand status" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand status" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand status" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand status" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand verify" -l global-head -d 'Also require HASH to be the running hash of an entry of this node\'s final global chain' -r
complete -c secfile -n "__fish_secfile_using_subcommand verify" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand verify" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand verify" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand verify" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand verify" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c secfile -n "__fish_secfile_using_subcommand completions" -l home -d 'Node home directory [default: $XDG_DATA_HOME/secfile]' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand completions" -l passphrase-file -d 'Read the passphrase protecting this node\'s keys from FILE (first line)' -r -F
complete -c secfile -n "__fish_secfile_using_subcommand completions" -l json -d 'Print machine-readable JSON on stdout'
complete -c secfile -n "__fish_secfile_using_subcommand completions" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c secfile -n "__fish_secfile_using_subcommand completions" -l no-progress -d 'Never draw progress bars'
complete -c secfile -n "__fish_secfile_using_subcommand completions" -s h -l help -d 'Print help'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "init" -d 'Create a node: keys, home layout and genesis block'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "card" -d 'Export this node\'s card (its self-signed public identity)'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "roster" -d 'Manage and show the roster (membership is recorded on the master\'s chain)'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "append" -d 'Append a generic block to this node\'s chain (for scripts)'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "request" -d 'Ask the master for a security file (member): a request bundle plus a `request` block'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "issue" -d 'Issue a security file (master): from a member\'s request bundle, or directly with --to'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "file" -d 'Security files: the ones held here, their manifests, content and life on the chain'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "op" -d 'Operate on a security file: each operation is a block, settled by the global chain'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "import" -d 'Import bundles of any kind (idempotent; verifies everything before writing)'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "sync" -d 'Exchange blocks with other nodes in sync bundles'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "xfer" -d 'Exchange through a spool directory on a mounted medium (USB stick)'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "merge" -d 'Compute the global chain: valid blocks of every sub-chain ordered by (clock, chain id)'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "checkpoint" -d 'Append a checkpoint block: the final chain\'s count, head and threshold at this block'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "log" -d 'Show blocks: one chain, every chain, or the global order'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "status" -d 'Show this node, its chains, pending blocks and forks'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "verify" -d 'Audit the home, or the bundles, cards and homes given, and report every problem'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, elvish, powershell)'
complete -c secfile -n "__fish_secfile_using_subcommand help; and not __fish_seen_subcommand_from init card roster append request issue file op import sync xfer merge checkpoint log status verify completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c secfile -n "__fish_secfile_using_subcommand help; and __fish_seen_subcommand_from roster" -f -a "admit" -d 'Admit a member from its card (master only): an `admit` block'
complete -c secfile -n "__fish_secfile_using_subcommand help; and __fish_seen_subcommand_from roster" -f -a "remove" -d 'Remove a member (master only): a `remove` block with the member\'s cutoff'
complete -c secfile -n "__fish_secfile_using_subcommand help; and __fish_seen_subcommand_from roster" -f -a "list" -d 'List the roster as derived from the master\'s chain held here'
complete -c secfile -n "__fish_secfile_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "list" -d 'List the security files this node holds (or every file the chain knows, with --all)'
complete -c secfile -n "__fish_secfile_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "show" -d 'Show a file\'s manifest and its state from the global chain'
complete -c secfile -n "__fish_secfile_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "extract" -d 'Write a file\'s content, checked against the manifest\'s SHA-256'
complete -c secfile -n "__fish_secfile_using_subcommand help; and __fish_seen_subcommand_from file" -f -a "history" -d 'A file\'s life from the global chain: final, tentative and rejected events'
complete -c secfile -n "__fish_secfile_using_subcommand help; and __fish_seen_subcommand_from op" -f -a "endorse" -d 'Endorse a file you hold'
complete -c secfile -n "__fish_secfile_using_subcommand help; and __fish_seen_subcommand_from op" -f -a "annotate" -d 'Annotate a file with a note'
complete -c secfile -n "__fish_secfile_using_subcommand help; and __fish_seen_subcommand_from op" -f -a "transfer" -d 'Transfer a file you hold to another member (re-encrypted to the new holder)'
complete -c secfile -n "__fish_secfile_using_subcommand help; and __fish_seen_subcommand_from op" -f -a "revoke" -d 'Revoke a file (master only)'
complete -c secfile -n "__fish_secfile_using_subcommand help; and __fish_seen_subcommand_from sync" -f -a "export" -d 'Export the blocks a peer lacks (own and relayed) as a sync bundle'
complete -c secfile -n "__fish_secfile_using_subcommand help; and __fish_seen_subcommand_from sync" -f -a "import" -d 'Import a sync bundle (idempotent; nothing is written unless every block checks)'
