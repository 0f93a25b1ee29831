package resolve

import (
	_ "embed"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// ReadHints reads root hints in zone file form, as named.root is
// published: the root's NS records and their servers' A and AAAA records.
// It returns the servers' addresses; file names the input in errors.
func ReadHints(r io.Reader, file string) ([]netip.Addr, error) {
	zp := dns.NewZoneParser(r, ".", file)
	zp.SetIncludeAllowed(false)
	roots := map[string]bool{}
	addrs := map[string][]netip.Addr{}
	var order []string
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		owner := strings.ToLower(rr.Header().Name)
		switch v := rr.(type) {
		case *dns.NS:
			if owner != "." {
				return nil, fmt.Errorf("%s: NS records for %s: root hints name the root's servers only", file, owner)
			}
			target := strings.ToLower(v.Ns)
			if !roots[target] {
				roots[target] = true
				order = append(order, target)
			}
		case *dns.A, *dns.AAAA:
			a, _ := addressOf(rr)
			addrs[owner] = append(addrs[owner], a)
		}
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("root hints: %w", err)
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("%s: no NS records for the root (.)", file)
	}
	var out []netip.Addr
	for _, target := range order {
		out = append(out, addrs[target]...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no A or AAAA records for the root's servers (%s)", file, strings.Join(order, ", "))
	}
	return out, nil
}

//go:embed named.root
var namedRoot string

// RootHints returns the addresses of the Internet's root servers, from
// the copy of IANA's named.root built in.
func RootHints() []netip.Addr {
	addrs, err := ReadHints(strings.NewReader(namedRoot), "named.root")
	if err != nil {
		panic("resolve: the built-in root hints: " + err.Error()) // caught by TestRootHints
	}
	return addrs
}
