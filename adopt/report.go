package adopt

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/zone"
)

// Difference kinds.
const (
	KindNS   = "ns"
	KindDS   = "ds"
	KindGlue = "glue"
)

// Difference is one RRset of substance that the adopted zone and the
// registry's zone hold differently at a name: a delegation's NS (in
// both, with other targets), its DS, or glue.
type Difference struct {
	// Name is the owner, without the final dot.
	Name string `json:"name"`
	// Kind is ns, ds or glue; Type the RRset's type (NS, DS, A, AAAA).
	Kind string `json:"kind"`
	Type string `json:"type"`
	// Adopted and Registry are the RRset's records (their data, in
	// presentation form, sorted) on each side; empty where it has none.
	Adopted  []string `json:"adopted"`
	Registry []string `json:"registry"`
}

// Report is every difference of substance between an adopted zone and
// what the registry would publish now: what ptzone's first publication
// would change, and whether its guard would let that through. Its JSON
// field names are stable.
type Report struct {
	Zone          string `json:"zone"`
	AdoptedSerial uint32 `json:"adopted_serial"`
	// NextSerial is the serial the first publication would have.
	NextSerial          uint32 `json:"next_serial"`
	AdoptedDelegations  int    `json:"adopted_delegations"`
	RegistryDelegations int    `json:"registry_delegations"`
	// OnlyAdopted are the delegations the first publication would
	// remove; OnlyRegistry those it would add. Sorted, without the final
	// dot.
	OnlyAdopted  []string `json:"only_adopted"`
	OnlyRegistry []string `json:"only_registry"`
	// Differences are the NS, DS and glue RRsets that differ, in the
	// zone's canonical order (a removed delegation's DS and glue among
	// them: its NS is in OnlyAdopted).
	Differences []Difference `json:"differences"`
	// Delta is the guard's count of the same (publish.Compare), and
	// GuardRefusals the change limits the first publication would break.
	Delta         publish.Delta     `json:"delta"`
	GuardRefusals []publish.Refusal `json:"guard_refusals"`
}

// Same reports whether the registry would publish the adopted zone's
// delegations, NS, DS and glue exactly.
func (r *Report) Same() bool {
	return len(r.OnlyAdopted) == 0 && len(r.OnlyRegistry) == 0 && len(r.Differences) == 0
}

// ReportOptions qualify Compare.
type ReportOptions struct {
	// NextSerial is the serial the first publication would have.
	NextSerial uint32
	// Guard judges the first publication's changes (its Thresholds).
	Guard publish.Guard
	Now   time.Time
}

// Compare reports every difference of substance between the adopted
// zone and the registry's zone (unsigned or signed: signatures, NSEC3
// and the apex, ptzone's own, are not compared), as the guard sees them.
func Compare(adopted, registry *zone.Zone, opt ReportOptions) *Report {
	apex := adopted.Origin()
	r := &Report{
		Zone: strings.TrimSuffix(apex.String(), "."), AdoptedSerial: adopted.Serial(), NextSerial: opt.NextSerial,
		AdoptedDelegations: countDelegations(adopted), RegistryDelegations: countDelegations(registry),
		OnlyAdopted: []string{}, OnlyRegistry: []string{}, Differences: []Difference{}, GuardRefusals: []publish.Refusal{},
	}
	for ch := range zone.Diff(adopted, registry) {
		if ch.Owner == apex {
			continue
		}
		name := strings.TrimSuffix(ch.Owner.String(), ".")
		var kind string
		switch ch.Type {
		case zone.TypeNS:
			switch {
			case !ch.HasNew:
				r.OnlyAdopted = append(r.OnlyAdopted, name)
				continue
			case !ch.HasOld:
				r.OnlyRegistry = append(r.OnlyRegistry, name)
				continue
			}
			kind = KindNS
		case zone.TypeDS:
			kind = KindDS
		case zone.TypeA, zone.TypeAAAA:
			kind = KindGlue
		default:
			continue
		}
		if ch.HasOld && ch.HasNew && ch.Old.SameRdata(ch.New) {
			continue // the TTL alone
		}
		d := Difference{Name: name, Kind: kind, Type: zone.TypeString(ch.Type), Adopted: []string{}, Registry: []string{}}
		if ch.HasOld {
			d.Adopted = rdataTexts(ch.Old)
		}
		if ch.HasNew {
			d.Registry = rdataTexts(ch.New)
		}
		r.Differences = append(r.Differences, d)
	}
	slices.Sort(r.OnlyAdopted)
	slices.Sort(r.OnlyRegistry)
	r.Delta = publish.Compare(adopted, registry)
	refusals, _ := opt.Guard.Check(publish.Candidate{Zone: registry, Serial: opt.NextSerial},
		&publish.Previous{Zone: adopted, Serial: adopted.Serial(), Adopted: true}, opt.Now)
	for _, ref := range refusals {
		if ref.Forceable { // the change limits; the rest is the signing's
			r.GuardRefusals = append(r.GuardRefusals, ref)
		}
	}
	return r
}

func countDelegations(z *zone.Zone) int {
	n := 0
	for r := range z.All() {
		if r.Type() == zone.TypeNS && r.Owner() != z.Origin() {
			n++
		}
	}
	return n
}

// rdataTexts returns an RRset's records in presentation form, sorted.
func rdataTexts(set zone.RRset) []string {
	var out []string
	for rd := range set.Rdata() {
		text, err := zone.AppendRdataText(nil, set.Type(), rd)
		if err != nil {
			text = fmt.Appendf(nil, "(unprintable: %v)", err)
		}
		out = append(out, string(text))
	}
	slices.Sort(out)
	return out
}

// WriteText writes the report for an operator: the counts, then every
// delegation only on one side, every difference with its records (- the
// adopted zone's, + the registry's), and the guard's verdict.
func (r *Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s: adopted serial %d, %d delegations; the registry would publish %d, at serial %d\n",
		r.Zone, r.AdoptedSerial, r.AdoptedDelegations, r.RegistryDelegations, r.NextSerial)
	list := func(what string, names []string) {
		fmt.Fprintf(&b, "%d delegations only in %s\n", len(names), what)
		for _, n := range names {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	list("the adopted zone (the first publication would remove them)", r.OnlyAdopted)
	list("the registry (the first publication would add them)", r.OnlyRegistry)
	counts := map[string]int{}
	for _, d := range r.Differences {
		counts[d.Kind]++
	}
	fmt.Fprintf(&b, "%d NS, %d DS and %d glue RRsets differ\n", counts[KindNS], counts[KindDS], counts[KindGlue])
	for _, d := range r.Differences {
		fmt.Fprintf(&b, "  %s %s\n", d.Name, d.Type)
		for _, rec := range d.Adopted {
			if !slices.Contains(d.Registry, rec) {
				fmt.Fprintf(&b, "    - %s\n", rec)
			}
		}
		for _, rec := range d.Registry {
			if !slices.Contains(d.Adopted, rec) {
				fmt.Fprintf(&b, "    + %s\n", rec)
			}
		}
	}
	if len(r.GuardRefusals) == 0 {
		fmt.Fprintln(&b, "the guard's change limits would let the first publication through")
	} else {
		fmt.Fprintln(&b, "the guard would refuse the first publication:")
		for _, ref := range r.GuardRefusals {
			fmt.Fprintf(&b, "  %s\n", ref)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}
