package zone_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/zone"
)

// TestCanonicalOrder uses the example of RFC 4034 §6.1 verbatim.
func TestCanonicalOrder(t *testing.T) {
	want := []string{
		"example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.",
		"z.example.", `\001.z.example.`, `*.z.example.`, `\200.z.example.`,
	}
	var names []zone.Name
	for _, s := range want {
		names = append(names, zone.MustParseName(s))
	}
	shuffled := slices.Clone(names)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	slices.SortFunc(shuffled, zone.Compare)
	if !slices.Equal(shuffled, names) {
		var got []string
		for _, n := range shuffled {
			got = append(got, n.String())
		}
		t.Errorf("canonical order:\n got  %v\n want %v", got, want)
	}
}

func TestNames(t *testing.T) {
	for _, s := range []string{".", "pt.", "exemplo.pt.", `a\.b.pt.`, `\000\001\255.pt.`, `x\"y.pt.`, "xn--caf-dma.pt."} {
		n := zone.MustParseName(s)
		if got := n.String(); got != s {
			t.Errorf("ParseName(%q).String() = %q", s, got)
		}
		back, used, err := zone.NameFromWire(append(n.Wire(), 0xff))
		if err != nil || back != n || used != len(n.Wire()) {
			t.Errorf("%s: wire round trip = %q %d %v", s, back, used, err)
		}
	}
	n := zone.MustParseName("NS1.Exemplo.PT.")
	if n.String() != "ns1.exemplo.pt." || n.Labels() != 3 || n.Parent().String() != "exemplo.pt." || n.Parent().Parent().Parent() != zone.Root {
		t.Errorf("%s: labels %d parent %s", n, n.Labels(), n.Parent())
	}
	if !n.IsBelow(zone.MustParseName("pt.")) || n.IsBelow(zone.MustParseName("t.")) || !n.IsStrictlyBelow(n.Parent()) || n.IsStrictlyBelow(n) {
		t.Error("IsBelow/IsStrictlyBelow")
	}
	if string(n.FirstLabel()) != "ns1" || n.Parent().Child([]byte("Www")).String() != "www.exemplo.pt." {
		t.Error("FirstLabel/Child")
	}
	// Labels with the bytes the key escapes come back raw.
	for _, l := range [][]byte{{0}, {1}, {'a', 0, 'b', 1, 2}, []byte("*")} {
		if got := n.Child(l).FirstLabel(); !bytes.Equal(got, l) {
			t.Errorf("FirstLabel of %q below %s = %q", l, n, got)
		}
	}
	if zone.Root.FirstLabel() != nil {
		t.Error("the root has a first label")
	}
	rel, err := zone.ParseName("ns1", zone.MustParseName("exemplo.pt."))
	if err != nil || rel.String() != "ns1.exemplo.pt." {
		t.Errorf("relative: %v %v", rel, err)
	}
	for _, bad := range []string{"", "a..pt.", `a\25.pt.`, `a\999.pt.`, strings.Repeat("a", 64) + ".pt.", strings.Repeat("abcdefgh.", 32)} {
		if _, err := zone.ParseName(bad, zone.Root); err == nil {
			t.Errorf("ParseName(%q) accepted it", bad)
		}
	}
}

var pt = zone.MustParseName("pt.")

func ns(target string) []byte { return zone.MustParseName(target).Wire() }

func TestBuilder(t *testing.T) {
	b := zone.NewBuilder(pt, 0)
	add := func(owner string, typ uint16, ttl uint32, rd []byte) {
		t.Helper()
		if err := b.Add(zone.MustParseName(owner), typ, ttl, rd); err != nil {
			t.Fatal(err)
		}
	}
	_, a1 := zone.AddrRdata(netip.MustParseAddr("192.0.2.1"))
	add("zebra.pt.", zone.TypeNS, 86400, ns("b.dns.pt."))
	add("zebra.pt.", zone.TypeNS, 86400, ns("a.dns.pt."))
	add("zebra.pt.", zone.TypeNS, 86400, ns("a.dns.pt.")) // duplicate: dropped
	add("abelha.pt.", zone.TypeNS, 86400, ns("b.dns.pt."))
	add("abelha.pt.", zone.TypeNS, 86400, ns("a.dns.pt."))
	add("ns1.abelha.pt.", zone.TypeA, 86400, a1)
	add("abelha.pt.", zone.TypeDS, 3600, zone.DSRdata(1, 13, 2, make([]byte, 32)))
	add("pt.", zone.TypeNS, 172800, ns("a.dns.pt."))
	z, err := b.Zone()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for r := range z.All() {
		got = append(got, r.Owner().String()+"/"+zone.TypeString(r.Type()))
	}
	want := []string{"pt./NS", "abelha.pt./NS", "abelha.pt./DS", "ns1.abelha.pt./A", "zebra.pt./NS"}
	if !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	zebra, _ := z.Get(zone.MustParseName("zebra.pt."), zone.TypeNS)
	abelha, _ := z.Get(zone.MustParseName("abelha.pt."), zone.TypeNS)
	if zebra.Len() != 2 || !zebra.Equal(abelha) {
		t.Errorf("NS sets: %d records; equal %v", zebra.Len(), zebra.Equal(abelha))
	}
	var targets []string
	for rd := range zebra.Rdata() {
		n, _, _ := zone.NameFromWire(rd)
		targets = append(targets, n.String())
	}
	if !slices.Equal(targets, []string{"a.dns.pt.", "b.dns.pt."}) {
		t.Errorf("rdata not in canonical order: %v", targets)
	}
	if st := z.Stats(); st.Owners != 4 || st.RRsets != 5 || st.Records != 7 {
		t.Errorf("stats %+v", st)
	}
	if i, ok := z.Find(zone.MustParseName("m.pt.")); ok || z.Owner(i).String() != "zebra.pt." {
		t.Errorf("Find(m.pt.) = %d %v", i, ok)
	}

	b = zone.NewBuilder(pt, 0)
	if err := b.Add(zone.MustParseName("exemplo.com."), zone.TypeNS, 1, ns("a.pt.")); !errors.Is(err, zone.ErrOutOfZone) {
		t.Errorf("out of zone: %v", err)
	}
	b.Add(zone.MustParseName("x.pt."), zone.TypeNS, 1, ns("a.pt."))
	b.Add(zone.MustParseName("x.pt."), zone.TypeNS, 2, ns("b.pt."))
	if _, err := b.Zone(); !errors.Is(err, zone.ErrTTLs) || !strings.Contains(err.Error(), "x.pt. type NS") {
		t.Errorf("TTL mismatch: %v", err)
	}
}

const sampleZone = `
$ORIGIN pt.
$TTL 86400
@	IN SOA a.dns.pt. hostmaster.dns.pt. 2026112201 1800 900 604800 3600
@	IN NS a.dns.pt.
@	IN NS B.DNS.PT.
a.dns	IN A 192.0.2.53
b.dns	IN AAAA 2001:db8::53
exemplo	IN NS ns1.exemplo
exemplo	IN NS ns.hosting.net.
ns1.exemplo IN A 198.51.100.1
exemplo	3600 IN DS 12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118E0D5F8E3E7B6D8B7A1E4C3F2
txt	IN TXT "hello world" "two"
mx	IN MX 10 Mail.Example.COM.
@	IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==
@	IN NSEC3PARAM 1 0 0 -
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom IN NSEC3 1 1 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR NS DS RRSIG
@	IN RRSIG DNSKEY 13 1 86400 20261206000000 20261122000000 12345 pt. dGVzdA==
@	IN ZONEMD 2026112201 1 1 FEBE3D4CE2EC2FFA4BA99D46CD69D6D29711E55217057BEE7EB1A7B641A47BA7FED2DD5B97AE499FAFA4F22C6BD647DE
`

func readSample(t *testing.T, text string) *zone.Zone {
	t.Helper()
	z, err := zone.Read(strings.NewReader(text), zone.ReadOptions{Origin: pt, File: "sample.zone"})
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// TestWriteReadRoundTrip: what the writer writes reads back as the same
// zone, and writes again as the same bytes.
func TestWriteReadRoundTrip(t *testing.T) {
	z := readSample(t, sampleZone)
	var first bytes.Buffer
	if _, err := z.WriteTo(&first); err != nil {
		t.Fatal(err)
	}
	z2 := readSample(t, first.String())
	for ch := range zone.Diff(z, z2) {
		t.Errorf("round trip changed %s %s", ch.Owner, zone.TypeString(ch.Type))
	}
	var second bytes.Buffer
	z2.WriteTo(&second)
	if first.String() != second.String() {
		t.Errorf("writing twice differs:\n%s\n---\n%s", first.String(), second.String())
	}
	text := first.String()
	for _, want := range []string{
		"pt.\t86400\tIN\tNS\tb.dns.pt.\n", // rdata names lowercased (RFC 4034 §6.2)
		"mx.pt.\t86400\tIN\tMX\t10 mail.example.com.\n",
		"exemplo.pt.\t3600\tIN\tDS\t12345 13 2 2BB183AF",
		"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.pt.\t86400\tIN\tNSEC3\t1 1 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR NS DS RRSIG\n",
		"pt.\t86400\tIN\tRRSIG\tDNSKEY 13 1 86400 20261206000000 20261122000000 12345 pt. dGVzdA==\n",
		"pt.\t86400\tIN\tNSEC3PARAM\t1 0 0 -\n",
		"txt.pt.\t86400\tIN\tTXT\t\"hello world\" \"two\"\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

// TestFastPathsMatchMiekg: every type the writer formats itself reads back,
// through miekg/dns, as the record it was.
func TestFastPathsMatchMiekg(t *testing.T) {
	z := readSample(t, sampleZone)
	var out bytes.Buffer
	z.WriteTo(&out)
	want := map[string]dns.RR{}
	zp := dns.NewZoneParser(strings.NewReader(sampleZone), "pt.", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		want[strings.ToLower(dns.Copy(rr).String())] = rr
	}
	zp = dns.NewZoneParser(&out, "", "")
	n := 0
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if _, found := want[strings.ToLower(rr.String())]; !found {
			t.Errorf("written record %q is not one of the input's", rr.String())
		}
		n++
	}
	if err := zp.Err(); err != nil || n != len(want) {
		t.Errorf("read back %d of %d records (%v)", n, len(want), err)
	}
}

func TestReadErrors(t *testing.T) {
	cases := []struct{ text, want string }{
		{"@ 60 IN SOA a. b. x 2 3 4 5\n", "sample.zone: dns: bad SOA"},
		{"$ORIGIN pt.\n\nexemplo 60 IN MX 10\n", "line: 3"},
		{"$ORIGIN pt.\n\nexemplo 60 IN NS\n", "exemplo.pt. NS: malformed rdata: the record has no data"},
		{"x.pt. 60 CH TXT \"a\"\n", "only class IN"},
		{"exemplo.com. 60 IN NS a.pt.\n", "not at or below pt."},
		{"$INCLUDE /etc/passwd\n", "include"},
		{"x.pt. 60 IN A 192.0.2.1\nx.pt. 61 IN A 192.0.2.2\n", "different TTLs"},
	}
	for _, c := range cases {
		_, err := zone.Read(strings.NewReader(c.text), zone.ReadOptions{Origin: pt, File: "sample.zone"})
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.want)) {
			t.Errorf("%q: error %v, want one mentioning %q", c.text, err, c.want)
		}
	}
}

func TestMergeAndDiff(t *testing.T) {
	base := readSample(t, sampleZone)
	overlay := readSample(t, `
exemplo.pt. 3600 IN DS 54321 13 2 AA00AA00AA00AA00AA00AA00AA00AA00AA00AA00AA00AA00AA00AA00AA00AA00
novo.pt. 86400 IN NS a.dns.pt.
`)
	merged, err := zone.Merge(base, overlay, func(r zone.RRset) bool {
		return r.Type() == zone.TypeTXT || r.Type() == zone.TypeMX
	})
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for ch := range zone.Diff(base, merged) {
		kind := "changed"
		switch {
		case !ch.HasOld:
			kind = "added"
		case !ch.HasNew:
			kind = "removed"
		}
		changes = append(changes, kind+" "+ch.Owner.String()+" "+zone.TypeString(ch.Type))
	}
	want := []string{"changed exemplo.pt. DS", "removed mx.pt. MX", "added novo.pt. NS", "removed txt.pt. TXT"}
	if !slices.Equal(changes, want) {
		t.Errorf("changes = %v, want %v", changes, want)
	}
	if _, ok := merged.Find(zone.MustParseName("txt.pt.")); ok {
		t.Error("an owner left without RRsets is still in the zone")
	}
	for range zone.Diff(merged, merged) {
		t.Error("a zone differs from itself")
	}
	// Merging keeps NS blocks shared.
	if base.Stats().Bytes == 0 || merged.Stats().Records != base.Stats().Records-2+1 {
		t.Errorf("merged stats %+v from %+v", merged.Stats(), base.Stats())
	}
}

// TestRRSIGSetsPerCoveredType: RRSIGs at one owner with different TTLs are
// separate RRsets, one per covered type (RFC 4034 §3).
func TestRRSIGSetsPerCoveredType(t *testing.T) {
	z := readSample(t, `
pt. 86400 IN RRSIG SOA 13 1 86400 20261206000000 20261122000000 12345 pt. dGVzdA==
pt. 3600 IN RRSIG DNSKEY 13 1 3600 20261206000000 20261122000000 12345 pt. dGVzdA==
pt. 3600 IN RRSIG DNSKEY 13 1 3600 20261206000000 20261122000000 54321 pt. dGVzdA==
`)
	sig, ok := z.GetSig(0, zone.TypeDNSKEY)
	if !ok || sig.Len() != 2 || sig.TTL() != 3600 || sig.Covered() != zone.TypeDNSKEY {
		t.Errorf("DNSKEY signatures: %v %d %d", ok, sig.Len(), sig.TTL())
	}
	soa, ok := z.GetSig(0, zone.TypeSOA)
	if !ok || soa.Len() != 1 || soa.TTL() != 86400 {
		t.Errorf("SOA signature: %v %d", ok, soa.TTL())
	}
	over := readSample(t, "pt. 86400 IN RRSIG SOA 13 1 86400 20261220000000 20261206000000 12345 pt. bmV3\n")
	m, err := zone.Merge(z, over, nil)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for ch := range zone.Diff(z, m) {
		changed = append(changed, zone.TypeString(ch.Covered))
	}
	if !slices.Equal(changed, []string{"SOA"}) {
		t.Errorf("replacing the SOA signature changed %v", changed)
	}
}

func TestBinaryImage(t *testing.T) {
	z := readSample(t, sampleZone)
	var buf bytes.Buffer
	if err := z.WriteBinary(&buf); err != nil {
		t.Fatal(err)
	}
	image := buf.Bytes()
	back, err := zone.ReadBinary(bytes.NewReader(image))
	if err != nil {
		t.Fatal(err)
	}
	for ch := range zone.Diff(z, back) {
		t.Errorf("image round trip changed %s %s", ch.Owner, zone.TypeString(ch.Type))
	}
	bs, zs := back.Stats(), z.Stats()
	bs.Bytes, zs.Bytes = 0, 0 // capacities differ
	if back.Origin() != z.Origin() || bs != zs {
		t.Errorf("stats %+v, want %+v", back.Stats(), z.Stats())
	}
	// Any flipped byte or truncation is refused, never loaded.
	for i := 0; i < len(image); i += 7 {
		bad := bytes.Clone(image)
		bad[i] ^= 0x40
		if _, err := zone.ReadBinary(bytes.NewReader(bad)); !errors.Is(err, zone.ErrCorrupt) {
			t.Fatalf("flipping byte %d: error %v, want ErrCorrupt", i, err)
		}
	}
	// The checksum is no seal (anyone can compute a SHA-256): with it
	// made again over the flipped byte, the image loads as a well-formed
	// zone or is refused, and never takes the reader out of its tables.
	for i := 0; i < len(image)-sha256.Size; i++ {
		bad := bytes.Clone(image)
		bad[i] ^= 0x40
		sum := sha256.Sum256(bad[:len(bad)-sha256.Size])
		copy(bad[len(bad)-sha256.Size:], sum[:])
		if _, err := zone.ReadBinary(bytes.NewReader(bad)); err != nil && !errors.Is(err, zone.ErrCorrupt) {
			t.Fatalf("flipping byte %d, checksum made again: %v", i, err)
		}
	}
	for _, n := range []int{0, 5, len(image) / 2, len(image) - 1} {
		if _, err := zone.ReadBinary(bytes.NewReader(image[:n])); !errors.Is(err, zone.ErrCorrupt) {
			t.Errorf("truncated to %d: %v", n, err)
		}
		// The same from a reader that does not tell its size: the tables
		// are read in chunks.
		if _, err := zone.ReadBinary(struct{ io.Reader }{bytes.NewReader(image[:n])}); !errors.Is(err, zone.ErrCorrupt) {
			t.Errorf("truncated to %d, unsized: %v", n, err)
		}
	}
	path := filepath.Join(t.TempDir(), "pt.zone.bin")
	if err := os.WriteFile(path, image, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, r := range map[string]io.Reader{"a file": f, "an unsized reader": struct{ io.Reader }{bytes.NewReader(image)}} {
		got, err := zone.ReadBinary(r)
		if err != nil {
			t.Fatalf("from %s: %v", name, err)
		}
		for ch := range zone.Diff(z, got) {
			t.Errorf("from %s: image round trip changed %s %s", name, ch.Owner, zone.TypeString(ch.Type))
		}
	}
}

func FuzzReadBinary(f *testing.F) {
	z, err := zone.Read(strings.NewReader(sampleZone), zone.ReadOptions{Origin: pt})
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	z.WriteBinary(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		z, err := zone.ReadBinary(bytes.NewReader(b))
		if err != nil {
			return
		}
		// Whatever loads must be usable: walk and write it.
		var out bytes.Buffer
		z.WriteTo(&out)
	})
}

func TestHostName(t *testing.T) {
	for _, s := range []string{"pt", "exemplo.pt", "ns1.exemplo.com.pt", "xn--caf-dma.pt", "a-b.c-d.pt", "Exemplo.PT", `a\.b.pt`, "a_b.pt"} {
		fast, err1 := zone.HostName(s)
		slow, err2 := zone.ParseName(s+".", zone.Root)
		if fast != slow || (err1 == nil) != (err2 == nil) {
			t.Errorf("HostName(%q) = %q, %v; ParseName gives %q, %v", s, fast, err1, slow, err2)
		}
		// The appending forms add to what the buffer holds.
		key, err := zone.AppendHostKey([]byte("kept"), s)
		if string(key) != "kept"+string(slow) || (err == nil) != (err2 == nil) {
			t.Errorf("AppendHostKey(%q) = %q, %v; want kept+%q", s, key, err, slow)
		}
		wire, err := zone.AppendHostWire([]byte("kept"), s)
		if err2 == nil && (err != nil || string(wire) != "kept"+string(slow.Wire())) {
			t.Errorf("AppendHostWire(%q) = %q, %v; want kept+%q", s, wire, err, slow.Wire())
		}
	}
	for _, bad := range []string{"", ".pt", "pt.", "a..pt", strings.Repeat("a", 64) + ".pt", strings.Repeat("a.", 127) + "pt"} {
		if _, err := zone.HostName(bad); err == nil {
			t.Errorf("HostName(%q) accepted it", bad)
		}
		if _, err := zone.AppendHostKey(nil, bad); err == nil {
			t.Errorf("AppendHostKey(%q) accepted it", bad)
		}
		if _, err := zone.AppendHostWire(nil, bad); err == nil {
			t.Errorf("AppendHostWire(%q) accepted it", bad)
		}
	}
}

// TestReplace: Replace gives what a merge that drops the changed owners
// gives, for random bases and random changes, and its result keeps every
// invariant a binary image is checked for.
func TestReplace(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	name := func() zone.Name {
		return zone.MustParseName(fmt.Sprintf("d%d.pt.", rng.IntN(300)))
	}
	build := func(n int) *zone.Zone {
		b := zone.NewBuilder(pt, 0)
		b.Add(pt, zone.TypeSOA, 3600, zone.SOA{MName: pt, RName: pt, Serial: 1}.Rdata())
		for range n {
			owner := name()
			b.Add(owner, zone.TypeNS, 60, zone.MustParseName(fmt.Sprintf("ns%d.example.", rng.IntN(5))).Wire())
			if rng.IntN(3) == 0 {
				b.Add(owner, zone.TypeDS, 60, zone.DSRdata(uint16(rng.IntN(9)), 13, 2, []byte{byte(rng.IntN(256))}))
			}
		}
		z, err := b.Zone()
		if err != nil {
			t.Fatal(err)
		}
		return z
	}
	for round := range 200 {
		base := build(150)
		with := build(rng.IntN(20))
		var drop []zone.Name
		for range rng.IntN(20) {
			drop = append(drop, name())
		}
		if rng.IntN(4) == 0 {
			drop = append(drop, pt) // the apex goes unless with has it
		}
		got, err := zone.Replace(base, with, drop)
		if err != nil {
			t.Fatal(err)
		}
		changed := map[zone.Name]bool{}
		for _, n := range drop {
			changed[n] = true
		}
		for r := range with.All() {
			changed[r.Owner()] = true
		}
		want, err := zone.Merge(base, with, func(r zone.RRset) bool { return changed[r.Owner()] })
		if err != nil {
			t.Fatal(err)
		}
		var g, w bytes.Buffer
		got.WriteTo(&g)
		want.WriteTo(&w)
		if g.String() != w.String() {
			t.Fatalf("round %d: Replace and Merge differ:\n%s\n---\n%s", round, g.String(), w.String())
		}
		// ReplaceView yields what Replace builds, drop in any order.
		rng.Shuffle(len(drop), func(i, j int) { drop[i], drop[j] = drop[j], drop[i] })
		var viewed, built []string
		for r := range zone.ReplaceView(base, with, drop) {
			viewed = append(viewed, fmt.Sprint(r.Owner(), r.Type(), r.Covered(), r.TTL(), r.Block()))
		}
		for r := range got.All() {
			built = append(built, fmt.Sprint(r.Owner(), r.Type(), r.Covered(), r.TTL(), r.Block()))
		}
		if !slices.Equal(viewed, built) {
			t.Fatalf("round %d: ReplaceView yields\n%s\nReplace builds\n%s", round, strings.Join(viewed, "\n"), strings.Join(built, "\n"))
		}
		var img bytes.Buffer
		if err := got.WriteBinary(&img); err != nil {
			t.Fatal(err)
		}
		if _, err := zone.ReadBinary(&img); err != nil {
			t.Fatalf("round %d: the replaced zone's image: %v", round, err)
		}
		// Replacing again, on the result, keeps working.
		if _, err := zone.Replace(got, build(3), nil); err != nil {
			t.Fatal(err)
		}
	}
}

// A change that moves a thousand domains to one provider's name servers
// holds their NS RRset once; Replace keeps it once, and so stays inside
// the arena it reserves instead of growing a copy of the whole zone.
func TestReplaceKeepsSharedRdataShared(t *testing.T) {
	owners := func(prefix string, n int, ns func(int) string) *zone.Zone {
		b := zone.NewBuilder(pt, 0)
		b.Add(pt, zone.TypeSOA, 3600, zone.SOA{MName: pt, RName: pt, Serial: 1}.Rdata())
		for i := range n {
			owner := zone.MustParseName(fmt.Sprintf("%s%d.pt.", prefix, i))
			b.Add(owner, zone.TypeNS, 60, zone.MustParseName(ns(i)).Wire())
		}
		z, err := b.Zone()
		if err != nil {
			t.Fatal(err)
		}
		return z
	}
	base := owners("d", 5000, func(i int) string {
		return fmt.Sprintf("ns.d%d.a-hosting-provider-with-a-rather-long-name.example.", i)
	})
	with := owners("d", 1000, func(int) string { return "ns1.moved.example." })
	got, err := zone.Replace(base, with, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Replace with nothing copies a zone into arenas of exactly its size.
	size := func(z *zone.Zone) int {
		tight, err := zone.Replace(z, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tight.Stats().Bytes
	}
	if limit := size(base) + size(with); got.Stats().Bytes > limit {
		t.Errorf("the replaced zone takes %d octets, more than base and change together (%d): the shared NS RRset was copied per owner",
			got.Stats().Bytes, limit)
	}
	for i := range 1000 {
		set, ok := got.Get(zone.MustParseName(fmt.Sprintf("d%d.pt.", i)), zone.TypeNS)
		if !ok || set.Len() != 1 {
			t.Fatalf("d%d.pt. lost its NS RRset", i)
		}
		for rd := range set.Rdata() {
			if string(rd) != string(zone.MustParseName("ns1.moved.example.").Wire()) {
				t.Fatalf("d%d.pt. NS is %x", i, rd)
			}
		}
	}
}

// TestPatch: a patch made between two versions, written and read back,
// turns the first into the second; made by Diff, it touches only the
// owners that changed.
func TestPatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	build := func(n int, salt int) *zone.Zone {
		b := zone.NewBuilder(pt, 0)
		b.Add(pt, zone.TypeSOA, 3600, zone.SOA{MName: pt, RName: pt, Serial: uint32(salt)}.Rdata())
		for i := range n {
			if (i+salt)%7 == 0 {
				continue
			}
			owner := zone.MustParseName(fmt.Sprintf("d%d.pt.", i))
			b.Add(owner, zone.TypeNS, 60, zone.MustParseName(fmt.Sprintf("ns%d.example.", (i*salt)%3)).Wire())
		}
		z, _ := b.Zone()
		return z
	}
	for round := range 50 {
		prev, next := build(100, round), build(100, round+1+rng.IntN(3))
		p, err := zone.DiffPatch(prev, next, uint32(round), uint32(round+1))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := p.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := zone.ReadPatch(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if back.From != uint32(round) || back.To != uint32(round+1) {
			t.Fatalf("serials %d..%d", back.From, back.To)
		}
		got, err := back.Apply(prev)
		if err != nil {
			t.Fatal(err)
		}
		var g, w bytes.Buffer
		got.WriteTo(&g)
		next.WriteTo(&w)
		if g.String() != w.String() {
			t.Fatalf("round %d: the patched zone differs from the next one", round)
		}
		for _, o := range back.Owners() {
			i, _ := prev.Find(o)
			j, _ := next.Find(o)
			_, inPrev := prev.Find(o)
			_, inNext := next.Find(o)
			if inPrev && inNext {
				same := true
				a, b := slices.Collect(prev.RRsets(i)), slices.Collect(next.RRsets(j))
				same = len(a) == len(b)
				for k := 0; same && k < len(a); k++ {
					same = a[k].Equal(b[k])
				}
				if same {
					t.Errorf("round %d: the patch touches %s, which did not change", round, o)
				}
			}
		}
	}
	var corrupt bytes.Buffer
	p, _ := zone.DiffPatch(build(10, 1), build(10, 2), 1, 2)
	p.WriteTo(&corrupt)
	b := corrupt.Bytes()
	b[len(b)-40] ^= 1
	if _, err := zone.ReadPatch(bytes.NewReader(b)); !errors.Is(err, zone.ErrCorrupt) {
		t.Errorf("a flipped bit: %v, want ErrCorrupt", err)
	}
}

// TestApplyAll: a chain of patches applied at once gives the zone at the
// chain's end, as applying them one by one does: owners that come, go,
// come back, and change several times along the chain.
func TestApplyAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	build := func(version int) *zone.Zone {
		b := zone.NewBuilder(pt, 0)
		b.Add(pt, zone.TypeSOA, 3600, zone.SOA{MName: pt, RName: pt, Serial: uint32(version)}.Rdata())
		for i := range 60 {
			if rng.IntN(4) == 0 {
				continue // absent in this version
			}
			owner := zone.MustParseName(fmt.Sprintf("d%d.pt.", i))
			b.Add(owner, zone.TypeNS, 60, zone.MustParseName(fmt.Sprintf("ns%d.example.", rng.IntN(3))).Wire())
			if rng.IntN(3) == 0 {
				b.Add(owner, zone.TypeDS, 60, []byte{0, byte(i), 13, 2, byte(rng.IntN(256))})
			}
		}
		z, _ := b.Zone()
		return z
	}
	text := func(z *zone.Zone) string {
		var b bytes.Buffer
		z.WriteTo(&b)
		return b.String()
	}
	for round := range 20 {
		versions := []*zone.Zone{build(0)}
		var patches []*zone.Patch
		for v := 1; v <= 1+rng.IntN(8); v++ {
			versions = append(versions, build(v))
			p, err := zone.DiffPatch(versions[v-1], versions[v], uint32(v-1), uint32(v))
			if err != nil {
				t.Fatal(err)
			}
			patches = append(patches, p)
		}
		got, err := zone.ApplyAll(versions[0], patches)
		if err != nil {
			t.Fatal(err)
		}
		if want := versions[len(versions)-1]; text(got) != text(want) {
			t.Fatalf("round %d: %d patches at once give\n%s\nwant\n%s", round, len(patches), text(got), text(want))
		}
	}
}

// TestAppendWire: owner names in wire form, as miekg/dns packs them,
// whether their labels hold bytes the key must escape or not.
func TestAppendWire(t *testing.T) {
	for _, text := range []string{
		".", "pt.", "example.pt.", "a.b.c.d.example.com.pt.", "xn--caf-dma.pt.",
		`\000.pt.`, `a\001b.pt.`, `\001\000\002.x.pt.`, `dot\.in.label.pt.`, `\255.pt.`,
		strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + ".pt.",
	} {
		n, err := zone.ParseName(text, zone.Root)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		want := make([]byte, 256)
		off, err := dns.PackDomainName(text, want, 0, nil, false)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if got := n.AppendWire([]byte{0xff}); !bytes.Equal(got[1:], want[:off]) || got[0] != 0xff {
			t.Errorf("%s: wire % x, want % x", text, got[1:], want[:off])
		}
	}
}

// TestWriteSegmentsInOrder: a zone of many segments (WriteTo formats runs
// of owners on all cores) comes out whole, in canonical order, and the
// same bytes on one core as on four.
func TestWriteSegmentsInOrder(t *testing.T) {
	z := unsignedPT(t, 40000) // about 30,000 owners: several segments
	write := func(procs int) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		var out bytes.Buffer
		n, err := z.WriteTo(&out)
		if err != nil || n != int64(out.Len()) {
			t.Fatalf("WriteTo on %d cores: %d, %v (wrote %d)", procs, n, err, out.Len())
		}
		return out.Bytes()
	}
	four := write(4)
	if one := write(1); !bytes.Equal(one, four) {
		t.Fatal("one core and four wrote different bytes")
	}
	var owners []string
	for line := range strings.Lines(string(four)) {
		owner, _, _ := strings.Cut(line, "\t")
		if len(owners) == 0 || owners[len(owners)-1] != owner {
			owners = append(owners, owner)
		}
	}
	if len(owners) != z.Owners() {
		t.Fatalf("%d owners written, the zone has %d", len(owners), z.Owners())
	}
	for i, o := range owners {
		if want := z.Owner(i).String(); o != want {
			t.Fatalf("owner %d written is %s, want %s", i, o, want)
		}
	}
}

// failingWriter accepts limit bytes, then fails.
type failingWriter struct{ limit int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errors.New("disk full")
	}
	w.limit -= len(p)
	return len(p), nil
}

// TestWriteStopsOnError: a failing writer ends WriteTo with its error and
// leaves no formatting goroutine behind.
func TestWriteStopsOnError(t *testing.T) {
	z := unsignedPT(t, 40000)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	before := runtime.NumGoroutine()
	n, err := z.WriteTo(&failingWriter{limit: 100000})
	if err == nil || err.Error() != "disk full" || n != 100000 {
		t.Fatalf("WriteTo = %d, %v; want 100000, disk full", n, err)
	}
	// A goroutine that signalled it is done still counts for a moment.
	after := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); after > before && time.Now().Before(deadline); after = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if after > before {
		t.Errorf("%d goroutines before WriteTo, %d after", before, after)
	}
}

// TestBuilderSortAndHas: after Sort, Has answers for exactly the records
// added before it, and a builder that went on adding after one or two
// Sorts builds the zone a builder given every record at once builds.
func TestBuilderSortAndHas(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	type rec struct {
		owner zone.Name
		typ   uint16
		rdata []byte
	}
	types := []uint16{zone.TypeNS, zone.TypeDS, zone.TypeA}
	for round := range 100 {
		var recs []rec
		for range 1 + rng.IntN(200) {
			owner := zone.MustParseName(fmt.Sprintf("d%d.pt.", rng.IntN(60)))
			for range 1 + rng.IntN(3) { // a few records of one owner in a row, as a delegation adds them
				typ := types[rng.IntN(len(types))]
				recs = append(recs, rec{owner, typ, rdataOf(typ, rng.IntN(4))})
			}
		}
		cuts := []int{rng.IntN(len(recs) + 1), rng.IntN(len(recs) + 1)}
		slices.Sort(cuts)
		sorting, whole := zone.NewBuilder(pt, 0), zone.NewBuilder(pt, 0)
		for i, r := range recs {
			for _, c := range cuts {
				if c == i {
					sorting.Sort()
				}
			}
			sorting.Add(r.owner, r.typ, 60, r.rdata)
			whole.Add(r.owner, r.typ, 60, r.rdata)
		}
		sorting.Sort()
		added := map[string]bool{}
		for _, r := range recs {
			added[fmt.Sprint(r.owner, r.typ)] = true
		}
		for d := range 62 {
			owner := zone.MustParseName(fmt.Sprintf("d%d.pt.", d))
			for _, typ := range types {
				if got, want := sorting.Has(owner, typ), added[fmt.Sprint(owner, typ)]; got != want {
					t.Fatalf("round %d: Has(%s, %d) = %v, want %v", round, owner, typ, got, want)
				}
			}
		}
		sorting.Add(pt, zone.TypeSOA, 3600, zone.SOA{MName: pt, RName: pt, Serial: 1}.Rdata())
		whole.Add(pt, zone.TypeSOA, 3600, zone.SOA{MName: pt, RName: pt, Serial: 1}.Rdata())
		if sorting.Has(pt, zone.TypeSOA) {
			t.Fatalf("round %d: Has sees a record added after the last Sort", round)
		}
		sameZone(t, fmt.Sprintf("round %d: sorted in steps", round), sorting, "at once", whole)
	}
}

// TestBuilderCanonicalOrder: owners that share long prefixes, differ
// only past eight octets, end inside one another, or hold the octets the
// key form escapes (0x00, 0x01) come out of a builder, and of a split
// builder, in the order RFC 4034 §6.1 defines on their wire form.
func TestBuilderCanonicalOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	alphabet := []byte{0x00, 0x01, 0x02, 'a', 'b', '-', 0xff}
	for round := range 50 {
		one, split := zone.NewBuilder(pt, 0), zone.NewSplitBuilder(pt)
		added := map[zone.Name]bool{}
		for range 1 + rng.IntN(400) {
			n := pt
			for range 1 + rng.IntN(3) {
				label := bytes.Repeat([]byte{'a'}, rng.IntN(12)) // shared prefixes
				for range 1 + rng.IntN(3) {
					label = append(label, alphabet[rng.IntN(len(alphabet))])
				}
				n = n.Child(label)
			}
			added[n] = true
			for _, b := range []interface {
				Add(zone.Name, uint16, uint32, []byte) error
			}{one, split} {
				if err := b.Add(n, zone.TypeNS, 60, n.Wire()); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, b := range map[string]interface{ Zone() (*zone.Zone, error) }{"builder": one, "split builder": split} {
			z, err := b.Zone()
			if err != nil {
				t.Fatal(err)
			}
			if z.Owners() != len(added) {
				t.Fatalf("round %d, %s: %d owners, %d names added", round, name, z.Owners(), len(added))
			}
			for i := 1; i < z.Owners(); i++ {
				if a, b := z.Owner(i-1), z.Owner(i); canonicalCompare(a.Wire(), b.Wire()) >= 0 {
					t.Fatalf("round %d, %s: owner %d %q before owner %d %q", round, name, i-1, a, i, b)
				}
			}
		}
	}
}

// canonicalCompare orders two names in wire form as RFC 4034 §6.1 says,
// from their wire form alone: label by label from the root, each as an
// octet string, a missing label first.
func canonicalCompare(a, b []byte) int {
	labels := func(w []byte) [][]byte {
		var ls [][]byte
		for len(w) > 0 && w[0] > 0 {
			ls = append(ls, w[1:1+w[0]])
			w = w[1+w[0]:]
		}
		slices.Reverse(ls)
		return ls
	}
	la, lb := labels(a), labels(b)
	for i := 0; i < len(la) && i < len(lb); i++ {
		if c := bytes.Compare(la[i], lb[i]); c != 0 {
			return c
		}
	}
	return len(la) - len(lb)
}

// sameZone builds a zone from each builder and fails unless their master
// files are the same.
func sameZone(t *testing.T, aName string, a interface{ Zone() (*zone.Zone, error) }, bName string, b interface{ Zone() (*zone.Zone, error) }) {
	t.Helper()
	za, errA := a.Zone()
	zb, errB := b.Zone()
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	var ta, tb bytes.Buffer
	if _, err := za.WriteTo(&ta); err != nil {
		t.Fatalf("%s: %v", aName, err)
	}
	if _, err := zb.WriteTo(&tb); err != nil {
		t.Fatalf("%s: %v", bName, err)
	}
	if ta.String() != tb.String() {
		t.Fatalf("%s:\n%s\n%s:\n%s", aName, ta.String(), bName, tb.String())
	}
}

// TestOverwrite: an RRset's records are rewritten where they stand when
// the new ones take exactly their room, and refused otherwise; a zone
// merged from the overwritten one before keeps what it copied.
func TestOverwrite(t *testing.T) {
	b := zone.NewBuilder(pt, 0)
	b.Add(pt, zone.TypeSOA, 3600, zone.SOA{MName: pt, RName: pt, Serial: 1}.Rdata())
	b.Add(pt, zone.TypeZONEMD, 3600, []byte("placeholder-1"))
	sig := func(covered uint16, s string) []byte {
		return append(binary.BigEndian.AppendUint16(nil, covered), s...)
	}
	b.Add(pt, zone.TypeRRSIG, 3600, sig(zone.TypeZONEMD, "aaaa"))
	b.Add(pt, zone.TypeRRSIG, 3600, sig(zone.TypeZONEMD, "bbbbbb"))
	b.Add(pt, zone.TypeRRSIG, 3600, sig(zone.TypeSOA, "cccc"))
	d := zone.MustParseName("d.pt.")
	b.Add(d, zone.TypeNS, 60, zone.MustParseName("ns.example.").Wire())
	z, err := b.Zone()
	if err != nil {
		t.Fatal(err)
	}
	copied, err := zone.Merge(z, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := z.Overwrite(pt, zone.TypeZONEMD, 0, [][]byte{[]byte("the-digest-1")}); err == nil {
		t.Error("a record one octet shorter took the place")
	}
	if err := z.Overwrite(pt, zone.TypeZONEMD, 0, [][]byte{[]byte("the-digest-12")}); err != nil {
		t.Fatal(err)
	}
	// Two signatures of other lengths, given out of order, in the same room.
	if err := z.Overwrite(pt, zone.TypeRRSIG, zone.TypeZONEMD, [][]byte{sig(zone.TypeZONEMD, "zzzzz"), sig(zone.TypeZONEMD, "yyyyy")}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		owner        zone.Name
		typ, covered uint16
		rdatas       [][]byte
		why          string
	}{
		{pt, zone.TypeRRSIG, zone.TypeZONEMD, [][]byte{sig(zone.TypeSOA, "zzzzz"), sig(zone.TypeZONEMD, "yyyyy")}, "a signature over another type"},
		{pt, zone.TypeRRSIG, zone.TypeZONEMD, [][]byte{sig(zone.TypeZONEMD, "yyyyyyyyyyyy")}, "one record for two"},
		{pt, zone.TypeRRSIG, zone.TypeZONEMD, [][]byte{sig(zone.TypeZONEMD, "yyyyy"), sig(zone.TypeZONEMD, "yyyyy")}, "a record twice"},
		{d, zone.TypeNS, 0, [][]byte{zone.MustParseName("ns.examplf.").Wire()}, "NS"},
		{d, zone.TypeDS, 0, [][]byte{{1}}, "no such RRset"},
		{zone.MustParseName("e.pt."), zone.TypeDS, 0, [][]byte{{1}}, "no such owner"},
	} {
		if err := z.Overwrite(bad.owner, bad.typ, bad.covered, bad.rdatas); err == nil {
			t.Errorf("%s: accepted", bad.why)
		}
	}
	records := func(z *zone.Zone, typ, covered uint16) []string {
		i, _ := z.Find(pt)
		r, ok := z.GetAt(i, typ)
		if typ == zone.TypeRRSIG {
			r, ok = z.GetSig(i, covered)
		}
		if !ok {
			t.Fatalf("no %d/%d RRset", typ, covered)
		}
		var out []string
		for rd := range r.Rdata() {
			out = append(out, string(rd))
		}
		return out
	}
	if got := records(z, zone.TypeZONEMD, 0); !slices.Equal(got, []string{"the-digest-12"}) {
		t.Errorf("ZONEMD holds %q", got)
	}
	want := []string{string(sig(zone.TypeZONEMD, "yyyyy")), string(sig(zone.TypeZONEMD, "zzzzz"))}
	if got := records(z, zone.TypeRRSIG, zone.TypeZONEMD); !slices.Equal(got, want) {
		t.Errorf("RRSIG(ZONEMD) holds %q, want %q", got, want)
	}
	if got := records(z, zone.TypeRRSIG, zone.TypeSOA); !slices.Equal(got, []string{string(sig(zone.TypeSOA, "cccc"))}) {
		t.Errorf("RRSIG(SOA) holds %q", got)
	}
	if got := records(copied, zone.TypeZONEMD, 0); !slices.Equal(got, []string{"placeholder-1"}) {
		t.Errorf("the zone merged before changed too: %q", got)
	}
}

// TestSplitBuilder: records added to a SplitBuilder in any order give the
// zone a Builder gives, byte for byte, with names whose parts differ in
// their first octet, in their second, or not at all (one-octet labels,
// whose second octet is the terminator), deeper names, escaped octets and
// the apex; Has answers as the Builder's does. The parts are emitted on
// one to five cores, each core's share a zone of its own, joined at the
// end.
func TestSplitBuilder(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	labels := []string{"a", "a-b", "ab", "b", "0", "0a", `\000x`, `\001`, "zz", "xn--mnchen-3ya", "a0", "ba"}
	types := []uint16{zone.TypeNS, zone.TypeDS, zone.TypeA}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for round := range 50 {
		runtime.GOMAXPROCS(1 + round%5)
		var owners []zone.Name
		for range 1 + rng.IntN(40) {
			name := labels[rng.IntN(len(labels))] + ".pt."
			if rng.IntN(4) == 0 {
				name = "ns" + fmt.Sprint(rng.IntN(3)) + "." + name
			}
			owners = append(owners, zone.MustParseName(name))
		}
		split, whole := zone.NewSplitBuilder(pt), zone.NewBuilder(pt, 0)
		add := func(owner zone.Name, typ uint16, ttl uint32, rd []byte) {
			if err := split.Add(owner, typ, ttl, rd); err != nil {
				t.Fatal(err)
			}
			if err := whole.Add(owner, typ, ttl, rd); err != nil {
				t.Fatal(err)
			}
		}
		added := map[string]bool{}
		for range 1 + rng.IntN(150) {
			owner := owners[rng.IntN(len(owners))]
			for range 1 + rng.IntN(3) {
				typ := types[rng.IntN(len(types))]
				add(owner, typ, 60, rdataOf(typ, rng.IntN(4)))
				added[fmt.Sprint(owner, typ)] = true
			}
		}
		split.Sort()
		whole.Sort()
		for _, owner := range append(owners, pt, zone.MustParseName("nada.pt.")) {
			for _, typ := range types {
				if got, want := split.Has(owner, typ), whole.Has(owner, typ); got != want || got != added[fmt.Sprint(owner, typ)] {
					t.Fatalf("round %d: Has(%s, %d) = %v, the Builder's %v", round, owner, typ, got, want)
				}
			}
		}
		add(pt, zone.TypeSOA, 3600, zone.SOA{MName: pt, RName: pt, Serial: 1}.Rdata())
		add(zone.MustParseName("ns0.b.pt."), zone.TypeA, 60, []byte{192, 0, 2, 1}) // after Sort, as glue is
		if err := split.Add(zone.MustParseName("exemplo.com."), zone.TypeA, 60, []byte{192, 0, 2, 1}); !errors.Is(err, zone.ErrOutOfZone) {
			t.Fatalf("round %d: an owner outside the zone: %v", round, err)
		}
		sameZone(t, fmt.Sprintf("round %d: split", round), split, "whole", whole)
	}
}

// rdataOf returns the n-th of a few records of type typ (NS, DS or A).
func rdataOf(typ uint16, n int) []byte {
	switch typ {
	case zone.TypeNS:
		return zone.MustParseName(fmt.Sprintf("ns%d.example.", n)).Wire()
	case zone.TypeDS:
		return zone.DSRdata(uint16(n), 13, 2, bytes.Repeat([]byte{byte(n)}, 32))
	}
	return []byte{192, 0, 2, byte(n)}
}

// TestZoneOfPartsRefusesOverlap: parts whose ranges are out of order or
// overlap would give a zone out of canonical order.
func TestZoneOfPartsRefusesOverlap(t *testing.T) {
	part := func(names ...string) *zone.Builder {
		b := zone.NewBuilder(pt, 0)
		for _, n := range names {
			b.Add(zone.MustParseName(n), zone.TypeA, 60, []byte{192, 0, 2, 1})
		}
		return b
	}
	if _, err := zone.ZoneOfParts(pt, []*zone.Builder{part("a.pt."), part("b.pt.", "c.pt.")}); err != nil {
		t.Fatalf("parts in order: %v", err)
	}
	for _, parts := range [][]*zone.Builder{
		{part("b.pt."), part("a.pt.")},
		{part("a.pt.", "c.pt."), part("b.pt.")},
		{part("a.pt."), part("a.pt.")},
	} {
		if _, err := zone.ZoneOfParts(pt, parts); err == nil {
			t.Error("ZoneOfParts took parts out of order")
		}
	}
}

// TestBuilderRootZone: the root's key is empty, and a builder for the
// root zone keeps the owners added after records at the root apart from
// it (they were merged into the root's owner: the test root a validating
// resolver starts from in authserver's tests lost its name servers).
func TestBuilderRootZone(t *testing.T) {
	b := zone.NewBuilder(zone.Root, 0)
	soa := zone.SOA{MName: zone.MustParseName("a.root-servers.test."), RName: zone.MustParseName("nstld.test."), Serial: 1}
	for _, r := range []struct {
		owner string
		typ   uint16
		rd    []byte
	}{
		{".", zone.TypeSOA, soa.Rdata()},
		{"a.root-servers.test.", zone.TypeA, []byte{127, 0, 0, 1}},
		{".", zone.TypeNS, zone.MustParseName("a.root-servers.test.").Wire()},
		{"pt.", zone.TypeNS, zone.MustParseName("a.dns.pt.").Wire()},
	} {
		if err := b.Add(zone.MustParseName(r.owner), r.typ, 3600, r.rd); err != nil {
			t.Fatal(err)
		}
	}
	z, err := b.Zone()
	if err != nil {
		t.Fatal(err)
	}
	var owners []string
	for i := range z.Owners() {
		owners = append(owners, z.Owner(i).String())
	}
	if want := []string{".", "pt.", "a.root-servers.test."}; !slices.Equal(owners, want) {
		t.Errorf("owners %v, want %v", owners, want)
	}
	if _, ok := z.Get(zone.MustParseName("a.root-servers.test."), zone.TypeA); !ok {
		t.Error("a.root-servers.test. lost its A record")
	}
}

// TestSerial: a zone's serial is its SOA's; a zone without one, and no
// zone at all, have serial 0.
func TestSerial(t *testing.T) {
	z, err := zone.Read(strings.NewReader(sampleZone), zone.ReadOptions{Origin: pt})
	if err != nil {
		t.Fatal(err)
	}
	soa, ok := z.Get(pt, zone.TypeSOA)
	if !ok {
		t.Fatal("the sample zone has no SOA")
	}
	want := soa.SOASerial()
	if want == 0 || z.Serial() != want {
		t.Errorf("Serial = %d, SOA RRset's = %d", z.Serial(), want)
	}
	noSOA, err := zone.Read(strings.NewReader("exemplo.pt. 86400 IN NS ns.hosting.net.\n"), zone.ReadOptions{Origin: pt})
	if err != nil {
		t.Fatal(err)
	}
	if noSOA.Serial() != 0 || (*zone.Zone)(nil).Serial() != 0 {
		t.Errorf("without an SOA: %d, nil zone: %d; want 0", noSOA.Serial(), (*zone.Zone)(nil).Serial())
	}
}
