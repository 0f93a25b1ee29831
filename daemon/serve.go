package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/authserver"
	"github.com/ptzone/ptzone/publish"
	"github.com/ptzone/ptzone/zone"
)

// Published is the zones a server answers from, as last read from a data
// directory, with the stamps of the files they were read from.
type Published struct {
	Snapshot *authserver.Snapshot
	stamps   map[string]publish.Stamp
}

// ErrNothingPublished: no zone was ever published into the directory.
var ErrNothingPublished = errors.New("no published zone")

// LoadPublished reads the last published version of each zone in dir
// (DATA-DIR/zones), logging each file passed over (publish.LoadServed)
// and each zone never published. It is an error when none can be served.
func LoadPublished(dir string, zones []string, log *zap.Logger) (*Published, error) {
	p := &Published{stamps: map[string]publish.Stamp{}}
	var served []*zone.Zone
	var histories []*publish.JournalHistory
	for _, name := range zones {
		name = strings.TrimSuffix(name, ".")
		// The stamp comes first: a publication while the zone is read
		// changes it, and the next look reads the zone again.
		st, err := publish.StampOf(dir, name)
		if err != nil {
			return nil, err
		}
		p.stamps[name] = st
		s, err := publish.LoadServed(dir, name)
		if err != nil {
			return nil, err
		}
		if s == nil {
			log.Warn("zone never published: not served", zap.String("zone", name), zap.String("dir", dir))
			continue
		}
		for _, e := range s.PassedOver {
			log.Error("file passed over", zap.String("zone", name), zap.Error(e))
		}
		served = append(served, s.Zone)
		histories = append(histories, s.History)
	}
	if len(served) == 0 {
		return nil, fmt.Errorf("%w in %s (publish first, or give --zone NAME=FILE)", ErrNothingPublished, dir)
	}
	snap, err := authserver.NewSnapshot(served...)
	if err != nil {
		return nil, err
	}
	for i, z := range served {
		if snap, err = snap.WithHistory(z.Origin(), histories[i]); err != nil {
			return nil, err
		}
	}
	p.Snapshot = snap
	return p, nil
}

// changed reports whether a zone's files changed since p was read.
func (p *Published) changed(dir string) bool {
	for name, old := range p.stamps {
		st, err := publish.StampOf(dir, name)
		if err != nil || !st.Same(old) {
			return true
		}
	}
	return false
}

// FollowPublications swaps into srv the zones published into dir after
// current was read: it looks every interval, and at once when reload
// receives, until ctx ends. A publication by another process (ptzone
// zone publish) is then served, and NOTIFY sent, within an interval. A
// version that cannot be read is logged, and the one served kept.
// current is nil when nothing was published yet. A channel received on
// reload is closed once the look it asked for is over, so a publisher
// can wait until what it published is what is served.
func FollowPublications(ctx context.Context, srv *authserver.Server, dir string, zones []string, current *Published,
	interval time.Duration, reload <-chan chan struct{}, log *zap.Logger) {
	for {
		var asked chan struct{}
		forced := false
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		case asked = <-reload:
			forced = true
		}
		current = followOnce(srv, dir, zones, current, forced, log)
		if asked != nil {
			close(asked)
		}
	}
}

// followOnce serves the zones in dir if they changed since current (or
// forced), and returns what is served.
func followOnce(srv *authserver.Server, dir string, zones []string, current *Published, forced bool, log *zap.Logger) *Published {
	if current == nil {
		// Nothing served yet: look again when a zone's files change.
		current = &Published{stamps: map[string]publish.Stamp{}}
		for _, name := range zones {
			name = strings.TrimSuffix(name, ".")
			current.stamps[name], _ = publish.StampOf(dir, name)
		}
		forced = true
	}
	if !forced && !current.changed(dir) {
		return current
	}
	start := time.Now()
	next, err := LoadPublished(dir, zones, log)
	if errors.Is(err, ErrNothingPublished) {
		return current // said at the start
	}
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			log.Error("reading the published zones; still serving the previous ones", zap.Error(err))
		}
		return current
	}
	srv.Swap(next.Snapshot)
	var names []string
	for _, o := range next.Snapshot.Zones() {
		names = append(names, strings.TrimSuffix(o.String(), "."))
	}
	log.Info("serving the zones as published", zap.Strings("zones", names), zap.Duration("read in", time.Since(start)),
		zap.String("dir", filepath.Clean(dir)))
	return next
}
