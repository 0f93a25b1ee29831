package daemon

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/authserver"
	"github.com/ptzone/ptzone/httpapi"
	"github.com/ptzone/ptzone/internal/storedsn"
)

// Config is ptzone's configuration file (TOML). Every field is documented
// in deploy/ptzone.example.toml, which a test holds to it.
type Config struct {
	// DataDir holds the published zones (DataDir/zones), the keys and
	// the embedded store.
	DataDir string `toml:"data_dir"`
	// Zones are the zones served (default: the zones built, below).
	Zones  []string     `toml:"zones"`
	Server ServerConfig `toml:"server"`
	TSIG   []TSIGConfig `toml:"tsig"`
	// Transfer says, by zone name, who may transfer it and whom to notify.
	Transfer map[string]TransferConfig `toml:"transfer"`

	// The daemon's sections (ptzone daemon); ptzone serve reads none.

	// Node names this daemon in logs and in the publication log (default
	// the host name).
	Node     string         `toml:"node"`
	Store    StoreConfig    `toml:"store"`
	Publish  PublishConfig  `toml:"publish"`
	Schedule ScheduleConfig `toml:"schedule"`
	Checks   ChecksConfig   `toml:"checks"`
	SMTP     SMTPConfig     `toml:"smtp"`
	Webhook  WebhookConfig  `toml:"webhook"`
	HTTP     HTTPConfig     `toml:"http"`
	Log      LogConfig      `toml:"log"`
	// Operators may act through /api/v1/operator/ with their tokens.
	Operators []OperatorConfig `toml:"operator"`

	// ZoneDefaults is what every zone's section inherits; Zone holds the
	// zones built and published, by name ([zone."pt"]): both are read
	// into ZoneSection values once the file is parsed.
	ZoneDefaults toml.Primitive            `toml:"zone_defaults"`
	Zone         map[string]toml.Primitive `toml:"zone"`
	zoneDefaults *ZoneSection
	zones        map[string]*ZoneSection
	// warnings are what config check reports without refusing the file.
	warnings []string
}

// OperatorConfig is one operator: a name for the audit log and the
// SHA-256 of its token (ptzone operator token NAME makes both).
type OperatorConfig struct {
	Name        string `toml:"name"`
	TokenSHA256 string `toml:"token_sha256"`
}

// StoreConfig names the registry.
type StoreConfig struct {
	// DSN is postgres://… or sqlite:PATH (default sqlite in the data
	// directory). The password belongs in ~/.pgpass or PGPASSFILE, not
	// here.
	DSN string `toml:"dsn"`
	// StatementTimeout is PostgreSQL's statement_timeout on the daemon's
	// connections (default 5m); each call waits that long and a tenth
	// more for the server's answer.
	StatementTimeout Duration `toml:"statement_timeout"`
}

// PublishConfig is the publications' section.
type PublishConfig struct {
	// KeysDir holds the zones' keys (default DATA_DIR/keys).
	KeysDir string `toml:"keys_dir"`
	// ParentDSFile holds the DS RRset the root publishes for pt, checked
	// against pt's keys before each publication.
	ParentDSFile string `toml:"parent_ds_file"`
	// AssumeChecked delegates every active domain whether or not its
	// check passed: for labs and first imports only.
	AssumeChecked bool `toml:"assume_checked"`
	// Peers are the other daemons' DNS addresses (host:port): a daemon
	// that is not the publisher transfers each zone the publisher
	// published from them, so that when it takes over its first
	// publication is judged against the zone the secondaries serve.
	// After them it tries the zone's notify addresses (its secondaries).
	Peers []string `toml:"peers"`
	// PeersKey is the TSIG key those transfers are signed with (one of
	// [[tsig]]); empty: the zone's notify_key.
	PeersKey string `toml:"peers_key"`
}

// ScheduleConfig holds the jobs' cron specs (five fields, six with
// seconds, or @every D / @hourly ...); "off" runs a job never.
type ScheduleConfig struct {
	Publish string `toml:"publish"`
	Checks  string `toml:"checks"`
	Sweep   string `toml:"sweep"`
	// SweepPeriod is how long one sweep of every active domain takes at
	// most; each sweep run checks its share of it.
	SweepPeriod Duration `toml:"sweep_period"`
	Notify      string   `toml:"notify"`
	Prune       string   `toml:"prune"`
	// KeepHistory is how long check results, sent notices, sweeps, the
	// change feed's deletions and the publication log are kept (the
	// last check of each domain and each zone's last publication always
	// are; the publication log at least the guard's window: pruneCut).
	KeepHistory Duration `toml:"keep_history"`
	// The jobs' deadlines: a run still going after its deadline is
	// cancelled (Job.Deadline); defaults in wiring.go.
	PublishDeadline Duration `toml:"publish_deadline"`
	ChecksDeadline  Duration `toml:"checks_deadline"`
	SweepDeadline   Duration `toml:"sweep_deadline"`
	NotifyDeadline  Duration `toml:"notify_deadline"`
	PruneDeadline   Duration `toml:"prune_deadline"`
}

// ChecksConfig is the delegation checker's section.
type ChecksConfig struct {
	// Resolver (IP[:PORT]) finds the addresses of name servers given
	// without glue; empty: iteratively from the root hints.
	Resolver string `toml:"resolver"`
	// HintsFile replaces the built-in root hints (named.root format).
	HintsFile string `toml:"hints_file"`
	// Port is the port name servers are asked on (53; labs differ).
	Port           int      `toml:"port"`
	Timeout        Duration `toml:"timeout"`
	RatePerAddress float64  `toml:"rate_per_address"`
	Concurrency    int      `toml:"concurrency"`
	// AllowPrivate lets checks query private and special-purpose
	// addresses: for labs only.
	AllowPrivate bool `toml:"allow_private"`
	// Grace, Confirmations and Spread are the gate's lifecycle
	// (delegation.Lifecycle, Art 23.2).
	Grace         Duration `toml:"grace"`
	Confirmations int      `toml:"confirmations"`
	Spread        Duration `toml:"spread"`
}

// SMTPConfig is the relay notices are sent through.
type SMTPConfig struct {
	// Addr (host:port) of the relay; empty: notices wait in the outbox.
	Addr       string   `toml:"addr"`
	From       string   `toml:"from"`
	Hello      string   `toml:"hello"`
	Timeout    Duration `toml:"timeout"`
	RequireTLS bool     `toml:"require_tls"`
	Username   string   `toml:"username"`
	// PasswordFile holds the password alone (never inline).
	PasswordFile string `toml:"password_file"`
}

// WebhookConfig is the registry's own endpoint for notices: each notice
// the gate queues is POSTed to it too, as signed JSON.
type WebhookConfig struct {
	// URL (http or https) receives the notices; empty: no webhook.
	URL string `toml:"url"`
	// Name is what its notices are queued under (default "webhook").
	Name string `toml:"name"`
	// SecretFile holds the signing secret alone: whsec_ and base64, as
	// Standard Webhooks write it, or the raw key; at least 16 bytes.
	SecretFile string   `toml:"secret_file"`
	Timeout    Duration `toml:"timeout"`
}

func (w WebhookConfig) name() string {
	if w.Name == "" {
		return "webhook"
	}
	return w.Name
}

// HTTPConfig is the web section: API, pages, metrics, health.
type HTTPConfig struct {
	Listen string `toml:"listen"`
}

// ServerConfig is the authoritative server's section.
type ServerConfig struct {
	Listen            []string        `toml:"listen"`
	EDNSSize          int             `toml:"edns_size"`
	Identity          string          `toml:"identity"`
	Version           string          `toml:"version"`
	NSID              string          `toml:"nsid"`
	TCPIdleTimeout    Duration        `toml:"tcp_idle_timeout"`
	MaxTCPConnections int             `toml:"max_tcp_connections"`
	MaxTCPPerClient   int             `toml:"max_tcp_per_client"`
	MaxTransfers      int             `toml:"max_transfers"`
	MaxQuerySize      int             `toml:"max_query_size"`
	SecondaryPoll     Duration        `toml:"secondary_poll"`
	FollowInterval    Duration        `toml:"follow_interval"`
	RateLimit         RateLimitConfig `toml:"rate_limit"`
}

// RateLimitConfig is response rate limiting (authserver.RateLimit).
type RateLimitConfig struct {
	Off        bool     `toml:"off"`
	Rate       int      `toml:"rate"`
	Slip       int      `toml:"slip"`
	IPv4Prefix int      `toml:"ipv4_prefix"`
	IPv6Prefix int      `toml:"ipv6_prefix"`
	Exempt     []string `toml:"exempt"`
}

// TSIGConfig is one TSIG key: its secret inline or in a file (the file
// holds the base64 secret alone, and should be readable by ptzone only).
type TSIGConfig struct {
	Name       string `toml:"name"`
	Algorithm  string `toml:"algorithm"`
	Secret     string `toml:"secret"`
	SecretFile string `toml:"secret_file"`
}

// TransferConfig is one zone's transfers (authserver.Transfer).
type TransferConfig struct {
	AllowFrom []string `toml:"allow_from"`
	Keys      []string `toml:"keys"`
	Notify    []string `toml:"notify"`
	NotifyKey string   `toml:"notify_key"`
}

// Duration is a time.Duration written as "10s", "2m".
type Duration struct{ time.Duration }

// UnmarshalText reads a duration: Go's form ("90s", "1h30m"), with days
// and weeks ("14d", "1w2d") as DNS people write them, or a bare number of
// seconds (3600).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("negative duration %s", b)
	}
	d.Duration = v
	return nil
}

// parseDuration reads what UnmarshalText takes.
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < 0 {
			return 0, fmt.Errorf("duration %s out of range", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := strings.IndexAny(rest, "dw")
		if i < 0 {
			break
		}
		n, err := strconv.ParseUint(rest[:i], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("time: invalid duration %q", s)
		}
		unit := 24 * time.Hour
		if rest[i] == 'w' {
			unit *= 7
		}
		if n > uint64(math.MaxInt64/int64(unit))/2 {
			return 0, fmt.Errorf("duration %s out of range", s)
		}
		total += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	if rest == "" {
		if total == 0 && s == "" {
			return 0, fmt.Errorf("time: invalid duration %q", s)
		}
		return total, nil
	}
	v, err := time.ParseDuration(rest)
	if err != nil || rest[0] == '-' || rest[0] == '+' {
		return 0, fmt.Errorf("time: invalid duration %q", s)
	}
	return total + v, nil
}

// MarshalText writes a duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// LoadConfig reads and checks a configuration file. An error names the
// file and, for a syntax error or an unknown key, the line.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, string(b))
}

// ParseConfig parses and checks a configuration's text; name is its file
// name for errors.
func ParseConfig(name, text string) (*Config, error) {
	var c Config
	md, err := toml.Decode(text, &c)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("%s:%d: %s", name, perr.Position.Line, perr.Message)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lines := keyLines(text)
	if err := c.readZones(&md); err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("%s:%d: %s", name, perr.Position.Line, perr.Message)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		var keys []string
		line := 0
		for _, k := range undecoded {
			keys = append(keys, k.String())
			if line == 0 {
				line = lines.of(strings.Join(k, "."))
			}
		}
		return nil, fmt.Errorf("%s: unknown setting %s", located(name, line), strings.Join(keys, ", "))
	}
	if errs := c.check(); len(errs) > 0 {
		var out []error
		for _, e := range errs {
			out = append(out, fmt.Errorf("%s: %w", located(name, lines.of(keyOf(e.Error()))), e))
		}
		return nil, errors.Join(out...)
	}
	for _, w := range c.warn() {
		c.warnings = append(c.warnings, located(name, lines.of(keyOf(w)))+": "+w)
	}
	return &c, nil
}

// Warnings are what the file does that can work but should not go to
// production, each with its file and line.
func (c *Config) Warnings() []string { return c.warnings }

// warn finds what works but is likely wrong.
func (c *Config) warn() []string {
	if dsn, err := storedsn.Parse(c.Store.DSN); err != nil || dsn.Kind != storedsn.Postgres {
		return nil // a lab: the embedded store
	}
	return c.glueWarnings()
}

// located is "FILE:LINE", or the file alone when the line is unknown.
func located(file string, line int) string {
	if line == 0 {
		return file
	}
	return fmt.Sprintf("%s:%d", file, line)
}

// keyOf is the setting a check's message begins with: "server.listen: …"
// gives server.listen, "tsig[1] (k.): …" gives tsig.1.
func keyOf(msg string) string {
	k, _, _ := strings.Cut(msg, ": ")
	k, _, _ = strings.Cut(k, " ")
	return strings.NewReplacer("[", ".", "]", "").Replace(k)
}

// forget drops the lists that the section at key sets: the decoder
// writes a list into the one it finds, element by element, so a zone
// listing two name servers over the defaults' three would keep the third,
// and share the defaults' array.
func (s *ZoneSection) forget(md *toml.MetaData, key ...string) {
	if md.IsDefined(append(key, "nameservers")...) {
		s.Nameservers = nil
	}
	if md.IsDefined(append(key, "delegation")...) {
		s.Delegations = nil
	}
}

// readZones reads [zone_defaults] and each [zone."NAME"] into sections:
// ptzone's defaults, overridden by zone_defaults, overridden by the zone's
// own settings.
func (c *Config) readZones(md *toml.MetaData) error {
	defaults := defaultZoneSection()
	if md.IsDefined("zone_defaults") {
		defaults.forget(md, "zone_defaults")
		if err := md.PrimitiveDecode(c.ZoneDefaults, &defaults); err != nil {
			return err
		}
		if len(defaults.Delegations) > 0 {
			return errors.New("zone_defaults.delegation: a static delegation belongs to the zone of its parent, not to every zone")
		}
	}
	c.zoneDefaults = &defaults
	c.zones = map[string]*ZoneSection{}
	for z, prim := range c.Zone {
		s := defaults
		s.forget(md, "zone", z)
		if err := md.PrimitiveDecode(prim, &s); err != nil {
			return err
		}
		n, ok := canonicalZone(z)
		if !ok {
			return fmt.Errorf("zone.%s: %q is not a domain name", z, z)
		}
		if _, dup := c.zones[n]; dup {
			return fmt.Errorf("zone.%s: zone %s has two sections", z, n)
		}
		c.zones[n] = &s
	}
	return nil
}

// check finds what the file's syntax lets through but cannot work. Each
// error begins with the setting it is about.
func (c *Config) check() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, z := range c.Zones {
		if _, ok := dns.IsDomainName(z); !ok || z == "" {
			bad("zones: %q is not a domain name", z)
		}
	}
	for _, l := range c.Server.Listen {
		if _, _, err := net.SplitHostPort(l); err != nil {
			bad("server.listen: %q: %v (host:port, [v6]:port)", l, err)
		}
	}
	if s := c.Server.EDNSSize; s != 0 && (s < 512 || s > 4096) {
		bad("server.edns_size: %d is outside 512-4096", s)
	}
	rl := c.Server.RateLimit
	if rl.IPv4Prefix < 0 || rl.IPv4Prefix > 32 || rl.IPv6Prefix < 0 || rl.IPv6Prefix > 128 {
		bad("server.rate_limit: prefix lengths /%d and /%d", rl.IPv4Prefix, rl.IPv6Prefix)
	}
	for _, p := range rl.Exempt {
		if _, err := netip.ParsePrefix(p); err != nil {
			bad("server.rate_limit.exempt: %v", err)
		}
	}
	keys := map[string]bool{}
	for i, k := range c.TSIG {
		where := fmt.Sprintf("tsig[%d] (%s)", i, k.Name)
		if _, ok := dns.IsDomainName(k.Name); !ok || k.Name == "" {
			bad("%s: the name is not a domain name", where)
		}
		if keys[dns.CanonicalName(k.Name)] {
			bad("%s: a second key of that name", where)
		}
		keys[dns.CanonicalName(k.Name)] = true
		switch strings.ToLower(k.Algorithm) {
		case "", "hmac-sha256", "hmac-sha384", "hmac-sha512":
		default:
			bad("%s: algorithm %q (hmac-sha256, hmac-sha384 or hmac-sha512)", where, k.Algorithm)
		}
		if (k.Secret == "") == (k.SecretFile == "") {
			bad("%s: give the secret or a secret_file, not both or neither", where)
		} else if k.Secret != "" {
			if _, err := base64.StdEncoding.DecodeString(k.Secret); err != nil {
				bad("%s: the secret is not base64: %v", where, err)
			}
		}
	}
	for zoneName, t := range c.Transfer {
		where := "transfer." + zoneName
		if _, ok := dns.IsDomainName(zoneName); !ok {
			bad("%s: not a domain name", where)
		}
		for _, p := range t.AllowFrom {
			if _, err := netip.ParsePrefix(p); err != nil {
				if _, err2 := netip.ParseAddr(p); err2 != nil {
					bad("%s.allow_from: %v", where, err)
				}
			}
		}
		for _, k := range append(slices.Clone(t.Keys), t.NotifyKey) {
			if k != "" && !keys[dns.CanonicalName(k)] {
				bad("%s: key %q is not among the tsig keys", where, k)
			}
		}
		for _, n := range t.Notify {
			if _, _, err := net.SplitHostPort(n); err != nil {
				bad("%s.notify: %q: %v", where, n, err)
			}
		}
		if len(t.AllowFrom) == 0 && len(t.Keys) == 0 && len(t.Notify) > 0 {
			bad("%s: secondaries are notified but none may transfer (give allow_from or keys)", where)
		}
	}
	c.checkDaemon(bad)
	c.checkZones(bad)
	c.Log.check(bad)
	return errs
}

// checkZones checks the zones' sections and how they fit together.
func (c *Config) checkZones(bad func(string, ...any)) {
	built := c.BuiltZones()
	for _, z := range built {
		s := c.section(z)
		s.checkZone(z, func(key, format string, args ...any) {
			bad("%s: "+format, append([]any{zoneKey(z, key)}, args...)...)
		})
		for i, d := range s.Delegations {
			n := strings.ToLower(strings.TrimSuffix(d.Name, "."))
			if slices.Contains(built, n) {
				bad("%s: %s is a zone of ours: it is delegated with our name servers and keys", zoneKey(z, fmt.Sprintf("delegation.%d.name", i)), n)
			}
		}
	}
	if len(c.Zones) > 0 {
		served := map[string]bool{}
		for _, z := range c.Zones {
			served[strings.ToLower(strings.TrimSuffix(z, "."))] = true
		}
		for _, z := range built {
			if !served[z] {
				bad("zones: %s is built and published but not served: add it to zones, or remove its [zone.%q] section", z, z)
			}
		}
	}
}

// checkDaemon checks the daemon's sections.
func (c *Config) checkDaemon(bad func(string, ...any)) {
	if dsn := c.Store.DSN; dsn != "" {
		if _, err := storedsn.Parse(dsn); err != nil {
			bad("store.dsn: %v", err)
		}
	}
	for _, p := range c.Publish.Peers {
		if _, _, err := net.SplitHostPort(p); err != nil {
			bad("publish.peers: %q: %v (host:port)", p, err)
		}
	}
	if k := c.Publish.PeersKey; k != "" && !slices.ContainsFunc(c.TSIG, func(t TSIGConfig) bool { return dns.CanonicalName(t.Name) == dns.CanonicalName(k) }) {
		bad("publish.peers_key: %q is not among the tsig keys", k)
	}
	s := c.Schedule
	for _, j := range []struct{ key, spec string }{{"publish", s.Publish}, {"checks", s.Checks}, {"sweep", s.Sweep},
		{"notify", s.Notify}, {"prune", s.Prune}} {
		if j.spec != "" {
			if err := checkSpec(j.spec); err != nil {
				bad("schedule.%s: %v", j.key, err)
			}
		}
	}
	if p := s.SweepPeriod.Duration; p != 0 && p < time.Minute {
		bad("schedule.sweep_period: %s is under a minute", p)
	}
	for _, d := range []struct {
		key string
		d   time.Duration
	}{{"publish_deadline", s.PublishDeadline.Duration}, {"checks_deadline", s.ChecksDeadline.Duration},
		{"sweep_deadline", s.SweepDeadline.Duration}, {"notify_deadline", s.NotifyDeadline.Duration}, {"prune_deadline", s.PruneDeadline.Duration}} {
		if d.d > 0 && d.d < time.Second {
			bad("schedule.%s: %s is under a second (every job has a deadline: leave it out for the default)", d.key, d.d)
		}
	}
	if st := c.Store.StatementTimeout.Duration; st > 0 && st < time.Second {
		bad("store.statement_timeout: %s is under a second (every statement has a timeout: leave it out for the default, 5m)", st)
	}
	ch := c.Checks
	if ch.Resolver != "" && ch.HintsFile != "" {
		bad("checks: give resolver or hints_file, not both")
	}
	if ch.Resolver != "" {
		if _, err := c.Checks.resolver(); err != nil {
			bad("checks.resolver: %v", err)
		}
	}
	if ch.Port < 0 || ch.Port > 65535 {
		bad("checks.port: %d", ch.Port)
	}
	if ch.RatePerAddress < 0 || ch.Concurrency < 0 || ch.Confirmations < 0 {
		bad("checks: rate_per_address, concurrency and confirmations cannot be negative")
	}
	if m := c.SMTP; m.Addr != "" {
		if _, _, err := net.SplitHostPort(m.Addr); err != nil {
			bad("smtp.addr: %q: %v (host:port)", m.Addr, err)
		}
		if _, err := mail.ParseAddress(m.From); err != nil {
			bad("smtp.from: %q: %v", m.From, err)
		}
	}
	if w := c.Webhook; w.URL != "" {
		u, err := url.Parse(w.URL)
		switch {
		case err != nil:
			bad("webhook.url: %v", err)
		case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			bad("webhook.url: %q: want an http:// or https:// address", u.Redacted())
		case u.User != nil:
			bad("webhook.url: %q: credentials do not belong in the address; the secret file signs each POST", u.Redacted())
		}
		if w.SecretFile == "" {
			bad("webhook.secret_file: required with webhook.url: the receiver must be able to tell ptzone's notices from forgeries")
		}
	} else if w.SecretFile != "" || w.Name != "" {
		bad("webhook: secret_file or name without a url")
	}
	names := map[string]bool{}
	for i, o := range c.Operators {
		if o.Name == "" || names[o.Name] {
			bad("operator[%d]: give each operator a name of its own", i)
		}
		names[o.Name] = true
		if _, err := httpapi.ParseOperatorToken(o.Name, o.TokenSHA256); err != nil {
			bad("operator[%d]: %v", i, err)
		}
	}
	if l := c.HTTP.Listen; l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			bad("http.listen: %q: %v (host:port)", l, err)
		}
	}
}

// resolver parses the resolver's address, port 53 unless given.
func (ch ChecksConfig) resolver() (netip.AddrPort, error) {
	r := ch.Resolver
	if _, _, err := net.SplitHostPort(r); err != nil {
		r = net.JoinHostPort(r, "53")
	}
	ap, err := netip.ParseAddrPort(r)
	if err != nil {
		return ap, fmt.Errorf("%q: want IP[:PORT]", ch.Resolver)
	}
	return ap, nil
}

// ServedZones returns the zones to serve, as absolute names.
func (c *Config) ServedZones() []string {
	zones := c.Zones
	if len(zones) == 0 {
		zones = c.BuiltZones()
	}
	out := make([]string, len(zones))
	for i, z := range zones {
		out[i] = dns.CanonicalName(z)
	}
	return out
}

// FollowInterval is how often the server looks for a new publication in
// the data directory (default 5 s).
func (c *Config) FollowInterval() time.Duration {
	if c.Server.FollowInterval.Duration > 0 {
		return c.Server.FollowInterval.Duration
	}
	return 5 * time.Second
}

// Listen returns the addresses to serve DNS on (default 127.0.0.1:53).
func (c *Config) Listen() []string {
	if len(c.Server.Listen) == 0 {
		return []string{"127.0.0.1:53"}
	}
	return c.Server.Listen
}

// AuthServer returns the authoritative server's configuration, reading
// the TSIG secrets kept in files.
func (c *Config) AuthServer() (authserver.Config, error) {
	s := c.Server
	out := authserver.Config{
		EDNSSize: uint16(s.EDNSSize), Identity: s.Identity, Version: s.Version, NSID: s.NSID,
		TCPIdleTimeout: s.TCPIdleTimeout.Duration, MaxTCPConnections: s.MaxTCPConnections, MaxTCPPerClient: s.MaxTCPPerClient,
		MaxTransfers: s.MaxTransfers, SecondaryPoll: s.SecondaryPoll.Duration, MaxQuerySize: s.MaxQuerySize,
		RateLimit: authserver.RateLimit{Off: s.RateLimit.Off, Rate: s.RateLimit.Rate, Slip: s.RateLimit.Slip,
			IPv4Prefix: s.RateLimit.IPv4Prefix, IPv6Prefix: s.RateLimit.IPv6Prefix},
		Transfer: map[string]authserver.Transfer{},
	}
	for _, p := range s.RateLimit.Exempt {
		out.RateLimit.Exempt = append(out.RateLimit.Exempt, netip.MustParsePrefix(p))
	}
	for _, k := range c.TSIG {
		secret := k.Secret
		if k.SecretFile != "" {
			b, err := os.ReadFile(k.SecretFile)
			if err != nil {
				return out, fmt.Errorf("tsig key %s: %w", k.Name, err)
			}
			secret = strings.TrimSpace(string(b))
			if _, err := base64.StdEncoding.DecodeString(secret); err != nil {
				return out, fmt.Errorf("tsig key %s: %s is not base64: %w", k.Name, k.SecretFile, err)
			}
		}
		out.TSIG = append(out.TSIG, authserver.TSIGKey{Name: dns.CanonicalName(k.Name), Algorithm: k.Algorithm, Secret: secret})
	}
	for zoneName, t := range c.Transfer {
		tr := authserver.Transfer{Notify: t.Notify, NotifyKey: t.NotifyKey}
		for _, p := range t.AllowFrom {
			prefix, err := netip.ParsePrefix(p)
			if err != nil {
				a := netip.MustParseAddr(p)
				prefix = netip.PrefixFrom(a, a.BitLen())
			}
			tr.AllowFrom = append(tr.AllowFrom, prefix)
		}
		for _, k := range t.Keys {
			tr.Keys = append(tr.Keys, dns.CanonicalName(k))
		}
		if tr.NotifyKey != "" {
			tr.NotifyKey = dns.CanonicalName(tr.NotifyKey)
		}
		out.Transfer[dns.CanonicalName(zoneName)] = tr
	}
	return out, nil
}
