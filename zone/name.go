package zone

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Name is a domain name in canonical key form: its labels from the root
// down, each lowercased, escaped and terminated by a 0x00 byte. Comparing
// two keys byte by byte is DNSSEC canonical order (RFC 4034 §6.1), an
// ancestor's key is a prefix of its descendants' keys, and the root is the
// empty key. Escaping keeps the terminator unique: 0x00 is written 0x01 0x01
// and 0x01 is written 0x01 0x02; every other byte stands for itself.
//
// "exemplo.pt." is "pt\x00exemplo\x00".
type Name string

// Root is the root name.
const Root Name = ""

// Errors about names.
var (
	ErrNameSyntax = errors.New("invalid domain name")
	ErrNameLength = errors.New("domain name longer than 255 octets")
)

// ParseName reads a name in presentation format, absolute ("exemplo.pt.")
// or relative to origin ("exemplo", "@"). Escapes \X and \DDD are decoded.
// An empty relative name or "@" is the origin itself.
func ParseName(s string, origin Name) (Name, error) {
	if s == "@" {
		return origin, nil
	}
	if s == "." {
		return Root, nil
	}
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrNameSyntax)
	}
	var labels [][]byte
	var cur []byte
	absolute := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if len(cur) == 0 {
				return "", fmt.Errorf("%w: %q has an empty label", ErrNameSyntax, s)
			}
			labels = append(labels, cur)
			cur = nil
			if i == len(s)-1 {
				absolute = true
			}
		case c == '\\':
			if i+1 >= len(s) {
				return "", fmt.Errorf("%w: %q ends with a backslash", ErrNameSyntax, s)
			}
			if isDigit(s[i+1]) {
				if i+3 >= len(s) || !isDigit(s[i+2]) || !isDigit(s[i+3]) {
					return "", fmt.Errorf("%w: %q has a bad \\DDD escape", ErrNameSyntax, s)
				}
				v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
				if v > 255 {
					return "", fmt.Errorf("%w: %q has \\%d, above 255", ErrNameSyntax, s, v)
				}
				cur = append(cur, byte(v))
				i += 3
			} else {
				cur = append(cur, s[i+1])
				i++
			}
		default:
			cur = append(cur, c)
		}
	}
	if len(cur) > 0 {
		labels = append(labels, cur)
	}
	for _, l := range labels {
		if len(l) > 63 {
			return "", fmt.Errorf("%w: %q has a label longer than 63 octets", ErrNameSyntax, s)
		}
	}
	var key []byte
	if !absolute {
		key = []byte(origin)
	}
	for i := len(labels) - 1; i >= 0; i-- {
		key = appendLabelKey(key, labels[i])
	}
	n := Name(key)
	if n.wireLen() > 255 {
		return "", fmt.Errorf("%w: %q", ErrNameLength, s)
	}
	return n, nil
}

// MustParseName is ParseName for names known to be valid; it panics
// otherwise. For tests and constants.
func MustParseName(s string) Name {
	n, err := ParseName(s, Root)
	if err != nil {
		panic(err)
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// appendLabelKey appends one label, lowercased and escaped, and its
// terminator.
func appendLabelKey(key, label []byte) []byte {
	for _, c := range label {
		switch {
		case c >= 'A' && c <= 'Z':
			key = append(key, c+('a'-'A'))
		case c <= 0x01:
			key = append(key, 0x01, c+1)
		default:
			key = append(key, c)
		}
	}
	return append(key, 0x00)
}

// NameFromWire reads an uncompressed wire-format name from the start of b
// and returns it and its length in b.
func NameFromWire(b []byte) (Name, int, error) {
	var labels [][]byte
	i := 0
	for {
		if i >= len(b) {
			return "", 0, fmt.Errorf("%w: truncated wire name", ErrNameSyntax)
		}
		l := int(b[i])
		if l == 0 {
			i++
			break
		}
		if l > 63 {
			return "", 0, fmt.Errorf("%w: compressed or bad label length %d", ErrNameSyntax, l)
		}
		if i+1+l > len(b) {
			return "", 0, fmt.Errorf("%w: truncated wire name", ErrNameSyntax)
		}
		labels = append(labels, b[i+1:i+1+l])
		i += 1 + l
	}
	if i > 255 {
		return "", 0, ErrNameLength
	}
	var key []byte
	for j := len(labels) - 1; j >= 0; j-- {
		key = appendLabelKey(key, labels[j])
	}
	return Name(key), i, nil
}

// labels calls fn for each raw (unescaped) label from the root down.
func (n Name) labels(fn func(label []byte)) {
	var buf [63]byte
	l := buf[:0]
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch c {
		case 0x00:
			fn(l)
			l = buf[:0]
		case 0x01:
			i++
			l = append(l, n[i]-1)
		default:
			l = append(l, c)
		}
	}
}

// Labels returns the number of labels (0 for the root). The escapes never
// contain 0x00, so every 0x00 ends a label.
func (n Name) Labels() int {
	return strings.Count(string(n), "\x00")
}

// appendPlainWire is AppendWire for a key with no escaped bytes, nearly
// every name: each label is copied whole, from the last one stored.
func (n Name) appendPlainWire(b []byte) []byte {
	for end := len(n); end > 0; {
		// n[end-1] ends a label; the label starts after the 0x00 before it.
		start := strings.LastIndexByte(string(n[:end-1]), 0x00) + 1
		b = append(b, byte(end-1-start))
		b = append(b, n[start:end-1]...)
		end = start
	}
	return append(b, 0)
}

// labelBounds returns where each label's key bytes start and end, root
// first, and how many labels there are.
func (n Name) labelBounds() (stack [128][2]int, depth int) {
	start := 0
	for i := 0; i < len(n); i++ {
		switch n[i] {
		case 0x00:
			stack[depth] = [2]int{start, i}
			depth++
			start = i + 1
		case 0x01:
			i++ // an escaped byte
		}
	}
	return stack, depth
}

// AppendWire appends the name in uncompressed wire format (which, keys
// being lowercase, is the DNSSEC canonical form).
func (n Name) AppendWire(b []byte) []byte {
	if strings.IndexByte(string(n), 0x01) < 0 {
		return n.appendPlainWire(b)
	}
	// Labels are stored root first; wire order is leaf first.
	stack, depth := n.labelBounds()
	for d := depth - 1; d >= 0; d-- {
		s, e := stack[d][0], stack[d][1]
		lenAt := len(b)
		b = append(b, 0)
		for i := s; i < e; i++ {
			if n[i] == 0x01 {
				i++
				b = append(b, n[i]-1)
			} else {
				b = append(b, n[i])
			}
		}
		b[lenAt] = byte(len(b) - lenAt - 1)
	}
	return append(b, 0)
}

// Wire returns the name in uncompressed wire format.
func (n Name) Wire() []byte { return n.AppendWire(make([]byte, 0, len(n)+2)) }

func (n Name) wireLen() int {
	l := 1
	for i := 0; i < len(n); i++ {
		switch n[i] {
		case 0x00:
			l++ // the length octet of this label
		case 0x01:
			i++
			l++
		default:
			l++
		}
	}
	return l
}

// String returns the name in presentation format, absolute (with the final
// dot), escaping what must be escaped.
func (n Name) String() string { return string(n.AppendText(nil)) }

// AppendText appends the presentation format of the name.
func (n Name) AppendText(b []byte) []byte {
	if n == Root {
		return append(b, '.')
	}
	stack, depth := n.labelBounds()
	for d := depth - 1; d >= 0; d-- {
		s, e := stack[d][0], stack[d][1]
		for i := s; i < e; i++ {
			c := n[i]
			if c == 0x01 {
				i++
				c = n[i] - 1
			}
			b = appendTextByte(b, c)
		}
		b = append(b, '.')
	}
	return b
}

func appendTextByte(b []byte, c byte) []byte {
	switch {
	case c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' || c == '$':
		return append(b, '\\', c)
	case c < 0x21 || c > 0x7e:
		return append(b, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
	}
	return append(b, c)
}

// IsBelow reports whether n is ancestor or lies below it (n == ancestor
// counts).
func (n Name) IsBelow(ancestor Name) bool {
	return strings.HasPrefix(string(n), string(ancestor))
}

// IsStrictlyBelow reports whether n lies below ancestor and differs from it.
func (n Name) IsStrictlyBelow(ancestor Name) bool {
	return len(n) > len(ancestor) && strings.HasPrefix(string(n), string(ancestor))
}

// Parent returns the name without its leftmost label (the root's parent is
// the root).
func (n Name) Parent() Name {
	if n == Root {
		return Root
	}
	// The leftmost label follows the second to last terminator; escapes
	// never contain 0x00.
	if i := strings.LastIndexByte(string(n[:len(n)-1]), 0x00); i >= 0 {
		return n[:i+1]
	}
	return Root
}

// Child returns the name of one more label, raw (unescaped) bytes, below n.
func (n Name) Child(label []byte) Name {
	return Name(appendLabelKey([]byte(n), label))
}

// FirstLabel returns the leftmost label, raw.
func (n Name) FirstLabel() []byte {
	if len(n) == 0 {
		return nil
	}
	// The first label is the last one stored; most have no escapes and
	// are copied as they are (signing asks for millions of them).
	start := strings.LastIndexByte(string(n[:len(n)-1]), 0x00) + 1
	if l := n[start : len(n)-1]; strings.IndexByte(string(l), 0x01) < 0 {
		return []byte(l)
	}
	var last []byte
	n.labels(func(l []byte) { last = append(last[:0], l...) })
	return last
}

// Compare orders names canonically (RFC 4034 §6.1).
func Compare(a, b Name) int { return strings.Compare(string(a), string(b)) }

// compareKeys is Compare on key bytes.
func compareKeys(a, b []byte) int { return bytes.Compare(a, b) }

// HostName returns the name of a host or domain name as the registry
// stores it: lowercase letters, digits, hyphens and dots, no trailing dot.
// Such names need no escaping, so the key is built directly; anything
// else goes through ParseName.
func HostName(s string) (Name, error) {
	key, err := AppendHostKey(make([]byte, 0, len(s)+1), s)
	return Name(key), err
}

// AppendHostKey appends the key of HostName(s) to b: a zone build turns
// millions of registry names into keys, and a reused buffer spares it an
// allocation for each.
func AppendHostKey(b []byte, s string) ([]byte, error) {
	if s == "" {
		return b, errEmptyHost
	}
	if !plainHost(s) {
		n, err := ParseName(s+".", Root)
		return append(b, n...), err
	}
	end := len(s)
	for i := len(s) - 1; i >= -1; i-- {
		if i == -1 || s[i] == '.' {
			if end-i-1 > 63 {
				return b, fmt.Errorf("%w: %q has a label longer than 63 octets", ErrNameSyntax, s)
			}
			b = append(b, s[i+1:end]...)
			b = append(b, 0)
			end = i
		}
	}
	return b, nil
}

// AppendHostWire appends the uncompressed wire form of HostName(s) to b,
// as the rdata of an NS record holds it.
func AppendHostWire(b []byte, s string) ([]byte, error) {
	if s == "" {
		return b, errEmptyHost
	}
	if !plainHost(s) {
		n, err := ParseName(s+".", Root)
		if err != nil {
			return b, err
		}
		return n.AppendWire(b), nil
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if i-start > 63 {
				return b, fmt.Errorf("%w: %q has a label longer than 63 octets", ErrNameSyntax, s)
			}
			b = append(b, byte(i-start))
			b = append(b, s[start:i]...)
			start = i + 1
		}
	}
	return append(b, 0), nil
}

var errEmptyHost = fmt.Errorf("%w: empty", ErrNameSyntax)

// plainHost reports whether s is a host name in the registry's form that
// needs no escaping: lowercase letters, digits, hyphens, no empty label,
// no trailing dot, at most 253 octets.
func plainHost(s string) bool {
	if s == "" || len(s) > 253 || s[len(s)-1] == '.' || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' && s[i-1] != '.') {
			return false
		}
	}
	return true
}
