package daemon

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/ptzone/ptzone/zonegen"
)

// settings returns the key paths of a configuration type, as TOML writes
// them; a map's keys are "*".
func settings(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("toml")
		if key == "" {
			continue
		}
		path := prefix + key
		ft := f.Type
		switch {
		case ft.Kind() == reflect.Struct && ft != reflect.TypeOf(Duration{}):
			out = append(out, settings(ft, path+".")...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, settings(ft.Elem(), path+".")...)
		case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.Struct:
			out = append(out, settings(ft.Elem(), path+".*.")...)
		default:
			out = append(out, path)
		}
	}
	return out
}

// TestExampleDocumentsEverySetting: deploy/ptzone.example.toml is a good
// configuration, and sets every setting Config has (with a comment), so
// that an operator finds each knob there.
func TestExampleDocumentsEverySetting(t *testing.T) {
	path := filepath.Join("..", "deploy", "ptzone.example.toml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseConfig(path, string(b)); err != nil {
		t.Fatalf("the example does not parse: %v", err)
	}
	var raw map[string]any
	md, err := toml.Decode(string(b), &raw)
	if err != nil {
		t.Fatal(err)
	}
	var set []string
	for _, k := range md.Keys() {
		parts := []string(k)
		if parts[0] == "zone_defaults" { // what every zone's section may set
			parts = append([]string{"zone", "*"}, parts[1:]...)
		}
		if len(parts) > 1 && (parts[0] == "transfer" || parts[0] == "zone") {
			parts[1] = "*"
		}
		set = append(set, strings.Join(parts, "."))
	}
	want := settings(reflect.TypeOf(Config{}), "")
	want = append(want, settings(reflect.TypeOf(ZoneSection{}), "zone.*.")...)
	for _, s := range want {
		// A list of inline tables ({ name = ..., addrs = [...] }) is one
		// key to the decoder's index: its presence documents its fields.
		parent := s[:max(strings.LastIndexByte(s, '.'), 0)]
		if !slices.Contains(set, s) && !(strings.HasPrefix(s, "zone.") && slices.Contains(set, parent)) {
			t.Errorf("%s: setting %s is not in the example", path, s)
		}
	}
}

// TestConfigErrors: a bad file is refused with what is wrong and where:
// the line of a syntax error, the name of an unknown setting, and every
// value that cannot work, all at once.
func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []string
	}{
		{"syntax", "data_dir = \"/x\"\n[server\nlisten = []\n", []string{"bad.toml:", "table name"}},
		{"unknown", "[server]\nlisen = [\"127.0.0.1:53\"]\n", []string{"unknown setting server.lisen"}},
		{"values", `zones = ["pt", "bad..name"]
[server]
listen = ["127.0.0.1"]
edns_size = 100
[server.rate_limit]
exempt = ["10.0.0.0/33"]
[[tsig]]
name = "k."
secret = "not base64!"
[[tsig]]
name = "k2."
[transfer."pt."]
allow_from = ["192.0.2.0/24"]
keys = ["nokey."]
notify = ["192.0.2.1"]
[transfer."com.pt."]
notify = ["192.0.2.1:53"]
`, []string{
			`zones: "bad..name" is not a domain name`,
			`server.listen: "127.0.0.1"`,
			"server.edns_size: 100",
			"server.rate_limit.exempt",
			"tsig[0] (k.): the secret is not base64",
			"tsig[1] (k2.): give the secret or a secret_file",
			`transfer.pt.: key "nokey." is not among the tsig keys`,
			`transfer.pt..notify: "192.0.2.1"`,
			"transfer.com.pt.: secondaries are notified but none may transfer",
		}},
		{"daemon", `[store]
dsn = "mysql://x"
[schedule]
publish = "every 15 minutes"
sweep_period = "30s"
[checks]
resolver = "not-an-ip"
hints_file = "/etc/named.root"
[smtp]
addr = "smtp.example"
from = "not an address"
[http]
listen = "8053"
`, []string{
			`store.dsn: "mysql://x": want postgres://… or sqlite:PATH`,
			`schedule.publish: schedule "every 15 minutes"`,
			"schedule.sweep_period: 30s is under a minute",
			"checks: give resolver or hints_file, not both",
			`checks.resolver: "not-an-ip": want IP[:PORT]`,
			`smtp.addr: "smtp.example"`,
			`smtp.from: "not an address"`,
			`http.listen: "8053"`,
		}},
		{"webhook", `[webhook]
url = "ftp://hooks.example/x"
`, []string{`webhook.url: "ftp://hooks.example/x": want an http:// or https:// address`, "webhook.secret_file: required with webhook.url"}},
		{"webhook credentials", `[webhook]
url = "https://ops:hunter2@hooks.example/x"
secret_file = "/etc/ptzone/webhook.secret"
`, []string{`webhook.url: "https://ops:xxxxx@hooks.example/x": credentials do not belong in the address`}},
		{"webhook without url", `[webhook]
secret_file = "/etc/ptzone/webhook.secret"
`, []string{"webhook: secret_file or name without a url"}},
		{"deadlines", `[store]
statement_timeout = "500ms"
[schedule]
publish_deadline = "200ms"
prune_deadline = "1s"
`, []string{
			"store.statement_timeout: 500ms is under a second",
			"schedule.publish_deadline: 200ms is under a second",
		}},
		{"sqlite without a path", `[store]
dsn = "sqlite:"
`, []string{`store.dsn: "sqlite:": needs a file path, as in sqlite:/var/lib/ptzone/registry.db`}},
	} {
		_, err := ParseConfig("bad.toml", c.text)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: the error does not say %q:\n%v", c.name, w, err)
			}
		}
	}
	// The refusal names the address without its password.
	if _, err := ParseConfig("bad.toml", "[webhook]\nurl = \"https://ops:hunter2@hooks.example/x\"\nsecret_file = \"/s\"\n"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a webhook address with a password: %v", err)
	}
}

// TestAuthServerConfig: the file's settings reach the server's
// configuration: names made absolute, single addresses as host prefixes,
// secrets read from their files.
func TestAuthServerConfig(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "k.key")
	os.WriteFile(secret, []byte("c2VjcmV0LWZvci10aGUtcHQtdHJhbnNmZXJzLW9ubHk=\n"), 0o600)
	c, err := ParseConfig("t.toml", `
[server]
identity = "pt-primary-1"
[server.rate_limit]
rate = 50
[[tsig]]
name = "Pt-Transfer"
secret_file = "`+secret+`"
[transfer.pt]
allow_from = ["192.0.2.7"]
keys = ["pt-transfer"]
notify = ["192.0.2.7:53"]
notify_key = "pt-transfer"
`)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.AuthServer()
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := a.Transfer["pt."]
	if a.Identity != "pt-primary-1" || a.RateLimit.Rate != 50 || len(a.TSIG) != 1 || a.TSIG[0].Name != "pt-transfer." ||
		a.TSIG[0].Secret != "c2VjcmV0LWZvci10aGUtcHQtdHJhbnNmZXJzLW9ubHk=" || !ok || tr.AllowFrom[0].String() != "192.0.2.7/32" ||
		tr.Keys[0] != "pt-transfer." || tr.NotifyKey != "pt-transfer." {
		t.Errorf("server configuration: %+v", a)
	}
	if got := c.ServedZones(); len(got) != 8 || got[0] != "pt." {
		t.Errorf("default zones: %v", got)
	}
}

// TestParentDS: the root's DS for pt is read from its file for our top
// zone only; a file that is missing or not DS records is named in the
// error.
func TestParentDS(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "pt.ds")
	os.WriteFile(good, []byte("pt. 86400 IN DS 12345 13 2 "+strings.Repeat("AB", 32)+"\n"), 0o644)
	ds, err := ReadParentDS(good, zonegen.DefaultZones())
	if err != nil || len(ds) != 1 || len(ds["pt"]) != 1 || ds["pt"][0].KeyTag != 12345 {
		t.Errorf("ReadParentDS = %+v, %v; want pt's DS alone", ds, err)
	}
	bad := filepath.Join(dir, "bad.ds")
	os.WriteFile(bad, []byte("pt. 86400 IN A 192.0.2.1\n"), 0o644)
	for _, f := range []string{bad, filepath.Join(dir, "missing.ds")} {
		c := &Config{Publish: PublishConfig{ParentDSFile: f}}
		if _, err := c.PublishConfig(dir); err == nil || !strings.Contains(err.Error(), "publish.parent_ds_file") || !strings.Contains(err.Error(), filepath.Base(f)) {
			t.Errorf("%s: %v", f, err)
		}
	}
}
