package zone

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// RR types the zone code writes itself; any other type works through
// github.com/miekg/dns.
const (
	TypeA          uint16 = 1
	TypeNS         uint16 = 2
	TypeCNAME      uint16 = 5
	TypeSOA        uint16 = 6
	TypeMX         uint16 = 15
	TypeTXT        uint16 = 16
	TypeAAAA       uint16 = 28
	TypeDS         uint16 = 43
	TypeRRSIG      uint16 = 46
	TypeNSEC       uint16 = 47
	TypeDNSKEY     uint16 = 48
	TypeNSEC3      uint16 = 50
	TypeNSEC3PARAM uint16 = 51
	TypeZONEMD     uint16 = 63
)

// TypeString returns the mnemonic of an RR type ("NS", "TYPE65280").
func TypeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// ErrRdata reports rdata that does not parse for its type.
var ErrRdata = errors.New("malformed rdata")

// AddrRdata returns the rdata of an A or AAAA record and its type.
func AddrRdata(a netip.Addr) (uint16, []byte) {
	if a.Is4() {
		b := a.As4()
		return TypeA, b[:]
	}
	b := a.As16()
	return TypeAAAA, b[:]
}

// DSRdata returns DS rdata.
func DSRdata(keyTag uint16, algorithm, digestType uint8, digest []byte) []byte {
	b := make([]byte, 0, 4+len(digest))
	b = binary.BigEndian.AppendUint16(b, keyTag)
	b = append(b, algorithm, digestType)
	return append(b, digest...)
}

// SOA is the content of an SOA record.
type SOA struct {
	MName, RName                            Name
	Serial, Refresh, Retry, Expire, Minimum uint32
}

// Rdata returns the SOA's canonical wire rdata.
func (s SOA) Rdata() []byte {
	b := s.MName.AppendWire(nil)
	b = s.RName.AppendWire(b)
	for _, v := range []uint32{s.Serial, s.Refresh, s.Retry, s.Expire, s.Minimum} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

// ParseSOA reads SOA rdata.
func ParseSOA(rd []byte) (SOA, error) {
	var s SOA
	var n int
	var err error
	if s.MName, n, err = NameFromWire(rd); err != nil {
		return s, fmt.Errorf("%w: SOA MNAME: %v", ErrRdata, err)
	}
	rd = rd[n:]
	if s.RName, n, err = NameFromWire(rd); err != nil {
		return s, fmt.Errorf("%w: SOA RNAME: %v", ErrRdata, err)
	}
	rd = rd[n:]
	if len(rd) != 20 {
		return s, fmt.Errorf("%w: SOA timers", ErrRdata)
	}
	s.Serial = binary.BigEndian.Uint32(rd)
	s.Refresh = binary.BigEndian.Uint32(rd[4:])
	s.Retry = binary.BigEndian.Uint32(rd[8:])
	s.Expire = binary.BigEndian.Uint32(rd[12:])
	s.Minimum = binary.BigEndian.Uint32(rd[16:])
	return s, nil
}

// RRSIG is the content of an RRSIG record (RFC 4034 §3.1), its fields
// pointing into the rdata they were read from.
type RRSIG struct {
	Covered    uint16
	Algorithm  uint8
	Labels     uint8
	OrigTTL    uint32
	Expiration uint32
	Inception  uint32
	KeyTag     uint16
	Signer     []byte // wire form, as written
	// PrefixLen is the length of the rdata before the signature: what the
	// signature itself covers of it.
	PrefixLen int
	Signature []byte
}

// ParseRRSIG reads RRSIG rdata; ok is false if it is malformed.
func ParseRRSIG(rd []byte) (RRSIG, bool) {
	var f RRSIG
	if len(rd) < 19 {
		return f, false
	}
	f.Covered, f.Algorithm, f.Labels = binary.BigEndian.Uint16(rd), rd[2], rd[3]
	f.OrigTTL = binary.BigEndian.Uint32(rd[4:])
	f.Expiration = binary.BigEndian.Uint32(rd[8:])
	f.Inception = binary.BigEndian.Uint32(rd[12:])
	f.KeyTag = binary.BigEndian.Uint16(rd[16:])
	off := 18
	for {
		if off >= len(rd) {
			return f, false
		}
		l := int(rd[off])
		if l == 0 {
			off++
			break
		}
		if l > 63 {
			return f, false // compression has no place in RRSIG rdata
		}
		off += 1 + l
	}
	if off-18 > 255 {
		return f, false
	}
	f.Signer, f.PrefixLen, f.Signature = rd[18:off], off, rd[off:]
	return f, len(f.Signature) > 0
}

// SerialTime places an RRSIG time (seconds modulo 2^32) within 68 years
// of now, as RFC 4034 §3.1.5 says to compare them.
func SerialTime(t uint32, now int64) int64 {
	return now + int64(int32(t-uint32(now)))
}

// AppendWireNameText appends the presentation form of the uncompressed wire
// name at the start of wire and returns the octets it used.
func AppendWireNameText(b, wire []byte) ([]byte, int, error) {
	i := 0
	for {
		if i >= len(wire) {
			return b, 0, fmt.Errorf("%w: truncated name", ErrRdata)
		}
		l := int(wire[i])
		if l == 0 {
			if i == 0 {
				b = append(b, '.')
			}
			return b, i + 1, nil
		}
		if l > 63 || i+1+l > len(wire) {
			return b, 0, fmt.Errorf("%w: bad label", ErrRdata)
		}
		for _, c := range wire[i+1 : i+1+l] {
			b = appendTextByte(b, c)
		}
		b = append(b, '.')
		i += 1 + l
	}
}

// base32Hex is NSEC3's hash encoding (RFC 5155 §3.3), uppercase.
var base32Hex = base32.HexEncoding.WithPadding(base32.NoPadding)

func appendHexUpper(b, data []byte) []byte {
	const digits = "0123456789ABCDEF"
	for _, c := range data {
		b = append(b, digits[c>>4], digits[c&0xf])
	}
	return b
}

func appendSalt(b, salt []byte) []byte {
	if len(salt) == 0 {
		return append(b, '-')
	}
	return appendHexUpper(b, salt)
}

// AppendTime appends a DNSSEC timestamp as YYYYMMDDHHmmSS (RFC 4034 §3.2).
func AppendTime(b []byte, t uint32) []byte {
	return time.Unix(int64(t), 0).UTC().AppendFormat(b, "20060102150405")
}

// appendTypeBitmap appends the types of an NSEC/NSEC3 type bitmap.
func appendTypeBitmap(b, bm []byte) ([]byte, error) {
	for len(bm) > 0 {
		if len(bm) < 2 || int(bm[1]) == 0 || int(bm[1]) > 32 || len(bm) < 2+int(bm[1]) {
			return b, fmt.Errorf("%w: type bitmap", ErrRdata)
		}
		window, n := int(bm[0]), int(bm[1])
		for i, octet := range bm[2 : 2+n] {
			for bit := 0; bit < 8; bit++ {
				if octet&(0x80>>bit) != 0 {
					b = append(b, ' ')
					b = append(b, TypeString(uint16(window*256+i*8+bit))...)
				}
			}
		}
		bm = bm[2+n:]
	}
	return b, nil
}

// AppendRdataText appends the presentation form of rdata of type typ.
func AppendRdataText(b []byte, typ uint16, rd []byte) ([]byte, error) {
	var err error
	switch typ {
	case TypeA:
		if len(rd) != 4 {
			return b, fmt.Errorf("%w: A of %d octets", ErrRdata, len(rd))
		}
		return netip.AddrFrom4([4]byte(rd)).AppendTo(b), nil
	case TypeAAAA:
		if len(rd) != 16 {
			return b, fmt.Errorf("%w: AAAA of %d octets", ErrRdata, len(rd))
		}
		return netip.AddrFrom16([16]byte(rd)).AppendTo(b), nil
	case TypeNS, TypeCNAME:
		var n int
		b, n, err = AppendWireNameText(b, rd)
		if err == nil && n != len(rd) {
			err = fmt.Errorf("%w: trailing octets", ErrRdata)
		}
		return b, err
	case TypeSOA:
		var n int
		if b, n, err = AppendWireNameText(b, rd); err != nil {
			return b, err
		}
		rd = rd[n:]
		b = append(b, ' ')
		if b, n, err = AppendWireNameText(b, rd); err != nil {
			return b, err
		}
		rd = rd[n:]
		if len(rd) != 20 {
			return b, fmt.Errorf("%w: SOA timers", ErrRdata)
		}
		for i := 0; i < 20; i += 4 {
			b = append(b, ' ')
			b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(rd[i:])), 10)
		}
		return b, nil
	case TypeDS, 59: // DS, CDS
		if len(rd) < 5 {
			return b, fmt.Errorf("%w: DS", ErrRdata)
		}
		b = appendU16U8U8(b, rd)
		return appendHexUpper(b, rd[4:]), nil
	case TypeDNSKEY, 60: // DNSKEY, CDNSKEY
		if len(rd) < 5 {
			return b, fmt.Errorf("%w: DNSKEY", ErrRdata)
		}
		b = appendU16U8U8(b, rd)
		return base64.StdEncoding.AppendEncode(b, rd[4:]), nil
	case TypeRRSIG:
		if len(rd) < 19 {
			return b, fmt.Errorf("%w: RRSIG", ErrRdata)
		}
		b = append(b, TypeString(binary.BigEndian.Uint16(rd))...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(rd[2]), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(rd[3]), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(rd[4:])), 10)
		b = append(b, ' ')
		b = AppendTime(b, binary.BigEndian.Uint32(rd[8:]))
		b = append(b, ' ')
		b = AppendTime(b, binary.BigEndian.Uint32(rd[12:]))
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(rd[16:])), 10)
		b = append(b, ' ')
		var n int
		if b, n, err = AppendWireNameText(b, rd[18:]); err != nil {
			return b, err
		}
		b = append(b, ' ')
		return base64.StdEncoding.AppendEncode(b, rd[18+n:]), nil
	case TypeNSEC3:
		if len(rd) < 5 || len(rd) < 5+int(rd[4]) {
			return b, fmt.Errorf("%w: NSEC3", ErrRdata)
		}
		saltLen := int(rd[4])
		if len(rd) < 6+saltLen || len(rd) < 6+saltLen+int(rd[5+saltLen]) {
			return b, fmt.Errorf("%w: NSEC3", ErrRdata)
		}
		hashLen := int(rd[5+saltLen])
		b = strconv.AppendUint(b, uint64(rd[0]), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(rd[1]), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(rd[2:])), 10)
		b = append(b, ' ')
		b = appendSalt(b, rd[5:5+saltLen])
		b = append(b, ' ')
		next := rd[6+saltLen : 6+saltLen+hashLen]
		b = base32Hex.AppendEncode(b, next)
		return appendTypeBitmap(b, rd[6+saltLen+hashLen:])
	case TypeNSEC3PARAM:
		if len(rd) < 5 || len(rd) != 5+int(rd[4]) {
			return b, fmt.Errorf("%w: NSEC3PARAM", ErrRdata)
		}
		b = strconv.AppendUint(b, uint64(rd[0]), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(rd[1]), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(rd[2:])), 10)
		b = append(b, ' ')
		return appendSalt(b, rd[5:]), nil
	case TypeZONEMD:
		if len(rd) < 6 {
			return b, fmt.Errorf("%w: ZONEMD", ErrRdata)
		}
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint32(rd)), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(rd[4]), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(rd[5]), 10)
		b = append(b, ' ')
		return append(b, strings.ToUpper(hex.EncodeToString(rd[6:]))...), nil
	}
	return appendRdataTextGeneric(b, typ, rd)
}

// appendRdataTextGeneric formats any other type through miekg/dns.
func appendRdataTextGeneric(b []byte, typ uint16, rd []byte) ([]byte, error) {
	rr, _, err := dns.UnpackRRWithHeader(dns.RR_Header{Name: ".", Rrtype: typ, Class: dns.ClassINET, Rdlength: uint16(len(rd))}, rd, 0)
	if err != nil {
		return b, fmt.Errorf("%w: %s: %v", ErrRdata, TypeString(typ), err)
	}
	text := rr.String()
	// Drop the header: name, TTL, class and type, tab-separated.
	for range 4 {
		i := strings.IndexByte(text, '\t')
		if i < 0 {
			return append(b, fmt.Sprintf("\\# %d %x", len(rd), rd)...), nil
		}
		text = text[i+1:]
	}
	return append(b, text...), nil
}

// appendU16U8U8 appends the text of the fields DS and DNSKEY rdata both
// start with (key tag or flags, then algorithm and digest type or
// protocol), each followed by a space.
func appendU16U8U8(b, rd []byte) []byte {
	b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(rd)), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(rd[2]), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(rd[3]), 10)
	return append(b, ' ')
}

// IsSigningType reports whether records of type t are made by DNSSEC
// signing (RRSIG, NSEC, NSEC3, NSEC3PARAM, DNSKEY, ZONEMD) rather than
// given by the registry or the configuration.
func IsSigningType(t uint16) bool {
	switch t {
	case TypeRRSIG, TypeNSEC, TypeNSEC3, TypeDNSKEY, TypeNSEC3PARAM, TypeZONEMD:
		return true
	}
	return false
}
