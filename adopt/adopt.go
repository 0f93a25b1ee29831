package adopt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ptzone/ptzone/datadir"
	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
)

// Refusals of a zone to adopt.
var (
	// ErrWrongApex: the zone given is another zone's.
	ErrWrongApex = errors.New("the zone's SOA is not at the apex of the zone adopted")
	// ErrNoSOA: no SOA at the apex.
	ErrNoSOA = errors.New("no SOA record at the apex")
	// ErrNoNS: no NS RRset at the apex.
	ErrNoNS = errors.New("no NS RRset at the apex")
	// ErrPublished: the zone is served or logged already, by ptzone or
	// by an earlier adoption; adopting over it must be forced.
	ErrPublished = errors.New("the zone is published already")
)

// Key is a DNSKEY of an adopted zone.
type Key struct {
	Tag       uint16 `json:"tag"`
	Algorithm uint8  `json:"algorithm"`
	// SEP is the Secure Entry Point flag: a KSK (or CSK), the key the
	// parent's DS is for.
	SEP bool `json:"sep"`
}

func (k Key) String() string {
	role := "ZSK"
	if k.SEP {
		role = "KSK"
	}
	return fmt.Sprintf("%d (algorithm %d, %s)", k.Tag, k.Algorithm, role)
}

// Inspection is what Inspect found of a zone to adopt.
type Inspection struct {
	Zone *zone.Zone
	// Name is the zone's name without the final dot ("pt").
	Name                 string
	Serial               uint32
	Records, Delegations int
	// Signed: the apex has a DNSKEY RRset. Verification is then the
	// independent verifier's report on it; nil for an unsigned zone.
	Signed       bool
	Verification *dnssec.Report
	Keys         []Key
}

// Verifies reports whether the zone is signed and verifies.
func (in *Inspection) Verifies() bool {
	return in.Signed && in.Verification != nil && in.Verification.OK()
}

// Inspect checks a zone to adopt as zone name: its SOA is at the apex,
// and it has an apex NS RRset. A signed zone is verified as ptzone
// verifies its own (opt: the time, the parent's DS if known); one that
// does not verify is adopted all the same, the report saying why, for
// it is what the secondaries serve today and ptzone's first publication
// replaces its signatures.
func Inspect(z *zone.Zone, name string, opt dnssec.VerifyOptions) (*Inspection, error) {
	apex, err := zone.ParseName(strings.TrimSuffix(name, ".")+".", zone.Root)
	if err != nil {
		return nil, fmt.Errorf("zone %q: %w", name, err)
	}
	if z.Origin() != apex {
		return nil, fmt.Errorf("%w: the zone read is %s, not %s", ErrWrongApex, z.Origin(), apex)
	}
	soa, ok := z.Get(apex, zone.TypeSOA)
	if !ok {
		if other, err := z.Apex(); err == nil {
			return nil, fmt.Errorf("%w: its SOA is at %s, not at %s: it is another zone", ErrWrongApex, other, apex)
		}
		return nil, fmt.Errorf("%w %s", ErrNoSOA, apex)
	}
	if _, ok := z.Get(apex, zone.TypeNS); !ok {
		return nil, fmt.Errorf("%w %s", ErrNoNS, apex)
	}
	in := &Inspection{Zone: z, Name: strings.TrimSuffix(apex.String(), "."), Records: z.Stats().Records}
	for rd := range soa.Rdata() {
		s, err := zone.ParseSOA(rd)
		if err != nil {
			return nil, fmt.Errorf("%s SOA: %w", apex, err)
		}
		in.Serial = s.Serial
	}
	for r := range z.All() {
		if r.Type() == zone.TypeNS && r.Owner() != apex {
			in.Delegations++
		}
	}
	if keys, ok := z.Get(apex, zone.TypeDNSKEY); ok {
		in.Signed = true
		for rd := range keys.Rdata() {
			if len(rd) < 4 {
				return nil, fmt.Errorf("%s DNSKEY: a record of %d octets", apex, len(rd))
			}
			in.Keys = append(in.Keys, Key{Tag: keyTag(rd), Algorithm: rd[3], SEP: rd[1]&1 != 0})
		}
		in.Verification = dnssec.Verify(z, opt)
	}
	return in, nil
}

// keyTag computes a DNSKEY's key tag from its rdata (RFC 4034 Appendix
// B; algorithm 1, long gone, is not handled apart).
func keyTag(rd []byte) uint16 {
	var sum uint32
	for i, b := range rd {
		if i&1 == 0 {
			sum += uint32(b) << 8
		} else {
			sum += uint32(b)
		}
	}
	sum += sum >> 16
	return uint16(sum)
}

// Existing is the zone's publication found before an adoption.
type Existing struct {
	// Served: the data directory serves a version of the zone, at
	// ServedSerial.
	Served       bool
	ServedSerial uint32
	// Logged is the newest published or adopted entry of the log, if any.
	Logged *store.Publication
}

func (e *Existing) String() string {
	var parts []string
	if e.Served {
		parts = append(parts, fmt.Sprintf("served at serial %d", e.ServedSerial))
	}
	if l := e.Logged; l != nil {
		parts = append(parts, fmt.Sprintf("%s at serial %d on %s by %s", l.Outcome, l.Serial, l.Time.UTC().Format(time.RFC3339), l.TriggeredBy))
	}
	return strings.Join(parts, "; ")
}

// Find returns the zone's publication, published by ptzone or adopted
// before; nil when there is none.
func Find(ctx context.Context, dir datadir.Dir, log store.PublicationLog, name string) (*Existing, error) {
	e := &Existing{}
	loaded, err := dir.Load([]string{name}, datadir.PassOver)
	switch {
	case err != nil:
		e.Served = true // damaged beyond reading, but there
	case loaded.Zone(name).Zone != nil:
		e.Served, e.ServedSerial = true, loaded.Zone(name).Zone.Serial()
	}
	pubs, err := log.Publications(ctx, name, 100)
	if err != nil {
		return nil, fmt.Errorf("reading the publication log of %s: %w", name, err)
	}
	for _, p := range pubs {
		if p.Outcome == store.OutcomePublished || p.Outcome == store.OutcomeAdopted {
			e.Logged = &p
			break
		}
	}
	if !e.Served && e.Logged == nil {
		return nil, nil
	}
	return e, nil
}

// Adoption is a zone to adopt: what Inspect found, where it came from,
// who adopts it and when.
type Adoption struct {
	*Inspection
	// Source says where the zone came from, for the log: "file
	// pt.signed", "AXFR from 192.0.2.53:53".
	Source string
	// By is who adopts it (the log's triggered_by).
	By  string
	Now time.Time
	// Force adopts over an existing publication of the zone.
	Force bool
}

// receipt is the publication log's details of an adoption.
type receipt struct {
	Source      string   `json:"source"`
	Signed      bool     `json:"signed"`
	Verified    bool     `json:"verified"`
	Problems    []string `json:"problems,omitempty"`
	Keys        []Key    `json:"keys,omitempty"`
	Delegations int      `json:"delegations"`
	// Replaced is the publication an adoption forced over.
	Replaced string `json:"replaced,omitempty"`
}

// Record adopts the zone: it becomes the zone's published version in
// dir (datadir.Dir.Adopt), served as it is until ptzone publishes the
// zone, and the publication log records it (store.OutcomeAdopted) with
// its serial, from which the next publication's serial follows, and its
// source. An existing publication of the zone is refused (ErrPublished)
// unless a.Force. The caller holds the publisher's lock: nothing else
// may write the directory meanwhile.
func Record(ctx context.Context, dir datadir.Dir, log store.PublicationLog, a Adoption) (*Existing, error) {
	existing, err := Find(ctx, dir, log, a.Name)
	if err != nil {
		return nil, err
	}
	if existing != nil && !a.Force {
		return existing, fmt.Errorf("%w: %s is %s; adopting over it must be forced", ErrPublished, a.Name, existing)
	}
	r := receipt{Source: a.Source, Signed: a.Signed, Verified: a.Verifies(), Keys: a.Keys, Delegations: a.Delegations}
	if a.Verification != nil {
		for _, p := range a.Verification.Problems {
			if len(r.Problems) == 10 {
				break
			}
			r.Problems = append(r.Problems, p.String())
		}
	}
	if existing != nil {
		r.Replaced = existing.String()
	}
	details, err := json.Marshal(r)
	if err != nil {
		return existing, err
	}
	if err := dir.Adopt(a.Name, a.Zone); err != nil {
		return existing, err
	}
	reason := "adopted from " + a.Source
	switch {
	case !a.Signed:
		reason += "; unsigned"
	case a.Verifies():
		reason += "; signed, verifies"
	default:
		reason += fmt.Sprintf("; signed, does not verify (%d problems)", len(a.Verification.Problems))
	}
	pub := store.Publication{Zone: a.Name, Serial: a.Serial, Time: a.Now, Outcome: store.OutcomeAdopted, TriggeredBy: a.By,
		Reason: reason, Records: a.Records, Delegations: a.Delegations, Details: details}
	if _, err := log.RecordPublication(ctx, pub); err != nil {
		// The zone is served already: its serial is in its image, so the
		// next publication follows it anyway, but it would keep and
		// trust the old signer's signatures. Adopting again fixes it.
		return existing, fmt.Errorf("%s is in place, but the publication log did not record its adoption (adopt it again, forced): %w", a.Name, err)
	}
	return existing, nil
}
