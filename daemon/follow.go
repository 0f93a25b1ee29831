package daemon

import (
	"context"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/ptzone/ptzone/authserver"
	"github.com/ptzone/ptzone/store"
	"github.com/ptzone/ptzone/zone"
)

// followTimeout bounds one transfer of a zone from a peer or secondary.
const followTimeout = 5 * time.Minute

// followPublished makes this daemon hold, for each zone it builds, the
// version the publication log says was published last, when another
// daemon published it: transferred from the peers ([publish] peers), else
// from the zone's notify addresses (its secondaries serve what was
// published), and put in place as the baseline of this daemon's next
// publication (publish.Publisher.TakeBaseline), which also serves it. A
// standby does it after each of the publisher's publications, so that
// the zone it would judge a takeover against is the one the secondaries
// serve; the publisher does it before publishing, for a takeover the
// standby had not caught up with. A zone it cannot get stays as it is,
// and the guard then refuses to publish it (publish.RefuseBaseline).
func (d *Daemon) followPublished(ctx context.Context) {
	cfg := d.Config()
	d.mu.Lock()
	pub := d.pub
	d.mu.Unlock()
	var acfg authserver.Config
	var keys map[string]*authserver.TSIGKey
	loaded := false
	for _, name := range cfg.BuiltZones() {
		logged, err := lastPublished(ctx, d.deps.Registry, name)
		if err != nil {
			d.log.Warn("following the publisher: reading the publication log", zap.String("zone", name), zap.Error(err))
			return
		}
		if logged == 0 || servedSerialOf(d, name+".") == logged {
			continue
		}
		if !loaded {
			if acfg, err = cfg.AuthServer(); err != nil {
				d.log.Warn("following the publisher: the TSIG keys", zap.Error(err))
				return
			}
			keys = map[string]*authserver.TSIGKey{}
			for i, k := range acfg.TSIG {
				keys[k.Name] = &acfg.TSIG[i]
			}
			loaded = true
		}
		tr := acfg.Transfer[name+"."]
		key := keys[tr.NotifyKey]
		if cfg.Publish.PeersKey != "" {
			key = keys[dns.CanonicalName(cfg.Publish.PeersKey)]
		}
		origin := zone.MustParseName(name + ".")
		log := d.log.With(zap.String("zone", name), zap.Uint32("published", logged))
		for _, src := range append(append([]string(nil), cfg.Publish.Peers...), tr.Notify...) {
			fctx, cancel := context.WithTimeout(ctx, followTimeout)
			z, err := authserver.FetchZone(fctx, src, origin, key)
			cancel()
			if err != nil {
				log.Warn("following the publisher: no transfer", zap.String("from", src), zap.Error(err))
				continue
			}
			if z.Serial() != logged {
				log.Warn("following the publisher: another serial than the one published", zap.String("from", src), zap.Uint32("got", z.Serial()))
				continue
			}
			if err := pub.TakeBaseline(name, z); err != nil {
				log.Error("following the publisher: putting the zone in place", zap.Error(err))
				break
			}
			log.Info("following the publisher: zone taken", zap.String("from", src))
			d.followNow(ctx)
			break
		}
	}
}

// lastPublished is the serial of the zone's last publication or
// adoption in the log, 0 when none.
func lastPublished(ctx context.Context, reg store.PublicationLog, name string) (uint32, error) {
	pubs, err := reg.Publications(ctx, name, 100)
	if err != nil {
		return 0, err
	}
	for _, p := range pubs {
		if p.Outcome == store.OutcomePublished || p.Outcome == store.OutcomeAdopted {
			return p.Serial, nil
		}
	}
	return 0, nil
}
