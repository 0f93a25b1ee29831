package authserver

import (
	"time"
)

// servedFrom is a serial of a zone and when the server began serving it.
type servedFrom struct {
	serial uint32
	since  time.Time
}

// lagHistory is how many serials of a zone the server remembers: at a
// publication every 15 minutes, two and a half days of them.
const lagHistory = 256

// noteServed records, for each zone of snap served at a new serial,
// when the server began serving it.
func (s *Server) noteServed(snap *Snapshot, now time.Time) {
	if snap == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.servedAt == nil {
		s.servedAt = map[string][]servedFrom{}
	}
	for _, sv := range snap.zones {
		origin, serial := sv.origin.String(), sv.soa.SOASerial()
		h := s.servedAt[origin]
		if n := len(h); n > 0 && h[n-1].serial == serial {
			continue
		}
		if len(h) == lagHistory {
			h = append(h[:0], h[1:]...)
		}
		s.servedAt[origin] = append(h, servedFrom{serial, now})
	}
}

// serialBehind reports whether serial a comes before serial b in RFC
// 1982 terms: a secondary at a is behind a primary at b, across the wrap
// at 2^32 too (the "!=" of two serials says only that they differ; "<"
// is wrong once the serial wraps).
func serialBehind(a, b uint32) bool { return int32(b-a) > 0 }

// lagOf is how long a secondary answering serial has lacked a serial
// the server serves for origin: since the server began serving the
// first serial after it, or since the oldest serial remembered (the
// server's start, say) when that is after it too, which is then a lower
// bound; 0 when it answers the serial served or a later one. Called
// with s.mu held.
func (s *Server) lagOf(origin string, serial uint32, now time.Time) time.Duration {
	h := s.servedAt[origin]
	if len(h) == 0 || !serialBehind(serial, h[len(h)-1].serial) {
		return 0
	}
	since := h[len(h)-1].since
	for i := len(h) - 1; i >= 0 && serialBehind(serial, h[i].serial); i-- {
		since = h[i].since
	}
	return max(0, now.Sub(since))
}
