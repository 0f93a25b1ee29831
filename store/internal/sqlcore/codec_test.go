package sqlcore

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
)

func TestNameserversRoundTrip(t *testing.T) {
	cases := [][]store.Nameserver{
		nil,
		{{Name: "ns.hosting.net"}},
		{{Name: "ns1.exemplo.pt", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::53")}}, {Name: "ns.hosting.net"}},
	}
	for _, ns := range cases {
		got, err := DecodeNameservers(EncodeNameservers(ns))
		if err != nil || !reflect.DeepEqual(got, ns) {
			t.Errorf("round trip of %v: %v, %v", ns, got, err)
		}
	}
	for _, bad := range []string{",a.pt", "a.pt 300.1.1.1", " 192.0.2.1"} {
		if _, err := DecodeNameservers(bad); err == nil {
			t.Errorf("DecodeNameservers(%q) accepted it", bad)
		}
	}
}

func TestDSRoundTrip(t *testing.T) {
	ds := []store.DS{{KeyTag: 0, Algorithm: 5, DigestType: 1, Digest: "AB"}, {KeyTag: 65535, Algorithm: 13, DigestType: 2, Digest: "CD"}}
	got, err := DecodeDS(EncodeDS(ds))
	if err != nil || !reflect.DeepEqual(got, ds) {
		t.Errorf("round trip: %v, %v", got, err)
	}
	for _, bad := range []string{"1 2 3", "70000 13 2 AB", "a b c d"} {
		if _, err := DecodeDS(bad); err == nil {
			t.Errorf("DecodeDS(%q) accepted it", bad)
		}
	}
}

func TestParseDate(t *testing.T) {
	got, err := ParseDate("2028-02-29")
	if err != nil || !got.Equal(time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseDate = %v, %v", got, err)
	}
	for _, bad := range []string{"", "2027-02-29", "2027-13-01", "2027-00-10", "2027-1-01", "20x7-01-01", "2027/01/01", "2027-01-32"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted it", bad)
		}
	}
}
