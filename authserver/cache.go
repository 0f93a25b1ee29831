package authserver

import (
	"encoding/binary"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// cacheEntries bounds a snapshot's cached responses; past it the cache
// starts again empty.
const cacheEntries = 100_000

// respCache keeps a snapshot's responses as packed, to answer the same
// question again by copying them: a TLD's servers are asked for the same
// delegations over and over. A response depends on the question's name
// only without case: its copy takes the ID, the RD and CD bits and the
// name as asked, and the owners the response compressed into the question
// follow its case.
type respCache struct {
	mu sync.RWMutex
	m  map[cacheKey]*cached
}

type cacheKey struct {
	name           string // lowercased
	qtype          uint16
	limit          int // the size the response was fitted to
	edns, do, nsid bool
}

type cached struct {
	wire  []byte
	rcode int
	kind  string // for the rate limit
}

func newRespCache() *respCache { return &respCache{m: map[cacheKey]*cached{}} }

func (c *respCache) get(k cacheKey) *cached {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[k]
}

func (c *respCache) size() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

func (c *respCache) put(k cacheKey, e *cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= cacheEntries {
		c.m = map[cacheKey]*cached{}
	}
	c.m[k] = e
}

// cacheKeyOf returns the key of a query whose response can be cached: an
// IN-class query, not a transfer, not signed, with EDNS version 0 or none.
func (s *Server) cacheKeyOf(req *dns.Msg, udp bool) (cacheKey, bool) {
	if req.Response || req.Opcode != dns.OpcodeQuery || len(req.Question) != 1 || req.IsTsig() != nil {
		return cacheKey{}, false
	}
	q := req.Question[0]
	if q.Qclass != dns.ClassINET || q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		return cacheKey{}, false
	}
	k := cacheKey{name: strings.ToLower(q.Name), qtype: q.Qtype, limit: dns.MaxMsgSize}
	if udp {
		k.limit = dns.MinMsgSize
	}
	if opt := req.IsEdns0(); opt != nil {
		if opt.Version() != 0 {
			return cacheKey{}, false
		}
		k.edns, k.do = true, opt.Do()
		k.nsid = s.conf().NSID != "" && hasOption(opt, dns.EDNS0NSID)
		if udp {
			k.limit = max(dns.MinMsgSize, min(int(opt.UDPSize()), int(s.conf().EDNSSize)))
		}
	}
	return k, true
}

// replay returns a cached response for req: its ID, its RD and CD bits,
// and its question's name as written.
func (e *cached) replay(req *dns.Msg) ([]byte, bool) {
	var name [256]byte
	n, err := dns.PackDomainName(dns.Fqdn(req.Question[0].Name), name[:], 0, nil, false)
	if err != nil || len(e.wire) < 12+n {
		return nil, false
	}
	b := make([]byte, len(e.wire))
	copy(b, e.wire)
	binary.BigEndian.PutUint16(b, req.Id)
	b[2] &^= 0x01 // RD
	if req.RecursionDesired {
		b[2] |= 0x01
	}
	b[3] &^= 0x10 // CD
	if req.CheckingDisabled {
		b[3] |= 0x10
	}
	copy(b[12:], name[:n])
	return b, true
}
