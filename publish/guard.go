package publish

import (
	"fmt"
	"iter"
	"sort"
	"strings"
	"time"

	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/zone"
	"github.com/ptzone/ptzone/zonegen"
)

// Limit bounds one category of change between two publications. A change
// is refused when it exceeds both the percentage of the previous zone's
// delegations and the count: the percentage scales with a TLD, the count
// keeps a small zone from being refused for a handful of domains.
type Limit struct {
	Percent float64 `json:"percent"`
	Count   int     `json:"count"`
}

// exceeded reports whether n changes out of base break the limit.
func (l Limit) exceeded(n, base int) bool {
	return n > l.Count && float64(n) > l.Percent/100*float64(base)
}

// Thresholds are the guard's limits per category of change.
type Thresholds struct {
	DelegationsRemoved Limit `json:"delegations_removed"`
	NSChanged          Limit `json:"ns_changed"`
	GlueChanged        Limit `json:"glue_changed"`
	DSChanged          Limit `json:"ds_changed"`
}

// DefaultThresholds: 1% of the delegations, and never fewer than 10.
func DefaultThresholds() Thresholds {
	l := Limit{Percent: 1, Count: 10}
	return Thresholds{DelegationsRemoved: l, NSChanged: l, GlueChanged: l, DSChanged: l}
}

// Refusal codes. Delta refusals can be forced by an operator; the others
// never: no reason makes a broken signature or a stale serial safe.
const (
	RefuseVerification = "verification"
	RefuseSerial       = "serial"
	RefuseApex         = "apex"
	RefuseExpiry       = "signature-expiry"
	RefuseRemoved      = "delegations-removed"
	RefuseNSChanged    = "ns-changed"
	RefuseGlueChanged  = "glue-changed"
	RefuseDSChanged    = "ds-changed"
)

// Refusal is one reason not to publish.
type Refusal struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Offenders are the first names concerned, for the operator to look at.
	Offenders []string `json:"offenders,omitempty"`
	// Forceable says whether an operator may publish anyway.
	Forceable bool `json:"forceable"`
}

func (r Refusal) String() string {
	s := r.Code + ": " + r.Message
	if len(r.Offenders) > 0 {
		s += " (" + strings.Join(r.Offenders, ", ") + ")"
	}
	return s
}

// Delta counts what changed since the previous publication.
type Delta struct {
	Delegations int `json:"delegations"` // in the previous zone
	Added       int `json:"added"`
	Removed     int `json:"removed"`
	NSChanged   int `json:"ns_changed"`
	DSChanged   int `json:"ds_changed"`
	GlueChanged int `json:"glue_changed"`
	offenders   map[string][]string
}

// maxOffenders is how many names a refusal lists.
const maxOffenders = 10

// Compare computes the semantic delta between two unsigned or signed
// versions of a zone: delegations added and removed, NS targets changed,
// DS changed, glue changed. Signatures and NSEC3 records are not changes
// of substance and are ignored.
func Compare(prev, next *zone.Zone) Delta {
	d := Delta{offenders: map[string][]string{}}
	if prev == nil {
		return d
	}
	apex := prev.Origin()
	for r := range prev.All() {
		if r.Type() == zone.TypeNS && r.Owner() != apex {
			d.Delegations++
		}
	}
	d.add(zone.Diff(prev, next), apex)
	return d
}

// CompareChanged is Compare when only the given owners can differ (an
// incremental build knows which), and the previous zone's delegations are
// counted already: it reads those owners, not the zones.
func CompareChanged(prev, next *zone.Zone, owners []zone.Name, delegations int) Delta {
	d := Delta{offenders: map[string][]string{}, Delegations: delegations}
	if prev == nil {
		return d
	}
	d.add(func(yield func(zone.Change) bool) {
		for _, o := range owners {
			for ch := range ownerDiff(prev, next, o) {
				if !yield(ch) {
					return
				}
			}
		}
	}, prev.Origin())
	return d
}

// ownerDiff is Diff restricted to one owner.
func ownerDiff(prev, next *zone.Zone, owner zone.Name) iter.Seq[zone.Change] {
	one := func(z *zone.Zone) *zone.Zone {
		b := zone.NewBuilder(z.Origin(), 4)
		if i, ok := z.Find(owner); ok {
			for r := range z.RRsets(i) {
				for rd := range r.Rdata() {
					b.Add(owner, r.Type(), r.TTL(), rd)
				}
			}
		}
		out, _ := b.Zone()
		return out
	}
	return zone.Diff(one(prev), one(next))
}

func (d *Delta) add(changes iter.Seq[zone.Change], apex zone.Name) {
	note := func(code string, owner zone.Name) {
		name := strings.TrimSuffix(owner.String(), ".")
		if o := d.offenders[code]; len(o) < maxOffenders && (len(o) == 0 || o[len(o)-1] != name) {
			d.offenders[code] = append(o, name)
		}
	}
	for ch := range changes {
		if ch.Owner == apex {
			continue // the apex is ptzone's own data, checked elsewhere
		}
		switch ch.Type {
		case zone.TypeNS:
			switch {
			case !ch.HasNew:
				d.Removed++
				note(RefuseRemoved, ch.Owner)
			case !ch.HasOld:
				d.Added++
			case !ch.Old.SameRdata(ch.New):
				d.NSChanged++
				note(RefuseNSChanged, ch.Owner)
			}
		case zone.TypeDS:
			if !(ch.HasOld && ch.HasNew && ch.Old.SameRdata(ch.New)) {
				d.DSChanged++
				note(RefuseDSChanged, ch.Owner)
			}
		case zone.TypeA, zone.TypeAAAA:
			if !(ch.HasOld && ch.HasNew && ch.Old.SameRdata(ch.New)) {
				d.GlueChanged++
				note(RefuseGlueChanged, ch.Owner)
			}
		}
	}
}

// Candidate is what the guard judges: a signed zone and its verification.
type Candidate struct {
	Zone   *zone.Zone
	Serial uint32
	Report *dnssec.Report // nil for an unsigned build
	Signed bool
	// Changed, when not nil, are the only owners that can differ from the
	// previous zone (an incremental build), which has PrevDelegations
	// delegations: the delta is computed from them alone.
	Changed         []zone.Name
	PrevDelegations int
}

// Previous is the last published version of the zone, if any.
type Previous struct {
	Zone   *zone.Zone
	Serial uint32
	// The zone's journal, and its delegations as its state counts them.
	journal     *datadir.Journal
	delegations int
}

// Guard judges candidates.
type Guard struct {
	Thresholds Thresholds
	// Refresh is the signing refresh window: signatures expiring sooner
	// would expire before the next signing is due.
	Refresh time.Duration
}

// Check returns every reason not to publish c after prev, at now.
func (g Guard) Check(c Candidate, prev *Previous, now time.Time) ([]Refusal, Delta) {
	var out []Refusal
	z := c.Zone
	apexIdx, ok := z.Find(z.Origin())
	hasApex := func(t uint16) bool {
		if !ok {
			return false
		}
		_, has := z.GetAt(apexIdx, t)
		return has
	}
	for _, t := range []uint16{zone.TypeSOA, zone.TypeNS} {
		if !hasApex(t) {
			out = append(out, Refusal{Code: RefuseApex, Message: fmt.Sprintf("the zone has no apex %s", zone.TypeString(t))})
		}
	}
	if c.Signed {
		if !hasApex(zone.TypeDNSKEY) {
			out = append(out, Refusal{Code: RefuseApex, Message: "the zone has no DNSKEY RRset: it would be bogus for every validator"})
		}
		if c.Report == nil {
			out = append(out, Refusal{Code: RefuseVerification, Message: "the signed zone was not verified"})
		} else {
			if !c.Report.OK() {
				var names []string
				for _, p := range c.Report.Problems {
					if len(names) < maxOffenders {
						names = append(names, p.String())
					}
				}
				out = append(out, Refusal{Code: RefuseVerification,
					Message:   fmt.Sprintf("independent verification found %d problems", len(c.Report.Problems)),
					Offenders: names})
			}
			if e := c.Report.EarliestExpiration; !e.IsZero() && e.Before(now.Add(g.Refresh)) {
				out = append(out, Refusal{Code: RefuseExpiry,
					Message: fmt.Sprintf("a signature expires at %s, within the %s refresh window", e.Format(time.RFC3339), g.Refresh)})
			}
		}
	}
	if prev != nil && prev.Serial != 0 && !zonegen.SerialGreater(c.Serial, prev.Serial) {
		out = append(out, Refusal{Code: RefuseSerial,
			Message: fmt.Sprintf("serial %d does not increase on the published %d: secondaries would ignore the zone", c.Serial, prev.Serial)})
	}
	var d Delta
	if prev != nil && prev.Zone != nil {
		if c.Changed != nil {
			d = CompareChanged(prev.Zone, z, c.Changed, c.PrevDelegations)
		} else {
			d = Compare(prev.Zone, z)
		}
		th := g.Thresholds
		for _, cat := range []struct {
			code  string
			n     int
			limit Limit
			what  string
		}{
			{RefuseRemoved, d.Removed, th.DelegationsRemoved, "delegations would disappear"},
			{RefuseNSChanged, d.NSChanged, th.NSChanged, "delegations would change their NS targets"},
			{RefuseGlueChanged, d.GlueChanged, th.GlueChanged, "glue RRsets would change"},
			{RefuseDSChanged, d.DSChanged, th.DSChanged, "DS RRsets would change"},
		} {
			if cat.limit.exceeded(cat.n, d.Delegations) {
				offenders := d.offenders[cat.code]
				sort.Strings(offenders)
				out = append(out, Refusal{Code: cat.code, Forceable: true, Offenders: offenders,
					Message: fmt.Sprintf("%d %s, more than %d and %.2g%% of the %d published", cat.n, cat.what, cat.limit.Count, cat.limit.Percent, d.Delegations)})
			}
		}
	}
	return out, d
}

// Force is an operator's decision to publish past forceable refusals.
type Force struct {
	By     string `json:"by"`
	Reason string `json:"reason"`
}

// Decide applies a force to refusals: it returns the refusals that still
// stand (all of them without a force; the unforceable ones with it).
func Decide(refusals []Refusal, force *Force) (standing []Refusal, forced []Refusal) {
	for _, r := range refusals {
		if force != nil && r.Forceable {
			forced = append(forced, r)
		} else {
			standing = append(standing, r)
		}
	}
	return standing, forced
}
