package synth_test

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/synth"
)

func TestDeterministic(t *testing.T) {
	a := slices.Collect(synth.Generate(synth.Options{Domains: 500, Seed: 7}))
	b := slices.Collect(synth.Generate(synth.Options{Domains: 500, Seed: 7}))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two different registries")
	}
	c := slices.Collect(synth.Generate(synth.Options{Domains: 500, Seed: 8}))
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same registry")
	}
}

// TestShape checks the proportions the issue asks for: about 8% with DS,
// about 10% with their own glue, a few hundred shared nameserver hosts,
// every hierarchy and status present, every domain valid and unique.
func TestShape(t *testing.T) {
	const n = 20000
	pol := policy.New(policy.Lists{})
	names := map[string]bool{}
	zones := map[string]int{}
	statuses := map[store.Status]int{}
	sharedHosts := map[string]int{}
	withDS, ownGlue, legacyDS := 0, 0, 0
	for d := range synth.Generate(synth.Options{Domains: n, Seed: 1}) {
		if errs := d.Validate(); len(errs) > 0 {
			t.Fatalf("%s is not valid: %v", d.Name, errs)
		}
		if res := pol.CheckName(d.Name, policy.Options{Mode: policy.Existing}); !res.Valid || res.Name != d.Name {
			t.Fatalf("%s breaks the Rules: %+v", d.Name, res.Violations)
		}
		if names[d.Name] {
			t.Fatalf("%s generated twice", d.Name)
		}
		names[d.Name] = true
		zones[d.Zone]++
		statuses[d.Status]++
		if len(d.DS) > 0 {
			withDS++
			if d.DS[0].Algorithm == 5 || d.DS[0].Algorithm == 7 {
				legacyDS++
			}
		}
		own := false
		for _, ns := range d.Nameservers {
			if store.IsSubdomain(ns.Name, d.Name) {
				own = true
			} else {
				sharedHosts[ns.Name]++
			}
		}
		if own {
			ownGlue++
		}
	}
	if len(names) != n {
		t.Fatalf("generated %d domains, want %d", len(names), n)
	}
	within := func(what string, got int, lo, hi float64) {
		if f := float64(got) / n; f < lo || f > hi {
			t.Errorf("%s: %.1f%%, want between %.0f%% and %.0f%%", what, 100*f, 100*lo, 100*hi)
		}
	}
	within("domains with DS", withDS, 0.07, 0.09)
	within("domains with their own glue", ownGlue, 0.09, 0.11)
	within("domains under pt", zones["pt"], 0.74, 0.82)
	within("active domains", statuses[store.StatusActive], 0.88, 0.94)
	if legacyDS == 0 {
		t.Error("no DS with the legacy algorithms 5 or 7")
	}
	for _, h := range policy.Hierarchies() {
		if zones[h.Zone] == 0 {
			t.Errorf("no domain in %s", h.Zone)
		}
	}
	for _, s := range store.Statuses {
		if statuses[s] == 0 {
			t.Errorf("no domain in status %s", s)
		}
	}
	if len(sharedHosts) < 300 || len(sharedHosts) > 1500 {
		t.Errorf("%d shared nameserver hosts, want a few hundred", len(sharedHosts))
	}
}

func TestAddressPrefixes(t *testing.T) {
	lab := netip.MustParsePrefix("127.0.10.0/24")
	for d := range synth.Generate(synth.Options{Domains: 2000, Seed: 3, V4: []netip.Prefix{lab}}) {
		for _, ns := range d.Nameservers {
			for _, a := range ns.Addrs {
				if a.Is4() && !lab.Contains(a) {
					t.Fatalf("%s: glue %s outside %s", d.Name, a, lab)
				}
			}
		}
	}
}
