package authserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ptzone/ptzone/internal/tooltest"
)

// A second key, of another algorithm, and a secret that is not the
// transfer key's.
const (
	otherKey    = "outra-pt."
	otherSecret = "b3V0cmEtY2hhdmUtZGUtdGVzdGUtc28tcGFyYS1vcy10ZXN0ZXMtaG1hYy1zaGE1MTI=" // a test key
	wrongSecret = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZw=="
)

// tsigServer serves testPT with the transfer key (hmac-sha256) and
// otherKey (hmac-sha512), transfers of pt allowed to loopback clients
// signing with the transfer key, the CHAOS identity set, and the
// server's clock pinned to clock.
func tsigServer(t *testing.T, clock time.Time, keys ...TSIGKey) (*Server, string) {
	t.Helper()
	tz := signedPT(t, testPT)
	srv := New(Config{Identity: "ptzone-test", TSIG: keys, RateLimit: RateLimit{Off: true},
		Transfer: map[string]Transfer{"pt.": {AllowFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Keys: []string{xfrKey}}},
	}, nil)
	srv.now = func() time.Time { return clock }
	return srv, start(t, srv, tz.snap)
}

var (
	transferKey = TSIGKey{Name: xfrKey, Secret: xfrSecret}
	sha512Key   = TSIGKey{Name: otherKey, Algorithm: "hmac-sha512", Secret: otherSecret}
)

// signedExchange signs q with key as at signed, sends it over network
// and returns the response as received, unpacked, and the request's MAC.
func signedExchange(t *testing.T, network, addr string, q *dns.Msg, key TSIGKey, signed time.Time) ([]byte, *dns.Msg, string) {
	t.Helper()
	q.SetTsig(dns.CanonicalName(key.Name), tsigAlgorithm(key), 300, signed.Unix())
	wire, mac, err := dns.TsigGenerate(q, key.Secret, "", false)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second)) // a bound, should no answer come
	var raw []byte
	if network == "tcp" {
		if _, err := conn.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(wire))), wire...)); err != nil {
			t.Fatal(err)
		}
		var n [2]byte
		if _, err := io.ReadFull(conn, n[:]); err != nil {
			t.Fatalf("%s over TCP: %v", q.Question[0].String(), err)
		}
		raw = make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(conn, raw); err != nil {
			t.Fatal(err)
		}
	} else {
		if _, err := conn.Write(wire); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, dns.MaxMsgSize)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("%s over UDP: %v", q.Question[0].String(), err)
		}
		raw = buf[:n]
	}
	r := new(dns.Msg)
	if err := r.Unpack(raw); err != nil {
		t.Fatal(err)
	}
	return raw, r, mac
}

// macVerifies recomputes the MAC of a signed response as RFC 8945 §4.3
// says, without miekg/dns's TSIG code: over the request's MAC with its
// length, the response as sent without its TSIG record (ARCOUNT one
// less, the original ID), and the TSIG variables; and reports whether
// the response's MAC is that.
func macVerifies(t *testing.T, raw []byte, requestMAC string, secret string) bool {
	t.Helper()
	r := new(dns.Msg)
	if err := r.Unpack(raw); err != nil {
		t.Fatal(err)
	}
	tsig := r.IsTsig()
	if tsig == nil {
		return false
	}
	body := append([]byte(nil), raw[:len(raw)-dns.Len(tsig)]...) // the TSIG is last, not compressed
	binary.BigEndian.PutUint16(body[0:], tsig.OrigId)
	binary.BigEndian.PutUint16(body[10:], binary.BigEndian.Uint16(body[10:])-1)
	name := func(s string) []byte {
		b := make([]byte, 256)
		n, err := dns.PackDomainName(dns.CanonicalName(s), b, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		return b[:n]
	}
	reqMAC, _ := hex.DecodeString(requestMAC)
	other, _ := hex.DecodeString(tsig.OtherData)
	var digest []byte
	digest = binary.BigEndian.AppendUint16(digest, uint16(len(reqMAC)))
	digest = append(digest, reqMAC...)
	digest = append(digest, body...)
	digest = append(digest, name(tsig.Hdr.Name)...)
	digest = binary.BigEndian.AppendUint16(digest, dns.ClassANY)
	digest = binary.BigEndian.AppendUint32(digest, 0)
	digest = append(digest, name(tsig.Algorithm)...)
	digest = binary.BigEndian.AppendUint16(digest, uint16(tsig.TimeSigned>>32))
	digest = binary.BigEndian.AppendUint32(digest, uint32(tsig.TimeSigned))
	digest = binary.BigEndian.AppendUint16(digest, tsig.Fudge)
	digest = binary.BigEndian.AppendUint16(digest, tsig.Error)
	digest = binary.BigEndian.AppendUint16(digest, uint16(len(other)))
	digest = append(digest, other...)
	var h func() hash.Hash
	switch dns.CanonicalName(tsig.Algorithm) {
	case dns.HmacSHA256:
		h = sha256.New
	case dns.HmacSHA512:
		h = sha512.New
	default:
		t.Fatalf("no HMAC %s in the test", tsig.Algorithm)
	}
	key, _ := base64.StdEncoding.DecodeString(secret)
	m := hmac.New(h, key)
	m.Write(digest)
	got, _ := hex.DecodeString(tsig.MAC)
	return hmac.Equal(got, m.Sum(nil))
}

// TestSignedAnswers: every response to a request signed with a key the
// server has is signed with that key, over the request's MAC, at the
// server's time, whatever it says: an answer, NXDOMAIN, REFUSED for a
// zone not served, NOTIMP for an opcode not served (NOTIFY, UPDATE),
// FORMERR (a meta type, two questions), a CHAOS answer or refusal, the
// SOA an IXFR over UDP gets (RFC 8945 §5.3).
func TestSignedAnswers(t *testing.T) {
	clock := time.Now().Truncate(time.Second)
	_, addr := tsigServer(t, clock, transferKey, sha512Key)
	question := func(name string, qtype, class uint16) func() *dns.Msg {
		return func() *dns.Msg {
			q := new(dns.Msg)
			q.SetQuestion(name, qtype)
			q.Question[0].Qclass = class
			q.SetEdns0(1232, false)
			return q
		}
	}
	for _, c := range []struct {
		what    string
		query   func() *dns.Msg
		rcode   int
		answers int
	}{
		{"the SOA", question("pt.", dns.TypeSOA, dns.ClassINET), dns.RcodeSuccess, 1},
		{"a name not in the zone", question("nao-existe.pt.", dns.TypeA, dns.ClassINET), dns.RcodeNameError, 0},
		{"a referral", question("www.seguro.pt.", dns.TypeA, dns.ClassINET), dns.RcodeSuccess, 0},
		{"a zone not served", question("example.com.", dns.TypeA, dns.ClassINET), dns.RcodeRefused, 0},
		{"the CHAOS identity", question("id.server.", dns.TypeTXT, dns.ClassCHAOS), dns.RcodeSuccess, 1},
		{"a CHAOS version not given", question("version.bind.", dns.TypeTXT, dns.ClassCHAOS), dns.RcodeRefused, 0},
		{"a meta type", question("pt.", dns.TypeMAILB, dns.ClassINET), dns.RcodeFormatError, 0},
		{"NOTIFY", func() *dns.Msg { q := new(dns.Msg); q.SetNotify("pt."); return q }, dns.RcodeNotImplemented, 0},
		{"UPDATE", func() *dns.Msg { q := new(dns.Msg); q.SetUpdate("pt."); return q }, dns.RcodeNotImplemented, 0},
		{"two questions", func() *dns.Msg {
			q := question("pt.", dns.TypeSOA, dns.ClassINET)()
			q.Question = append(q.Question, q.Question[0])
			return q
		}, dns.RcodeFormatError, 0},
		{"IXFR", func() *dns.Msg {
			q := new(dns.Msg)
			q.SetIxfr("pt.", 1, "a.dns.pt.", "hostmaster.dns.pt.")
			return q
		}, dns.RcodeSuccess, 1},
	} {
		for _, network := range []string{"udp", "tcp"} {
			for _, key := range []TSIGKey{transferKey, sha512Key} {
				if c.what == "IXFR" && (key.Name != xfrKey || network == "tcp") {
					continue // the transfer key's, the SOA over UDP
				}
				what := c.what + " over " + network + " with " + key.Name
				raw, r, mac := signedExchange(t, network, addr, c.query(), key, time.Now())
				tsig := r.IsTsig()
				switch {
				case r.Rcode != c.rcode || len(r.Answer) != c.answers:
					t.Errorf("%s: %s with %d answers, want %s with %d", what, dns.RcodeToString[r.Rcode], len(r.Answer),
						dns.RcodeToString[c.rcode], c.answers)
				case tsig == nil:
					t.Errorf("%s: the response is not signed", what)
				case tsig.Error != dns.RcodeSuccess || dns.CanonicalName(tsig.Hdr.Name) != dns.CanonicalName(key.Name) ||
					dns.CanonicalName(tsig.Algorithm) != tsigAlgorithm(key):
					t.Errorf("%s: TSIG %v", what, tsig)
				case tsig.TimeSigned != uint64(clock.Unix()):
					t.Errorf("%s: signed at %d, want the server's time %d", what, tsig.TimeSigned, clock.Unix())
				case !macVerifies(t, raw, mac, key.Secret):
					t.Errorf("%s: the response's MAC does not verify", what)
				}
			}
		}
	}
}

// TestTSIGErrors: a request signed with a wrong secret, by a key the
// server does not have (or has with another algorithm), or at a time
// further than its fudge from the server's, gets NOTAUTH and a TSIG
// saying why (RFC 8945 §5.2), whatever it asks: BADSIG and BADKEY
// unsigned (§5.3.2) at the server's time (BIND checks it before the
// error), BADTIME signed, with the request's time and the
// server's in Other Data (§5.2.3); none is answered. Each is counted.
// With no keys configured, every signed request is by an unknown key.
func TestTSIGErrors(t *testing.T) {
	clock := time.Now().Truncate(time.Second)
	srv, addr := tsigServer(t, clock, transferKey, sha512Key)
	_, keyless := tsigServer(t, clock)
	wrongAlgorithm := transferKey
	wrongAlgorithm.Algorithm = "hmac-sha512"
	queries := map[string]func() *dns.Msg{
		"SOA": func() *dns.Msg { q := new(dns.Msg); q.SetQuestion("pt.", dns.TypeSOA); return q },
		"A": func() *dns.Msg {
			q := new(dns.Msg)
			q.SetQuestion("nao-existe.pt.", dns.TypeA)
			q.SetEdns0(1232, true)
			return q
		},
		"AXFR": func() *dns.Msg {
			q := new(dns.Msg)
			q.SetAxfr("pt.")
			return q
		},
	}
	want := map[string]float64{}
	for _, c := range []struct {
		what   string
		addr   string
		key    TSIGKey
		signed time.Time
		err    uint16
	}{
		{"a wrong secret", addr, TSIGKey{Name: xfrKey, Secret: wrongSecret}, time.Now(), dns.RcodeBadSig},
		{"an unknown key", addr, TSIGKey{Name: "desconhecida.", Secret: xfrSecret}, time.Now(), dns.RcodeBadKey},
		{"the key with another algorithm", addr, wrongAlgorithm, time.Now(), dns.RcodeBadKey},
		{"a time an hour behind", addr, transferKey, time.Now().Add(-time.Hour), dns.RcodeBadTime},
		{"a time an hour ahead", addr, sha512Key, time.Now().Add(time.Hour), dns.RcodeBadTime},
		{"a server without keys", keyless, transferKey, time.Now(), dns.RcodeBadKey},
	} {
		for qname, query := range queries {
			for _, network := range []string{"udp", "tcp"} {
				if qname == "AXFR" && network == "udp" {
					continue
				}
				what := c.what + ", " + qname + " over " + network
				q := query()
				raw, r, mac := signedExchange(t, network, c.addr, q, c.key, c.signed)
				if c.addr == addr {
					want[dns.RcodeToString[int(c.err)]]++
				}
				tsig := r.IsTsig()
				if r.Rcode != dns.RcodeNotAuth || len(r.Answer)+len(r.Ns) > 0 || len(r.Question) != 1 || r.Question[0] != q.Question[0] {
					t.Errorf("%s: %s, %d answers, %d in authority, question %v; want NOTAUTH, nothing answered",
						what, dns.RcodeToString[r.Rcode], len(r.Answer), len(r.Ns), r.Question)
					continue
				}
				if tsig == nil || tsig.Error != c.err || dns.CanonicalName(tsig.Hdr.Name) != dns.CanonicalName(c.key.Name) {
					t.Errorf("%s: TSIG %v, want one of key %s with error %s", what, tsig, c.key.Name, dns.RcodeToString[int(c.err)])
					continue
				}
				if (q.IsEdns0() != nil) != (r.IsEdns0() != nil) {
					t.Errorf("%s: OPT record %v for a query with %v", what, r.IsEdns0(), q.IsEdns0())
				}
				if c.err != dns.RcodeBadTime {
					if tsig.MACSize != 0 || tsig.MAC != "" || tsig.OtherLen != 0 || tsig.TimeSigned != uint64(clock.Unix()) {
						t.Errorf("%s: TSIG %v, want no MAC (RFC 8945 §5.3.2), the server's time", what, tsig)
					}
					continue
				}
				if !macVerifies(t, raw, mac, c.key.Secret) {
					t.Errorf("%s: the MAC does not verify", what)
				}
				var server [8]byte
				other, _ := hex.DecodeString(tsig.OtherData)
				copy(server[2:], other)
				if tsig.TimeSigned != uint64(c.signed.Unix()) || len(other) != 6 || binary.BigEndian.Uint64(server[:]) != uint64(clock.Unix()) {
					t.Errorf("%s: time signed %d, other data %q; want the request's time %d and the server's %d in 48 bits",
						what, tsig.TimeSigned, tsig.OtherData, c.signed.Unix(), clock.Unix())
				}
			}
		}
	}
	for tsigErr, n := range want {
		if got := testutil.ToFloat64(srv.metrics.tsigErrors.WithLabelValues(tsigErr)); got != n {
			t.Errorf("ptzone_dns_tsig_errors_total{error=%q} = %v, want %v", tsigErr, got, n)
		}
	}
	if got := testutil.ToFloat64(srv.metrics.transfers.WithLabelValues("other", "AXFR", "bad signature")); got != 5 {
		t.Errorf("transfers with a bad signature: %v, want 5", got)
	}
}

// TestSignedTruncation: over UDP a signed response fits in the size the
// client takes, its TSIG included: one that would fit unsigned but not
// with its TSIG is truncated, and signed still.
func TestSignedTruncation(t *testing.T) {
	clock := time.Now().Truncate(time.Second)
	srv, addr := tsigServer(t, clock, transferKey)
	// NXDOMAIN with its NSEC3 proof: some 540 octets.
	query := func(size int) *dns.Msg {
		q := new(dns.Msg)
		q.SetQuestion("nao-existe.pt.", dns.TypeA)
		q.SetEdns0(uint16(size), true)
		return q
	}
	whole := srv.Respond(query(4096), false)
	unsigned, err := whole.Pack()
	if err != nil {
		t.Fatal(err)
	}
	// A size the unsigned answer fits in, with less room left than a
	// TSIG of hmac-sha256 takes (about 60 octets).
	size := len(unsigned) + 20
	if size < dns.MinMsgSize {
		t.Fatalf("the answer has %d octets: too few for this test", len(unsigned))
	}
	raw, r, mac := signedExchange(t, "udp", addr, query(size), transferKey, time.Now())
	if len(raw) > size || !r.Truncated || r.IsTsig() == nil || !macVerifies(t, raw, mac, xfrSecret) {
		t.Errorf("a signed NXDOMAIN in %d octets: %d octets, TC %v, TSIG %v", size, len(raw), r.Truncated, r.IsTsig())
	}
	// With room for both, all of it.
	raw, r, mac = signedExchange(t, "udp", addr, query(size+100), transferKey, time.Now())
	if r.Truncated || len(r.Ns) != len(whole.Ns) || !macVerifies(t, raw, mac, xfrSecret) {
		t.Errorf("a signed NXDOMAIN in %d octets: %d octets, TC %v, %d in authority", size+100, len(raw), r.Truncated, len(r.Ns))
	}
}

// TestKdigTSIG: kdig, signing with the transfer key, verifies the
// answers to its queries, over UDP and TCP, an answer and NXDOMAIN
// alike; with a wrong secret it hears BADSIG (which kdig shows as the
// status).
func TestKdigTSIG(t *testing.T) {
	tooltest.Require(t, "kdig")
	_, addr := tsigServer(t, time.Now(), transferKey)
	host, port, _ := net.SplitHostPort(addr)
	kdig := func(secret string, args ...string) string {
		out := tooltest.Run(t, 10*time.Second, "kdig", append([]string{"@" + host, "-p", port, "-y", "hmac-sha256:" + xfrKey + ":" + secret}, args...)...)
		return out.Output
	}
	for _, transport := range []string{"+notcp", "+tcp"} {
		for _, c := range []struct{ qname, qtype, status string }{
			{"pt.", "SOA", "NOERROR"},
			{"nao-existe.pt.", "A", "NXDOMAIN"},
		} {
			out := kdig(xfrSecret, c.qname, c.qtype, transport)
			if strings.Contains(out, "WARNING") || !strings.Contains(out, "status: "+c.status) || !strings.Contains(out, ";; TSIG PSEUDOSECTION:") {
				t.Errorf("kdig %s %s %s, signed:\n%s", c.qname, c.qtype, transport, out)
			}
		}
		out := kdig(wrongSecret, "pt.", "SOA", transport)
		// No MAC (size 0), the error BADSIG.
		if !strings.Contains(out, "status: BADSIG") || !regexp.MustCompile(`TSIG\thmac-sha256\. \d+ 300 0 \d+ BADSIG`).MatchString(out) {
			t.Errorf("kdig %s with a wrong secret:\n%s", transport, out)
		}
	}
}

// TestNotifyWantsSignedAnswer: a signed NOTIFY answered without a TSIG
// is not taken as answered: it is sent again (RFC 8945 §5.4.1: the
// client discards such a response); answered signed, it is.
func TestNotifyWantsSignedAnswer(t *testing.T) {
	for _, signs := range []bool{false, true} {
		var got atomic.Int32
		secondary := &dns.Server{Addr: "127.0.0.1:0", Net: "udp", TsigSecret: map[string]string{xfrKey: xfrSecret},
			Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
				if req.Opcode == dns.OpcodeNotify {
					got.Add(1) // and not the polls of its serial
				}
				m := new(dns.Msg)
				m.SetReply(req)
				if tsig := req.IsTsig(); signs && tsig != nil && w.TsigStatus() == nil {
					m.SetTsig(tsig.Hdr.Name, tsig.Algorithm, 300, time.Now().Unix())
				}
				w.WriteMsg(m)
			})}
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		secondary.PacketConn = pc
		go secondary.ActivateAndServe()
		t.Cleanup(func() { secondary.Shutdown() })

		core, logs := observer.New(zap.DebugLevel)
		srv := New(Config{TSIG: []TSIGKey{transferKey},
			Transfer: map[string]Transfer{"pt.": {Keys: []string{xfrKey}, Notify: []string{pc.LocalAddr().String()}, NotifyKey: xfrKey}},
			// No polling during the test.
			SecondaryPoll: time.Hour}, zap.New(core))
		start(t, srv, signedPT(t, testPT).snap)
		deadline := time.Now().Add(10 * time.Second)
		for signs && logs.FilterMessage("secondary notified").Len() == 0 || !signs && got.Load() < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("signed answers %v: %d NOTIFY received; logs %v", signs, got.Load(), logs.All())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !signs {
			if n := logs.FilterMessage("secondary notified").Len(); n > 0 {
				t.Error("an unsigned answer to a signed NOTIFY was taken")
			}
			if retry := logs.FilterMessage("NOTIFY not answered, retrying").All(); len(retry) == 0 ||
				!strings.Contains(retry[0].ContextMap()["error"].(string), "without a TSIG") {
				t.Errorf("retries logged: %v", retry)
			}
		} else if got.Load() != 1 {
			t.Errorf("NOTIFY sent %d times to a secondary that answered the first, signed", got.Load())
		}
	}
}
