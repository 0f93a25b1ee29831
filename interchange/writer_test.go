package interchange

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/store/synth"
)

// viaEncodingJSON is the reference the hand-written Writer must equal.
func viaEncodingJSON(t testing.TB, d store.Domain) []byte {
	rec := record{Name: d.Name, Status: string(d.Status), Registrar: d.Registrar, TechEmail: d.TechEmail, GeoAuthority: d.GeoAuthority}
	if !d.Expires.IsZero() {
		rec.Expires = d.Expires.Format(dateLayout)
	}
	for _, ns := range d.Nameservers {
		n := nameserver{Name: ns.Name}
		for _, a := range ns.Addrs {
			n.Addrs = append(n.Addrs, a.String())
		}
		rec.Nameservers = append(rec.Nameservers, n)
	}
	for _, ds := range d.DS {
		tag, alg, typ := int64(ds.KeyTag), int64(ds.Algorithm), int64(ds.DigestType)
		rec.DS = append(rec.DS, dsRecord{KeyTag: &tag, Algorithm: &alg, DigestType: &typ, Digest: ds.Digest})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&rec); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func viaWriter(t testing.TB, d store.Domain) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Write(d); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	return buf.Bytes()
}

func TestWriterMatchesEncodingJSON(t *testing.T) {
	domains := []store.Domain{
		{},
		{Name: "exemplo.pt", Status: store.StatusActive, Registrar: "REG-1", Expires: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
			TechEmail: `"odd \ name"@exemplo.pt`, GeoAuthority: true,
			Nameservers: []store.Nameserver{{Name: "ns1.exemplo.pt", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::53")}}, {Name: "ns.hosting.net"}},
			DS:          []store.DS{{KeyTag: 0, Algorithm: 255, DigestType: 1, Digest: "AB"}}},
		{Name: "x\x00\x1f\b\f\n\r\t<>&\u2028\u2029\xff\xfeé😀", Registrar: "\\"},
	}
	for d := range synth.Generate(synth.Options{Domains: 2000, Seed: 11}) {
		domains = append(domains, d)
	}
	for _, d := range domains {
		if got, want := viaWriter(t, d), viaEncodingJSON(t, d); !bytes.Equal(got, want) {
			t.Fatalf("Writer and encoding/json differ:\n got  %s\n want %s", got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "abc", "\"\\", "\x00\x7f\x80", "\u2028é", "\xed\xa0\x80", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, encoding/json gives %s", s, got, want)
		}
	})
}
