package datadir

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/authserver"
)

// Server is what a Follower serves the zones from: an authserver.Server.
type Server interface {
	Swap(*authserver.Snapshot)
}

// Follower serves the zones published into a directory, and follows its
// publications: a publication by another process (ptzone zone publish)
// is served, and NOTIFY sent, within an interval. It reads the directory
// as a server must, passing over damaged files (Load with PassOver), and
// logs each file passed over and each zone never published.
type Follower struct {
	dir   Dir
	zones []string
	log   *zap.Logger
	// served is what was last read, with its stamps; nil before the
	// first look.
	served *Publication
}

// NewFollower returns a follower of the zones named in dir.
func NewFollower(dir Dir, zones []string, log *zap.Logger) *Follower {
	return &Follower{dir: dir, zones: zones, log: log}
}

// Snapshot reads the zones as last published, for a server to start
// from: what Run then follows on from. It is an error wrapping
// ErrNothingPublished when no zone was ever published; Run then serves
// the first publication.
func (f *Follower) Snapshot() (*authserver.Snapshot, error) {
	p, snap, err := f.read()
	if err != nil {
		return nil, err
	}
	f.served = p
	return snap, nil
}

// read loads the zones, logs what it passed over, and makes their
// snapshot.
func (f *Follower) read() (*Publication, *authserver.Snapshot, error) {
	p, err := f.dir.Load(f.zones, PassOver)
	if err != nil {
		return nil, nil, err
	}
	for _, z := range p.zones {
		if z.Zone == nil {
			f.log.Warn("zone never published: not served", zap.String("zone", z.Name), zap.String("dir", f.dir.path))
		}
		for _, e := range z.PassedOver {
			f.log.Error("file passed over", zap.String("zone", z.Name), zap.Error(e))
		}
	}
	snap, err := p.Snapshot()
	if err != nil {
		return nil, nil, err
	}
	return p, snap, nil
}

// Run swaps into srv the zones published after the last look: it looks
// every interval, and at once when reload receives, until ctx ends. A
// version that cannot be read is logged, and the one served kept. A
// channel received on reload is closed once the look it asked for is
// over, so that a publisher can wait until what it published is what is
// served.
func (f *Follower) Run(ctx context.Context, srv Server, interval time.Duration, reload <-chan chan struct{}) {
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
		f.look(srv, forced)
		if asked != nil {
			close(asked)
		}
	}
}

// look serves the zones if their files changed since the last look (or
// forced).
func (f *Follower) look(srv Server, forced bool) {
	if f.served == nil {
		// Nothing served yet: look again when a zone's files change.
		f.served = f.dir.stamped(f.zones)
		forced = true
	}
	if !forced && !f.served.Changed() {
		return
	}
	start := time.Now()
	next, snap, err := f.read()
	if errors.Is(err, ErrNothingPublished) {
		return // said at the start
	}
	if err != nil {
		f.log.Error("reading the published zones; still serving the previous ones", zap.Error(err))
		return
	}
	srv.Swap(snap)
	var names []string
	for _, o := range snap.Zones() {
		names = append(names, strings.TrimSuffix(o.String(), "."))
	}
	f.log.Info("serving the zones as published", zap.Strings("zones", names), zap.Duration("read in", time.Since(start)),
		zap.String("dir", filepath.Clean(f.dir.path)))
	f.served = next
}
