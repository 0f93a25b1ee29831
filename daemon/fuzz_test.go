package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ptzone/ptzone/store"
)

// FuzzParseConfig: a configuration file, however damaged, is refused with
// errors that each name the file (and the line where one is known), never
// with a panic; and one that is accepted can be put in force: the parts
// daemon.New and a reload make from it are made without a panic either
// (those that read a file the configuration names are left out, so that
// the fuzzer cannot make it read /dev/zero). Seeded with the example
// configuration, pt's, and pieces of each.
func FuzzParseConfig(f *testing.F) {
	for _, path := range []string{filepath.Join("..", "deploy", "ptzone.example.toml"), filepath.Join("..", "testdata", "config", "pt.toml")} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
		// Each section alone, and the file cut short inside one.
		sections := strings.Split(string(b), "\n[")
		for i, s := range sections {
			if i > 0 {
				s = "[" + s
			}
			f.Add(s)
		}
		f.Add(string(b[:len(b)/3]))
	}
	f.Add("[[tsig]]\nname = \"k.\"\nsecret = \"!!\"\n[transfer.\"pt\"]\nallow_from = [\"192.0.2.0/33\", \"::1\"]\nkeys = [\"k\"]\n")
	f.Add("[zone.\"pt\"]\n[zone.\"pt\".soa]\nrefresh = 0\n[[zone.\"pt\".delegation]]\nname = \"gov.pt\"\nds = [\"1 2\"]\n")
	const name = "fuzz.toml"
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := ParseConfig(name, text)
		if err != nil {
			errs := []error{err}
			if joined, ok := err.(interface{ Unwrap() []error }); ok {
				errs = joined.Unwrap()
			}
			for _, e := range errs {
				if !strings.HasPrefix(e.Error(), name) {
					t.Fatalf("an error that does not name the file: %q", e)
				}
			}
			return
		}
		for _, w := range cfg.Warnings() {
			if !strings.HasPrefix(w, name) {
				t.Fatalf("a warning that does not name the file: %q", w)
			}
		}
		cfg.ServedZones()
		cfg.Listen()
		cfg.FollowInterval()
		cfg.SweepPeriod()
		cfg.KeepHistory()
		cfg.Lifecycle()
		cfg.ZoneBuild()
		cfg.Log.ZapLevel()
		if _, err := cfg.operatorTokens(); err != nil {
			t.Fatalf("operator tokens that check accepted: %v", err)
		}
		readsFiles := cfg.Publish.ParentDSFile != "" || cfg.Checks.HintsFile != "" || cfg.SMTP.PasswordFile != "" || cfg.Webhook.SecretFile != ""
		for _, k := range cfg.TSIG {
			readsFiles = readsFiles || k.SecretFile != ""
		}
		if readsFiles {
			return
		}
		if _, err := cfg.AuthServer(); err != nil {
			t.Fatalf("the server's configuration from an accepted file: %v", err)
		}
		if _, err := cfg.PublishConfig(t.TempDir()); err != nil {
			t.Fatalf("the publications' configuration from an accepted file: %v", err)
		}
		if _, err := cfg.Checker(); err != nil {
			t.Fatalf("the checker from an accepted file: %v", err)
		}
	})
}

// FuzzConfigDS: a static delegation's DS, as the configuration gives it,
// is refused or read into a DS the registry would take (store's checks of
// a domain's DS), whose presentation form reads back as the same DS.
func FuzzConfigDS(f *testing.F) {
	for _, s := range []string{
		"12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
		"12345 13 2 0123456789abcdef 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
		"1 5 1 0123456789ABCDEF0123456789ABCDEF01234567", "65535 255 255 AB", "65536 13 2 AB", "1 0 2 AB", "1 2 3", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ds, err := parseDS(text)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", text)) {
				t.Fatalf("the error %q does not quote the DS", err)
			}
			return
		}
		d := store.Domain{Name: "x.pt", Zone: "pt", Status: store.StatusActive, Registrar: "config", DS: []store.DS{ds}}
		for _, e := range d.Validate() {
			if strings.HasPrefix(e.Field, "ds") {
				t.Fatalf("%q read as %+v, which the registry refuses: %s", text, ds, e.Message)
			}
		}
		again, err := parseDS(fmt.Sprintf("%d %d %d %s", ds.KeyTag, ds.Algorithm, ds.DigestType, ds.Digest))
		if err != nil || again != ds {
			t.Fatalf("%q read as %+v; its presentation form reads as %+v, %v", text, ds, again, err)
		}
	})
}
