package dnssec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/zone"
)

// randomChange changes a few owners of an unsigned zone: DS added, changed
// or removed, delegations added (some with glue below) or removed with
// their glue, authoritative names added deep (empty non-terminals above
// them) or removed, and always the SOA serial. It returns the owners'
// new content and the owners that go, as zone.Replace reads them.
func randomChange(t *testing.T, rng *rand.Rand, u *zone.Zone, serial uint32) (*zone.Zone, []zone.Name) {
	t.Helper()
	w := zone.NewBuilder(pt, 0)
	var drop []zone.Name
	touched := map[zone.Name]bool{}
	keep := func(owner zone.Name, skip uint16) {
		if i, ok := u.Find(owner); ok {
			for r := range u.RRsets(i) {
				if r.Type() == skip {
					continue
				}
				for rd := range r.Rdata() {
					w.Add(owner, r.Type(), r.TTL(), rd)
				}
			}
		}
	}
	// The apex, with the next serial.
	soaSet, _ := u.Get(pt, zone.TypeSOA)
	var soa zone.SOA
	for rd := range soaSet.Rdata() {
		soa, _ = zone.ParseSOA(rd)
	}
	soa.Serial = serial
	keep(pt, zone.TypeSOA)
	w.Add(pt, zone.TypeSOA, soaSet.TTL(), soa.Rdata())
	touched[pt] = true

	for range 1 + rng.IntN(6) {
		n := rng.IntN(400)
		name := zone.MustParseName(fmt.Sprintf("dominio-%d.pt.", n))
		if touched[name] {
			continue
		}
		touched[name] = true
		_, exists := u.Find(name)
		switch op := rng.IntN(6); {
		case op == 0 && exists: // the delegation goes, with any glue below
			drop = append(drop, name)
			for i := range u.Owners() {
				if o := u.Owner(i); o.IsStrictlyBelow(name) {
					drop = append(drop, o)
					touched[o] = true
				}
			}
		case op == 1 && exists: // DS added or changed
			keep(name, zone.TypeDS)
			w.Add(name, zone.TypeDS, 86400, zone.DSRdata(uint16(rng.IntN(65536)), 13, 2, bytes.Repeat([]byte{byte(rng.IntN(256))}, 32)))
		case op == 2 && exists: // DS removed
			keep(name, zone.TypeDS)
		case op == 3: // an authoritative name three labels deep
			deep := zone.MustParseName(fmt.Sprintf("www.sub%d.registo.pt.", n))
			if touched[deep] {
				continue
			}
			touched[deep] = true
			if _, ok := u.Find(deep); ok {
				drop = append(drop, deep)
			} else {
				_, a := zone.AddrRdata(netip.AddrFrom4([4]byte{192, 0, 2, byte(n)}))
				w.Add(deep, zone.TypeA, 3600, a)
			}
		default: // a delegation comes (or is replaced), maybe signed, maybe with glue
			if exists {
				drop = append(drop, name)
			}
			ns := zone.MustParseName("ns.hosting.net.").Wire()
			if rng.IntN(3) == 0 {
				host := zone.MustParseName("ns1." + name.String())
				ns = host.Wire()
				_, g := zone.AddrRdata(netip.AddrFrom4([4]byte{198, 51, 100, byte(n)}))
				w.Add(host, zone.TypeA, 86400, g)
				touched[host] = true
			}
			w.Add(name, zone.TypeNS, 86400, ns)
			if rng.IntN(2) == 0 {
				w.Add(name, zone.TypeDS, 86400, zone.DSRdata(uint16(n), 13, 2, bytes.Repeat([]byte{byte(n)}, 32)))
			}
		}
	}
	z, err := w.Zone()
	if err != nil {
		t.Fatal(err)
	}
	return z, drop
}

func zoneText(t *testing.T, z *zone.Zone) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := z.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestSignChangesIsSign: through rounds of random changes, days apart so
// that signatures fall due, SignChanges gives byte for byte the zone Sign
// gives of the changed zone with the same previous zone, and that zone
// verifies.
func TestSignChangesIsSign(t *testing.T) {
	for _, optOut := range []bool{true, false} {
		t.Run(fmt.Sprintf("opt-out=%v", optOut), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(len(fmt.Sprint(optOut)))))
			keys := keysFor(t, kskZsk...)
			opts := func(at time.Time, prev *zone.Zone) dnssec.SignOptions {
				o := dnssec.DefaultSignOptions(at)
				o.NSEC3.OptOut = optOut
				o.Previous = prev
				return o
			}
			prev, err := dnssec.Sign(testZone(t, 300), keys, opts(now, nil))
			if err != nil {
				t.Fatal(err)
			}
			at := now
			for round := range 25 {
				at = at.Add(time.Duration(rng.IntN(40)) * time.Hour)
				unsigned, err := dnssec.Unsigned(prev)
				if err != nil {
					t.Fatal(err)
				}
				with, drop := randomChange(t, rng, unsigned, uint32(1763812800+round+1))
				got, owners, err := dnssec.SignChanges(prev, with, drop, keys, opts(at, prev))
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				changed, err := zone.Replace(unsigned, with, drop)
				if err != nil {
					t.Fatal(err)
				}
				want, err := dnssec.Sign(changed, keys, opts(at, prev))
				if err != nil {
					t.Fatal(err)
				}
				if g, w := zoneText(t, got), zoneText(t, want); g != w {
					for ch := range zone.Diff(want, got) {
						t.Errorf("round %d: %s %s/%s: Sign has %v, SignChanges %v", round, ch.Owner, zone.TypeString(ch.Type), zone.TypeString(ch.Covered), ch.HasOld, ch.HasNew)
					}
					t.FailNow()
				}
				mustVerify(t, got, dnssec.VerifyOptions{Now: at})
				// Every owner that differs is among those it says it wrote.
				wrote := map[zone.Name]bool{}
				for _, o := range owners {
					wrote[o] = true
				}
				for ch := range zone.Diff(prev, got) {
					if !wrote[ch.Owner] {
						t.Fatalf("round %d: %s changed but is not among the owners written", round, ch.Owner)
					}
				}
				prev = got
			}
		})
	}
}

// TestSignChangesNeedsFullSigning: a new key, or other NSEC3 parameters,
// reach every RRset: SignChanges says so rather than sign part of it.
func TestSignChangesNeedsFullSigning(t *testing.T) {
	keys := keysFor(t, kskZsk...)
	prev := sign(t, testZone(t, 20), keys)
	for name, c := range map[string]struct {
		keys []*dnssec.Key
		mod  func(*dnssec.SignOptions)
	}{
		"a new ZSK":          {append(keysFor(t, dnssec.GenerateOptions{SEP: true}), keysFor(t, dnssec.GenerateOptions{})...), nil},
		"NSEC3 salt":         {keys, func(o *dnssec.SignOptions) { o.NSEC3.Salt = []byte{1, 2} }},
		"no more opt-out":    {keys, func(o *dnssec.SignOptions) { o.NSEC3.OptOut = false }},
		"no more ZONEMD":     {keys, func(o *dnssec.SignOptions) { o.ZONEMD = false }},
		"another DNSKEY TTL": {keys, func(o *dnssec.SignOptions) { o.DNSKEYTTL = 7200 }},
	} {
		opt := dnssec.DefaultSignOptions(now.Add(time.Hour))
		if c.mod != nil {
			c.mod(&opt)
		}
		if _, _, err := dnssec.SignChanges(prev, nil, nil, c.keys, opt); !errors.Is(err, dnssec.ErrFullSigning) {
			t.Errorf("%s: %v, want ErrFullSigning", name, err)
		}
	}
}

// TestVerifyTrusted: verifying a changed zone against the zone verified
// before skips the cryptography of the signatures both share, and only
// those: a bad new signature is still found.
func TestVerifyTrusted(t *testing.T) {
	keys := keysFor(t, kskZsk...)
	prev := sign(t, testZone(t, 300), keys)
	rng := rand.New(rand.NewPCG(3, 4))
	unsigned, _ := dnssec.Unsigned(prev)
	with, drop := randomChange(t, rng, unsigned, 1763812801)
	opt := dnssec.DefaultSignOptions(now.Add(time.Hour))
	next, _, err := dnssec.SignChanges(prev, with, drop, keys, opt)
	if err != nil {
		t.Fatal(err)
	}
	r := mustVerify(t, next, dnssec.VerifyOptions{Now: now.Add(time.Hour), Trusted: prev})
	if r.Trusted == 0 || r.Trusted >= r.Signatures {
		t.Fatalf("%d of %d signatures trusted: want most, not all (the SOA's is new)", r.Trusted, r.Signatures)
	}
	// The SOA's new signature, broken, is found.
	bad := testkit.ReplaceRRset(t, next, "pt.", zone.TypeRRSIG, zone.TypeSOA, func(rds [][]byte) [][]byte {
		rds[0][len(rds[0])-3] ^= 1
		return rds
	})
	r = dnssec.Verify(bad, dnssec.VerifyOptions{Now: now.Add(time.Hour), Trusted: prev})
	if !slices.Contains(codes(r), dnssec.ProblemBadSignature) {
		t.Errorf("a broken new signature with a trusted zone: %v", codes(r))
	}
	// Another DNSKEY RRset: nothing is trusted.
	other := sign(t, testZone(t, 300), keysFor(t, kskZsk...))
	r = dnssec.Verify(next, dnssec.VerifyOptions{Now: now.Add(time.Hour), Trusted: other})
	if r.Trusted != 0 {
		t.Errorf("%d signatures trusted from a zone with other keys", r.Trusted)
	}
}

// TestVerifyOptOutRecordsForUnsignedDelegations: when every NSEC3 record
// opts out, unsigned delegations are not hashed unless a record is left
// unclaimed; a record that belongs to an unsigned delegation is then
// claimed, and one that belongs to nothing is still extra.
func TestVerifyOptOutRecordsForUnsignedDelegations(t *testing.T) {
	keys := keysFor(t, kskZsk...)
	full := sign(t, testZone(t, 40), keys, func(o *dnssec.SignOptions) { o.NSEC3.OptOut = false })
	z := full
	for i := 0; ; i++ {
		owner := firstNSEC3(full, i)
		if owner == "" {
			break
		}
		z = testkit.ReplaceRRset(t, z, owner, zone.TypeNSEC3, 0, func(rds [][]byte) [][]byte {
			rds[0][1] |= 1
			return rds
		})
	}
	r := dnssec.Verify(z, dnssec.VerifyOptions{Now: now})
	if slices.Contains(codes(r), dnssec.ProblemNSEC3Extra) || slices.Contains(codes(r), dnssec.ProblemNSEC3Missing) {
		t.Errorf("records of unsigned delegations in an opt-out chain: %v", codes(r))
	}
	// A record for a name that is not there.
	stray := zone.MustParseName("00000000000000000000000000000000.pt.")
	var rd []byte
	for r := range z.All() {
		if r.Type() == zone.TypeNSEC3 {
			for x := range r.Rdata() {
				rd = bytes.Clone(x)
			}
			break
		}
	}
	b := zone.NewBuilder(pt, 1)
	b.Add(stray, zone.TypeNSEC3, 3600, rd)
	extra, _ := b.Zone()
	withStray, err := zone.Merge(z, extra, nil)
	if err != nil {
		t.Fatal(err)
	}
	r = dnssec.Verify(withStray, dnssec.VerifyOptions{Now: now})
	if !slices.Contains(codes(r), dnssec.ProblemNSEC3Extra) {
		t.Errorf("a stray record in an opt-out chain: %v", codes(r))
	}
}

// TestDue: a signed zone needs signing again, its data unchanged, only
// when a signature is due for refresh or the keys or parameters are no
// longer those it was signed with.
func TestDue(t *testing.T) {
	keys := keysFor(t, kskZsk...)
	signed := sign(t, testZone(t, 40), keys)
	day := 24 * time.Hour
	due := func(keys []*dnssec.Key, d time.Duration, mod ...func(*dnssec.SignOptions)) bool {
		t.Helper()
		opt := dnssec.DefaultSignOptions(now.Add(d))
		for _, m := range mod {
			m(&opt)
		}
		got, err := dnssec.Due(signed, keys, opt)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if due(keys, day) {
		t.Error("a day after signing: due, with 13 days of validity left")
	}
	if !due(keys, 8*day) {
		t.Error("eight days after signing: not due, with every signature inside the 7-day refresh window")
	}
	more := append(slices.Clone(keys), keysFor(t, dnssec.GenerateOptions{})...)
	if !due(more, day) {
		t.Error("a key added: not due")
	}
	if !due(keys, day, func(o *dnssec.SignOptions) { o.NSEC3.Salt = []byte{1, 2} }) {
		t.Error("another NSEC3 salt: not due")
	}
	// One signature about to expire is enough.
	owner := firstSigned(signed)
	shortened := testkit.ReplaceRRset(t, signed, owner, zone.TypeRRSIG, zone.TypeDS, func(rds [][]byte) [][]byte {
		binary.BigEndian.PutUint32(rds[0][8:], uint32(now.Add(3*day).Unix())) // expiration
		return rds
	})
	if got, err := dnssec.Due(shortened, keys, dnssec.DefaultSignOptions(now.Add(day))); err != nil || !got {
		t.Errorf("the RRSIG over %s DS expiring in two days: due %v, %v", owner, got, err)
	}
}

// TestSignPending: the zone SignPending returns is Sign's but for the
// apex's ZONEMD record and its signatures, placeholders of the same
// lengths, which fill writes in place: what a build writing the zone
// while the digest is computed relies on, rewriting only the apex.
func TestSignPending(t *testing.T) {
	unsigned := testZone(t, 200)
	keys := keysFor(t, kskZsk...)
	opt := dnssec.DefaultSignOptions(now)
	want := sign(t, unsigned, keys)
	pending, fill, err := dnssec.SignPending(unsigned, keys, opt)
	if err != nil {
		t.Fatal(err)
	}
	if pending.Owners() != want.Owners() {
		t.Fatalf("%d owners pending, %d signed", pending.Owners(), want.Owners())
	}
	apexBefore, _ := pending.AppendOwnerText(nil, 0)
	wantApex, _ := want.AppendOwnerText(nil, 0)
	if string(apexBefore) == string(wantApex) || len(apexBefore) != len(wantApex) {
		t.Fatalf("the pending apex is not a placeholder of the signed one's length:\n%s\nsigned:\n%s", apexBefore, wantApex)
	}
	for i := 1; i < want.Owners(); i++ {
		a, _ := pending.AppendOwnerText(nil, i)
		b, _ := want.AppendOwnerText(nil, i)
		if string(a) != string(b) {
			t.Fatalf("owner %d before fill:\n%s\nsigned:\n%s", i, a, b)
		}
	}
	if err := fill(); err != nil {
		t.Fatal(err)
	}
	if err := fill(); err != nil {
		t.Fatal("a second fill:", err)
	}
	if got, wantText := zoneText(t, pending), zoneText(t, want); got != wantText {
		t.Error("after fill, the zone differs from Sign's")
	}
	mustVerify(t, pending, dnssec.VerifyOptions{Keys: keys})
}

// TestStartVerifyBeforeFill: a verification started on a pending zone,
// full or changed, its digest taken while fill writes the ZONEMD record
// and its signature (under -race, that they do not race), passes once
// they are written, and finds the placeholder when they are not.
func TestStartVerifyBeforeFill(t *testing.T) {
	keys := keysFor(t, kskZsk...)
	unsigned := testZone(t, 300)
	prev := sign(t, unsigned, keys)
	with, drop := randomChange(t, rand.New(rand.NewPCG(5, 6)), unsigned, 1763812801)
	later := now.Add(time.Hour)
	for _, tc := range []struct {
		name    string
		at      time.Time
		pending func() (*zone.Zone, func() error, error)
	}{
		{"full", now, func() (*zone.Zone, func() error, error) {
			return dnssec.SignPending(unsigned, keys, dnssec.DefaultSignOptions(now))
		}},
		{"changed", later, func() (*zone.Zone, func() error, error) {
			z, _, fill, err := dnssec.SignChangesPending(prev, with, drop, keys, dnssec.DefaultSignOptions(later))
			return z, fill, err
		}},
	} {
		z, fill, err := tc.pending()
		if err != nil {
			t.Fatal(err)
		}
		finish := dnssec.StartVerify(z, dnssec.VerifyOptions{Now: tc.at, Keys: keys})
		if err := fill(); err != nil {
			t.Fatal(err)
		}
		if r := finish(); !r.OK() {
			t.Errorf("%s: started before fill, verified after: %v", tc.name, r.Problems)
		}

		z, _, err = tc.pending()
		if err != nil {
			t.Fatal(err)
		}
		if r := dnssec.StartVerify(z, dnssec.VerifyOptions{Now: tc.at})(); !slices.Contains(codes(r), dnssec.ProblemZONEMDMismatch) {
			t.Errorf("%s: the placeholder never filled passed: %v", tc.name, codes(r))
		}
	}
}

// BenchmarkSign signs a zone of 100,000 delegations (25,000 with DS) with
// a KSK and a ZSK, ZONEMD included: the whole of a full build's signing
// but the signatures made ahead (Presigner).
func BenchmarkSign(b *testing.B) {
	unsigned := testZone(b, 100000)
	keys := keysFor(b, kskZsk...)
	opt := dnssec.DefaultSignOptions(now)
	for b.Loop() {
		if _, err := dnssec.Sign(unsigned, keys, opt); err != nil {
			b.Fatal(err)
		}
	}
}
