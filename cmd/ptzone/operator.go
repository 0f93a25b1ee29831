package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ptzone/ptzone/httpapi"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/store"
)

func operatorCommand() *command {
	return &command{
		name:    "operator",
		summary: "Act on a running daemon as an operator, and manage operators' tokens",
		help: `The actions talk to a running daemon's operator API (/api/v1/operator/)
over HTTP: --server URL (default $PTZONE_SERVER, else http://127.0.0.1:8053),
with the operator's token from --token-file FILE or $PTZONE_OPERATOR_TOKEN.
Each action is in the daemon's audit log under the token's operator. A
refusal (another daemon publishes, publishing frozen, nothing to roll back
to) exits 1 with the daemon's message. Freezes are per zone (--zone) or of
every zone (no --zone), each thawed on its own.`,
		subs: []*command{
			operatorTokenCommand(),
			operatorCall("status", "", "Show each zone's serial, publications, signatures, keys and secondaries", "GET", "status", false),
			operatorPublishCommand(),
			operatorCall("freeze", "--reason TEXT [--zone ZONE]", "Freeze the publishing of ZONE, or of every zone (the schedule and operators are refused until thawed)", "POST", "freeze", true),
			operatorCall("thaw", "[--reason TEXT] [--zone ZONE]", "Thaw the publishing of ZONE, or of every zone", "POST", "thaw", false),
			operatorCall("rollback", "--reason TEXT ZONE", "Publish ZONE again as it was before its last publication, and freeze ZONE's publishing", "POST", "zones/%s/rollback", true),
			operatorCall("why", "NAME", "Say why NAME is, or is not, in the zone", "GET", "domains/%s/why", false),
			operatorCall("check", "NAME", "Queue a check of NAME's delegation", "POST", "domains/%s/check", false),
			operatorCall("publications", "[ZONE]", "Show the publication log", "GET", "publications", false),
			operatorCall("audit", "", "Show the audit log of operators' actions", "GET", "audit", false),
		},
	}
}

func operatorTokenCommand() *command {
	return &command{
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
	}
}

// operatorClient is how an operator's command reaches the daemon.
type operatorClient struct {
	server, tokenFile string
	jsonOut           bool
}

func (c *operatorClient) register(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", "", "the daemon's web `URL` (default $PTZONE_SERVER, else http://127.0.0.1:8053)")
	fs.StringVar(&c.tokenFile, "token-file", "", "read the operator's token from `FILE` (default $PTZONE_OPERATOR_TOKEN)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the daemon's JSON answer as it is")
}

// call sends one request to the operator API and decodes the answer into
// out; an answer other than 2xx is an error with the daemon's message.
func (c *operatorClient) call(ctx context.Context, e *env, method, path string, body any, out *json.RawMessage) error {
	server := c.server
	if server == "" {
		server = e.getenv("PTZONE_SERVER")
	}
	if server == "" {
		server = "http://127.0.0.1:8053"
	}
	token := strings.TrimSpace(e.getenv("PTZONE_OPERATOR_TOKEN"))
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return inputError(fmt.Errorf("--token-file: %w", err))
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return usageErrorf("no operator token: give --token-file FILE or set PTZONE_OPERATOR_TOKEN")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := strings.TrimSuffix(server, "/") + "/api/v1/operator/" + path
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return inputError(fmt.Errorf("--server %q: %w", server, err))
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 10 * time.Minute} // a full publication of 2M domains takes minutes
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("asking the daemon at %s: %w", server, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the daemon's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var apiErr struct{ Message string }
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &apiErr) == nil && apiErr.Message != "" {
			msg = apiErr.Message
		}
		if resp.StatusCode == http.StatusUnauthorized {
			msg = "the daemon refuses the token (" + msg + ")"
		}
		return &exitError{code: exitNegative, err: fmt.Errorf("%s %s: %s %s", method, u, resp.Status, msg)}
	}
	*out = b
	return nil
}

// print writes the answer: as JSON when asked, else through human (nil:
// JSON, indented).
func (c *operatorClient) print(e *env, raw json.RawMessage, human func(io.Writer, json.RawMessage) error) error {
	if c.jsonOut || human == nil {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			_, err = e.stdout.Write(raw)
			return err
		}
		buf.WriteByte('\n')
		_, err := buf.WriteTo(e.stdout)
		return err
	}
	return human(e.stdout, raw)
}

// operatorCall is an operator's action that is one request: path may
// hold a %s for the argument (escaped); needReason makes --reason
// mandatory.
func operatorCall(name, synopsis, summary, method, path string, needReason bool) *command {
	var (
		c            operatorClient
		reason, zone string
	)
	perZone := name == "freeze" || name == "thaw"
	return &command{
		name: name, synopsis: synopsis, summary: summary,
		flags: func(fs *flag.FlagSet) {
			c.register(fs)
			if method == "POST" && !strings.Contains(path, "check") {
				fs.StringVar(&reason, "reason", "", "why (`TEXT`), for the audit log")
			}
			if perZone {
				fs.StringVar(&zone, "zone", "", "the `ZONE` alone (default: every zone)")
			}
		},
		run: func(ctx context.Context, e *env, args []string) error {
			p := path
			switch {
			case strings.Contains(p, "%s"):
				if len(args) != 1 {
					return usageErrorf("operator %s takes one %s", name, strings.Fields(synopsis)[len(strings.Fields(synopsis))-1])
				}
				p = fmt.Sprintf(p, url.PathEscape(strings.TrimSuffix(args[0], ".")))
			case name == "publications" && len(args) == 1:
				p += "?zone=" + url.QueryEscape(strings.TrimSuffix(args[0], "."))
			case len(args) > 0:
				return usageErrorf("operator %s takes no arguments", name)
			}
			if needReason && strings.TrimSpace(reason) == "" {
				return usageErrorf("operator %s needs --reason TEXT", name)
			}
			var body any
			switch {
			case perZone:
				body = httpapi.FreezeBody{Reason: reason, Zone: zone}
			case method == "POST":
				body = map[string]string{}
				if reason != "" {
					body = map[string]string{"reason": reason}
				}
			}
			var raw json.RawMessage
			if err := c.call(ctx, e, method, p, body, &raw); err != nil {
				return err
			}
			return c.print(e, raw, humanOutput[name])
		},
	}
}

func operatorPublishCommand() *command {
	var (
		c                   operatorClient
		dryRun, full, force bool
		reason              string
	)
	return &command{
		name:     "publish",
		synopsis: "[--dry-run] [--full] [--force --reason TEXT]",
		summary:  "Publish now, or judge a publication without publishing it (--dry-run)",
		help: `Asks the daemon to publish now. --dry-run builds, signs, verifies and
judges every zone and publishes nothing: the guard's verdict and the
changes. --force publishes past the guard's change limits, with --reason.
Exit status 1 when a zone is refused, failed or frozen.`,
		flags: func(fs *flag.FlagSet) {
			c.register(fs)
			fs.BoolVar(&dryRun, "dry-run", false, "judge the zones, publish nothing")
			fs.BoolVar(&full, "full", false, "build every zone from the whole registry")
			fs.BoolVar(&force, "force", false, "publish past the guard's change limits (needs --reason)")
			fs.StringVar(&reason, "reason", "", "why (`TEXT`), for the audit log")
		},
		run: func(ctx context.Context, e *env, args []string) error {
			if len(args) > 0 {
				return usageErrorf("operator publish takes no arguments")
			}
			if force && strings.TrimSpace(reason) == "" {
				return usageErrorf("operator publish --force needs --reason TEXT")
			}
			var raw json.RawMessage
			if err := c.call(ctx, e, "POST", "publish", httpapi.PublishBody{DryRun: dryRun, Full: full, Force: force, Reason: reason}, &raw); err != nil {
				return err
			}
			if err := c.print(e, raw, humanOutput["publish"]); err != nil {
				return err
			}
			var res struct{ Zones []httpapi.ZoneResult }
			if err := json.Unmarshal(raw, &res); err != nil {
				return err
			}
			for _, z := range res.Zones {
				if z.Outcome == string(store.OutcomeRefused) || z.Outcome == string(store.OutcomeFailed) || z.Outcome == string(publish.OutcomeFrozen) {
					return negative
				}
			}
			return nil
		},
	}
}

// humanOutput renders the answers an operator reads most.
var humanOutput = map[string]func(io.Writer, json.RawMessage) error{
	"status": func(w io.Writer, raw json.RawMessage) error {
		var st httpapi.Status
		if err := json.Unmarshal(raw, &st); err != nil {
			return err
		}
		role := "standby"
		if st.Publisher {
			role = "publisher"
		}
		fmt.Fprintf(w, "node %s (%s)\n", st.Node, role)
		if st.Frozen != nil {
			fmt.Fprintf(w, "publishing FROZEN by %s since %s: %s\n", st.Frozen.Actor, st.Frozen.Time.Format(time.RFC3339), st.Frozen.Reason)
		}
		for _, z := range st.Zones {
			if f := z.Frozen; f != nil && f.Zone != "" {
				fmt.Fprintf(w, "%s FROZEN by %s since %s: %s\n", z.Zone, f.Actor, f.Time.Format(time.RFC3339), f.Reason)
			}
		}
		if t, ok := st.NextRuns["publish"]; ok {
			fmt.Fprintf(w, "next publication %s\n", t.Format(time.RFC3339))
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "\nZONE\tSERVED\tLAST\tPUBLISHED\tSIGNATURES EXPIRE\tKEYS\tSECONDARIES")
		at := func(t *time.Time) string {
			if t == nil {
				return "-"
			}
			return t.Format(time.RFC3339)
		}
		for _, z := range st.Zones {
			var keys, secs []string
			for _, k := range z.Keys {
				keys = append(keys, fmt.Sprintf("%s %d %s", k.Role, k.Tag, k.State))
			}
			for _, s := range z.Secondaries {
				v := fmt.Sprint(s.Serial)
				if s.Error != "" {
					v = "error: " + s.Error
				} else if s.Behind {
					v += " (behind)"
				}
				secs = append(secs, s.Secondary+" "+v)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", z.Zone, z.ServedSerial, orDash(z.LastOutcome), at(z.LastPublished),
				at(z.SignaturesExpire), orDash(strings.Join(keys, ", ")), orDash(strings.Join(secs, ", ")))
		}
		return tw.Flush()
	},
	"why": func(w io.Writer, raw json.RawMessage) error {
		var ex httpapi.Explanation
		if err := json.Unmarshal(raw, &ex); err != nil {
			return err
		}
		in := "is not"
		if ex.InZone {
			in = "is"
		}
		fmt.Fprintf(w, "%s %s in the zone %s served now", ex.Domain, in, orDash(ex.Zone))
		if ex.ServedSerial != 0 {
			fmt.Fprintf(w, " (serial %d)", ex.ServedSerial)
		}
		fmt.Fprintf(w, ".\n")
		for _, r := range ex.Reasons {
			fmt.Fprintf(w, "  - %s\n", r)
		}
		for _, f := range ex.Findings {
			fmt.Fprintf(w, "    %s (%s): %s\n", f.Code, f.Article, f.Message)
		}
		return nil
	},
	"publish": printZoneResults,
	"rollback": func(w io.Writer, raw json.RawMessage) error {
		var res struct{ Zone httpapi.ZoneResult }
		if err := json.Unmarshal(raw, &res); err != nil {
			return err
		}
		b, _ := json.Marshal(map[string]any{"zones": []httpapi.ZoneResult{res.Zone}})
		if err := printZoneResults(w, b); err != nil {
			return err
		}
		fmt.Fprintf(w, "Publishing of %s is frozen: thaw it (ptzone operator thaw --zone %s) once the registry is mended.\n", res.Zone.Zone, res.Zone.Zone)
		return nil
	},
}

func printZoneResults(w io.Writer, raw json.RawMessage) error {
	var res struct{ Zones []httpapi.ZoneResult }
	if err := json.Unmarshal(raw, &res); err != nil {
		return err
	}
	if len(res.Zones) == 0 {
		return errors.New("the daemon answered no zones")
	}
	for _, z := range res.Zones {
		fmt.Fprintf(w, "%s: %s serial %d", z.Zone, z.Outcome, z.Serial)
		if z.Mode != "" {
			fmt.Fprintf(w, ", %s", z.Mode)
		}
		d := z.Delta
		fmt.Fprintf(w, " (+%d -%d, NS %d, DS %d, glue %d)\n", d.Added, d.Removed, d.NSChanged, d.DSChanged, d.GlueChanged)
		for _, r := range z.Forced {
			printRefusal(w, "forced", r)
		}
		for _, r := range z.Refusals {
			printRefusal(w, "refused", r)
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
