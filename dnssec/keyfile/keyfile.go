package keyfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ptzone/ptzone/dnssec"
	"github.com/ptzone/ptzone/internal/atomicfile"
	"github.com/ptzone/ptzone/zone"
)

// Save writes the key's two files into dir and sets k.File.
func Save(k *dnssec.Key, dir string) error {
	pub, priv, err := k.Marshal()
	if err != nil {
		return err
	}
	base := filepath.Join(dir, k.BaseName())
	if err := atomicfile.WriteBytes(base+".private", 0o600, priv); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(base+".key", 0o644, pub); err != nil {
		return err
	}
	k.File = base
	return nil
}

// Load reads every key of zone z in dir (K<zone>+*.key with its
// .private), refuses a tag collision among them, and returns them ordered
// by tag.
func Load(dir string, z zone.Name) ([]*dnssec.Key, error) {
	files, err := filepath.Glob(filepath.Join(dir, "K"+z.String()+"+*.key"))
	if err != nil {
		return nil, err
	}
	var keys []*dnssec.Key
	for _, f := range files {
		k, err := LoadKey(strings.TrimSuffix(f, ".key"))
		if err != nil {
			return nil, err
		}
		if k.Zone != z {
			return nil, fmt.Errorf("%s: the key is for %s, not %s", f, k.Zone, z)
		}
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Tag < keys[j].Tag })
	if err := dnssec.CheckKeySet(keys); err != nil {
		return nil, err
	}
	return keys, nil
}

// LoadKey reads one key pair from base.key and base.private, refusing a
// private file that others may read.
func LoadKey(base string) (*dnssec.Key, error) {
	pub, err := os.ReadFile(base + ".key")
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(base + ".private")
	if err != nil {
		return nil, err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s.private: mode %v lets others read the private key; chmod 600 it", base, info.Mode().Perm())
	}
	priv, err := os.ReadFile(base + ".private")
	if err != nil {
		return nil, err
	}
	return dnssec.ParseKey(base, pub, priv)
}
