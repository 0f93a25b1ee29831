package zone_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ptzone/ptzone/zone"
)

// plainZone has a line of every form the plain reader takes: each type of a
// signed TLD zone, uppercase names, no class, blanks and tabs, split
// base64 and hex, both RRSIG time forms, both salt forms, comment and
// empty lines, CRLF, and lines it hands to miekg/dns one by one: a TXT
// and an MX record, a relative name, NSEC3 types out of order, a trailing
// comment, parentheses closed on the line.
const plainZone = `; a comment line
pt.	3600	IN	SOA	A.DNS.PT. hostmaster.dns.pt. 2026112201 1800 900 1209600 3600
pt. 172800 IN NS a.dns.pt.
PT.   172800 NS b.dns.pt.

a.dns.pt. 172800 IN A 192.0.2.53
a.dns.pt. 172800 IN AAAA 2001:db8::53
Exemplo.PT. 86400 IN NS NS1.Exemplo.PT.
exemplo.pt. 86400 IN NS ns.other.example.
exemplo.pt. 86400 IN DS 12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118 49E5C8E94E5A9C1F4B3C9A5D
ns1.exemplo.pt. 86400 IN A 198.51.100.7
pt. 3600 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+ KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==
pt. 3600 IN DNSKEY 256 3 13 oJMRESz5E4gYzS/q6XDrvU1qMPYIjCWzJaOau8XNEZeqCYKD5ar0IRd8KqXXFJkqmVfRvMGPmM1x8fGAa2XhSA==
pt. 3600 IN RRSIG DNSKEY 13 1 3600 20261206000000 20261122000000 12345 PT. dGVz dA==
pt. 3600 IN RRSIG SOA 13 1 3600 1796515200 1795305600 12345 pt. dGVzdA==
pt. 3600 IN NSEC3PARAM 1 0 0 -
pt. 3600 IN ZONEMD 2026112201 1 1 A0B1C2D3E4F5 06172839
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.pt. 3600 IN NSEC3 1 1 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR NS DS RRSIG
2T7B4G4VSA5SMI47K61MV5BV1A22BOJR.pt. 3600 IN NSEC3 1 0 10 AABBCCDD 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A NS SOA RRSIG DNSKEY NSEC3PARAM TYPE65534
txt.pt. 60 IN TXT "hello world" "two"
mx.pt. 60 IN MX 10 Mail.Example.COM.
rel.pt. 60 IN NS relative
comment.pt. 60 IN A 192.0.2.1 ; a trailing comment
paren.pt. 60 IN SOA a.pt. b.pt. ( 1 2 3 4 5 )
order.pt. 60 IN NSEC3 1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR NS A
crlf.pt. 60 IN A 192.0.2.1` + "\r\n"

func readWith(t *testing.T, read func(*zone.Builder) error) (*zone.Zone, error) {
	t.Helper()
	b := zone.NewBuilder(zone.MustParseName("pt."), 0)
	if err := read(b); err != nil {
		return nil, err
	}
	return b.Zone()
}

func written(z *zone.Zone) string {
	var buf bytes.Buffer
	z.WriteTo(&buf)
	return buf.String()
}

func bothParsers(t *testing.T, text string) (plain, full *zone.Zone, plainErr, fullErr error) {
	t.Helper()
	opt := zone.ReadOptions{Origin: zone.MustParseName("pt."), File: "t.zone"}
	plain, plainErr = readWith(t, func(b *zone.Builder) error { return zone.ReadPlain(b, strings.NewReader(text), opt) })
	full, fullErr = readWith(t, func(b *zone.Builder) error { return zone.ReadFull(b, strings.NewReader(text), opt) })
	return
}

func TestPlainReaderAgreesWithFullParser(t *testing.T) {
	plain, full, perr, ferr := bothParsers(t, plainZone)
	if perr != nil || ferr != nil {
		t.Fatalf("plain reader: %v; full parser: %v", perr, ferr)
	}
	if p, f := written(plain), written(full); p != f {
		t.Fatalf("the two parsers read different zones:\n%s\n---\n%s", p, f)
	}
	if plain.Stats().Records != 24 {
		t.Errorf("%d records, want 24", plain.Stats().Records)
	}
}

// A plain file goes through the plain reader: the signed zones ptzone
// writes are read without miekg/dns.
func TestPlainReaderTakesWhatTheWriterWrites(t *testing.T) {
	_, full, _, err := bothParsers(t, plainZone)
	if err != nil {
		t.Fatal(err)
	}
	text := written(full)
	b := zone.NewBuilder(zone.MustParseName("pt."), 0)
	if err := zone.ReadPlain(b, strings.NewReader(text), zone.ReadOptions{Origin: zone.MustParseName("pt.")}); err != nil {
		t.Fatalf("the writer's output is not plain: %v", err)
	}
}

// Input that needs the full parser leaves the builder as it was, and Read
// still reads it.
func TestPlainReaderHandsOver(t *testing.T) {
	for _, text := range []string{
		"$ORIGIN pt.\nexemplo 60 IN A 192.0.2.1\n",
		"$TTL 60\nexemplo.pt. IN A 192.0.2.1\n",
		"exemplo.pt. 60 IN A 192.0.2.1\n 60 IN AAAA 2001:db8::1\n",
		"pt. 60 IN SOA a.pt. b.pt. (\n 1 2 3 4 5 )\n",
		"exemplo.pt. 60 IN TYPE65280 \\# 2 abcd\n",
		"exemplo.pt. 1h IN A 192.0.2.1\n",
		"exemplo.pt. 60 in A 192.0.2.1\n",
		"exemplo.pt. 60 IN A 192.0.2.1\n@ 60 IN NS a.pt.\n",
		"e\\.x.pt. 60 IN A 192.0.2.1\n",
		// An SOA short of fields: miekg/dns takes the next line's tokens
		// (and refuses them), but accepts it at the end of its input, as a
		// line read alone would be (found by FuzzPlainReader).
		"pt. 0 SOA 0 0 0\n ",
		"pt. 0 SOA 0 0 0\nb.pt. 0 A 192.0.2.1\n",
		"pt. 60 IN A 01.2.3.4\n",
	} {
		b := zone.NewBuilder(zone.MustParseName("pt."), 0)
		b.Add(zone.MustParseName("before.pt."), zone.TypeA, 60, []byte{192, 0, 2, 9})
		err := zone.ReadPlain(b, strings.NewReader("first.pt. 60 IN A 192.0.2.8\n"+text), zone.ReadOptions{Origin: zone.MustParseName("pt.")})
		if !errors.Is(err, zone.ErrNotPlain) {
			t.Errorf("%q: plain reader said %v, want it to hand over", text, err)
			continue
		}
		if b.Len() != 1 {
			t.Errorf("%q: the plain reader left %d records behind", text, b.Len()-1)
		}
		viaRead, err := zone.Read(strings.NewReader(text), zone.ReadOptions{Origin: zone.MustParseName("pt.")})
		_, full, _, ferr := bothParsers(t, text)
		if (err == nil) != (ferr == nil) || (err == nil && written(viaRead) != written(full)) {
			t.Errorf("%q: Read gave %v, the full parser %v", text, err, ferr)
		}
	}
}

// Errors keep the full parser's positions even when most of the file is
// plain.
func TestPlainFileErrorsArePositioned(t *testing.T) {
	text := "a.pt. 60 IN A 192.0.2.1\nb.pt. 60 IN A 192.0.2.1\nc.pt. 60 IN A 300.0.2.1\n"
	_, err := zone.Read(strings.NewReader(text), zone.ReadOptions{Origin: zone.MustParseName("pt."), File: "bad.zone"})
	if err == nil || !strings.Contains(err.Error(), "bad.zone") || !strings.Contains(err.Error(), "line: 3") {
		t.Fatalf("error %v, want one naming bad.zone line 3", err)
	}
}

func FuzzPlainReader(f *testing.F) {
	for _, l := range strings.SplitAfter(plainZone, "\n") {
		f.Add(l)
	}
	f.Add("pt. 60 IN DS 1 2 3 zz\n")
	f.Add("pt. 60 IN A 01.2.3.4\n")
	f.Add("pt. 60 IN AAAA ::ffff:1.2.3.4\n")
	f.Add("pt. 60 IN RRSIG A 13 1 60 99991231235959 20260101000000 1 pt. AA==\n")
	f.Fuzz(func(t *testing.T, text string) {
		opt := zone.ReadOptions{Origin: zone.MustParseName("pt.")}
		pb := zone.NewBuilder(zone.MustParseName("pt."), 0)
		perr := zone.ReadPlain(pb, strings.NewReader(text), opt)
		if errors.Is(perr, zone.ErrNotPlain) {
			if pb.Len() != 0 {
				t.Fatalf("handed over with %d records left behind", pb.Len())
			}
			return
		}
		fb := zone.NewBuilder(zone.MustParseName("pt."), 0)
		ferr := zone.ReadFull(fb, strings.NewReader(text), opt)
		if (perr == nil) != (ferr == nil) {
			t.Fatalf("plain reader: %v; full parser: %v", perr, ferr)
		}
		if perr != nil {
			return
		}
		pz, perr := pb.Zone()
		fz, ferr := fb.Zone()
		if (perr == nil) != (ferr == nil) {
			t.Fatalf("building: plain %v, full %v", perr, ferr)
		}
		if perr == nil && written(pz) != written(fz) {
			t.Fatalf("the parsers disagree:\n%s\n---\n%s", written(pz), written(fz))
		}
	})
}

// A file is read in parts on every core; cutting it anywhere between
// records gives the zone the full parser reads, and a part that is not
// plain hands the whole file over.
func TestPlainReaderInParts(t *testing.T) {
	_, full, _, err := bothParsers(t, plainZone)
	if err != nil {
		t.Fatal(err)
	}
	want := written(full)
	for workers := 1; workers <= 7; workers++ {
		b := zone.NewBuilder(zone.MustParseName("pt."), 0)
		r := strings.NewReader(plainZone)
		if err := zone.ReadPlainParallel(b, r, int64(len(plainZone)), zone.ReadOptions{Origin: zone.MustParseName("pt.")}, workers); err != nil {
			t.Fatalf("%d parts: %v", workers, err)
		}
		z, err := b.Zone()
		if err != nil {
			t.Fatalf("%d parts: %v", workers, err)
		}
		if got := written(z); got != want {
			t.Errorf("%d parts: the zone differs:\n%s", workers, got)
		}
	}
	notPlain := plainZone + "$ORIGIN pt.\nlate 60 IN A 192.0.2.1\n"
	b := zone.NewBuilder(zone.MustParseName("pt."), 0)
	err = zone.ReadPlainParallel(b, strings.NewReader(notPlain), int64(len(notPlain)), zone.ReadOptions{Origin: zone.MustParseName("pt.")}, 3)
	if !errors.Is(err, zone.ErrNotPlain) || b.Len() != 0 {
		t.Fatalf("a directive in the last part: %v with %d records added, want a hand-over and none", err, b.Len())
	}
	z, err := zone.Read(strings.NewReader(notPlain), zone.ReadOptions{Origin: zone.MustParseName("pt.")})
	if err != nil || z.Stats().Records != full.Stats().Records+1 {
		t.Fatalf("Read of a file with a late directive: %v", err)
	}
}
