complete --keep-order --exclusive --command secfile --arguments "(COMPLETE=fish secfile -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
