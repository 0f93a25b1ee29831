package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/ptzone/ptzone/store"
)

func registrarCommand() *command {
	return &command{
		name:    "registrar",
		summary: "Manage registrars and their API tokens",
		subs:    []*command{registrarAddCommand(), registrarListCommand(), registrarTokenCommand()},
	}
}

func registrarAddCommand() *command {
	var (
		sf          storeFlags
		name, email string
	)
	return &command{
		name:     "add",
		synopsis: "[flags] ID",
		summary:  "Create a registrar, or update its name and e-mail",
		flags: func(fs *flag.FlagSet) {
			sf.register(fs)
			fs.StringVar(&name, "name", "", "the registrar's `NAME`")
			fs.StringVar(&email, "email", "", "the registrar's technical `E-MAIL`, where notices go")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) != 1 {
				return usageErrorf("registrar add: give exactly one ID")
			}
			if email != "" {
				if err := store.CheckMailbox(email); err != nil {
					return usageErrorf("registrar add: --email: %v", err)
				}
			}
			r, _, err := sf.open(ctx, e)
			if err != nil {
				return err
			}
			defer r.Close()
			if err := r.PutRegistrar(ctx, store.Registrar{ID: args[0], Name: name, Email: email}); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "registrar %s saved\n", args[0])
			return nil
		},
	}
}

func registrarListCommand() *command {
	var sf storeFlags
	return &command{
		name:     "list",
		synopsis: "[--db DSN]",
		summary:  "List registrars",
		flags:    sf.register,
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("registrar list takes no arguments")
			}
			r, _, err := sf.open(ctx, e)
			if err != nil {
				return err
			}
			defer r.Close()
			regs, err := r.Registrars(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tE-MAIL\tTOKEN")
			for _, g := range regs {
				token := "none"
				if g.TokenHash != nil {
					token = "issued"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.ID, g.Name, g.Email, token)
			}
			return tw.Flush()
		},
	}
}

func registrarTokenCommand() *command {
	var sf storeFlags
	return &command{
		name:     "token",
		synopsis: "[--db DSN] ID",
		summary:  "Issue a new API token for a registrar, revoking the old one",
		help: `Issues a new API token for registrar ID and prints it once: only its
SHA-256 is stored, so it cannot be shown again. Any previous token stops
working at once.`,
		flags: sf.register,
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) != 1 {
				return usageErrorf("registrar token: give exactly one ID")
			}
			r, _, err := sf.open(ctx, e)
			if err != nil {
				return err
			}
			defer r.Close()
			token := newToken()
			if err := r.SetRegistrarToken(ctx, args[0], store.HashToken(token)); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, token)
			return nil
		},
	}
}

// newToken returns a random API token: 32 bytes from the system's CSPRNG,
// URL-safe base64, with a prefix that secret scanners can recognise.
func newToken() string {
	var b [32]byte
	rand.Read(b[:])
	return "ptz_" + base64.RawURLEncoding.EncodeToString(b[:])
}
