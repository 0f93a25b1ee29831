package main

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/ptzone/ptzone/store"
)

func operatorCommand() *command {
	return &command{
		name:    "operator",
		summary: "Manage operators' API tokens",
		subs: []*command{{
			name:     "token",
			synopsis: "NAME",
			summary:  "Make a new operator token",
			help: `Prints a new random token for the operator NAME, once, and the
configuration lines that let it in: only the token's SHA-256 goes into the
configuration file, under [[operator]]. Reload the daemon (SIGHUP does not
change the web server's settings: restart it) for the token to work.`,
			run: func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 || args[0] == "" {
					return usageErrorf("operator token takes one NAME")
				}
				token := newToken()
				fmt.Fprintf(e.stdout, "token for %s (shown once; give it to the operator alone):\n  %s\n\n"+
					"add to the configuration:\n[[operator]]\nname = %q\ntoken_sha256 = %q\n",
					args[0], token, args[0], hex.EncodeToString(store.HashToken(token)))
				return nil
			},
		}},
	}
}
