package dnssec_test

import (
	"bytes"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/internal/testkit"
	"github.com/ptzone/ptzone/zone"
)

var (
	pt  = zone.MustParseName("pt.")
	now = testkit.FixedTime
)

// testZone builds an unsigned pt zone: the apex with its servers, n
// delegations (every fourth with DS, every tenth with glue), an
// authoritative name two labels deep (an empty non-terminal above it) and
// an internal delegation with DS.
func testZone(t testing.TB, n int) *zone.Zone {
	t.Helper()
	b := zone.NewBuilder(pt, n*3)
	add := func(owner string, typ uint16, ttl uint32, rd []byte) {
		if err := b.Add(zone.MustParseName(owner), typ, ttl, rd); err != nil {
			t.Fatal(err)
		}
	}
	soa := zone.SOA{MName: zone.MustParseName("a.dns.pt."), RName: zone.MustParseName("hostmaster.dns.pt."),
		Serial: 1763812800, Refresh: 1800, Retry: 900, Expire: 604800, Minimum: 3600}
	add("pt.", zone.TypeSOA, 3600, soa.Rdata())
	for _, h := range []string{"a.dns.pt.", "b.dns.pt."} {
		add("pt.", zone.TypeNS, 172800, zone.MustParseName(h).Wire())
	}
	_, a := zone.AddrRdata(netip.MustParseAddr("192.0.2.53"))
	_, aaaa := zone.AddrRdata(netip.MustParseAddr("2001:db8::53"))
	add("a.dns.pt.", zone.TypeA, 172800, a)
	add("b.dns.pt.", zone.TypeAAAA, 172800, aaaa)
	add("www.registo.pt.", zone.TypeA, 3600, a) // registo.pt. is an empty non-terminal
	add("com.pt.", zone.TypeNS, 172800, zone.MustParseName("a.dns.pt.").Wire())
	add("com.pt.", zone.TypeDS, 86400, zone.DSRdata(4242, 13, 2, bytes.Repeat([]byte{0xab}, 32)))
	for i := range n {
		name := fmt.Sprintf("dominio-%d.pt.", i)
		if i%10 == 0 {
			add(name, zone.TypeNS, 86400, zone.MustParseName("ns1."+name).Wire())
			ip := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
			_, g := zone.AddrRdata(ip)
			add("ns1."+name, zone.TypeA, 86400, g)
		}
		add(name, zone.TypeNS, 86400, zone.MustParseName("ns.hosting.net.").Wire())
		if i%4 == 0 {
			add(name, zone.TypeDS, 86400, zone.DSRdata(uint16(i), 13, 2, bytes.Repeat([]byte{byte(i)}, 32)))
		}
	}
	z, err := b.Zone()
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// keysFor makes keys for pt, one per spec, active from an hour before
// now.
func keysFor(t testing.TB, specs ...dnssec.GenerateOptions) []*dnssec.Key {
	t.Helper()
	return testkit.GenerateKeys(t, pt, now.Add(-time.Hour), specs...)
}

var kskZsk = []dnssec.GenerateOptions{{SEP: true}, {}}

// sign signs z with keys at now.
func sign(t testing.TB, z *zone.Zone, keys []*dnssec.Key, mod ...func(*dnssec.SignOptions)) *zone.Zone {
	t.Helper()
	return testkit.Sign(t, z, keys, now, mod...)
}

func codes(r *dnssec.Report) []string {
	var c []string
	for _, p := range r.Problems {
		c = append(c, p.Code)
	}
	slices.Sort(c)
	return slices.Compact(c)
}

func mustVerify(t *testing.T, z *zone.Zone, opt dnssec.VerifyOptions) *dnssec.Report {
	t.Helper()
	if opt.Now.IsZero() {
		opt.Now = now
	}
	r := dnssec.Verify(z, opt)
	if !r.OK() {
		for _, p := range r.Problems {
			t.Error(p)
		}
		t.FailNow()
	}
	return r
}

func TestSignAndVerify(t *testing.T) {
	cases := map[string][]dnssec.GenerateOptions{
		"ECDSA KSK+ZSK":         kskZsk,
		"ECDSA CSK":             {{SEP: true}},
		"RSASHA256 KSK+ZSK":     {{SEP: true, Algorithm: dnssec.RSASHA256}, {Algorithm: dnssec.RSASHA256}},
		"Ed25519 CSK":           {{SEP: true, Algorithm: dnssec.ED25519}},
		"two algorithms (13+8)": {{SEP: true}, {}, {SEP: true, Algorithm: dnssec.RSASHA256}, {Algorithm: dnssec.RSASHA256}},
	}
	unsigned := testZone(t, 200)
	for name, spec := range cases {
		t.Run(name, func(t *testing.T) {
			keys := keysFor(t, spec...)
			signed := sign(t, unsigned, keys)
			var parent []dnssec.DS
			for _, k := range keys {
				if k.SEP() {
					ds, _ := k.DS(2)
					parent = append(parent, ds)
				}
			}
			r := mustVerify(t, signed, dnssec.VerifyOptions{ParentDS: parent, Keys: keys})
			if r.Delegations != 201 || r.SignedDelegations != 51 {
				t.Errorf("delegations %d (%d signed), want 201 (51)", r.Delegations, r.SignedDelegations)
			}
			wantExp := now.Add(14 * 24 * time.Hour)
			if r.EarliestExpiration.After(wantExp) || r.EarliestExpiration.Before(wantExp.Add(-12*time.Hour)) {
				t.Errorf("earliest expiration %s, want within the 12 h jitter before %s", r.EarliestExpiration, wantExp)
			}
		})
	}
}

// TestSignedZoneShape: NSEC3 records only for the apex, authoritative
// names, signed delegations and empty non-terminals; no RRSIG over
// delegation NS or glue.
func TestSignedZoneShape(t *testing.T) {
	signed := sign(t, testZone(t, 40), keysFor(t, kskZsk...))
	nsec3s, sigsOverNS := 0, 0
	for r := range signed.All() {
		switch {
		case r.Type() == zone.TypeNSEC3:
			nsec3s++
			for rd := range r.Rdata() {
				if rd[1]&1 != 1 {
					t.Errorf("%s: NSEC3 without the opt-out flag", r.Owner())
				}
			}
		case r.Type() == zone.TypeRRSIG && r.Covered() == zone.TypeNS && r.Owner() != pt:
			sigsOverNS++
		case r.Type() == zone.TypeRRSIG && strings.HasPrefix(r.Owner().String(), "ns1."):
			t.Errorf("glue %s is signed", r.Owner())
		}
	}
	// apex, a.dns, b.dns, dns (ENT), www.registo, registo (ENT), com.pt,
	// and the 10 delegations with DS.
	if nsec3s != 7+10 {
		t.Errorf("%d NSEC3 records, want 17", nsec3s)
	}
	if sigsOverNS != 0 {
		t.Errorf("%d signatures over delegation NS", sigsOverNS)
	}
	// Without opt-out every delegation is in the chain.
	full := sign(t, testZone(t, 40), keysFor(t, kskZsk...), func(o *dnssec.SignOptions) { o.NSEC3.OptOut = false })
	n := 0
	for r := range full.All() {
		if r.Type() == zone.TypeNSEC3 {
			n++
		}
	}
	if n != 7+40 {
		t.Errorf("without opt-out: %d NSEC3 records, want 47", n)
	}
	mustVerify(t, full, dnssec.VerifyOptions{})
}

// TestDeterministic: the same zone, keys and time give the same bytes.
func TestDeterministic(t *testing.T) {
	unsigned := testZone(t, 100)
	keys := keysFor(t, kskZsk...)
	write := func(z *zone.Zone) []byte {
		var b bytes.Buffer
		if _, err := z.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a := write(sign(t, unsigned, keys))
	b := write(sign(t, unsigned, keys, func(o *dnssec.SignOptions) { o.Workers = 1 }))
	if !bytes.Equal(a, b) {
		t.Fatal("two signings of the same zone differ")
	}
	c := write(sign(t, unsigned, keys, func(o *dnssec.SignOptions) { o.Now = now.Add(time.Second) }))
	if bytes.Equal(a, c) {
		t.Fatal("signing at another time gave the same zone")
	}
}

func firstSigned(z *zone.Zone) string {
	for r := range z.All() {
		if r.Type() == zone.TypeDS && r.Owner() != zone.MustParseName("com.pt.") {
			return r.Owner().String()
		}
	}
	return ""
}

func firstNSEC3(z *zone.Zone, skip int) string {
	for r := range z.All() {
		if r.Type() == zone.TypeNSEC3 {
			if skip == 0 {
				return r.Owner().String()
			}
			skip--
		}
	}
	return ""
}

// TestVerifierRejects: one test each for the failures the issue names.
func TestVerifierRejects(t *testing.T) {
	keys := keysFor(t, kskZsk...)
	good := sign(t, testZone(t, 60), keys)
	mustVerify(t, good, dnssec.VerifyOptions{})
	ds := firstSigned(good)

	cases := []struct {
		name string
		zone func() *zone.Zone
		opt  dnssec.VerifyOptions
		want string
	}{
		{"flipped RRSIG byte", func() *zone.Zone {
			return testkit.ReplaceRRset(t, good, ds, zone.TypeRRSIG, zone.TypeDS, func(rds [][]byte) [][]byte {
				rds[0][len(rds[0])-1] ^= 0x01
				return rds
			})
		}, dnssec.VerifyOptions{}, dnssec.ProblemBadSignature},
		{"removed NSEC3", func() *zone.Zone {
			owner := firstNSEC3(good, 3)
			z := testkit.ReplaceRRset(t, good, owner, zone.TypeNSEC3, 0, func([][]byte) [][]byte { return nil })
			return testkit.ReplaceRRset(t, z, owner, zone.TypeRRSIG, zone.TypeNSEC3, func([][]byte) [][]byte { return nil })
		}, dnssec.VerifyOptions{}, dnssec.ProblemNSEC3Missing},
		{"out-of-order NSEC3 chain", func() *zone.Zone {
			// Point the first record past its successor.
			owner := firstNSEC3(good, 0)
			third := firstNSEC3(good, 2)
			hash, _ := base32HexDecode(strings.SplitN(third, ".", 2)[0])
			return testkit.ReplaceRRset(t, good, owner, zone.TypeNSEC3, 0, func(rds [][]byte) [][]byte {
				rd := rds[0]
				saltLen := int(rd[4])
				copy(rd[6+saltLen:], hash)
				return rds
			})
		}, dnssec.VerifyOptions{}, dnssec.ProblemNSEC3Chain},
		{"missing algorithm signature", func() *zone.Zone {
			// A second algorithm whose keys sign nothing but the DNSKEY RRset.
			extra := keysFor(t, dnssec.GenerateOptions{SEP: true, Algorithm: dnssec.ED25519})
			both := sign(t, testZone(t, 60), append(keys, extra...), func(o *dnssec.SignOptions) {})
			return testkit.ReplaceRRset(t, both, ds, zone.TypeRRSIG, zone.TypeDS, func(rds [][]byte) [][]byte {
				var keep [][]byte
				for _, rd := range rds {
					if rd[2] != dnssec.ED25519 {
						keep = append(keep, rd)
					}
				}
				return keep
			})
		}, dnssec.VerifyOptions{}, dnssec.ProblemMissingAlg},
		{"expired RRSIG", func() *zone.Zone { return good },
			dnssec.VerifyOptions{Now: now.Add(15 * 24 * time.Hour)}, dnssec.ProblemExpired},
		{"RRSIG over a delegation NS", func() *zone.Zone {
			apexSig, _ := good.GetSig(0, zone.TypeSOA)
			var sig []byte
			for rd := range apexSig.Rdata() {
				sig = bytes.Clone(rd)
			}
			binary.BigEndian.PutUint16(sig, zone.TypeNS)
			return testkit.ReplaceRRset(t, good, ds, zone.TypeRRSIG, zone.TypeNS, func([][]byte) [][]byte { return [][]byte{sig} })
		}, dnssec.VerifyOptions{}, dnssec.ProblemOverDelegation},
		{"no DNSKEY matching the parent DS", func() *zone.Zone { return good },
			dnssec.VerifyOptions{ParentDS: func() []dnssec.DS {
				other := keysFor(t, dnssec.GenerateOptions{SEP: true})
				d, _ := other[0].DS(2)
				return []dnssec.DS{d}
			}()}, dnssec.ProblemNoParentMatch},
		{"two keys with one tag", func() *zone.Zone {
			return testkit.ReplaceRRset(t, good, "pt.", zone.TypeDNSKEY, 0, func(rds [][]byte) [][]byte {
				return append(rds, collidingDNSKEY(t, rds[0]))
			})
		}, dnssec.VerifyOptions{}, dnssec.ProblemTagCollision},
		{"private key not matching its DNSKEY", func() *zone.Zone { return good },
			dnssec.VerifyOptions{Keys: func() []*dnssec.Key {
				impostor := *keys[1]
				impostor.Signer = keysFor(t, dnssec.GenerateOptions{})[0].Signer
				return []*dnssec.Key{keys[0], &impostor}
			}()}, dnssec.ProblemKeyMismatch},
		{"zone changed after ZONEMD", func() *zone.Zone {
			return testkit.ReplaceRRset(t, good, "a.dns.pt.", zone.TypeA, 0, func(rds [][]byte) [][]byte {
				rds[0][3]++
				return rds
			})
		}, dnssec.VerifyOptions{}, dnssec.ProblemZONEMDMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opt := c.opt
			if opt.Now.IsZero() {
				opt.Now = now
			}
			r := dnssec.Verify(c.zone(), opt)
			if !slices.Contains(codes(r), c.want) {
				t.Errorf("problems %v, want %s", r.Problems, c.want)
			}
		})
	}
}

func lastSigned(z *zone.Zone) string {
	last := ""
	for r := range z.All() {
		if r.Type() == zone.TypeDS {
			last = r.Owner().String()
		}
	}
	return last
}

// TestVerifierOnALargerZone: past a few hundred signatures a key verifies
// with its table of multiples (p256.go); a bad signature met then is still
// refused, and an unsigned delegation outside any opt-out span is found
// among a thousand others.
func TestVerifierOnALargerZone(t *testing.T) {
	keys := keysFor(t, kskZsk...)
	good := sign(t, testZone(t, 1500), keys)
	r := mustVerify(t, good, dnssec.VerifyOptions{Workers: 1})
	if r.Signatures < 600 {
		t.Fatalf("%d signatures: too few for the table path", r.Signatures)
	}
	last := lastSigned(good)
	flipped := testkit.ReplaceRRset(t, good, last, zone.TypeRRSIG, zone.TypeDS, func(rds [][]byte) [][]byte {
		rds[0][len(rds[0])-7] ^= 0x20
		return rds
	})
	r = dnssec.Verify(flipped, dnssec.VerifyOptions{Now: now, Workers: 1})
	found := false
	for _, p := range r.Problems {
		found = found || p.Code == dnssec.ProblemBadSignature && p.Owner == last
	}
	if !found {
		t.Errorf("a flipped signature at %s: problems %v", last, r.Problems)
	}
	// Clear the opt-out flag of every NSEC3: unsigned delegations are then
	// denied by the chain.
	z := good
	for i := 0; ; i++ {
		owner := firstNSEC3(good, i)
		if owner == "" {
			break
		}
		z = testkit.ReplaceRRset(t, z, owner, zone.TypeNSEC3, 0, func(rds [][]byte) [][]byte {
			rds[0][1] &^= 1
			return rds
		})
	}
	r = dnssec.Verify(z, dnssec.VerifyOptions{Now: now})
	if !slices.Contains(codes(r), dnssec.ProblemNSEC3Missing) {
		t.Errorf("a chain without opt-out over unsigned delegations: problems %v", codes(r))
	}
}

func base32HexDecode(s string) ([]byte, error) {
	return base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding).DecodeString(s)
}

// collidingDNSKEY returns DNSKEY rdata with the key tag of rd and another
// public key: the tag is a ones'-complement-like sum of 16-bit words, so
// raising one word's high octet and lowering another's keeps it.
func collidingDNSKEY(t *testing.T, rd []byte) []byte {
	c := bytes.Clone(rd)
	for i := 4; i+2 < len(c); i += 2 {
		if c[i] < 0xff && c[i+2] > 0 {
			c[i]++
			c[i+2]--
			if keyTag(c) != keyTag(rd) {
				t.Fatal("the crafted key has another tag")
			}
			return c
		}
	}
	t.Fatal("no collision found")
	return nil
}

func keyTag(rd []byte) uint16 {
	var ac uint32
	for i, b := range rd {
		if i&1 == 1 {
			ac += uint32(b)
		} else {
			ac += uint32(b) << 8
		}
	}
	ac += ac >> 16 & 0xffff
	return uint16(ac)
}

func TestGenerateRefusesTagCollisions(t *testing.T) {
	keys := keysFor(t, kskZsk...)
	// Claim every tag but a handful: generation must land on a free one or
	// give up, never return a colliding key.
	taken := make([]*dnssec.Key, 0, 65536)
	for tag := 0; tag < 65536; tag++ {
		if tag%4096 == 7 {
			continue
		}
		taken = append(taken, &dnssec.Key{Tag: uint16(tag)})
	}
	k, err := dnssec.Generate(pt, dnssec.GenerateOptions{}, now, taken)
	if err == nil && k.Tag%4096 != 7 {
		t.Errorf("generated key with taken tag %d", k.Tag)
	}
	if err := dnssec.CheckKeySet(append(keys, &dnssec.Key{Tag: keys[0].Tag, DNSKEY: keys[0].DNSKEY, Zone: pt})); err == nil {
		t.Error("CheckKeySet accepted a tag collision")
	}
}

// TestRFC6605Example checks ECDSA P-256 verification against the signed
// example of RFC 6605 §6.1, so that the verifier speaks the RFC's wire
// format, not only our own.
func TestParseDS(t *testing.T) {
	keys := keysFor(t, dnssec.GenerateOptions{SEP: true})
	ds, _ := keys[0].DS(2)
	text := "; the parent's DS\npt. 86400 IN DS " + ds.String() + "\n\n" + ds.String() + "\n"
	got, err := dnssec.ParseDS([]byte(text), "ds.txt")
	if err != nil || len(got) != 2 || got[0].String() != ds.String() || got[1].KeyTag != ds.KeyTag {
		t.Errorf("ParseDS = %v, %v", got, err)
	}
	if _, err := dnssec.ParseDS([]byte("1 2 3 XY\n"), "ds.txt"); err == nil || !strings.Contains(err.Error(), "ds.txt:1") {
		t.Errorf("bad digest: %v", err)
	}
	if _, err := dnssec.ParseDS([]byte("; the parent's DS\n\n1 2 3 "+strings.Repeat("AB", 40<<10)+"\n"), "ds.txt"); err == nil || !strings.HasPrefix(err.Error(), "ds.txt:3: ") {
		t.Errorf("a line too long to read: %v", err)
	}
}

func TestRFC6605Example(t *testing.T) {
	var rrs []dns.RR
	for _, s := range []string{
		"example.net. 3600 IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
		"www.example.net. 3600 IN A 192.0.2.1",
		"www.example.net. 3600 IN RRSIG A 13 3 3600 20100909100439 20100812100439 55648 example.net. qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==",
	} {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		rrs = append(rrs, rr)
	}
	if err := rrs[2].(*dns.RRSIG).Verify(rrs[0].(*dns.DNSKEY), rrs[1:2]); err != nil {
		t.Fatalf("the RFC 6605 example does not verify: %v", err)
	}
}

// TestSignKeepsSignatures: signing again with the previous zone keeps
// every signature of an unchanged RRset until it is due for refresh, and
// re-signs exactly what changed.
func TestSignKeepsSignatures(t *testing.T) {
	keys := keysFor(t, kskZsk...)
	unsigned := testZone(t, 80)
	s0 := sign(t, unsigned, keys)
	day := 24 * time.Hour
	at := func(d time.Duration, prev *zone.Zone) func(*dnssec.SignOptions) {
		return func(o *dnssec.SignOptions) { o.Now, o.Previous = now.Add(d), prev }
	}

	same := sign(t, unsigned, keys, at(day, s0))
	for ch := range zone.Diff(s0, same) {
		t.Errorf("a day later, nothing changed, yet %s %s %s changed", ch.Owner, zone.TypeString(ch.Type), zone.TypeString(ch.Covered))
	}

	changedOwner := firstSigned(unsigned)
	u2 := testkit.ReplaceRRset(t, unsigned, changedOwner, zone.TypeDS, 0, func(rds [][]byte) [][]byte {
		rds[0][4] ^= 0xff
		return rds
	})
	s1 := sign(t, u2, keys, at(day, s0))
	var got []string
	for ch := range zone.Diff(s0, s1) {
		got = append(got, ch.Owner.String()+" "+zone.TypeString(ch.Type)+"/"+zone.TypeString(ch.Covered))
	}
	want := []string{"pt. ZONEMD/None", "pt. RRSIG/ZONEMD", changedOwner + " DS/None", changedOwner + " RRSIG/DS"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("one DS changed: the zone changed in %v, want %v", got, want)
	}
	mustVerify(t, s1, dnssec.VerifyOptions{Now: now.Add(day)})

	// Eight days on, every signature has less than the 7-day refresh left.
	late := sign(t, unsigned, keys, at(8*day, s0))
	for r := range late.All() {
		if r.Type() != zone.TypeRRSIG {
			continue
		}
		i, _ := s0.Find(r.Owner())
		if old, ok := s0.GetSig(i, r.Covered()); ok && bytes.Equal(old.Block(), r.Block()) {
			t.Errorf("%s RRSIG %s kept past its refresh time", r.Owner(), zone.TypeString(r.Covered()))
		}
	}
	mustVerify(t, late, dnssec.VerifyOptions{Now: now.Add(8 * day)})
}

// TestPresignedIsSigned: a Presigner given the zone's DS RRsets, some of
// them as they are not in the zone (other records, another TTL), makes
// Sign give byte for byte the zone it gives alone, and Sign takes exactly
// the presigned signatures over RRsets the zone holds as offered. With a
// previous zone, what Sign keeps from it is not presigned.
func TestPresignedIsSigned(t *testing.T) {
	unsigned := testZone(t, 200)
	keys := keysFor(t, kskZsk...)
	write := func(z *zone.Zone) string {
		var b bytes.Buffer
		if _, err := z.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	// offer gives p every delegation's DS RRset; the first two go in
	// changed (a record flipped, another TTL), so only the others match.
	offer := func(p *dnssec.Presigner, changeFirst bool) (offered int) {
		for i := range unsigned.Owners() {
			ds, ok := unsigned.GetAt(i, zone.TypeDS)
			if !ok || unsigned.Owner(i) == pt {
				continue
			}
			var rds [][]byte
			for rd := range ds.Rdata() {
				rds = append(rds, bytes.Clone(rd))
			}
			ttl := ds.TTL()
			switch {
			case changeFirst && offered == 0:
				rds[0][4] ^= 0xff
			case changeFirst && offered == 1:
				ttl++
			}
			p.Offer(unsigned.OwnerKey(i), ttl, rds)
			offered++
		}
		return offered
	}

	want := write(sign(t, unsigned, keys))
	opt := dnssec.DefaultSignOptions(now)
	p, err := dnssec.NewPresigner(pt, keys, opt)
	if err != nil {
		t.Fatal(err)
	}
	offered := offer(p, true)
	p.Wait()
	opt.Presigner = p
	got, err := dnssec.Sign(unsigned, keys, opt)
	if err != nil {
		t.Fatal(err)
	}
	if write(got) != want {
		t.Fatal("the zone signed with presigned DS signatures differs from the zone signed alone")
	}
	presigned, used := p.Stats()
	if presigned != offered || used != offered-2 {
		t.Errorf("%d DS RRsets offered, 2 of them changed: %d presigned, %d taken; want %d and %d", offered, presigned, used, offered, offered-2)
	}

	// A day later, with the zone above as the previous one: every DS
	// signature is kept, so none is made in advance.
	later := opt
	later.Now, later.Previous = now.Add(24*time.Hour), got
	p2, err := dnssec.NewPresigner(pt, keys, later)
	if err != nil {
		t.Fatal(err)
	}
	offer(p2, false)
	p2.Wait()
	if n, _ := p2.Stats(); n != 0 {
		t.Errorf("%d DS RRsets presigned whose signatures the previous zone holds", n)
	}

	// A Presigner made for another time is refused.
	p3, err := dnssec.NewPresigner(pt, keys, dnssec.DefaultSignOptions(now.Add(time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	other := dnssec.DefaultSignOptions(now)
	other.Presigner = p3
	if _, err := dnssec.Sign(unsigned, keys, other); err == nil {
		t.Error("Sign took signatures presigned for another time")
	}
}

// TestKeyStateAndRole: a key's state follows its timing (RFC 6781 §4.1:
// published before it signs, retired before it is removed), and a SEP
// key is a KSK only beside a ZSK of its algorithm.
func TestKeyStateAndRole(t *testing.T) {
	day := 24 * time.Hour
	k := &dnssec.Key{DNSKEY: keysFor(t, dnssec.GenerateOptions{SEP: true})[0].DNSKEY,
		Timing: dnssec.Timing{Publish: now, Activate: now.Add(day), Inactive: now.Add(3 * day), Delete: now.Add(4 * day)}}
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{now.Add(-time.Hour), "created"}, {now, "published"}, {now.Add(day), "active"},
		{now.Add(3 * day), "retired"}, {now.Add(4 * day), "removed"},
	} {
		if got := k.State(c.at); got != c.want {
			t.Errorf("at %s: %s, want %s", c.at.Sub(now), got, c.want)
		}
	}
	keys := keysFor(t, kskZsk...)
	if dnssec.Role(keys[0], keys) != "KSK" || dnssec.Role(keys[1], keys) != "ZSK" || dnssec.Role(keys[0], keys[:1]) != "CSK" {
		t.Errorf("roles: %s %s %s", dnssec.Role(keys[0], keys), dnssec.Role(keys[1], keys), dnssec.Role(keys[0], keys[:1]))
	}
}

// BenchmarkVerify verifies a signed zone of 100,000 delegations (25,000
// with DS) with ZONEMD: every signature, the NSEC3 chain and the digest.
func BenchmarkVerify(b *testing.B) {
	signed := sign(b, testZone(b, 100000), keysFor(b, kskZsk...))
	for b.Loop() {
		if r := dnssec.Verify(signed, dnssec.VerifyOptions{Now: now}); !r.OK() {
			b.Fatal(r.Problems)
		}
	}
}

// BenchmarkZONEMDDigest digests a signed zone of 100,000 delegations, by
// the signer's code and by the verifier's own.
func BenchmarkZONEMDDigest(b *testing.B) {
	signed := sign(b, testZone(b, 100000), keysFor(b, kskZsk...))
	b.Run("signer", func(b *testing.B) {
		for b.Loop() {
			dnssec.ZONEMDDigest(signed.All())
		}
	})
	b.Run("verifier", func(b *testing.B) {
		for b.Loop() {
			dnssec.VerifierZoneDigest(signed)
		}
	})
}
