package authserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/zone"
)

// fetchReadTimeout bounds the wait for each message of a transfer in.
const fetchReadTimeout = 30 * time.Second

// FetchZone transfers zone origin in by AXFR over TCP from server
// (host:port), as a secondary does (RFC 5936): for taking a zone over
// from the primary that serves it today. With key, the request is signed
// and so must every message of the answer be, each verified in turn
// (RFC 8945 §5.3.1 lets a server leave up to 99 in a row unsigned; the
// servers a TLD runs sign them all, and a transfer that cannot be
// verified whole is not one to adopt a TLD from). The zone comes back
// as sent, signatures included, the closing SOA dropped. ctx bounds the
// whole transfer.
func FetchZone(ctx context.Context, server string, origin zone.Name, key *TSIGKey) (*zone.Zone, error) {
	fail := func(err error) (*zone.Zone, error) {
		return nil, fmt.Errorf("AXFR of %s from %s: %w", origin, server, err)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", server)
	if err != nil {
		return fail(err)
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	conn := &dns.Conn{Conn: nc}

	q := new(dns.Msg)
	q.SetAxfr(origin.String())
	var out []byte
	var mac string
	if key != nil {
		q.SetTsig(dns.CanonicalName(key.Name), tsigAlgorithm(*key), 300, time.Now().Unix())
		out, mac, err = dns.TsigGenerate(q, key.Secret, "", false)
	} else {
		out, err = q.Pack()
	}
	if err != nil {
		return fail(err)
	}
	nc.SetWriteDeadline(time.Now().Add(fetchReadTimeout))
	if _, err := conn.Write(out); err != nil {
		return fail(ctxErr(ctx, err))
	}

	b := zone.NewBuilder(origin, 1024)
	buf := make([]byte, dns.MaxMsgSize)
	var rdBuf []byte
	first := true
	for n := 1; ; n++ {
		nc.SetReadDeadline(time.Now().Add(fetchReadTimeout))
		size, err := conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return fail(ctxErr(ctx, err))
			}
			return fail(fmt.Errorf("message %d: %w", n, err))
		}
		m := new(dns.Msg)
		if err := m.Unpack(buf[:size]); err != nil {
			return fail(fmt.Errorf("message %d: %w", n, err))
		}
		if m.Id != q.Id {
			return fail(fmt.Errorf("message %d answers another query (id %d, not %d)", n, m.Id, q.Id))
		}
		if m.Rcode != dns.RcodeSuccess {
			return fail(fmt.Errorf("the server answered %s", dns.RcodeToString[m.Rcode]))
		}
		if key != nil {
			ts := m.IsTsig()
			if ts == nil {
				return fail(fmt.Errorf("message %d is not signed with key %s", n, key.Name))
			}
			if err := dns.TsigVerify(buf[:size], key.Secret, mac, !first); err != nil {
				return fail(fmt.Errorf("message %d: its TSIG signature does not verify with key %s: %w", n, key.Name, err))
			}
			mac = ts.MAC
		}
		answer := m.Answer
		if first {
			if len(answer) == 0 || answer[0].Header().Rrtype != dns.TypeSOA || !sameName(answer[0].Header().Name, origin) {
				return fail(errors.New("the transfer does not begin with the zone's SOA"))
			}
		}
		done := false
		for i, rr := range answer {
			if rr.Header().Rrtype == dns.TypeSOA && !(first && i == 0) {
				if i != len(answer)-1 {
					return fail(fmt.Errorf("message %d: an SOA record in the middle of the transfer", n))
				}
				done = true
				break
			}
			h := rr.Header()
			if h.Class != dns.ClassINET {
				return fail(fmt.Errorf("%s %s: %w", h.Name, zone.TypeString(h.Rrtype), zone.ErrClass))
			}
			owner, err := zone.ParseName(h.Name, zone.Root)
			if err != nil {
				return fail(fmt.Errorf("%s: %w", h.Name, err))
			}
			rd, err := zone.CanonicalRdata(rr, rdBuf)
			if err != nil {
				return fail(fmt.Errorf("%s %s: %w", h.Name, zone.TypeString(h.Rrtype), err))
			}
			rdBuf = rd[:0]
			if err := b.Add(owner, h.Rrtype, h.Ttl, rd); err != nil {
				return fail(err)
			}
		}
		first = false
		if done {
			break
		}
	}
	z, err := b.Zone()
	if err != nil {
		return fail(err)
	}
	return z, nil
}

// sameName reports whether a name in a message is origin, whatever its
// case.
func sameName(name string, origin zone.Name) bool {
	n, err := zone.ParseName(name, zone.Root)
	return err == nil && n == origin
}

// ctxErr prefers the context's error to the one its cancellation caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
