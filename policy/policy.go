package policy

import (
	"bufio"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ptzone/ptzone/store"
)

// PendingDeletePeriod is how long an expired domain is held before its name
// becomes free again (Art 26.5); suspensions last at most as long (Art 35.4).
const PendingDeletePeriod = 30 * 24 * time.Hour

// Publishable reports whether a domain in status s may be delegated in the
// zone. It is the only place that decides it: reserved domains have no
// valid technical data (Art 4.2), pending_delete ones are expired (Art 26.5),
// suspended ones are held by DNS.PT or an arbitral injunction (Art 35, 39),
// removed ones are gone (Art 22.4, 33). Only active domains remain (Art 4.1).
// Being publishable is necessary, not sufficient: the delegation gate must
// be open too.
func Publishable(s store.Status) bool {
	return s == store.StatusActive
}

// PublishableStatuses lists the statuses Publishable accepts, for backends
// that filter in their query.
func PublishableStatuses() []store.Status {
	var out []store.Status
	for _, s := range store.Statuses {
		if Publishable(s) {
			out = append(out, s)
		}
	}
	return out
}

// Hierarchy is a zone under which domains are registered.
type Hierarchy struct {
	Zone string
	// Legacy hierarchies keep their domains and are published, but accept
	// no new registrations (Art 41.4).
	Legacy bool
}

// hierarchies: the official ones (preamble; Art 10-20) and the legacy ones
// (Art 41.4). Zone names are A-labels without the trailing dot.
var hierarchies = []Hierarchy{
	{Zone: "pt"},
	{Zone: "com.pt"},
	{Zone: "org.pt"},
	{Zone: "edu.pt"},
	{Zone: "gov.pt"},
	{Zone: "net.pt", Legacy: true},
	{Zone: "publ.pt", Legacy: true},
	{Zone: "int.pt", Legacy: true},
	{Zone: "nome.pt", Legacy: true},
}

// Hierarchies returns every hierarchy, open ones first.
func Hierarchies() []Hierarchy {
	return append([]Hierarchy(nil), hierarchies...)
}

// HierarchyOf returns the hierarchy named zone.
func HierarchyOf(zone string) (Hierarchy, bool) {
	for _, h := range hierarchies {
		if h.Zone == zone {
			return h, true
		}
	}
	return Hierarchy{}, false
}

// ZoneOf returns the hierarchy a fully qualified, lowercase name is
// registered in: the longest hierarchy the name lies below. It does not
// check that the name is directly below it.
func ZoneOf(name string) (string, bool) {
	best := ""
	for _, h := range hierarchies {
		if len(name) > len(h.Zone) && strings.HasSuffix(name, h.Zone) && name[len(name)-len(h.Zone)-1] == '.' && len(h.Zone) > len(best) {
			best = h.Zone
		}
	}
	return best, best != ""
}

//go:embed data/tlds.txt data/reserved.txt data/geographic.txt data/iso3166.txt
var bundled embed.FS

// List is a set of names read from a list file: one name a line, '#'
// comments and blank lines ignored.
type List struct {
	names   map[string]struct{}
	fold    func(string) (string, error)
	version [sha256.Size]byte
}

// ListKind says how a list's entries are compared with a label.
type ListKind int

const (
	// ExactList entries are domain labels, compared as A-labels (TLDs,
	// reserved terms). Entries may be written as U-labels or in uppercase,
	// as in IANA's tlds-alpha-by-domain.txt.
	ExactList ListKind = iota
	// FoldedList entries are names compared without diacritics, hyphens or
	// case (geographic names).
	FoldedList
)

// ReadList reads a list; name is used in error messages ("file:line").
func ReadList(r io.Reader, name string, kind ListKind) (*List, error) {
	l := &List{names: make(map[string]struct{})}
	switch kind {
	case ExactList:
		l.fold = exactKey
	case FoldedList:
		l.fold = func(s string) (string, error) { return foldName(s), nil }
	default:
		return nil, fmt.Errorf("policy: unknown list kind %d", kind)
	}
	h := sha256.New()
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		h.Write(sc.Bytes())
		h.Write([]byte{'\n'})
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, err := l.fold(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %q: %w", name, line, text, err)
		}
		if key == "" {
			return nil, fmt.Errorf("%s:%d: %q has no letters or digits", name, line, text)
		}
		l.names[key] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	h.Sum(l.version[:0])
	return l, nil
}

// Len returns the number of distinct entries.
func (l *List) Len() int { return len(l.names) }

// Contains reports whether name is on the list, compared the list's way.
func (l *List) Contains(name string) bool {
	key, err := l.fold(name)
	if err != nil {
		return false
	}
	_, ok := l.names[key]
	return ok
}

// exactKey turns a list entry into the A-label it is compared as.
func exactKey(s string) (string, error) {
	s = strings.ToLower(s)
	if !isASCII(s) {
		a, err := idnaRegistration.ToASCII(s)
		if err != nil {
			return "", fmt.Errorf("not a valid IDN label: %w", err)
		}
		s = a
	}
	if len(s) > 63 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return "", fmt.Errorf("not a single DNS label of letters, digits and hyphens")
	}
	return s, nil
}

// Lists are the replaceable lists the name rules consult.
type Lists struct {
	TLDs       *List // Art 9.1.b
	Reserved   *List // Art 9.1.d
	Geographic *List // Art 9.1.f, 11.b
}

// BundledLists returns the lists embedded in the binary. They are parsed
// once; a List is never modified after it is read, so they are shared.
func BundledLists() Lists { return bundledLists() }

var bundledLists = sync.OnceValue(func() Lists {
	read := func(kind ListKind, files ...string) *List {
		var texts []string
		for _, f := range files {
			b, err := bundled.ReadFile(f)
			if err != nil {
				panic(fmt.Sprintf("policy: embedded %s: %v", f, err))
			}
			texts = append(texts, string(b))
		}
		l, err := ReadList(strings.NewReader(strings.Join(texts, "\n")), strings.Join(files, "+"), kind)
		if err != nil {
			panic(fmt.Sprintf("policy: embedded list: %v", err))
		}
		return l
	}
	return Lists{
		TLDs:       read(ExactList, "data/tlds.txt"),
		Reserved:   read(ExactList, "data/reserved.txt"),
		Geographic: read(FoldedList, "data/geographic.txt", "data/iso3166.txt"),
	}
})

// Policy applies the name rules with one set of lists.
type Policy struct {
	lists Lists
}

// New returns a policy over lists; nil lists fall back to the bundled ones.
func New(lists Lists) *Policy {
	b := BundledLists()
	if lists.TLDs == nil {
		lists.TLDs = b.TLDs
	}
	if lists.Reserved == nil {
		lists.Reserved = b.Reserved
	}
	if lists.Geographic == nil {
		lists.Geographic = b.Geographic
	}
	return &Policy{lists: lists}
}

// Version identifies the rules and lists in force, for build receipts: the
// same lists give the same version.
func (p *Policy) Version() string {
	h := sha256.New()
	for _, l := range []*List{p.lists.TLDs, p.lists.Reserved, p.lists.Geographic} {
		h.Write(l.version[:])
	}
	var hs []string
	for _, hi := range hierarchies {
		hs = append(hs, fmt.Sprintf("%s:%t", hi.Zone, hi.Legacy))
	}
	sort.Strings(hs)
	h.Write([]byte(strings.Join(hs, ",")))
	return "rules-2014+" + hex.EncodeToString(h.Sum(nil))[:12]
}
