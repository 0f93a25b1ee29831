package daemon

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/delegation"
	"github.com/ptzone/ptzone/delegation/resolve"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/httpapi"
	"github.com/ptzone/ptzone/internal/buildinfo"
	"github.com/ptzone/ptzone/notify"
	"github.com/ptzone/ptzone/publish"
)

// The jobs' default schedules.
const (
	defaultPublish = "*/15 * * * *"
	defaultChecks  = "* * * * *"
	defaultSweep   = "*/10 * * * *"
	defaultNotify  = "* * * * *"
	defaultPrune   = "30 3 * * *"
)

// The jobs' default deadlines: a full publication of pt's two million
// delegations takes minutes, a sweep's share of them (its rate per
// address the bound) tens of minutes; the others, seconds.
const (
	defaultPublishDeadline = 30 * time.Minute
	defaultChecksDeadline  = 10 * time.Minute
	defaultSweepDeadline   = time.Hour
	defaultNotifyDeadline  = 10 * time.Minute
	defaultPruneDeadline   = time.Hour
)

// Deadlines returns each job's deadline, by name: the configuration's,
// or the default.
func (c *Config) Deadlines() map[string]time.Duration {
	s := c.Schedule
	or := func(d Duration, def time.Duration) time.Duration {
		if d.Duration > 0 {
			return d.Duration
		}
		return def
	}
	return map[string]time.Duration{
		"publish": or(s.PublishDeadline, defaultPublishDeadline),
		"checks":  or(s.ChecksDeadline, defaultChecksDeadline),
		"sweep":   or(s.SweepDeadline, defaultSweepDeadline),
		"notify":  or(s.NotifyDeadline, defaultNotifyDeadline),
		"prune":   or(s.PruneDeadline, defaultPruneDeadline),
	}
}

func orDefault(spec, def string) string {
	if spec == "" {
		return def
	}
	return spec
}

// SweepPeriod is how long one sweep of every active domain may take
// (default 24 h).
func (c *Config) SweepPeriod() time.Duration {
	if p := c.Schedule.SweepPeriod.Duration; p > 0 {
		return p
	}
	return 24 * time.Hour
}

// KeepHistory is how long history is kept (default 90 days): pruneCut
// says what goes.
func (c *Config) KeepHistory() time.Duration {
	if k := c.Schedule.KeepHistory.Duration; k > 0 {
		return k
	}
	return 90 * 24 * time.Hour
}

// NodeName is the daemon's name in logs and in the publication log.
func (c *Config) NodeName() string {
	if c.Node != "" {
		return c.Node
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "ptzone"
}

// PublishConfig returns the publications' configuration: the zones of
// the [zone."NAME"] sections, built into dataDir/zones, the keys read
// from keys_dir or dataDir/keys.
func (c *Config) PublishConfig(dataDir string) (publish.Config, error) {
	keys := c.Publish.KeysDir
	if keys == "" {
		keys = datadir.KeysDir(dataDir)
	}
	zc, perZone := c.ZoneBuild()
	sign := dnssec.DefaultSignOptions(time.Time{})
	out := publish.Config{Zones: zc, Sign: sign, PerZone: perZone, KeysDir: keys, OutDir: datadir.ZonesDir(dataDir), Binary: buildinfo.String(),
		Guard: publish.Guard{Thresholds: publish.DefaultThresholds(), Refresh: sign.Refresh, Window: publish.DefaultWindow}}
	if f := c.Publish.ParentDSFile; f != "" {
		ds, err := ReadParentDS(f, zc.Zones)
		if err != nil {
			return out, fmt.Errorf("publish.parent_ds_file: %w", err)
		}
		out.ParentDS = ds
	}
	return out, nil
}

// ReadParentDS reads the DS RRset the root publishes for our top zones
// (pt) from a master-format file, as publish.Config.ParentDS wants it.
func ReadParentDS(file string, zones []string) (map[string][]dnssec.DS, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	ds, err := dnssec.ParseDS(text, file)
	if err != nil {
		return nil, err
	}
	out := map[string][]dnssec.DS{}
	for _, z := range zones {
		if !strings.Contains(z, ".") { // our top zones: the root publishes their DS
			out[z] = ds
		}
	}
	return out, nil
}

// Checker returns the delegation checker the configuration describes.
func (c *Config) Checker() (*delegation.Checker, error) {
	ch := c.Checks
	out := &delegation.Checker{Port: ch.Port, Timeout: ch.Timeout.Duration, Public: !ch.AllowPrivate}
	switch {
	case ch.Resolver != "":
		ap, err := ch.resolver()
		if err != nil {
			return nil, fmt.Errorf("checks.resolver: %w", err)
		}
		out.Resolver = ap
	case ch.HintsFile != "":
		f, err := os.Open(ch.HintsFile)
		if err != nil {
			return nil, fmt.Errorf("checks.hints_file: %w", err)
		}
		defer f.Close()
		if out.Hints, err = resolve.ReadHints(f, ch.HintsFile); err != nil {
			return nil, fmt.Errorf("checks.hints_file: %w", err)
		}
	default:
		out.Hints = resolve.RootHints()
	}
	return out, nil
}

// Lifecycle returns the gate's lifecycle (Art 23.2).
func (c *Config) Lifecycle() delegation.Lifecycle {
	l := delegation.Lifecycle{Grace: c.Checks.Grace.Duration, Confirmations: c.Checks.Confirmations, Spread: c.Checks.Spread.Duration}
	if c.Webhook.URL != "" {
		l.Webhook = c.Webhook.name()
	}
	return l
}

// NoticeWebhook returns the webhook notices are POSTed to, reading its
// secret from its file; nil when none is configured.
func (c *Config) NoticeWebhook() (*notify.Webhook, error) {
	w := c.Webhook
	if w.URL == "" {
		return nil, nil
	}
	b, err := os.ReadFile(w.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("webhook.secret_file: %w", err)
	}
	secret, err := notify.WebhookSecret(string(b), "webhook.secret_file "+w.SecretFile)
	if err != nil {
		return nil, err
	}
	return &notify.Webhook{Name: w.name(), URL: w.URL, Secret: secret, Timeout: w.Timeout.Duration}, nil
}

// SMTPRelay returns the relay notices go through, reading the password
// from its file; ok is false when none is configured.
func (c *Config) SMTPRelay() (relay notify.SMTP, ok bool, err error) {
	m := c.SMTP
	if m.Addr == "" {
		return relay, false, nil
	}
	relay = notify.SMTP{Addr: m.Addr, From: m.From, Hello: m.Hello, Timeout: m.Timeout.Duration, RequireTLS: m.RequireTLS, Username: m.Username}
	if m.PasswordFile != "" {
		b, err := os.ReadFile(m.PasswordFile)
		if err != nil {
			return relay, false, fmt.Errorf("smtp.password_file: %w", err)
		}
		relay.Password = strings.TrimRight(string(b), "\r\n")
	}
	return relay, true, nil
}

// operatorTokens returns the operators' tokens.
func (c *Config) operatorTokens() ([]httpapi.OperatorToken, error) {
	var out []httpapi.OperatorToken
	for _, o := range c.Operators {
		tok, err := httpapi.ParseOperatorToken(o.Name, o.TokenSHA256)
		if err != nil {
			return nil, err
		}
		out = append(out, tok)
	}
	return out, nil
}
