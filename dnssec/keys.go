package dnssec

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/ptzone/ptzone/zone"
)

// Algorithms ptzone signs with (RFC 8624: MUST/RECOMMENDED for signing).
const (
	RSASHA256       uint8 = 8
	ECDSAP256SHA256 uint8 = 13
	ED25519         uint8 = 15
)

// Flags of a DNSKEY.
const (
	flagZone uint16 = 0x0100
	flagSEP  uint16 = 0x0001
)

// Errors about keys.
var (
	ErrKeyMismatch  = errors.New("the private key does not match its published DNSKEY")
	ErrTagCollision = errors.New("two keys of the zone share a key tag")
	ErrAlgorithm    = errors.New("unsupported DNSSEC algorithm")
)

// Timing is the key's BIND timing metadata. Zero times are unset.
type Timing struct {
	Created, Publish, Activate, Inactive, Delete time.Time
}

// Key is one DNSSEC key pair of a zone.
type Key struct {
	Zone   zone.Name
	DNSKEY *dns.DNSKEY
	// Signer is the private key. A crypto.Signer, so that a key kept in an
	// HSM is another constructor, not another signer.
	Signer crypto.Signer
	Tag    uint16
	Timing Timing
	// File is the key's path without the .key/.private extension, when it
	// was read from or saved to files.
	File string
}

// Algorithm returns the key's DNSSEC algorithm.
func (k *Key) Algorithm() uint8 { return k.DNSKEY.Algorithm }

// SEP reports whether the key has the Secure Entry Point flag: a KSK, or a
// CSK.
func (k *Key) SEP() bool { return k.DNSKEY.Flags&flagSEP != 0 }

// Published reports whether the key belongs in the DNSKEY RRset at now.
func (k *Key) Published(now time.Time) bool {
	t := k.Timing
	return (t.Publish.IsZero() || !now.Before(t.Publish)) && (t.Delete.IsZero() || now.Before(t.Delete))
}

// Active reports whether the key signs at now.
func (k *Key) Active(now time.Time) bool {
	t := k.Timing
	return k.Published(now) && (t.Activate.IsZero() || !now.Before(t.Activate)) && (t.Inactive.IsZero() || now.Before(t.Inactive))
}

// State names where the key is in its life at now: "created" (not yet
// published), "published" (in the DNSKEY RRset, not signing), "active"
// (signing), "retired" (published, no longer signing), "removed" (past
// its deletion).
func (k *Key) State(now time.Time) string {
	t := k.Timing
	switch {
	case k.Active(now):
		return "active"
	case !t.Delete.IsZero() && !now.Before(t.Delete):
		return "removed"
	case !t.Publish.IsZero() && now.Before(t.Publish):
		return "created"
	case !t.Inactive.IsZero() && !now.Before(t.Inactive):
		return "retired"
	}
	return "published"
}

// Role names the key's part among all the zone's keys: "ZSK"; "KSK",
// a SEP key with a ZSK of its algorithm beside it; else "CSK".
func Role(k *Key, all []*Key) string {
	if !k.SEP() {
		return "ZSK"
	}
	for _, o := range all {
		if !o.SEP() && o.Algorithm() == k.Algorithm() {
			return "KSK"
		}
	}
	return "CSK"
}

// Rdata returns the DNSKEY's canonical wire rdata.
func (k *Key) Rdata() ([]byte, error) {
	return zone.CanonicalRdata(k.DNSKEY, nil)
}

// DS is a delegation signer record, as a parent publishes it.
type DS struct {
	KeyTag     uint16
	Algorithm  uint8
	DigestType uint8
	Digest     []byte
}

// String renders the DS rdata in presentation form.
func (d DS) String() string {
	return fmt.Sprintf("%d %d %d %X", d.KeyTag, d.Algorithm, d.DigestType, d.Digest)
}

// DS returns the DS record of the key for digestType (2: SHA-256, 4: SHA-384).
func (k *Key) DS(digestType uint8) (DS, error) {
	ds := k.DNSKEY.ToDS(digestType)
	if ds == nil {
		return DS{}, fmt.Errorf("key %d: cannot compute a DS with digest type %d", k.Tag, digestType)
	}
	digest, err := hex.DecodeString(ds.Digest)
	if err != nil {
		return DS{}, err
	}
	return DS{KeyTag: ds.KeyTag, Algorithm: ds.Algorithm, DigestType: ds.DigestType, Digest: digest}, nil
}

// ParseDS reads DS records in presentation form, one a line, with or
// without an owner/TTL/class prefix ("pt. 86400 IN DS 12345 13 2 AB..."
// or "12345 13 2 AB..."); blank lines and ';' comments are skipped. name
// is used in errors.
func ParseDS(text []byte, name string) ([]DS, error) {
	var out []DS
	sc := bufio.NewScanner(bytes.NewReader(text))
	line := 1
	for ; sc.Scan(); line++ {
		l := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(l, ';'); i >= 0 {
			l = strings.TrimSpace(l[:i])
		}
		if l == "" {
			continue
		}
		f := strings.Fields(l)
		for i, w := range f {
			if strings.EqualFold(w, "DS") {
				f = f[i+1:]
				break
			}
		}
		if len(f) < 4 {
			return nil, fmt.Errorf("%s:%d: want \"KEYTAG ALGORITHM DIGESTTYPE DIGEST\"", name, line)
		}
		var d DS
		tag, err1 := strconv.ParseUint(f[0], 10, 16)
		alg, err2 := strconv.ParseUint(f[1], 10, 8)
		typ, err3 := strconv.ParseUint(f[2], 10, 8)
		digest, err4 := hex.DecodeString(strings.Join(f[3:], ""))
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		d.KeyTag, d.Algorithm, d.DigestType, d.Digest = uint16(tag), uint8(alg), uint8(typ), digest
		out = append(out, d)
	}
	if err := sc.Err(); err != nil {
		// A line too long for the scanner: no DS is that long.
		return nil, fmt.Errorf("%s:%d: %w", name, line, err)
	}
	return out, nil
}

// String names the key as BIND does: "pt./ECDSAP256SHA256/12345".
func (k *Key) String() string {
	return fmt.Sprintf("%s/%s/%d", k.Zone, dns.AlgorithmToString[k.Algorithm()], k.Tag)
}

// GenerateOptions describe a new key.
type GenerateOptions struct {
	Algorithm uint8 // default ECDSAP256SHA256
	// SEP makes a KSK (or a CSK); otherwise a ZSK.
	SEP  bool
	Bits int // RSA only; default 2048, at least 2048
	TTL  uint32
}

// maxTagTries bounds the retries when a new key's tag collides.
const maxTagTries = 20

// Generate creates a key for zone, refusing any key whose tag collides with
// one of existing: a fresh pair is drawn instead, and after maxTagTries
// collisions Generate gives up.
func Generate(z zone.Name, opt GenerateOptions, now time.Time, existing []*Key) (*Key, error) {
	if opt.Algorithm == 0 {
		opt.Algorithm = ECDSAP256SHA256
	}
	bits := 0
	switch opt.Algorithm {
	case ECDSAP256SHA256:
		bits = 256
	case ED25519:
		bits = 256
	case RSASHA256:
		bits = opt.Bits
		if bits == 0 {
			bits = 2048
		}
		if bits < 2048 || bits > 4096 {
			return nil, fmt.Errorf("RSA keys of %d bits: use 2048 to 4096", bits)
		}
	default:
		return nil, fmt.Errorf("%w: %d (use 8, 13 or 15)", ErrAlgorithm, opt.Algorithm)
	}
	if opt.TTL == 0 {
		opt.TTL = 3600
	}
	used := map[uint16]bool{}
	for _, k := range existing {
		used[k.Tag] = true
	}
	for range maxTagTries {
		rr := &dns.DNSKEY{
			Hdr:       dns.RR_Header{Name: z.String(), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: opt.TTL},
			Flags:     flagZone,
			Protocol:  3,
			Algorithm: opt.Algorithm,
		}
		if opt.SEP {
			rr.Flags |= flagSEP
		}
		priv, err := rr.Generate(bits)
		if err != nil {
			return nil, fmt.Errorf("generating a key for %s: %w", z, err)
		}
		if used[rr.KeyTag()] {
			continue // refused: the tag is taken
		}
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("generating a key for %s: %T is not a crypto.Signer", z, priv)
		}
		now = now.UTC().Truncate(time.Second)
		return &Key{Zone: z, DNSKEY: rr, Signer: signer, Tag: rr.KeyTag(),
			Timing: Timing{Created: now, Publish: now, Activate: now}}, nil
	}
	return nil, fmt.Errorf("%w: %d new keys for %s all collided", ErrTagCollision, maxTagTries, z)
}

// BaseName returns the BIND file name of the key without extension:
// "Kpt.+013+12345".
func (k *Key) BaseName() string {
	return fmt.Sprintf("K%s+%03d+%05d", k.Zone, k.Algorithm(), k.Tag)
}

const timeLayout = "20060102150405"

// Marshal returns the key's two BIND files: the public .key and the
// private .private (which the caller must store readable by its owner
// only).
func (k *Key) Marshal() (public, private []byte, err error) {
	kind := "zone-signing"
	if k.SEP() {
		kind = "key-signing"
	}
	var pub bytes.Buffer
	fmt.Fprintf(&pub, "; This is a %s key, keyid %d, for %s\n", kind, k.Tag, k.Zone)
	var priv bytes.Buffer
	priv.WriteString(k.DNSKEY.PrivateKeyString(k.Signer))
	for _, f := range k.timingFields() {
		fmt.Fprintf(&pub, "; %s: %s (%s)\n", f.name, f.t.Format(timeLayout), f.t.Format(time.ANSIC))
		fmt.Fprintf(&priv, "%s: %s\n", f.name, f.t.Format(timeLayout))
	}
	rd, err := k.Rdata()
	if err != nil {
		return nil, nil, err
	}
	text, err := zone.AppendRdataText(nil, dns.TypeDNSKEY, rd)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(&pub, "%s %d IN DNSKEY %s\n", k.Zone, k.DNSKEY.Hdr.Ttl, text)
	return pub.Bytes(), priv.Bytes(), nil
}

type timingField struct {
	name string
	t    time.Time
}

func (k *Key) timingFields() []timingField {
	var out []timingField
	for _, f := range []timingField{
		{"Created", k.Timing.Created}, {"Publish", k.Timing.Publish}, {"Activate", k.Timing.Activate},
		{"Inactive", k.Timing.Inactive}, {"Delete", k.Timing.Delete},
	} {
		if !f.t.IsZero() {
			out = append(out, f)
		}
	}
	return out
}

// ParseKey reads a key pair from the contents of its .key and .private
// files; name (the files' path without extension) is used in errors and
// kept in Key.File. It checks that the private key is the one whose public
// half the DNSKEY publishes.
func ParseKey(name string, public, private []byte) (*Key, error) {
	var rr *dns.DNSKEY
	sc := bufio.NewScanner(bytes.NewReader(public))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, ";") {
			continue
		}
		parsed, err := dns.NewRR(text)
		if err != nil {
			return nil, fmt.Errorf("%s.key:%d: %w", name, line, err)
		}
		k, ok := parsed.(*dns.DNSKEY)
		if !ok || rr != nil {
			return nil, fmt.Errorf("%s.key:%d: expected exactly one DNSKEY record", name, line)
		}
		rr = k
	}
	if rr == nil {
		return nil, fmt.Errorf("%s.key: no DNSKEY record", name)
	}
	priv, err := rr.ReadPrivateKey(bytes.NewReader(private), name+".private")
	if err != nil {
		return nil, fmt.Errorf("%s.private: %w", name, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s.private: %T is not a signing key", name, priv)
	}
	owner, err := zone.ParseName(rr.Hdr.Name, zone.Root)
	if err != nil {
		return nil, fmt.Errorf("%s.key: %w", name, err)
	}
	k := &Key{Zone: owner, DNSKEY: rr, Signer: signer, Tag: rr.KeyTag(), File: name}
	if err := checkPair(k); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if k.Timing, err = parseTiming(private); err != nil {
		return nil, fmt.Errorf("%s.private: %w", name, err)
	}
	return k, nil
}

// checkPair makes sure the private key is the one whose public half is
// published. miekg/dns takes the public half from the DNSKEY when it reads
// a private key, so a mismatched pair would load and sign signatures that
// fail to validate.
func checkPair(k *Key) error {
	switch k.Algorithm() {
	case ECDSAP256SHA256, RSASHA256, ED25519, dns.ECDSAP384SHA384, dns.RSASHA512:
	default:
		return fmt.Errorf("%w: %d", ErrAlgorithm, k.Algorithm())
	}
	switch p := k.Signer.(type) {
	case *ecdsa.PrivateKey:
		ecdhKey, err := p.ECDH()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrKeyMismatch, err)
		}
		derived, err := ecdhKey.Curve().NewPrivateKey(ecdhKey.Bytes())
		if err != nil {
			return fmt.Errorf("%w: %v", ErrKeyMismatch, err)
		}
		pub, err := p.PublicKey.ECDH()
		if err != nil || !bytes.Equal(derived.PublicKey().Bytes(), pub.Bytes()) {
			return ErrKeyMismatch
		}
	case *rsa.PrivateKey:
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%w: %v", ErrKeyMismatch, err)
		}
	case ed25519.PrivateKey:
		pub := p.Public().(ed25519.PublicKey)
		rr := *k.DNSKEY
		raw, err := dnskeyPublicBytes(&rr)
		if err != nil || !bytes.Equal(raw, pub) {
			return ErrKeyMismatch
		}
	}
	return nil
}

func dnskeyPublicBytes(k *dns.DNSKEY) ([]byte, error) {
	rd, err := zone.CanonicalRdata(k, nil)
	if err != nil {
		return nil, err
	}
	return rd[4:], nil
}

func parseTiming(private []byte) (Timing, error) {
	var t Timing
	sc := bufio.NewScanner(bytes.NewReader(private))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *time.Time
		switch strings.TrimSpace(name) {
		case "Created":
			dst = &t.Created
		case "Publish":
			dst = &t.Publish
		case "Activate":
			dst = &t.Activate
		case "Inactive":
			dst = &t.Inactive
		case "Delete":
			dst = &t.Delete
		default:
			continue
		}
		v, err := time.Parse(timeLayout, strings.TrimSpace(value))
		if err != nil {
			return t, fmt.Errorf("%s: %q is not a YYYYMMDDHHMMSS time", name, strings.TrimSpace(value))
		}
		*dst = v
	}
	return t, sc.Err()
}

// CheckKeySet refuses a set of keys that two keys share a tag in, whatever
// their algorithms: validators pick candidate keys by tag, and a collision
// has broken a TLD before (.ru, 2024).
func CheckKeySet(keys []*Key) error {
	seen := map[uint16]*Key{}
	for _, k := range keys {
		if prev, dup := seen[k.Tag]; dup {
			return fmt.Errorf("%w: %s and %s", ErrTagCollision, prev, k)
		}
		seen[k.Tag] = k
	}
	return nil
}
