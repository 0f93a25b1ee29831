package zonegen

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/ptzone/ptzone/policy"
)

// ZoneState is what a build leaves for the next one to go on from without
// reading the whole registry (BuildChanges): which delegations give glue
// for which hosts, the zone's totals, and what the build depended on
// besides the registry.
type ZoneState struct {
	// Fingerprint identifies the configuration and policy the zone was
	// built with; another one means a full build.
	Fingerprint string
	// Serial is the serial of the zone the state belongs to.
	Serial                                   uint32
	Delegations, Secure, Glue, GlueConflicts int
	glue                                     *glueIndex
}

// Fingerprint identifies what besides the registry a build of zone z
// depends on: the zones built (for the delegations between them), the
// zone's parameters, those of its child zones (their name servers are
// delegated to), its static delegations, whether checks are assumed, and
// the policy's version.
func Fingerprint(cfg Config, z string, pol *policy.Policy) string {
	children := map[string]ZoneParams{}
	for _, c := range cfg.Zones {
		if parentZone(c, cfg.Zones) == z {
			children[c] = cfg.Params(c)
		}
	}
	var static []StaticDelegation
	for _, d := range cfg.StaticDelegations {
		if parentZone(d.Name, cfg.Zones) == z {
			static = append(static, d)
		}
	}
	b, _ := json.Marshal(struct {
		Zones         []string
		Params        ZoneParams
		Children      map[string]ZoneParams
		Static        []StaticDelegation
		AssumeChecked bool
	}{cfg.Zones, cfg.Params(z), children, static, cfg.AssumeChecked})
	h := sha256.New()
	h.Write(b)
	if pol != nil {
		h.Write([]byte(pol.Version()))
	}
	return hex.EncodeToString(h.Sum(nil))
}

var stateMagic = []byte("PTZSTATE\x00\x02")

// ErrCorruptState reports a state file that fails its checksum or cannot
// be read.
var ErrCorruptState = errors.New("corrupt zone state")

// MarshalBinary encodes the state as WriteTo writes it.
func (s *ZoneState) MarshalBinary() ([]byte, error) {
	var buf bytes.Buffer
	_, err := s.WriteTo(&buf)
	return buf.Bytes(), err
}

// WriteTo writes the state: its fields, then each indexed host with its
// listings, in order, then a SHA-256 of all of it. A host's listings are
// one block, prefixed by its length, so that a reader can keep them
// packed until it needs them (hostListings). It writes in chunks as it
// encodes: a state lists every delegation with glue, a hundred megabytes
// for pt, and is written at every publication; hosts still packed are
// copied as they were read. Each block's listings are in order of their
// domains: the blocks a full build packed in registry order are sorted
// first, in place (sortPacked).
func (s *ZoneState) WriteTo(w io.Writer) (int64, error) {
	const chunk = 256 << 10
	h := sha256.New()
	var written int64
	b := make([]byte, 0, chunk+1024)
	emit := func() error {
		h.Write(b)
		n, err := w.Write(b)
		written += int64(n)
		b = b[:0]
		return err
	}
	b = append(b, stateMagic...)
	b = appendString(b, s.glue.zone)
	b = appendString(b, s.Fingerprint)
	b = binary.LittleEndian.AppendUint32(b, s.Serial)
	for _, n := range []int{s.Delegations, s.Secure, s.Glue, s.GlueConflicts} {
		b = binary.LittleEndian.AppendUint64(b, uint64(n))
	}
	s.glue.sortPacked()
	hosts := s.glue.sortedHosts()
	b = binary.LittleEndian.AppendUint32(b, uint32(len(hosts)))
	var scratch []byte
	for _, host := range hosts {
		block := s.glue.hosts[host].packed
		if block == nil {
			scratch = encodeListings(scratch[:0], s.glue.hosts[host].refs)
			block = scratch
		}
		b = appendString(b, host)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(block)))
		b = append(b, block...)
		if len(b) >= chunk {
			if err := emit(); err != nil {
				return written, err
			}
		}
	}
	if err := emit(); err != nil {
		return written, err
	}
	n, err := w.Write(h.Sum(nil))
	return written + int64(n), err
}

// encodeListings appends one host's listings block: their count, then each
// domain with its addresses.
func encodeListings(b []byte, refs []glueRef) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(refs)))
	for _, r := range refs {
		b = appendListing(b, r.domain, r.addrs)
	}
	return b
}

// appendListing appends one listing: the domain, then its addresses
// (sorted and distinct), counted.
func appendListing(b []byte, domain string, addrs []netip.Addr) []byte {
	b = appendString(b, domain)
	b = append(b, byte(len(addrs)))
	for _, a := range addrs {
		b = appendAddr(b, a)
	}
	return b
}

// listingDomain returns the domain of the listing l starts with.
func listingDomain(l []byte) []byte {
	if len(l) < 2 {
		return nil
	}
	n := int(binary.LittleEndian.Uint16(l))
	return l[2:min(len(l), 2+n)]
}

// eachListing reads a listings block, calling each with every listing's
// domain and its addresses as encoded (count, then each address); false
// if the block is malformed.
func eachListing(block []byte, each func(domain, addrs []byte)) bool {
	r := &stateReader{b: block}
	for range r.count(3) {
		domain := r.bytes(int(r.uint16()))
		rest := r.b
		for range int(r.byte()) {
			if n := r.byte(); n != 4 && n != 16 {
				r.fail()
			} else {
				r.bytes(int(n))
			}
		}
		if r.err != nil {
			return false
		}
		each(domain, rest[:len(rest)-len(r.b)])
	}
	return r.err == nil && len(r.b) == 0
}

// decodeAddrs appends the addresses of a listing, encoded as eachListing
// gives them, to dst.
func decodeAddrs(dst []netip.Addr, enc []byte) []netip.Addr {
	for enc = enc[1:]; len(enc) > 0; enc = enc[1+enc[0]:] {
		a, _ := netip.AddrFromSlice(enc[1 : 1+enc[0]])
		dst = append(dst, a)
	}
	return dst
}

// decodeListings decodes a listings block into listings sorted by domain,
// the last of a domain's kept; false if it is malformed.
func decodeListings(block []byte) ([]glueRef, bool) {
	if len(block) < 4 {
		return nil, false
	}
	refs := make([]glueRef, 0, min(int(binary.LittleEndian.Uint32(block)), len(block)/3))
	ok := eachListing(block, func(domain, addrs []byte) {
		refs = append(refs, glueRef{domain: string(domain), addrs: decodeAddrs(make([]netip.Addr, 0, addrs[0]), addrs)})
	})
	refs = settleListings(refs)
	return refs, ok
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// appendAddr appends an address's length and octets, as AsSlice gives
// them, without AsSlice's allocation: a state of .pt holds millions.
func appendAddr(b []byte, a netip.Addr) []byte {
	switch {
	case a.Is4():
		v := a.As4()
		return append(append(b, 4), v[:]...)
	case a.IsValid():
		v := a.As16()
		return append(append(b, 16), v[:]...)
	}
	return append(b, 0)
}

// UnmarshalZoneState decodes what MarshalBinary encoded. Each host's
// listings stay packed, unread, until used: the checksum vouches for
// them, and a block found malformed then fails the build that reads it
// (ErrCorruptState, which asks for a full build).
func UnmarshalZoneState(b []byte) (*ZoneState, error) {
	if len(b) < len(stateMagic)+sha256.Size || !bytes.HasPrefix(b, stateMagic) {
		return nil, fmt.Errorf("%w: not a zone state", ErrCorruptState)
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptState)
	}
	r := &stateReader{b: body[len(stateMagic):]}
	s := &ZoneState{}
	zoneName := r.string()
	s.Fingerprint = r.string()
	s.Serial = r.uint32()
	s.Delegations, s.Secure, s.Glue, s.GlueConflicts = int(r.uint64()), int(r.uint64()), int(r.uint64()), int(r.uint64())
	s.glue = newGlueIndex(zoneName)
	n := r.count(6)
	s.glue.hosts = make(map[string]hostListings, n)
	order := make([]string, 0, n)
	for range n {
		host := r.string()
		if len(order) == 0 || order[len(order)-1] < host {
			order = append(order, host)
		}
		block := r.bytes(int(r.uint32()))
		if r.err != nil || len(block) < 4 {
			return nil, fmt.Errorf("%w: malformed listings of %q", ErrCorruptState, host)
		}
		s.glue.hosts[host] = hostListings{packed: block}
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, fmt.Errorf("%w: malformed", ErrCorruptState)
	}
	if len(order) == len(s.glue.hosts) {
		s.glue.order = order // written in order, as sortedHosts gave them
	}
	return s, nil
}

type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) fail() { r.err = ErrCorruptState }

func (r *stateReader) bytes(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.fail()
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *stateReader) byte() byte {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *stateReader) uint16() uint16 {
	b := r.bytes(2)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *stateReader) uint32() uint32 {
	b := r.bytes(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *stateReader) uint64() uint64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *stateReader) string() string {
	return string(r.bytes(int(r.uint16())))
}

// count reads a count of items of at least min octets each, refusing one
// the rest of the input cannot hold.
func (r *stateReader) count(min int) int {
	n := int(r.uint32())
	if n*min > len(r.b) {
		r.fail()
		return 0
	}
	return n
}
