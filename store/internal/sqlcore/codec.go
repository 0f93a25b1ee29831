package sqlcore

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ptzone/ptzone/store"
)

// Aggregated form: entries separated by ',', fields by ' '. Host names,
// addresses, numbers and hex digests never contain either separator.
//
//	nameservers: "ns1.exemplo.pt 192.0.2.1 2001:db8::53,ns.hosting.net"
//	ds:          "12345 13 2 AB12...,54321 8 2 CD34..."

// DecodeNameservers parses the aggregated nameserver column ("" for none).
// It runs once per domain of every stream, so it cuts the string in place
// rather than building slices of fields.
func DecodeNameservers(agg string) ([]store.Nameserver, error) {
	if agg == "" {
		return nil, nil
	}
	out := make([]store.Nameserver, 0, strings.Count(agg, ",")+1)
	for rest := agg; rest != ""; {
		var entry string
		entry, rest, _ = strings.Cut(rest, ",")
		host, addrs, _ := strings.Cut(entry, " ")
		if host == "" {
			return nil, fmt.Errorf("empty nameserver entry in %q", agg)
		}
		ns := store.Nameserver{Name: host}
		if addrs != "" {
			ns.Addrs = make([]netip.Addr, 0, strings.Count(addrs, " ")+1)
			for addrs != "" {
				var field string
				field, addrs, _ = strings.Cut(addrs, " ")
				a, err := netip.ParseAddr(field)
				if err != nil {
					return nil, fmt.Errorf("nameserver %s: %w", host, err)
				}
				ns.Addrs = append(ns.Addrs, a)
			}
		}
		out = append(out, ns)
	}
	return out, nil
}

// ParseDate parses a YYYY-MM-DD date to midnight UTC, without the generality
// (and cost) of time.Parse: it runs once per domain of every SQLite stream.
func ParseDate(s string) (time.Time, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	num := func(p string) int {
		n := 0
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return -1
			}
			n = n*10 + int(p[i]-'0')
		}
		return n
	}
	y, m, d := num(s[:4]), num(s[5:7]), num(s[8:])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if y < 0 || m < 1 || m > 12 || d < 1 || t.Day() != d {
		return time.Time{}, fmt.Errorf("date %q is not a calendar date", s)
	}
	return t, nil
}

// DecodeDS parses the aggregated DS column ("" for none).
func DecodeDS(agg string) ([]store.DS, error) {
	if agg == "" {
		return nil, nil
	}
	out := make([]store.DS, 0, strings.Count(agg, ",")+1)
	for entry := range strings.SplitSeq(agg, ",") {
		f := strings.Fields(entry)
		if len(f) != 4 {
			return nil, fmt.Errorf("malformed DS entry %q", entry)
		}
		tag, err1 := strconv.ParseUint(f[0], 10, 16)
		alg, err2 := strconv.ParseUint(f[1], 10, 8)
		typ, err3 := strconv.ParseUint(f[2], 10, 8)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("malformed DS entry %q", entry)
		}
		out = append(out, store.DS{KeyTag: uint16(tag), Algorithm: uint8(alg), DigestType: uint8(typ), Digest: f[3]})
	}
	return out, nil
}

// EncodeNameservers renders nameservers in the aggregated form.
func EncodeNameservers(ns []store.Nameserver) string {
	var b strings.Builder
	for i, n := range ns {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n.Name)
		for _, a := range n.Addrs {
			b.WriteByte(' ')
			b.WriteString(a.String())
		}
	}
	return b.String()
}

// EncodeDS renders DS records in the aggregated form.
func EncodeDS(ds []store.DS) string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d %d %d %s", d.KeyTag, d.Algorithm, d.DigestType, d.Digest)
	}
	return b.String()
}

// JoinAddrs renders addresses as the backends store them in text: canonical
// forms separated by single spaces.
func JoinAddrs(addrs []netip.Addr) string {
	var b strings.Builder
	for i, a := range addrs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.String())
	}
	return b.String()
}

// EncodeFindings renders findings as a JSON array ("[]" for none).
func EncodeFindings(f []store.Finding) ([]byte, error) {
	if f == nil {
		f = []store.Finding{}
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encoding findings: %w", err)
	}
	return b, nil
}

// DecodeFindings parses a JSON array of findings; empty means none.
func DecodeFindings(b []byte) ([]store.Finding, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var f []store.Finding
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("decoding findings: %w", err)
	}
	if len(f) == 0 {
		return nil, nil
	}
	return f, nil
}

// MaxConflictsReported bounds the conflicts an import's ConflictError
// lists.
const MaxConflictsReported = 20

// CheckWritable validates a domain before a backend writes it and names
// the domain in the error.
func CheckWritable(d *store.Domain) error {
	if errs := d.Validate(); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return fmt.Errorf("domain %q is not valid: %s", d.Name, strings.Join(msgs, "; "))
	}
	return nil
}
