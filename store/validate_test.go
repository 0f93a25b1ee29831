package store_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ptzone/ptzone/store"
)

func valid() store.Domain {
	return store.Domain{
		Name: "exemplo.pt", Zone: "pt", Status: store.StatusActive, Registrar: "REG-1",
		Expires:   time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
		TechEmail: "dns@exemplo.pt",
		Nameservers: []store.Nameserver{
			{Name: "ns1.exemplo.pt", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::53")}},
			{Name: "ns.hosting.net"},
		},
		DS: []store.DS{{KeyTag: 12345, Algorithm: 13, DigestType: 2, Digest: strings.Repeat("AB", 32)}},
	}
}

func TestValidate(t *testing.T) {
	if errs := func() []store.FieldError { d := valid(); return d.Validate() }(); len(errs) > 0 {
		t.Fatalf("a valid domain: %v", errs)
	}
	cases := []struct {
		edit func(*store.Domain)
		want string // "field: start of message"
	}{
		{func(d *store.Domain) { d.Name = "" }, "name: is empty"},
		{func(d *store.Domain) { d.Name = "Exemplo.pt" }, `name: "Exemplo.pt" has uppercase letters`},
		{func(d *store.Domain) { d.Name = "exemplo.pt." }, "name: \"exemplo.pt.\" ends with a dot"},
		{func(d *store.Domain) { d.Name = "ex_emplo.pt" }, `name: "ex_emplo.pt" has "_"`},
		{func(d *store.Domain) { d.Name = "-exemplo.pt" }, "name: \"-exemplo.pt\" has a label that starts or ends with a hyphen"},
		{func(d *store.Domain) { d.Name = strings.Repeat("a", 64) + ".pt" }, "name: \"" + strings.Repeat("a", 64) + ".pt\" has a label longer than 63"},
		{func(d *store.Domain) { d.Zone = "com.pt" }, `name: "exemplo.pt" is not a name directly below zone "com.pt"`},
		{func(d *store.Domain) { d.Name = "www.exemplo.pt" }, `name: "www.exemplo.pt" is not a name directly below zone "pt"`},
		{func(d *store.Domain) { d.Status = "deleted" }, `status: "deleted" is not a status`},
		{func(d *store.Domain) { d.Registrar = "" }, "registrar: is empty"},
		{func(d *store.Domain) { d.Registrar = "REG 1" }, "registrar: \"REG 1\" contains spaces"},
		{func(d *store.Domain) { d.Expires = time.Time{} }, "expires: is missing"},
		{func(d *store.Domain) { d.Expires = d.Expires.Add(time.Hour) }, "expires: must be a date"},
		{func(d *store.Domain) { d.TechEmail = "Ana <ana@x.pt>" }, `tech_email: "Ana <ana@x.pt>" is not an e-mail address`},
		{func(d *store.Domain) { d.Nameservers[0].Addrs = nil }, "nameservers[0].addrs: ns1.exemplo.pt is inside exemplo.pt, so it needs glue"},
		{func(d *store.Domain) { d.Nameservers[1].Name = "ns1.exemplo.pt" }, `nameservers[1].name: "ns1.exemplo.pt" repeats nameservers[0]`},
		{func(d *store.Domain) { d.Nameservers[1].Name = "localhost" }, `nameservers[1].name: "localhost" is not a fully qualified host name`},
		{func(d *store.Domain) { d.Nameservers[0].Addrs[1] = netip.MustParseAddr("192.0.2.1") }, "nameservers[0].addrs[1]: 192.0.2.1 repeats nameservers[0].addrs[0]"},
		{func(d *store.Domain) { d.Nameservers[0].Addrs[0] = netip.MustParseAddr("224.0.0.1") }, "nameservers[0].addrs[0]: 224.0.0.1 is a multicast address"},
		{func(d *store.Domain) { d.Nameservers[0].Addrs[0] = netip.MustParseAddr("::") }, "nameservers[0].addrs[0]: :: is the unspecified address"},
		{func(d *store.Domain) { d.Nameservers[0].Addrs[0] = netip.MustParseAddr("fe80::1%eth0") }, "nameservers[0].addrs[0]: fe80::1%eth0 carries an IPv6 zone"},
		{func(d *store.Domain) { d.Nameservers[0].Addrs[0] = netip.Addr{} }, "nameservers[0].addrs[0]: is not an IP address"},
		{func(d *store.Domain) { d.DS[0].Algorithm = 0 }, "ds[0].algorithm: 0 is reserved"},
		{func(d *store.Domain) { d.DS[0].DigestType = 0 }, "ds[0].digest_type: 0 is reserved"},
		{func(d *store.Domain) { d.DS[0].DigestType = 4 }, "ds[0].digest: has 32 octets, digest type 4 needs 48"},
		{func(d *store.Domain) { d.DS[0].Digest = "ab" }, "ds[0].digest: must be uppercase hexadecimal"},
		{func(d *store.Domain) { d.DS[0].Digest = "XY" }, `ds[0].digest: "XY" is not hexadecimal`},
		{func(d *store.Domain) { d.DS[0].Digest = "" }, "ds[0].digest: is empty"},
		{func(d *store.Domain) { d.DS = append(d.DS, d.DS[0]) }, "ds[1]: repeats ds[0]"},
		{func(d *store.Domain) {
			for i := range 14 {
				d.Nameservers = append(d.Nameservers, store.Nameserver{Name: "ns" + string(rune('a'+i)) + ".dns.pt"})
			}
		}, "nameservers: has 16 entries, at most 13"},
	}
	for _, c := range cases {
		d := valid()
		c.edit(&d)
		errs := d.Validate()
		found := false
		for _, e := range errs {
			if strings.HasPrefix(e.Error(), c.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("want %q, got %v", c.want, errs)
		}
	}
	// Normalize accepts lowercase digests by uppercasing them.
	d := valid()
	d.DS[0].Digest = strings.ToLower(d.DS[0].Digest)
	d.Normalize()
	if errs := d.Validate(); len(errs) > 0 {
		t.Errorf("after Normalize: %v", errs)
	}
}

func TestIsSubdomain(t *testing.T) {
	for _, c := range []struct {
		child, parent string
		want          bool
	}{
		{"ns1.exemplo.pt", "exemplo.pt", true},
		{"exemplo.pt", "exemplo.pt", true},
		{"ns1.outroexemplo.pt", "exemplo.pt", false},
		{"exemplo.pt", "ns1.exemplo.pt", false},
		{"xexemplo.pt", "exemplo.pt", false},
		{"exemplo.pt", "pt", true},
		{"exemplopt", "pt", false},
		{"pt", "", false},
	} {
		if got := store.IsSubdomain(c.child, c.parent); got != c.want {
			t.Errorf("IsSubdomain(%s, %s) = %v", c.child, c.parent, got)
		}
	}
}

func TestConflictErrorMessage(t *testing.T) {
	one := &store.ConflictError{Conflicts: []store.Conflict{{Line: 4, Name: "a.pt"}}, Total: 1}
	many := &store.ConflictError{Conflicts: []store.Conflict{{Line: 4, Name: "a.pt"}}, Total: 3}
	if one.Error() != "line 4: a.pt is already registered" || many.Error() != "line 4: a.pt is already registered (and 2 more names)" {
		t.Errorf("%q / %q", one.Error(), many.Error())
	}
}
