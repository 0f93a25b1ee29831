package zone

import (
	"bufio"
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// The fast reader parses the plain form of master file that ptzone writes,
// and that most signers write for large zones: one record a line, an
// absolute owner, an explicit TTL, the class IN or none, and a type whose
// text form it knows (the types of a signed TLD zone). Such a line needs
// no state from the lines before it. Anything else (a directive, an
// omitted or relative owner, parentheses, a comment after a record, a
// token the full parser might read otherwise) makes the whole file go through
// miekg/dns's full parser instead, from the start, so every error message
// and every corner of RFC 1035 syntax stays the full parser's. Records of
// other types on a plain line go through miekg/dns one line at a time.
// Tests hold the two paths to the same zone on every input.

// errNotPlain: the input needs the full parser.
var errNotPlain = errors.New("not a plain master file")

// maxPlainLine bounds a plain line; a longer one goes to the full parser.
const maxPlainLine = 64 << 10

var base32HexNoPad = base32.HexEncoding.WithPadding(base32.NoPadding)

// builderMark is where a builder stood, to undo a failed fast read.
type builderMark struct {
	recs, keys, data int
	lastKey          uint32
	hasLast          bool
}

func (b *Builder) mark() builderMark {
	return builderMark{len(b.recs), len(b.keys), len(b.data), b.lastKey, b.hasLast}
}

func (b *Builder) reset(m builderMark) {
	b.recs, b.keys, b.data = b.recs[:m.recs], b.keys[:m.keys], b.data[:m.data]
	b.lastKey, b.hasLast = m.lastKey, m.hasLast
}

type fastReader struct {
	b      *Builder
	origin string // presentation form, for the one-line fallback
	file   string
	toks   [][]byte
	owner  []byte
	rdata  []byte
	join   []byte
}

// appendBuilder adds every record of o to b; o must not be used again.
func (b *Builder) appendBuilder(o *Builder) error {
	if uint64(len(b.keys))+uint64(len(o.keys)) > math.MaxUint32 || uint64(len(b.data))+uint64(len(o.data)) > math.MaxUint32 {
		return ErrTooLarge
	}
	keyBase, dataBase := uint32(len(b.keys)), uint32(len(b.data))
	if len(b.recs) == 0 && len(b.keys) == 0 && len(b.data) == 0 {
		// The first part: take it over rather than copy it.
		b.recs, b.keys, b.data, b.hasLast = o.recs, o.keys, o.data, false
		return nil
	}
	b.keys = append(grow(b.keys, len(o.keys)), o.keys...)
	b.data = append(grow(b.data, len(o.data)), o.data...)
	b.recs = grow(b.recs, len(o.recs))
	for _, r := range o.recs {
		r.keyOff += keyBase
		r.rdOff += dataBase
		b.recs = append(b.recs, r)
	}
	b.hasLast = false
	return nil
}

// readPlainParallel reads size octets of ra from start as a plain master
// file, split at line ends into one part per worker.
func readPlainParallel(b *Builder, ra io.ReaderAt, start, size int64, opt ReadOptions, workers int) error {
	cuts := []int64{start}
	for k := 1; k < workers; k++ {
		pos := start + size*int64(k)/int64(workers)
		buf := make([]byte, maxPlainLine)
		n, err := ra.ReadAt(buf, pos)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		nl := bytes.IndexByte(buf[:n], '\n')
		if nl < 0 {
			return errNotPlain // a line too long for the plain reader
		}
		if cut := pos + int64(nl) + 1; cut > cuts[len(cuts)-1] {
			cuts = append(cuts, cut)
		}
	}
	cuts = append(cuts, start+size)
	parts := make([]*Builder, len(cuts)-1)
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i := range parts {
		// A plain line of a signed zone is 50 octets or more.
		parts[i] = NewBuilder(b.origin, int((cuts[i+1]-cuts[i])/50))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = readPlain(parts[i], io.NewSectionReader(ra, cuts[i], cuts[i+1]-cuts[i]), opt)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if errors.Is(err, errNotPlain) {
			return errNotPlain
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, p := range parts {
		if err := b.appendBuilder(p); err != nil {
			return err
		}
	}
	return nil
}

// readPlain reads r as a plain master file into b. It returns errNotPlain,
// having added nothing, when the input needs the full parser.
func readPlain(b *Builder, r io.Reader, opt ReadOptions) error {
	m := b.mark()
	fr := &fastReader{b: b, origin: opt.Origin.String(), file: opt.File}
	br := bufio.NewReaderSize(r, maxPlainLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if perr := fr.line(line); perr != nil {
				b.reset(m)
				return perr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			b.reset(m)
			if errors.Is(err, bufio.ErrBufferFull) {
				return errNotPlain
			}
			return err
		}
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// line parses one line. Only errNotPlain is returned for bad input: the
// full parser then says what is wrong, and where.
func (fr *fastReader) line(raw []byte) error {
	line := bytes.TrimRight(raw, "\r\n")
	// miekg/dns refuses some long comments that hold semicolons ("comment
	// length insufficient for parsing"): such lines go to the full parser,
	// so that both readers agree.
	if len(line) > 200 && bytes.IndexByte(line, ';') >= 0 {
		return errNotPlain
	}
	if len(line) == 0 || line[0] == ';' {
		return nil
	}
	if isBlank(line[0]) {
		if len(bytes.TrimLeft(line, " \t")) == 0 {
			return nil
		}
		return errNotPlain // an omitted owner: the previous line's
	}
	if line[0] == '$' {
		return errNotPlain // a directive changes how later lines read
	}
	toks := fr.toks[:0]
	for i := 0; i < len(line); {
		for i < len(line) && isBlank(line[i]) {
			i++
		}
		j := i
		for j < len(line) && !isBlank(line[j]) {
			j++
		}
		if j > i {
			toks = append(toks, line[i:j])
		}
		i = j
	}
	fr.toks = toks
	if len(toks) < 4 {
		return errNotPlain
	}
	owner, ok := appendAbsoluteKey(fr.owner[:0], toks[0])
	if !ok {
		return errNotPlain
	}
	fr.owner = owner
	ttl, ok := parseUint(toks[1], 31)
	if !ok {
		return errNotPlain
	}
	rest := toks[2:]
	if string(rest[0]) == "IN" {
		rest = rest[1:]
	}
	if len(rest) < 2 {
		return errNotPlain
	}
	typ, known := dns.StringToType[string(rest[0])]
	if !known || string(rest[0]) == "ANY" {
		return errNotPlain
	}
	rd, ok := fr.parseRdata(typ, rest[1:])
	if !ok {
		rr, err := fr.viaMiekg(raw)
		if err != nil {
			return errNotPlain
		}
		if rd, err = CanonicalRdata(rr, fr.rdata[:0]); err != nil || len(rd) == 0 {
			return errNotPlain
		}
		if rr.Header().Rrtype != typ || rr.Header().Ttl != uint32(ttl) {
			return errNotPlain
		}
	}
	fr.rdata = rd
	if err := addRecord(fr.b, owner, typ, uint32(ttl), rd); err != nil {
		// Outside the origin, say: the full parser words the error.
		return errNotPlain
	}
	return nil
}

// viaMiekg parses one self-contained line with miekg/dns, relative names
// in its rdata taken from the origin as the full parser would. The line
// comes as the file has it, with its newline or without one at the end of
// the file: miekg/dns reads some lines differently at the end of its input
// than before a newline.
//
// A line short of fields can take the next line's tokens (an SOA without
// parentheses does), which the full parser then refuses, while the same
// line at the end of the input is accepted: a line that ends with a
// newline is read with a record after it, which must come out whole.
func (fr *fastReader) viaMiekg(line []byte) (dns.RR, error) {
	text := string(line)
	followed := strings.HasSuffix(text, "\n")
	if followed {
		text += viaMiekgNext
	}
	zp := dns.NewZoneParser(strings.NewReader(text), fr.origin, fr.file)
	zp.SetIncludeAllowed(false)
	rr, ok := zp.Next()
	if !ok {
		if err := zp.Err(); err != nil {
			return nil, err
		}
		return nil, errNotPlain
	}
	if followed {
		next, ok := zp.Next()
		if !ok || zp.Err() != nil || next.String() != viaMiekgNextRR {
			return nil, errNotPlain
		}
	}
	if _, more := zp.Next(); more || zp.Err() != nil || rr.Header().Class != dns.ClassINET {
		return nil, errNotPlain
	}
	return rr, nil
}

// viaMiekgNext is the record viaMiekg reads after a line, and
// viaMiekgNextRR what miekg/dns makes of it.
const (
	viaMiekgNext   = "next.invalid. 0 IN TXT \"x\"\n"
	viaMiekgNextRR = "next.invalid.\t0\tIN\tTXT\t\"x\""
)

// parseRdata parses the rdata of the types a signed TLD zone holds into
// canonical wire form. ok is false for any other type and any token it
// does not read exactly as miekg/dns would; the caller falls back.
func (fr *fastReader) parseRdata(typ uint16, t [][]byte) ([]byte, bool) {
	b := fr.rdata[:0]
	var ok bool
	switch typ {
	case TypeA, TypeAAAA:
		if len(t) != 1 {
			return nil, false
		}
		a, err := netip.ParseAddr(string(t[0]))
		if err != nil || a.Zone() != "" {
			return nil, false
		}
		v6 := bytes.IndexByte(t[0], ':') >= 0
		switch {
		case typ == TypeA && a.Is4() && !v6:
			a4 := a.As4()
			return append(b, a4[:]...), true
		case typ == TypeAAAA && v6:
			a16 := a.As16()
			return append(b, a16[:]...), true
		}
		return nil, false
	case TypeNS, TypeCNAME:
		if len(t) != 1 {
			return nil, false
		}
		return appendNameWire(b, t[0])
	case TypeSOA:
		if len(t) != 7 {
			return nil, false
		}
		if b, ok = appendNameWire(b, t[0]); !ok {
			return nil, false
		}
		if b, ok = appendNameWire(b, t[1]); !ok {
			return nil, false
		}
		for _, tok := range t[2:] {
			v, ok := parseUint(tok, 32)
			if !ok {
				return nil, false
			}
			b = binary.BigEndian.AppendUint32(b, uint32(v))
		}
		return b, true
	case TypeDS:
		if len(t) < 4 {
			return nil, false
		}
		tag, ok1 := parseUint(t[0], 16)
		alg, ok2 := parseUint(t[1], 8)
		dt, ok3 := parseUint(t[2], 8)
		digest, err := hex.DecodeString(string(fr.joined(t[3:])))
		if !ok1 || !ok2 || !ok3 || err != nil || len(digest) == 0 {
			return nil, false
		}
		b = binary.BigEndian.AppendUint16(b, uint16(tag))
		b = append(b, byte(alg), byte(dt))
		return append(b, digest...), true
	case TypeDNSKEY:
		if len(t) < 4 {
			return nil, false
		}
		flags, ok1 := parseUint(t[0], 16)
		proto, ok2 := parseUint(t[1], 8)
		alg, ok3 := parseUint(t[2], 8)
		key, err := base64.StdEncoding.DecodeString(string(fr.joined(t[3:])))
		if !ok1 || !ok2 || !ok3 || err != nil || len(key) == 0 {
			return nil, false
		}
		b = binary.BigEndian.AppendUint16(b, uint16(flags))
		b = append(b, byte(proto), byte(alg))
		return append(b, key...), true
	case TypeRRSIG:
		if len(t) < 9 {
			return nil, false
		}
		covered, known := dns.StringToType[string(t[0])]
		alg, ok1 := parseUint(t[1], 8)
		labels, ok2 := parseUint(t[2], 8)
		origTTL, ok3 := parseUint(t[3], 32)
		exp, ok4 := parseRRSIGTime(t[4])
		incep, ok5 := parseRRSIGTime(t[5])
		tag, ok6 := parseUint(t[6], 16)
		if !known || !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
			return nil, false
		}
		b = binary.BigEndian.AppendUint16(b, covered)
		b = append(b, byte(alg), byte(labels))
		b = binary.BigEndian.AppendUint32(b, uint32(origTTL))
		b = binary.BigEndian.AppendUint32(b, exp)
		b = binary.BigEndian.AppendUint32(b, incep)
		b = binary.BigEndian.AppendUint16(b, uint16(tag))
		if b, ok = appendNameWire(b, t[7]); !ok {
			return nil, false
		}
		sig, err := base64.StdEncoding.DecodeString(string(fr.joined(t[8:])))
		if err != nil || len(sig) == 0 {
			return nil, false
		}
		return append(b, sig...), true
	case TypeNSEC3:
		if len(t) < 5 {
			return nil, false
		}
		halg, ok1 := parseUint(t[0], 8)
		flags, ok2 := parseUint(t[1], 8)
		iter, ok3 := parseUint(t[2], 16)
		salt, ok4 := parseSalt(t[3])
		next, err := base32HexNoPad.DecodeString(strings.ToUpper(string(t[4])))
		// miekg/dns writes a hash length of 20 whatever it decodes.
		if !ok1 || !ok2 || !ok3 || !ok4 || err != nil || len(next) != 20 {
			return nil, false
		}
		b = append(b, byte(halg), byte(flags))
		b = binary.BigEndian.AppendUint16(b, uint16(iter))
		b = append(b, byte(len(salt)))
		b = append(b, salt...)
		b = append(b, byte(len(next)))
		b = append(b, next...)
		return appendBitmap(b, t[5:])
	case TypeNSEC3PARAM:
		if len(t) != 4 {
			return nil, false
		}
		halg, ok1 := parseUint(t[0], 8)
		flags, ok2 := parseUint(t[1], 8)
		iter, ok3 := parseUint(t[2], 16)
		salt, ok4 := parseSalt(t[3])
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, false
		}
		b = append(b, byte(halg), byte(flags))
		b = binary.BigEndian.AppendUint16(b, uint16(iter))
		b = append(b, byte(len(salt)))
		return append(b, salt...), true
	case TypeZONEMD:
		if len(t) < 4 {
			return nil, false
		}
		serial, ok1 := parseUint(t[0], 32)
		scheme, ok2 := parseUint(t[1], 8)
		halg, ok3 := parseUint(t[2], 8)
		digest, err := hex.DecodeString(string(fr.joined(t[3:])))
		if !ok1 || !ok2 || !ok3 || err != nil || len(digest) == 0 {
			return nil, false
		}
		b = binary.BigEndian.AppendUint32(b, uint32(serial))
		b = append(b, byte(scheme), byte(halg))
		return append(b, digest...), true
	}
	return nil, false
}

// joined concatenates tokens: base64 and hex fields may be split by blanks.
func (fr *fastReader) joined(t [][]byte) []byte {
	if len(t) == 1 {
		return t[0]
	}
	fr.join = fr.join[:0]
	for _, x := range t {
		fr.join = append(fr.join, x...)
	}
	return fr.join
}

// parseUint reads a plain decimal of at most bits bits.
func parseUint(t []byte, bits int) (uint64, bool) {
	if len(t) == 0 || len(t) > 10 {
		return 0, false
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(string(t), 10, bits)
	return v, err == nil
}

// parseRRSIGTime reads YYYYMMDDHHmmSS or seconds since 1970, as miekg/dns
// does.
func parseRRSIGTime(t []byte) (uint32, bool) {
	if len(t) == 14 {
		v, err := dns.StringToTime(string(t))
		return v, err == nil
	}
	v, ok := parseUint(t, 32)
	return uint32(v), ok
}

func parseSalt(t []byte) ([]byte, bool) {
	if string(t) == "-" {
		return nil, true
	}
	s, err := hex.DecodeString(string(t))
	return s, err == nil && len(s) > 0 && len(s) <= 255
}

// appendBitmap encodes NSEC3 type mnemonics, which must be in ascending
// order, as a type bitmap (RFC 4034 §4.1.2).
func appendBitmap(b []byte, t [][]byte) ([]byte, bool) {
	var types []uint16
	for _, tok := range t {
		typ, ok := dns.StringToType[string(tok)]
		if !ok || (len(types) > 0 && typ <= types[len(types)-1]) {
			return nil, false
		}
		types = append(types, typ)
	}
	return AppendTypeBitmap(b, types), true
}

// AppendTypeBitmap appends the NSEC/NSEC3 type bitmap (RFC 4034 §4.1.2)
// of types, which must be sorted and without repeats.
func AppendTypeBitmap(b []byte, types []uint16) []byte {
	for i := 0; i < len(types); {
		window := types[i] >> 8
		var bits [32]byte
		n := 0
		for ; i < len(types) && types[i]>>8 == window; i++ {
			low := types[i] & 0xff
			bits[low/8] |= 0x80 >> (low % 8)
			n = int(low/8) + 1
		}
		b = append(b, byte(window), byte(n))
		b = append(b, bits[:n]...)
	}
	return b
}

// plainNameByte: the octets a plain name may hold as they stand.
func plainNameByte(c byte) bool {
	switch c {
	case '@', '$', '"', ';', '(', ')', '\\':
		return false
	}
	return c > ' ' && c < 0x7f
}

// appendAbsoluteKey appends the key of an absolute plain name ("a.pt.").
func appendAbsoluteKey(key, t []byte) ([]byte, bool) {
	if len(t) == 0 || t[len(t)-1] != '.' {
		return nil, false
	}
	if len(t) == 1 {
		return key, true // the root
	}
	if len(t) > 254 {
		return nil, false
	}
	end := len(t) - 1
	for i := end - 1; i >= -1; i-- {
		if i >= 0 && t[i] != '.' {
			if !plainNameByte(t[i]) {
				return nil, false
			}
			continue
		}
		l := t[i+1 : end]
		if len(l) == 0 || len(l) > 63 {
			return nil, false
		}
		for _, c := range l {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			key = append(key, c)
		}
		key = append(key, 0)
		end = i
	}
	return key, true
}

// appendNameWire appends an absolute plain name in lowercase wire form.
func appendNameWire(b, t []byte) ([]byte, bool) {
	if len(t) == 0 || t[len(t)-1] != '.' {
		return nil, false
	}
	if len(t) == 1 {
		return append(b, 0), true
	}
	if len(t) > 254 {
		return nil, false
	}
	start := 0
	for i := 0; i < len(t); i++ {
		if t[i] != '.' {
			if !plainNameByte(t[i]) {
				return nil, false
			}
			continue
		}
		l := t[start:i]
		if len(l) == 0 || len(l) > 63 {
			return nil, false
		}
		b = append(b, byte(len(l)))
		for _, c := range l {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
		start = i + 1
	}
	return append(b, 0), true
}
