package adopt

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/dnssec/keyfile"
	"github.com/ptzone/ptzone/internal/atomicfile"
	"github.com/ptzone/ptzone/zone"
)

// ErrKeyNotInZone: a key offered for import is not in the adopted zone's
// DNSKEY RRset.
var ErrKeyNotInZone = errors.New("not in the adopted zone's DNSKEY RRset")

// KeyImport is what ImportKeys did: the keys now in the keys directory
// (their File there), and what an operator should know before the first
// publication.
type KeyImport struct {
	Imported []*dnssec.Key
	Warnings []string
}

// ImportKeys copies the old signer's key pairs into keysDir, where
// ptzone's publications take the zone's keys from, so that they sign its
// first publication and the parent's DS keeps matching. Each of files is
// a key in BIND key-file format, named by its .key or .private file or
// their common base; both files must be there, parse, and be one pair.
// Every key must be a key of the zone adopted, whose DNSKEY RRset holds
// it: a key that is not is refused with ErrKeyNotInZone. One refused key
// imports none. A key already in keysDir is left as it is; another key
// with its tag is refused (validators pick keys by tag). The warnings
// name the adopted zone's KSKs left out (the parent's DS may be for one
// of them), its ZSKs left out (resolvers may hold signatures by them),
// keys of keysDir the adopted zone does not publish, and imported keys
// that will not sign at now.
func ImportKeys(keysDir string, adopted *zone.Zone, files []string, now time.Time) (*KeyImport, error) {
	apex := adopted.Origin()
	name := strings.TrimSuffix(apex.String(), ".")
	dnskeys, ok := adopted.Get(apex, zone.TypeDNSKEY)
	if !ok {
		return nil, fmt.Errorf("%s as adopted is not signed: it has no keys to carry over", name)
	}
	var published [][]byte
	var publishedKeys []Key
	for rd := range dnskeys.Rdata() {
		published = append(published, bytes.Clone(rd))
		publishedKeys = append(publishedKeys, Key{Tag: keyTag(rd), Algorithm: rd[3], SEP: rd[1]&1 != 0})
	}
	var bases []string
	for _, f := range files {
		base := strings.TrimSuffix(strings.TrimSuffix(f, ".key"), ".private")
		if !slices.Contains(bases, base) {
			bases = append(bases, base)
		}
	}
	if len(bases) == 0 {
		return nil, errors.New("no key files given")
	}
	existing, err := keyfile.Load(keysDir, apex)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("the keys of %s in %s: %w", name, keysDir, err)
	}

	var offered []*dnssec.Key
	var refused []error
	for _, base := range bases {
		k, err := keyfile.LoadKey(base)
		if err != nil {
			refused = append(refused, fmt.Errorf("%s: %w", base, err))
			continue
		}
		if k.Zone != apex {
			refused = append(refused, fmt.Errorf("%s: the key is for %s, not %s", base, k.Zone, apex))
			continue
		}
		rd, err := k.Rdata()
		if err != nil {
			refused = append(refused, fmt.Errorf("%s: %w", base, err))
			continue
		}
		if !slices.ContainsFunc(published, func(p []byte) bool { return bytes.Equal(p, rd) }) {
			refused = append(refused, fmt.Errorf("%s: key %s is %w of %s (%s)", base, describe(k), ErrKeyNotInZone, name, keyList(publishedKeys)))
			continue
		}
		if i := slices.IndexFunc(offered, func(o *dnssec.Key) bool { return o.Tag == k.Tag }); i >= 0 {
			refused = append(refused, fmt.Errorf("%s: key %d is offered twice (%s)", base, k.Tag, offered[i].File))
			continue
		}
		offered = append(offered, k)
	}
	var copies []*dnssec.Key
	for _, k := range offered {
		i := slices.IndexFunc(existing, func(e *dnssec.Key) bool { return e.Tag == k.Tag })
		if i < 0 {
			copies = append(copies, k)
			continue
		}
		have, _ := existing[i].Rdata()
		want, _ := k.Rdata()
		if !bytes.Equal(have, want) {
			refused = append(refused, fmt.Errorf("%s: %s already holds another key with tag %d (%s): %w", k.File, keysDir, k.Tag, existing[i].File, dnssec.ErrTagCollision))
		}
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("no key imported: %w", errors.Join(refused...))
	}

	if err := os.MkdirAll(keysDir, 0o700); err != nil {
		return nil, err
	}
	var written []string
	undo := func() {
		for _, f := range written {
			os.Remove(f)
		}
	}
	out := &KeyImport{}
	for _, k := range copies {
		dst := filepath.Join(keysDir, k.BaseName())
		// The private half first: a .key file names a key to load, and
		// must not stand without its .private.
		for _, f := range []struct {
			ext  string
			mode os.FileMode
		}{{".private", 0o600}, {".key", 0o644}} {
			raw, err := os.ReadFile(k.File + f.ext)
			if err == nil {
				err = atomicfile.WriteBytes(dst+f.ext, f.mode, raw)
			}
			if err != nil {
				undo()
				return nil, fmt.Errorf("copying %s%s: %w", k.File, f.ext, err)
			}
			written = append(written, dst+f.ext)
		}
		copied, err := keyfile.LoadKey(dst)
		if err != nil {
			undo()
			return nil, fmt.Errorf("the copy of %s: %w", k.File, err)
		}
		out.Imported = append(out.Imported, copied)
	}

	all := append(slices.Clone(existing), copies...)
	for _, p := range publishedKeys {
		if slices.ContainsFunc(all, func(k *dnssec.Key) bool { return k.Tag == p.Tag && k.Algorithm() == p.Algorithm }) {
			continue
		}
		if p.SEP {
			out.Warnings = append(out.Warnings, fmt.Sprintf("KSK %s of %s as adopted is not imported: if the parent's DS is for it, the first publication's DNSKEY RRset would no longer match it, and validation of %s would fail", p, name, name))
		} else {
			out.Warnings = append(out.Warnings, fmt.Sprintf("ZSK %s of %s as adopted is not imported: the first publication drops it from the DNSKEY RRset while resolvers may still hold signatures by it (for the TTL of the records signed)", p, name))
		}
	}
	for _, e := range existing {
		rd, _ := e.Rdata()
		if !slices.ContainsFunc(published, func(p []byte) bool { return bytes.Equal(p, rd) }) {
			out.Warnings = append(out.Warnings, fmt.Sprintf("key %s in %s is not in %s as adopted: the first publication adds it to the DNSKEY RRset and signs with it; remove it unless that is meant", describe(e), keysDir, name))
		}
	}
	for _, k := range out.Imported {
		if !k.Active(now) {
			out.Warnings = append(out.Warnings, fmt.Sprintf("key %s is %s at %s: it will not sign (%s)", describe(k), k.State(now), now.UTC().Format(time.RFC3339), timingText(k.Timing)))
		}
	}
	return out, nil
}

func describe(k *dnssec.Key) string {
	rd, err := k.Rdata()
	if err != nil || len(rd) < 4 {
		return fmt.Sprint(k.Tag)
	}
	return Key{Tag: k.Tag, Algorithm: k.Algorithm(), SEP: k.SEP()}.String()
}

func keyList(keys []Key) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, k.String())
	}
	return "it has " + strings.Join(parts, ", ")
}

// timingText lists a key's times that are set.
func timingText(t dnssec.Timing) string {
	var parts []string
	for _, f := range []struct {
		name string
		at   time.Time
	}{{"publish", t.Publish}, {"activate", t.Activate}, {"inactive", t.Inactive}, {"delete", t.Delete}} {
		if !f.at.IsZero() {
			parts = append(parts, f.name+" "+f.at.UTC().Format(time.RFC3339))
		}
	}
	if len(parts) == 0 {
		return "no timing"
	}
	return strings.Join(parts, ", ")
}
