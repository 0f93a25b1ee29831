package store

import (
	"encoding/hex"
	"fmt"
	"net/mail"
	"strings"
)

// Limits on what one domain may carry. They are generous for real
// delegations and keep one malformed record from bloating a zone.
const (
	MaxNameservers   = 13
	MaxAddrsPerHost  = 16
	MaxDS            = 16
	MaxRegistrarID   = 64
	maxHostnameBytes = 253
)

// FieldError names one field of a record and what is wrong with it.
type FieldError struct {
	Field   string // e.g. "nameservers[1].addrs[0]"
	Message string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate checks that d is well formed and returns every problem found, in
// field order. It checks structure only (syntax, ranges, duplicates, the
// glue a host inside the domain needs); whether the name is allowed by the
// Rules is package policy's question. Validate does not modify d; call
// Normalize first to accept lowercase DS digests.
func (d *Domain) Validate() []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	if err := CheckHostname(d.Name); err != nil {
		add("name", "%v", err)
	} else if d.Zone == "" {
		add("zone", "is empty")
	} else if !strings.HasSuffix(d.Name, "."+d.Zone) || strings.Contains(strings.TrimSuffix(d.Name, "."+d.Zone), ".") {
		add("name", "%q is not a name directly below zone %q", d.Name, d.Zone)
	}
	if !d.Status.Valid() {
		add("status", "%q is not a status (want one of %s)", d.Status, statusList())
	}
	switch {
	case d.Registrar == "":
		add("registrar", "is empty")
	case len(d.Registrar) > MaxRegistrarID:
		add("registrar", "is longer than %d characters", MaxRegistrarID)
	case strings.IndexFunc(d.Registrar, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
		add("registrar", "%q contains spaces or characters outside printable ASCII", d.Registrar)
	}
	if d.Expires.IsZero() {
		add("expires", "is missing")
	} else if h, m, s := d.Expires.Clock(); h != 0 || m != 0 || s != 0 || d.Expires.Nanosecond() != 0 {
		add("expires", "must be a date without a time of day")
	}
	if d.TechEmail != "" {
		if err := CheckMailbox(d.TechEmail); err != nil {
			add("tech_email", "%v", err)
		}
	}

	if len(d.Nameservers) > MaxNameservers {
		add("nameservers", "has %d entries, at most %d are accepted", len(d.Nameservers), MaxNameservers)
	}
	seenNS := make(map[string]int, len(d.Nameservers))
	for i, ns := range d.Nameservers {
		field := fmt.Sprintf("nameservers[%d]", i)
		if err := CheckHostname(ns.Name); err != nil {
			add(field+".name", "%v", err)
			continue
		}
		if strings.Count(ns.Name, ".") == 0 {
			add(field+".name", "%q is not a fully qualified host name", ns.Name)
		}
		if j, dup := seenNS[ns.Name]; dup {
			add(field+".name", "%q repeats nameservers[%d]", ns.Name, j)
		}
		seenNS[ns.Name] = i
		if IsSubdomain(ns.Name, d.Name) && len(ns.Addrs) == 0 {
			add(field+".addrs", "%s is inside %s, so it needs glue addresses", ns.Name, d.Name)
		}
		if len(ns.Addrs) > MaxAddrsPerHost {
			add(field+".addrs", "has %d addresses, at most %d are accepted", len(ns.Addrs), MaxAddrsPerHost)
		}
		seenAddr := make(map[string]int, len(ns.Addrs))
		for k, a := range ns.Addrs {
			af := fmt.Sprintf("%s.addrs[%d]", field, k)
			switch {
			case !a.IsValid():
				add(af, "is not an IP address")
				continue
			case a.Zone() != "":
				add(af, "%s carries an IPv6 zone, which has no meaning in DNS", a)
			case a.Is4In6():
				add(af, "%s is an IPv4-mapped IPv6 address; give the IPv4 address instead", a)
			case a.IsUnspecified():
				add(af, "%s is the unspecified address", a)
			case a.IsMulticast():
				add(af, "%s is a multicast address", a)
			}
			if j, dup := seenAddr[a.String()]; dup {
				add(af, "%s repeats %s.addrs[%d]", a, field, j)
			}
			seenAddr[a.String()] = k
		}
	}

	if len(d.DS) > MaxDS {
		add("ds", "has %d entries, at most %d are accepted", len(d.DS), MaxDS)
	}
	seenDS := make(map[DS]int, len(d.DS))
	for i, ds := range d.DS {
		field := fmt.Sprintf("ds[%d]", i)
		if ds.Algorithm == 0 {
			add(field+".algorithm", "0 is reserved and never a DNSSEC algorithm")
		}
		if ds.DigestType == 0 {
			add(field+".digest_type", "0 is reserved and never a digest type")
		}
		if msg := checkDigest(ds.DigestType, ds.Digest); msg != "" {
			add(field+".digest", "%s", msg)
		}
		if j, dup := seenDS[ds]; dup {
			add(field, "repeats ds[%d]", j)
		}
		seenDS[ds] = i
	}
	return errs
}

// Normalize puts d's free-form fields into canonical form: DS digests in
// uppercase. Names are not case-folded: an uppercase name is an input error
// the caller should see.
func (d *Domain) Normalize() {
	for i := range d.DS {
		d.DS[i].Digest = strings.ToUpper(d.DS[i].Digest)
	}
}

// digestLengths holds the digest size in octets of the digest types whose
// size is fixed (RFC 3658, 4509, 5933, 6605).
var digestLengths = map[uint8]int{1: 20, 2: 32, 3: 32, 4: 48}

func checkDigest(digestType uint8, digest string) string {
	if digest == "" {
		return "is empty"
	}
	if strings.ToUpper(digest) != digest {
		return "must be uppercase hexadecimal"
	}
	raw, err := hex.DecodeString(digest)
	if err != nil {
		return fmt.Sprintf("%q is not hexadecimal", digest)
	}
	if want, known := digestLengths[digestType]; known && len(raw) != want {
		return fmt.Sprintf("has %d octets, digest type %d needs %d", len(raw), digestType, want)
	}
	if len(raw) > 64 {
		return fmt.Sprintf("has %d octets, more than any digest type uses", len(raw))
	}
	return ""
}

// CheckHostname reports whether s is a host or domain name in the form the
// registry stores: A-labels of letters, digits and hyphens, lowercase, no
// trailing dot, at most 253 octets, labels of 1 to 63 octets that neither
// start nor end with a hyphen.
func CheckHostname(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("is empty")
	case len(s) > maxHostnameBytes:
		return fmt.Errorf("%q is longer than %d octets", s, maxHostnameBytes)
	case strings.HasSuffix(s, "."):
		return fmt.Errorf("%q ends with a dot; write it without the trailing dot", s)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return fmt.Errorf("%q has an empty label", s)
		}
		if len(label) > 63 {
			return fmt.Errorf("%q has a label longer than 63 octets", s)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q has a label that starts or ends with a hyphen", s)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			case c >= 'A' && c <= 'Z':
				return fmt.Errorf("%q has uppercase letters; write %q", s, strings.ToLower(s))
			default:
				return fmt.Errorf("%q has %q, which is not allowed in a host name (letters, digits, hyphen; IDNs in xn-- form)", s, printable(label, i))
			}
		}
	}
	return nil
}

// printable returns the character starting at byte i of s, quoted for a
// message even when s is not valid UTF-8.
func printable(s string, i int) string {
	for _, r := range s[i:] {
		return string(r)
	}
	return ""
}

// CheckMailbox reports whether s is a bare e-mail address (no display name).
func CheckMailbox(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return fmt.Errorf("%q is not an e-mail address", s)
	}
	return nil
}

// IsSubdomain reports whether child equals parent or lies below it. Both
// are compared as given, so pass canonical (lowercase, no trailing dot)
// names.
func IsSubdomain(child, parent string) bool {
	// Without building "."+parent: a zone build asks this millions of
	// times.
	n := len(child) - len(parent)
	return n == 0 && child == parent || n > 0 && child[n-1] == '.' && child[n:] == parent
}

func statusList() string {
	s := make([]string, len(Statuses))
	for i, v := range Statuses {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
