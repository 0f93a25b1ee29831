package authserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync/atomic"

	"github.com/miekg/dns"
	"go.uber.org/zap"
)

// TSIGKey is a secret shared with a secondary to sign transfers and
// notifications (RFC 8945).
type TSIGKey struct {
	Name      string // a domain name, "pt-transfer." say
	Algorithm string // hmac-sha256 (the default), hmac-sha384, hmac-sha512
	Secret    string // base64
}

func tsigAlgorithm(k TSIGKey) string {
	switch strings.ToLower(strings.TrimSuffix(k.Algorithm, ".")) {
	case "", "hmac-sha256":
		return dns.HmacSHA256
	case "hmac-sha384":
		return dns.HmacSHA384
	case "hmac-sha512":
		return dns.HmacSHA512
	}
	return k.Algorithm
}

// keyring holds the TSIG keys by canonical name, and signs and verifies
// messages with them for miekg/dns (a dns.TsigProvider). A key is its
// name and its algorithm together (RFC 8945 §4.2): a MAC made with the
// right name but another algorithm is by an unknown key.
type keyring map[string]ringKey

type ringKey struct {
	algorithm string // canonical, "hmac-sha256."
	secret    []byte
	err       error // why the secret cannot be used
}

// errUnknownKey is a TSIG by a key the server does not have: BADKEY.
var errUnknownKey = errors.New("TSIG key not known, or not with this algorithm")

func newKeyring(keys []TSIGKey) keyring {
	r := keyring{}
	for _, k := range keys {
		secret, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil {
			err = fmt.Errorf("TSIG key %s: the secret is not base64: %w", k.Name, err)
		}
		r[dns.CanonicalName(k.Name)] = ringKey{algorithm: dns.CanonicalName(tsigAlgorithm(k)), secret: secret, err: err}
	}
	return r
}

// mac returns the MAC of msg by the key t names, with t's algorithm.
func (r keyring) mac(msg []byte, t *dns.TSIG) ([]byte, error) {
	k, ok := r[dns.CanonicalName(t.Hdr.Name)]
	if !ok || k.algorithm != dns.CanonicalName(t.Algorithm) {
		return nil, errUnknownKey
	}
	if k.err != nil {
		return nil, k.err
	}
	var h func() hash.Hash
	switch k.algorithm {
	case dns.HmacSHA256:
		h = sha256.New
	case dns.HmacSHA384:
		h = sha512.New384
	case dns.HmacSHA512:
		h = sha512.New
	default:
		return nil, errUnknownKey
	}
	m := hmac.New(h, k.secret)
	m.Write(msg)
	return m.Sum(nil), nil
}

// liveKeyring is the keyring in force, which a reconfiguration replaces;
// the listeners and the notifier hold it from their start.
type liveKeyring struct{ atomic.Pointer[keyring] }

// Generate implements dns.TsigProvider.
func (l *liveKeyring) Generate(msg []byte, t *dns.TSIG) ([]byte, error) {
	return l.Load().Generate(msg, t)
}

// Verify implements dns.TsigProvider.
func (l *liveKeyring) Verify(msg []byte, t *dns.TSIG) error { return l.Load().Verify(msg, t) }

// Generate implements dns.TsigProvider.
func (r keyring) Generate(msg []byte, t *dns.TSIG) ([]byte, error) { return r.mac(msg, t) }

// Verify implements dns.TsigProvider. A MAC shorter than the
// algorithm's (truncated, RFC 8945 §5.2.2.1) does not verify.
func (r keyring) Verify(msg []byte, t *dns.TSIG) error {
	want, err := r.mac(msg, t)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(t.MAC)
	if err != nil || !hmac.Equal(got, want) {
		return dns.ErrSig
	}
	return nil
}

// tsigVerdict is the TSIG error of a signed request, from what
// miekg/dns found verifying it before the handler ran (w.TsigStatus):
// 0 when it verifies; BADKEY for a key not configured, or configured
// with another algorithm; BADTIME for a valid MAC signed further from
// the server's clock than the request's fudge; BADSIG for anything else
// (RFC 8945 §5.2). miekg/dns checks the time on the real clock.
func tsigVerdict(status error) uint16 {
	switch {
	case status == nil:
		return dns.RcodeSuccess
	case errors.Is(status, errUnknownKey), errors.Is(status, dns.ErrSecret), errors.Is(status, dns.ErrKeyAlg):
		return dns.RcodeBadKey
	case errors.Is(status, dns.ErrTime):
		return dns.RcodeBadTime
	}
	return dns.RcodeBadSig
}

// sign signs a response to a signed request (the ResponseWriter computes
// the MAC when the message is written, over the request's MAC too, RFC
// 8945 §5.3). Every response to a request whose TSIG verifies is signed,
// whatever its rcode.
func (s *Server) sign(w dns.ResponseWriter, req, m *dns.Msg) {
	if tsig := req.IsTsig(); tsig != nil && w.TsigStatus() == nil {
		m.SetTsig(tsig.Hdr.Name, tsig.Algorithm, tsig.Fudge, s.now().Unix())
	}
}

// tsigRoom is the room the TSIG signing the response to req takes: that
// of the request's own without its error and other data, the MAC being
// of the same algorithm; 0 for an unsigned request.
func tsigRoom(req *dns.Msg) int {
	tsig := req.IsTsig()
	if tsig == nil {
		return 0
	}
	t := *tsig
	t.Error, t.OtherLen, t.OtherData = 0, 0, ""
	return dns.Len(&t)
}

// rejectSigned answers a request whose TSIG does not verify: NOTAUTH,
// with a TSIG that carries the error (RFC 8945 §5.2, §5.3.2). For BADKEY
// and BADSIG that TSIG is unsigned (no MAC: the server cannot, or must
// not, sign with a key the client did not prove it holds); for BADTIME it
// is signed, carries the request's Time Signed, so the client can check
// it on its own clock, and the server's time in Other Data, so the client
// can see how far apart the clocks are.
func (s *Server) rejectSigned(w dns.ResponseWriter, req *dns.Msg, tsigErr uint16, udp bool) {
	tsig := req.IsTsig()
	m := new(dns.Msg)
	m.SetRcode(req, dns.RcodeNotAuth)
	t := &dns.TSIG{Hdr: dns.RR_Header{Name: tsig.Hdr.Name, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
		Algorithm: tsig.Algorithm, Fudge: tsig.Fudge, OrigId: m.Id, Error: tsigErr}
	now := uint64(s.now().Unix())
	if tsigErr == dns.RcodeBadTime {
		var server [8]byte
		binary.BigEndian.PutUint64(server[:], now)
		t.TimeSigned = tsig.TimeSigned
		t.OtherLen, t.OtherData = 6, hex.EncodeToString(server[2:]) // 48 bits
	} else {
		// The server's time, though nothing signs it: a client that
		// checks the time before the error (BIND does) would otherwise
		// report unsynchronized clocks rather than the bad key.
		t.TimeSigned = now
	}
	s.finish(m, req.IsEdns0(), udp, 0, dns.Len(t))
	m.Extra = append(m.Extra, t)
	errName := dns.RcodeToString[int(tsigErr)]
	s.metrics.tsigErrors.WithLabelValues(errName).Inc()
	var qtype uint16
	var qname string
	if len(req.Question) == 1 {
		qtype, qname = req.Question[0].Qtype, req.Question[0].Name
	}
	s.metrics.count(qtype, m.Rcode, udp)
	s.log.Warn("request with a bad TSIG", zap.Stringer("client", w.RemoteAddr()), zap.String("key", tsig.Hdr.Name),
		zap.String("algorithm", tsig.Algorithm), zap.String("error", errName), zap.NamedError("tsig", w.TsigStatus()),
		zap.String("qname", qname), zap.String("qtype", dns.TypeToString[qtype]))
	var err error
	if tsigErr == dns.RcodeBadTime {
		err = w.WriteMsg(m) // signed as it is written
	} else {
		// Packed here, the TSIG as it is: miekg/dns would clear its time.
		var wire []byte
		if wire, err = m.Pack(); err == nil {
			_, err = w.Write(wire)
		}
	}
	if err != nil {
		s.log.Debug("writing a response", zap.Stringer("client", w.RemoteAddr()), zap.Error(err))
	}
}
