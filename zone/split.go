package zone

// SplitBuilder is a Builder for millions of records that come in no
// particular order, as a registry's table streams when nothing sorts it.
// One Builder's arenas then hold neighbours in canonical order hundreds of
// megabytes apart, and sorting and emitting them missed the cache at every
// step. A SplitBuilder keeps one Builder per first two octets of the
// owner's key below the origin (a range of names in canonical order), so
// that each part is sorted and emitted within a stretch of memory the
// caches hold, and the parts are sorted on every core.
type SplitBuilder struct {
	origin Name
	apex   *Builder // the origin itself, and any owner outside the zone
	// parts[a][b] holds the owners whose keys go on with octets a and b
	// below the origin.
	parts [256]*[256]*Builder
}

// NewSplitBuilder starts a zone whose apex is origin.
func NewSplitBuilder(origin Name) *SplitBuilder {
	return &SplitBuilder{origin: origin, apex: NewBuilder(origin, 0)}
}

// part returns the builder of the owner's range, making it if need be.
func (s *SplitBuilder) part(owner string) *Builder {
	a, b, ok := s.index(owner)
	if !ok {
		return s.apex // which refuses an owner outside the zone
	}
	if s.parts[a] == nil {
		s.parts[a] = new([256]*Builder)
	}
	if s.parts[a][b] == nil {
		s.parts[a][b] = NewBuilder(s.origin, 0)
	}
	return s.parts[a][b]
}

// index returns the part of an owner strictly below the origin: the first
// two octets below it, a label's first octet and its second or its
// terminator, which order the parts as canonical order orders their names.
func (s *SplitBuilder) index(owner string) (a, b byte, ok bool) {
	n := len(s.origin)
	if len(owner) < n+2 || owner[:n] != string(s.origin) {
		return 0, 0, false
	}
	return owner[n], owner[n+1], true
}

// Add is Builder.Add.
func (s *SplitBuilder) Add(owner Name, typ uint16, ttl uint32, rdata []byte) error {
	return s.part(string(owner)).Add(owner, typ, ttl, rdata)
}

// AddKey is Builder.AddKey.
func (s *SplitBuilder) AddKey(owner []byte, typ uint16, ttl uint32, rdata []byte) error {
	return s.part(string(owner)).AddKey(owner, typ, ttl, rdata)
}

// Sort is Builder.Sort, on every core.
func (s *SplitBuilder) Sort() {
	parts := s.used()
	onEveryCore(len(parts), func(i int) { parts[i].Sort() })
}

// Has is Builder.Has.
func (s *SplitBuilder) Has(owner Name, typ uint16) bool {
	if a, b, ok := s.index(string(owner)); ok {
		return s.parts[a] != nil && s.parts[a][b] != nil && s.parts[a][b].Has(owner, typ)
	}
	return s.apex.Has(owner, typ)
}

// Zone is Builder.Zone.
func (s *SplitBuilder) Zone() (*Zone, error) {
	z, err := ZoneOfParts(s.origin, s.used())
	s.parts = [256]*[256]*Builder{}
	return z, err
}

// used returns the parts holding records, in canonical order.
func (s *SplitBuilder) used() []*Builder {
	out := []*Builder{s.apex}
	for _, row := range s.parts {
		if row == nil {
			continue
		}
		for _, p := range row {
			if p != nil {
				out = append(out, p)
			}
		}
	}
	return out
}
