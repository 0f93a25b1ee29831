package zone

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/miekg/dns"
)

// ErrClass reports a record of a class other than IN.
var ErrClass = errors.New("only class IN is supported")

// ReadOptions qualify Read.
type ReadOptions struct {
	// Origin is the zone's apex; every owner must be at or below it.
	Origin Name
	// File names the input in errors.
	File string
	// SizeHint is the number of records to expect, if known.
	SizeHint int
}

// Read parses a master file, streaming: records go straight into a builder,
// never all at once into objects. A syntax error names the file, line and
// column; a record that cannot belong (another class, an owner outside the
// origin) names the record. $INCLUDE is refused.
func Read(r io.Reader, opt ReadOptions) (*Zone, error) {
	b := NewBuilder(opt.Origin, opt.SizeHint)
	if err := ReadInto(b, r, opt); err != nil {
		return nil, err
	}
	z, err := b.Zone()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opt.File, err)
	}
	return z, nil
}

// ReadInto parses a master file into an existing builder. A plain file
// (see fastread.go) is read by ptzone's own parser, about ten times faster;
// any other goes through miekg/dns's.
func ReadInto(b *Builder, r io.Reader, opt ReadOptions) error {
	var full io.Reader
	if f, ok := r.(interface {
		io.ReaderAt
		io.ReadSeeker
	}); ok {
		// A file: its parts are read on every core.
		start, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return readFull(b, r, opt)
		}
		end, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return wrapRead(opt.File, err)
		}
		workers := int(min(int64(runtime.GOMAXPROCS(0)), max(1, (end-start)>>20)))
		err = readPlainParallel(b, f, start, end-start, opt, workers)
		if !errors.Is(err, errNotPlain) {
			return wrapRead(opt.File, err)
		}
		if _, err := f.Seek(start, io.SeekStart); err != nil {
			return wrapRead(opt.File, err)
		}
		full = f
	} else if rs, ok := r.(io.ReadSeeker); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err != nil {
			return readFull(b, r, opt)
		}
		err = readPlain(b, rs, opt)
		if !errors.Is(err, errNotPlain) {
			return wrapRead(opt.File, err)
		}
		if _, err := rs.Seek(start, io.SeekStart); err != nil {
			return wrapRead(opt.File, err)
		}
		full = rs
	} else {
		// Not seekable (a pipe): kept in memory, for the full parser to
		// start over if it must.
		data, err := io.ReadAll(r)
		if err != nil {
			return wrapRead(opt.File, err)
		}
		err = readPlain(b, bytes.NewReader(data), opt)
		if !errors.Is(err, errNotPlain) {
			return wrapRead(opt.File, err)
		}
		full = bytes.NewReader(data)
	}
	return readFull(b, full, opt)
}

func wrapRead(file string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", file, err)
}

// readFull parses with miekg/dns, the reference for every syntax.
func readFull(b *Builder, r io.Reader, opt ReadOptions) error {
	zp := dns.NewZoneParser(r, opt.Origin.String(), opt.File)
	zp.SetIncludeAllowed(false)
	buf := make([]byte, 0, 1024)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		if h.Class != dns.ClassINET {
			return fmt.Errorf("%s: %s %s: %w (class %s)", opt.File, h.Name, TypeString(h.Rrtype), ErrClass, dns.ClassToString[h.Class])
		}
		owner, err := ParseName(h.Name, Root)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", opt.File, h.Name, err)
		}
		rd, err := CanonicalRdata(rr, buf)
		if err != nil {
			return fmt.Errorf("%s: %s %s: %w", opt.File, h.Name, TypeString(h.Rrtype), err)
		}
		if len(rd) == 0 {
			// miekg/dns accepts a record without data, as dynamic update
			// uses them; in a zone it is a mistake.
			return fmt.Errorf("%s: %s %s: %w: the record has no data", opt.File, h.Name, TypeString(h.Rrtype), ErrRdata)
		}
		if err := b.Add(owner, h.Rrtype, h.Ttl, rd); err != nil {
			return fmt.Errorf("%s: %w", opt.File, err)
		}
	}
	if err := zp.Err(); err != nil {
		// miekg's ParseError already reads "file: dns: what: "token" at line: L:C".
		return err
	}
	return nil
}

// CanonicalRdata returns the rdata of rr in canonical wire form (RFC 4034
// §6.2, as updated by RFC 6840 §5.1): uncompressed, with the domain names of
// the listed types lowercased. The result reuses buf's storage.
func CanonicalRdata(rr dns.RR, buf []byte) ([]byte, error) {
	rr = dns.Copy(rr)
	lowerNames(rr)
	h := rr.Header()
	hdrLen := len(mustWire(h.Name)) + 10
	need := dns.Len(rr) + 64
	if cap(buf) < need {
		buf = make([]byte, need)
	}
	buf = buf[:cap(buf)]
	off, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return nil, err
	}
	return buf[hdrLen:off], nil
}

func mustWire(name string) []byte {
	n, err := ParseName(name, Root)
	if err != nil {
		return []byte{0}
	}
	return n.Wire()
}

// lowerNames lowercases the domain names in the rdata of the types RFC 4034
// §6.2 lists (less NSEC, per RFC 6840 §5.1).
func lowerNames(rr dns.RR) {
	l := asciiLower
	switch r := rr.(type) {
	case *dns.NS:
		r.Ns = l(r.Ns)
	case *dns.MD:
		r.Md = l(r.Md)
	case *dns.MF:
		r.Mf = l(r.Mf)
	case *dns.CNAME:
		r.Target = l(r.Target)
	case *dns.SOA:
		r.Ns, r.Mbox = l(r.Ns), l(r.Mbox)
	case *dns.MB:
		r.Mb = l(r.Mb)
	case *dns.MG:
		r.Mg = l(r.Mg)
	case *dns.MR:
		r.Mr = l(r.Mr)
	case *dns.PTR:
		r.Ptr = l(r.Ptr)
	case *dns.MINFO:
		r.Rmail, r.Email = l(r.Rmail), l(r.Email)
	case *dns.MX:
		r.Mx = l(r.Mx)
	case *dns.RP:
		r.Mbox, r.Txt = l(r.Mbox), l(r.Txt)
	case *dns.AFSDB:
		r.Hostname = l(r.Hostname)
	case *dns.RT:
		r.Host = l(r.Host)
	case *dns.SIG:
		r.SignerName = l(r.SignerName)
	case *dns.PX:
		r.Map822, r.Mapx400 = l(r.Map822), l(r.Mapx400)
	case *dns.NAPTR:
		r.Replacement = l(r.Replacement)
	case *dns.KX:
		r.Exchanger = l(r.Exchanger)
	case *dns.SRV:
		r.Target = l(r.Target)
	case *dns.DNAME:
		r.Target = l(r.Target)
	case *dns.RRSIG:
		r.SignerName = l(r.SignerName)
	}
}

// asciiLower lowercases ASCII letters only: DNS compares names without
// regard to ASCII case and to nothing else.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
