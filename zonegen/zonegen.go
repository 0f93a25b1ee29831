package zonegen

import (
	"context"
	"encoding/hex"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ptzone/ptzone/policy"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
)

// Reason says why a candidate is not delegated.
type Reason string

// Reasons a registered domain stays out of its zone.
const (
	ReasonIn            Reason = ""
	ReasonStatus        Reason = "status"         // not active (Art 4, 26.5, 35, 39)
	ReasonNoNameservers Reason = "no-nameservers" // nothing to delegate to (Art 1.4)
	ReasonName          Reason = "name"           // the name breaks the Rules
	ReasonNeverChecked  Reason = "never-checked"  // no passing check yet (Art 4.2)
	ReasonWithheld      Reason = "withheld"       // failing past its grace period (Art 23.2)
	ReasonNotServed     Reason = "zone-not-served"
	// ReasonFixed: the name is one of our zones or a static delegation,
	// delegated as configured whatever the registry holds for it.
	ReasonFixed Reason = "fixed-delegation"
)

// Include is the one decision whether a registered domain is delegated,
// and if not, why. The order is the order an operator asks in: status,
// then technical data, then the gate.
func Include(c store.Candidate, pol *policy.Policy, assumeChecked bool) Reason {
	d := c.Domain
	if !policy.Publishable(d.Status) {
		return ReasonStatus
	}
	if len(d.Nameservers) == 0 {
		return ReasonNoNameservers
	}
	if res := pol.CheckName(d.Name, policy.Options{Mode: policy.Existing}); !res.Valid || res.Name != d.Name {
		return ReasonName
	}
	if assumeChecked {
		return ReasonIn
	}
	switch {
	case c.State == nil || c.State.LastPassed.IsZero():
		return ReasonNeverChecked
	case c.State.Withheld:
		return ReasonWithheld
	}
	return ReasonIn
}

// Source is what zonegen reads: one consistent view of the registry.
// store.Snapshot satisfies it.
type Source interface {
	Domains(ctx context.Context, f store.Filter) iter.Seq2[store.Candidate, error]
}

// Input is everything a build depends on.
type Input struct {
	Source Source
	Policy *policy.Policy
	Now    time.Time
	// PrevSerials are the last serials published, by zone name.
	PrevSerials map[string]uint32
	// ChildDS are the DS records of our own zones, from their KSKs, for
	// the delegations between them (com.pt inside pt).
	ChildDS map[string][]store.DS
	// SecureDelegation, if set, is given the DS RRset of each delegation
	// as it joins a zone, for a signer to sign ahead (dnssec.Presigner):
	// the owner as a key, the records in canonical wire form. The slices
	// are reused once it returns.
	SecureDelegation func(zoneName string, owner []byte, ttl uint32, ds [][]byte)
	// RegistryRead, if set, is called once the registry is read, before
	// the zones are assembled: a signer can then use the core that the
	// reading no longer does.
	RegistryRead func()
	// Only, if not empty, names the zones to build, and only their
	// domains are read: a zone's delegations, glue and serial depend on
	// its own domains and on the configuration alone, so it comes out the
	// same built alone as built with every other zone.
	Only []string
}

// Result is one built zone.
type Result struct {
	Name   string
	Zone   *zone.Zone
	Serial uint32
	// Delegations counts delegated domains (static and internal ones
	// included); Secure those with DS; Glue the glue owners.
	Delegations, Secure, Glue int
	// Excluded counts registered domains left out, by reason.
	Excluded map[Reason]int
	// GlueConflicts counts hosts whose addresses differ between the
	// domains that list them (their union is published).
	GlueConflicts int
	// State lets the next build go on from this one (BuildChanges).
	State *ZoneState
}

type zoneBuild struct {
	name string
	apex zone.Name
	// b is a zone.SplitBuilder for a full build, whose registry streams
	// its table as it lies, in no order; a zone.Builder for one owner.
	b    builder
	res  *Result
	glue *glueIndex
	// ownerBuf and rdataBuf are reused for every delegation: the builder
	// copies what it is given.
	ownerBuf, rdataBuf []byte
	dsBuf              [][]byte
	onDS               func(zoneName string, owner []byte, ttl uint32, ds [][]byte)
	params             ZoneParams
}

// Build builds every configured zone from one pass over the source.
func Build(ctx context.Context, cfg Config, in Input) ([]*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("zone configuration: %w", err)
	}
	for _, z := range in.Only {
		if !slices.Contains(cfg.Zones, z) {
			return nil, fmt.Errorf("zone %s is not one of the zones configured (%s)", z, strings.Join(cfg.Zones, ", "))
		}
	}
	building := func(z string) bool { return len(in.Only) == 0 || slices.Contains(in.Only, z) }
	builds := map[string]*zoneBuild{}
	for _, z := range cfg.Zones {
		if !building(z) {
			continue
		}
		apex, _ := zone.ParseName(z+".", zone.Root)
		builds[z] = &zoneBuild{name: z, apex: apex, b: zone.NewSplitBuilder(apex),
			res: &Result{Name: z, Excluded: map[Reason]int{}}, glue: newGlueIndex(z), onDS: in.SecureDelegation, params: cfg.Params(z)}
	}
	fixed := map[string]bool{}
	for _, d := range fixedDelegations(cfg, in.ChildDS) {
		fixed[d.Name] = true
	}
	filter := store.Filter{Statuses: policy.PublishableStatuses(), DelegationOnly: true, AnyOrder: true}
	if len(builds) == 1 {
		for z := range builds {
			filter.Zone = z // the others' domains need not be read
		}
	}
	// Judged on a goroutine of their own (builds and fixed are only read
	// there): checking every name against the rules is a sixth of a full
	// build's work, and the loop below, which adds to the zones in
	// order, is the one that cannot be spread over cores.
	judge := func(c store.Candidate) Reason {
		if _, served := builds[c.Domain.Zone]; !served {
			return ReasonNotServed
		}
		if fixed[c.Domain.Name] {
			return ReasonFixed
		}
		return Include(c, in.Policy, cfg.AssumeChecked)
	}
	for batch, err := range readAhead(ctx, in.Source, filter, judge) {
		if err != nil {
			return nil, fmt.Errorf("reading the registry: %w", err)
		}
		for i, c := range batch.cands {
			switch r := batch.verdicts[i]; r {
			case ReasonNotServed:
			case ReasonIn:
				zb := builds[c.Domain.Zone]
				if err := zb.addDelegation(c.Domain.Name, c.Domain.Nameservers, c.Domain.DS, zb.params.TTL); err != nil {
					return nil, err
				}
			default:
				builds[c.Domain.Zone].res.Excluded[r]++
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if in.RegistryRead != nil {
		in.RegistryRead()
	}
	// Delegations between our zones, and static ones, go to the zone that
	// is their parent.
	for _, d := range fixedDelegations(cfg, in.ChildDS) {
		parent := parentZone(d.Name, cfg.Zones)
		if parent == "" {
			return nil, fmt.Errorf("static delegation %s: no zone of ours is its parent", d.Name)
		}
		if !building(parent) {
			continue
		}
		if err := builds[parent].addDelegation(d.Name, nameservers(d.Nameservers), d.DS, builds[parent].params.TTL); err != nil {
			return nil, err
		}
	}

	var out []*Result
	for _, z := range cfg.Zones {
		zb := builds[z]
		if zb == nil {
			continue
		}
		serial, err := NextSerial(zb.params.Serial, in.PrevSerials[z], in.Now)
		if err != nil {
			return nil, fmt.Errorf("zone %s: %w", z, err)
		}
		if err := zb.finish(serial); err != nil {
			return nil, fmt.Errorf("zone %s: %w", z, err)
		}
		zb.res.Serial = serial
		zb.res.State = &ZoneState{Fingerprint: Fingerprint(cfg, z, in.Policy), Serial: serial,
			Delegations: zb.res.Delegations, Secure: zb.res.Secure, Glue: zb.res.Glue, GlueConflicts: zb.res.GlueConflicts, glue: zb.glue}
		out = append(out, zb.res)
	}
	return out, nil
}

// judgedBatch is candidates read from the registry, each with the verdict
// of the judge readAhead was given.
type judgedBatch struct {
	cands    []store.Candidate
	verdicts []Reason
}

// readAhead reads the source on one goroutine, judges the candidates on
// another, and yields them in batches: decoding rows (the database
// driver's work), judging them and building the zones then share the
// cores. Stopping early stops both. A batch is reused once the loop body
// it was yielded to returns: keep none of it but its strings.
func readAhead(ctx context.Context, src Source, f store.Filter, judge func(store.Candidate) Reason) iter.Seq2[judgedBatch, error] {
	const batchSize = 1024
	type batch struct {
		judgedBatch
		err error
	}
	return func(yield func(judgedBatch, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		read, judged := make(chan batch, 4), make(chan batch, 4)
		// Batches come back once used: a registry's worth of them was half
		// a gigabyte of garbage.
		free := make(chan judgedBatch, cap(read)+cap(judged)+3)
		send := func(ch chan<- batch, b batch) bool {
			select {
			case ch <- b:
				return true
			case <-ctx.Done():
				return false
			}
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(read)
			next := func() judgedBatch {
				select {
				case b := <-free:
					return b
				default:
					return judgedBatch{make([]store.Candidate, 0, batchSize), make([]Reason, 0, batchSize)}
				}
			}
			cur := next()
			for c, err := range src.Domains(ctx, f) {
				if err != nil {
					send(read, batch{err: err})
					return
				}
				if cur.cands = append(cur.cands, c); len(cur.cands) == batchSize {
					if !send(read, batch{judgedBatch: cur}) {
						return
					}
					cur = next()
				}
			}
			if len(cur.cands) > 0 {
				send(read, batch{judgedBatch: cur})
			}
		})
		wg.Go(func() {
			defer close(judged)
			for b := range read {
				for _, c := range b.cands {
					b.verdicts = append(b.verdicts, judge(c))
				}
				if !send(judged, b) {
					return
				}
			}
		})
		defer func() {
			cancel()
			for range judged { // let the reader finish and close its rows
			}
			for range read {
			}
			wg.Wait()
		}()
		for b := range judged {
			if !yield(b.judgedBatch, b.err) || b.err != nil {
				return
			}
			clear(b.cands) // nothing kept alive by a batch waiting for reuse
			select {
			case free <- judgedBatch{b.cands[:0], b.verdicts[:0]}:
			default:
			}
		}
	}
}

// parentZone returns the longest of our zones strictly above name, or "".
func parentZone(name string, zones []string) string {
	best := ""
	for _, z := range zones {
		if z != name && store.IsSubdomain(name, z) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

func (zb *zoneBuild) addDelegation(name string, hosts []store.Nameserver, ds []store.DS, ttl TTLs) error {
	owner, err := zone.AppendHostKey(zb.ownerBuf[:0], name)
	zb.ownerBuf = owner
	if err != nil {
		return fmt.Errorf("delegation %s: %w", name, err)
	}
	for _, h := range hosts {
		w, err := zone.AppendHostWire(zb.rdataBuf[:0], h.Name)
		zb.rdataBuf = w
		if err != nil {
			return fmt.Errorf("delegation %s: nameserver %s: %w", name, h.Name, err)
		}
		if err := zb.b.AddKey(owner, zone.TypeNS, ttl.NS, w); err != nil {
			return err
		}
		zb.glue.list(h.Name, name, h.Addrs)
	}
	zb.dsBuf = zb.dsBuf[:0]
	for _, d := range ds {
		digest, err := hex.DecodeString(d.Digest)
		if err != nil {
			return fmt.Errorf("delegation %s: DS %d: %w", name, d.KeyTag, err)
		}
		rd := zone.DSRdata(d.KeyTag, d.Algorithm, d.DigestType, digest)
		if err := zb.b.AddKey(owner, zone.TypeDS, ttl.DS, rd); err != nil {
			return err
		}
		zb.dsBuf = append(zb.dsBuf, rd)
	}
	if len(zb.dsBuf) > 0 && zb.onDS != nil {
		zb.onDS(zb.name, owner, ttl.DS, zb.dsBuf)
	}
	zb.res.Delegations++
	if len(ds) > 0 {
		zb.res.Secure++
	}
	return nil
}

// finish adds the apex and the glue, and builds the zone. Glue is added
// only for hosts below a delegation that is published: anything else
// would be orphan glue, or worse, data the zone would answer for.
func (zb *zoneBuild) finish(serial uint32) error {
	zb.b.Sort() // the delegations, for belowDelegation
	cfg := zb.params
	addApex(zb.b, cfg, zb.apex, serial)
	apexHosts := apexHostSet(cfg, zb.name)
	for _, h := range cfg.Nameservers {
		if !apexHosts[h.Name] {
			continue
		}
		n, _ := zone.ParseName(h.Name+".", zone.Root)
		for _, a := range h.Addrs {
			t, rd := zone.AddrRdata(a)
			zb.b.Add(n, t, cfg.TTL.ApexAddr, rd)
		}
	}
	for _, h := range zb.glue.sortedHosts() {
		if apexHosts[h] {
			continue // our own servers' addresses come from configuration
		}
		owner, err := zone.HostName(h)
		if err != nil {
			return fmt.Errorf("glue %s: %w", h, err)
		}
		if !belowDelegation(zb.b, owner, zb.apex) {
			continue
		}
		addrs, conflict := zb.glue.resolve(h)
		if conflict {
			zb.res.GlueConflicts++
		}
		for _, a := range addrs {
			t, rd := zone.AddrRdata(a)
			zb.b.Add(owner, t, cfg.TTL.Glue, rd)
		}
		zb.res.Glue++
	}
	z, err := zb.b.Zone()
	if err != nil {
		return err
	}
	zb.res.Zone = z
	return nil
}

// builder is a zone.Builder or a zone.SplitBuilder.
type builder interface {
	Add(owner zone.Name, typ uint16, ttl uint32, rdata []byte) error
	AddKey(owner []byte, typ uint16, ttl uint32, rdata []byte) error
	Sort()
	Has(owner zone.Name, typ uint16) bool
	Zone() (*zone.Zone, error)
}

// addApex adds the apex's SOA and NS RRsets.
func addApex(b builder, cfg ZoneParams, apex zone.Name, serial uint32) {
	mname, _ := zone.ParseName(cfg.MName+".", zone.Root)
	rname, _ := zone.ParseName(cfg.RName+".", zone.Root)
	soa := zone.SOA{MName: mname, RName: rname, Serial: serial, Refresh: cfg.Refresh, Retry: cfg.Retry, Expire: cfg.Expire, Minimum: cfg.Minimum}
	b.Add(apex, zone.TypeSOA, cfg.TTL.SOA, soa.Rdata())
	for _, h := range cfg.Nameservers {
		n, _ := zone.ParseName(h.Name+".", zone.Root)
		b.Add(apex, zone.TypeNS, cfg.TTL.ApexNS, n.Wire())
	}
}

// apexHostSet returns our own servers that lie inside the zone: their
// addresses come from configuration, never from glue.
func apexHostSet(cfg ZoneParams, zoneName string) map[string]bool {
	set := map[string]bool{}
	for _, h := range cfg.Nameservers {
		if store.IsSubdomain(h.Name, zoneName) {
			set[h.Name] = true
		}
	}
	return set
}

// fixedDelegations are the delegations the registry does not hold: our
// zones inside our zones (com.pt in pt), with DS from their keys, and the
// configured static ones.
func fixedDelegations(cfg Config, childDS map[string][]store.DS) []StaticDelegation {
	var out []StaticDelegation
	for _, z := range cfg.Zones {
		if parentZone(z, cfg.Zones) != "" {
			out = append(out, StaticDelegation{Name: z, Nameservers: cfg.Params(z).Nameservers, DS: childDS[z]})
		}
	}
	return append(out, cfg.StaticDelegations...)
}

func nameservers(hosts []Host) []store.Nameserver {
	out := make([]store.Nameserver, len(hosts))
	for i, h := range hosts {
		out[i] = store.Nameserver{Name: h.Name, Addrs: h.Addrs}
	}
	return out
}

// belowDelegation reports whether name lies strictly below a name that
// has an NS record in the sorted builder b (the apex excluded).
func belowDelegation(b builder, name, apex zone.Name) bool {
	for p := name.Parent(); p.IsStrictlyBelow(apex); p = p.Parent() {
		if b.Has(p, zone.TypeNS) {
			return true
		}
	}
	return false
}
