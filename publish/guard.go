package publish

import (
	"fmt"
	"iter"
	"strconv"
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
	// RefuseBaseline: the log knows a publication this publisher does
	// not hold, so nothing to judge the changes against.
	RefuseBaseline = "baseline"
	// RefuseFrozen is not the guard's: an operator froze the zone
	// (OutcomeFrozen); only a thaw ends it.
	RefuseFrozen = "frozen"
)

// Refusal is one reason not to publish.
type Refusal struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Offenders are the first names concerned, for the operator to look at.
	Offenders []string `json:"offenders,omitempty"`
	// Forceable says whether an operator may publish anyway.
	Forceable bool `json:"forceable"`
	// Figures, for a refusal of a category of change, are the numbers
	// behind it and the limit they break.
	Figures *Figures `json:"figures,omitempty"`
	// Details are the offenders one by one: what changed and, for a
	// removed delegation, why the registry no longer delegates it.
	Details []Offender `json:"offender_details,omitempty"`
}

// Figures are the numbers behind the refusal of a category of change.
type Figures struct {
	// Changes of the category, out of Base delegations: Percent.
	Changes int     `json:"changes"`
	Base    int     `json:"base"`
	Percent float64 `json:"percent"`
	Limit   Limit   `json:"limit"`
	// Window is set when the changes are those of the publications
	// within the guard's window (Guard.Window, as a Go duration) that
	// began at Since (or after the last forced publication): Earlier of
	// the Changes were published by Publications earlier publications;
	// Base is then the delegations the zone had when the window began.
	Window       string     `json:"window,omitempty"`
	Since        *time.Time `json:"since,omitempty"`
	Earlier      int        `json:"earlier,omitempty"`
	Publications int        `json:"publications,omitempty"`
}

// Offender is one name behind a change the guard counts.
type Offender struct {
	Name string `json:"name"`
	// Old and New are the records that changed, before and after, each
	// as its type and data ("NS ns1.example.net."); New is empty for a
	// removal, Old for an addition. Unknown for an earlier publication's.
	Old []string `json:"old,omitempty"`
	New []string `json:"new,omitempty"`
	// Registry says why the registry no longer delegates a removed
	// delegation: a zonegen.Reason ("status", "no-nameservers", "name",
	// "never-checked", "withheld"; "fixed-delegation" for a delegation
	// the configuration makes, "zone-not-served" for a domain registered
	// in another zone), RegistryAbsent, or RegistryDelegates when it
	// delegates the name again. Status is the domain's status.
	// Both are read for the offenders of a refusal only, once it is made.
	Registry string `json:"registry,omitempty"`
	Status   string `json:"status,omitempty"`
	// Serial is the earlier publication that made the change, in a
	// refusal over the window; 0 for the candidate's own changes.
	Serial uint32 `json:"published_serial,omitempty"`
}

// What Offender.Registry says besides a zonegen.Reason.
const (
	RegistryAbsent    = "absent"    // no such domain in the registry
	RegistryDelegates = "delegates" // the registry delegates it (again)
)

// String says what the operator should look at, on one line.
func (o Offender) String() string {
	s := o.Name + ": "
	switch zonegen.Reason(o.Registry) {
	case zonegen.ReasonStatus:
		s += "status " + o.Status + " in the registry"
	case zonegen.ReasonNoNameservers:
		s += "no nameservers in the registry"
	case zonegen.ReasonName:
		s += "the name breaks the Rules"
	case zonegen.ReasonNeverChecked:
		s += "never passed a delegation check (Art 4.2)"
	case zonegen.ReasonWithheld:
		s += "withheld, failing its checks past the grace period (Art 23.2)"
	case RegistryAbsent:
		s += "absent from the registry"
	case RegistryDelegates:
		s += "delegated by the registry now (changed since the build)"
	case zonegen.ReasonFixed:
		s += "one of our zones or a static delegation: the configuration changed"
	case "":
		if len(o.Old) == 0 && len(o.New) == 0 {
			s += "changed"
		} else {
			s += "was " + values(o.Old) + ", now " + values(o.New)
		}
	default:
		s += o.Registry
	}
	if o.Serial != 0 {
		s += fmt.Sprintf(" (published in serial %d)", o.Serial)
	}
	return s
}

func values(v []string) string {
	if len(v) == 0 {
		return "nothing"
	}
	return strings.Join(v, ", ")
}

// Lines says the refusal for an operator's terminal: the refusal, then
// each offender with what changed or why the registry dropped it.
func (r Refusal) Lines() []string {
	if len(r.Details) == 0 {
		return []string{r.String()}
	}
	lines := []string{r.Code + ": " + r.Message}
	for _, o := range r.Details {
		lines = append(lines, o.String())
	}
	if r.Figures != nil && r.Figures.Changes > len(r.Details) && len(r.Details) == maxOffenders {
		lines = append(lines, fmt.Sprintf("(the first %d only)", maxOffenders))
	}
	return lines
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
	// offenders are the first names changed, by refusal code.
	offenders map[string][]Offender
}

// count returns the changes of the category a refusal code names.
func (d Delta) count(code string) int {
	switch code {
	case RefuseRemoved:
		return d.Removed
	case RefuseNSChanged:
		return d.NSChanged
	case RefuseGlueChanged:
		return d.GlueChanged
	case RefuseDSChanged:
		return d.DSChanged
	}
	return 0
}

// Names returns the first names changed in the category a refusal code
// names (at most 10), in the zone's order: what the publication log
// keeps of a publication's offenders.
func (d Delta) Names(code string) []string {
	var out []string
	for _, o := range d.offenders[code] {
		out = append(out, o.Name)
	}
	return out
}

// maxOffenders is how many names a refusal lists.
const maxOffenders = 10

// Compare computes the semantic delta between two unsigned or signed
// versions of a zone: delegations added and removed, NS targets changed,
// DS changed, glue changed. Signatures and NSEC3 records are not changes
// of substance and are ignored.
func Compare(prev, next *zone.Zone) Delta {
	d := Delta{offenders: map[string][]Offender{}}
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
	d := Delta{offenders: map[string][]Offender{}, Delegations: delegations}
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
	// note keeps the first offenders of a category with their records;
	// an owner's second RRset (a host's AAAA after its A) joins its entry.
	note := func(code string, ch zone.Change) {
		name := strings.TrimSuffix(ch.Owner.String(), ".")
		o := d.offenders[code]
		if len(o) == 0 || o[len(o)-1].Name != name {
			if len(o) == maxOffenders {
				return
			}
			o = append(o, Offender{Name: name})
		}
		last := &o[len(o)-1]
		if ch.HasOld {
			last.Old = appendRecords(last.Old, ch.Old)
		}
		if ch.HasNew {
			last.New = appendRecords(last.New, ch.New)
		}
		d.offenders[code] = o
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
				note(RefuseRemoved, ch)
			case !ch.HasOld:
				d.Added++
			case !ch.Old.SameRdata(ch.New):
				d.NSChanged++
				note(RefuseNSChanged, ch)
			}
		case zone.TypeDS:
			if !(ch.HasOld && ch.HasNew && ch.Old.SameRdata(ch.New)) {
				d.DSChanged++
				note(RefuseDSChanged, ch)
			}
		case zone.TypeA, zone.TypeAAAA:
			if !(ch.HasOld && ch.HasNew && ch.Old.SameRdata(ch.New)) {
				d.GlueChanged++
				note(RefuseGlueChanged, ch)
			}
		}
	}
}

// appendRecords appends the records of set as "TYPE data".
func appendRecords(out []string, set zone.RRset) []string {
	typ := zone.TypeString(set.Type()) + " "
	for rd := range set.Rdata() {
		text, err := zone.AppendRdataText([]byte(typ), set.Type(), rd)
		if err != nil {
			text = fmt.Appendf([]byte(typ), "(%d octets unreadable: %v)", len(rd), err)
		}
		out = append(out, string(text))
	}
	return out
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
	// Window are the zone's publications within the guard's window,
	// oldest first, from the publication log: what they changed counts
	// with the candidate's changes (Guard.Window).
	Window []Past
	// Adopted: Zone is the zone adopted from the previous signer
	// (store.OutcomeAdopted), served as it came, not yet published by
	// ptzone. Its serial and delegations are the baseline all the same;
	// its signatures are neither kept nor trusted unchecked.
	Adopted bool
	// The zone's journal, and its delegations as its state counts them.
	journal     *datadir.Journal
	delegations int
}

// Past is one earlier publication of a zone, as its receipt in the
// publication log records it.
type Past struct {
	Serial uint32
	Time   time.Time
	// Forced: an operator forced it past refusals.
	Forced bool
	// Delta is what it changed; its Delegations, what the zone had
	// before it. Its offenders are names only.
	Delta Delta
}

// DefaultWindow is the window over which the guard sums changes when
// the configuration does not say.
const DefaultWindow = 24 * time.Hour

// Guard judges candidates.
type Guard struct {
	Thresholds Thresholds
	// Refresh is the signing refresh window: signatures expiring sooner
	// would expire before the next signing is due.
	Refresh time.Duration
	// Window, when not 0, holds each category of change to its limit over
	// every publication of the zone within the window too, the candidate
	// included: ten publications of 1% each must not drain a zone
	// between two looks at it. A forced publication (which passes the
	// refusal over the window as well) starts the window again: the
	// operator judged the zone as it then stood.
	Window time.Duration
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
	if prev != nil && prev.Serial != 0 && (prev.Zone == nil || prev.Zone.Serial() != prev.Serial) {
		// The publication log knows a published version this publisher
		// does not hold (a standby taking over, a data directory lost):
		// the zone the secondaries serve is not here to compare with.
		held := "no copy of it"
		if prev.Zone != nil {
			held = fmt.Sprintf("only serial %d", prev.Zone.Serial())
		}
		out = append(out, Refusal{Code: RefuseBaseline, Forceable: true,
			Message: fmt.Sprintf("serial %d was published, and this publisher holds %s: the changes cannot be judged against the zone the secondaries serve; "+
				"let it follow the publisher ([publish] peers), adopt the served zone (ptzone zone adopt --axfr SECONDARY --force), or force with a reason",
				prev.Serial, held)})
	}
	var d Delta
	if prev != nil && prev.Zone != nil {
		if c.Changed != nil {
			d = CompareChanged(prev.Zone, z, c.Changed, c.PrevDelegations)
		} else {
			d = Compare(prev.Zone, z)
		}
		out = append(out, g.limits(d, prev.Window, now)...)
	}
	return out, d
}

// A category of change the guard limits.
type category struct {
	code  string
	limit Limit
	// would says what the candidate would do; did what earlier
	// publications and the candidate did together.
	would, did string
}

func (g Guard) categories() []category {
	th := g.Thresholds
	return []category{
		{RefuseRemoved, th.DelegationsRemoved, "delegations would disappear", "delegations removed"},
		{RefuseNSChanged, th.NSChanged, "delegations would change their NS targets", "delegations with their NS targets changed"},
		{RefuseGlueChanged, th.GlueChanged, "glue RRsets would change", "glue RRsets changed"},
		{RefuseDSChanged, th.DSChanged, "DS RRsets would change", "DS RRsets changed"},
	}
}

// limits holds each category of change d makes to its limit, first
// against the previous zone, then summed with the publications of
// history within the window. A category the candidate does not change
// is not refused over the window: the sum did not grow, and refusing
// would stall every publication until the window moves on.
func (g Guard) limits(d Delta, history []Past, now time.Time) []Refusal {
	var out []Refusal
	var window []Past
	since := now.Add(-g.Window).UTC()
	if g.Window > 0 {
		for _, p := range history {
			switch {
			case p.Forced:
				// An operator forced the zone as it then stood, with a
				// reason: the window starts again after it, or every
				// publication touching the category would need forcing
				// until the force is a window old.
				window = window[:0]
			case !p.Time.Before(since):
				window = append(window, p)
			}
		}
	}
	// The window's base is what the zone had when it began, before its
	// first publication that had a previous zone: never more than the
	// largest count in the window, so the stricter of the two. Measured
	// against the largest, delegations added in the window (a registrar's
	// bulk import) would widen what may be removed of those that were
	// there before.
	base := d.Delegations
	for _, p := range window {
		if p.Delta.Delegations > 0 {
			base = p.Delta.Delegations
			break
		}
	}
	for _, cat := range g.categories() {
		n := d.count(cat.code)
		if cat.limit.exceeded(n, d.Delegations) {
			out = append(out, Refusal{Code: cat.code, Forceable: true, Offenders: d.Names(cat.code), Details: d.offenders[cat.code],
				Figures: &Figures{Changes: n, Base: d.Delegations, Percent: percent(n, d.Delegations), Limit: cat.limit},
				Message: fmt.Sprintf("%d %s: %d of the %d published (%s%%); the limit per publication is %s",
					n, cat.would, n, d.Delegations, fmtPercent(percent(n, d.Delegations)), cat.limit)})
			continue
		}
		if n == 0 || len(window) == 0 {
			continue
		}
		f := Figures{Base: base, Limit: cat.limit, Window: fmtDuration(g.Window), Since: &since}
		for _, p := range window {
			if c := p.Delta.count(cat.code); c > 0 {
				f.Earlier += c
				f.Publications++
			}
		}
		f.Changes = n + f.Earlier
		if f.Earlier == 0 || !cat.limit.exceeded(f.Changes, base) {
			continue
		}
		f.Percent = percent(f.Changes, base)
		r := Refusal{Code: cat.code, Forceable: true, Figures: &f}
		r.Message = fmt.Sprintf("%d %s within %s: %d by %d earlier publications since %s, and %d by this one; %d of the %d delegated when the window began (%s%%); the limit within %s is %s",
			f.Changes, cat.did, f.Window, f.Earlier, f.Publications, since.UTC().Format(time.RFC3339), n,
			f.Changes, base, fmtPercent(f.Percent), f.Window, cat.limit)
		// The candidate's offenders first, the latest publications' next.
		r.Details = append(r.Details, d.offenders[cat.code]...)
		for i := len(window) - 1; i >= 0 && len(r.Details) < maxOffenders; i-- {
			for _, o := range window[i].Delta.offenders[cat.code] {
				if len(r.Details) == maxOffenders {
					break
				}
				o.Serial = window[i].Serial
				r.Details = append(r.Details, o)
			}
		}
		for _, o := range r.Details {
			r.Offenders = append(r.Offenders, o.Name)
		}
		out = append(out, r)
	}
	return out
}

// String says the limit as the guard applies it.
func (l Limit) String() string {
	return fmt.Sprintf("%d or %s%%, whichever is larger", l.Count, fmtPercent(l.Percent))
}

func percent(n, base int) float64 {
	if base == 0 {
		return 0
	}
	return 100 * float64(n) / float64(base)
}

// fmtPercent writes a percentage with three significant digits at most.
func fmtPercent(p float64) string {
	if p >= 100 {
		return strconv.FormatFloat(p, 'f', 0, 64)
	}
	return strconv.FormatFloat(p, 'g', 3, 64)
}

// fmtDuration writes a window as an operator configures it: 24h, 90m.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
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
