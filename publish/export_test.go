package publish

import "github.com/ptzone/ptzone/zone"

// WaitPresigned makes p's signings wait until every DS RRset offered is
// presigned.
func WaitPresigned(p *Publisher) { p.waitPresigned = true }

// DamageSigned makes damage change in place what p's signings make,
// before the verifier sees it: a signer's fault.
func DamageSigned(p *Publisher, damage func(*zone.Zone)) { p.damageSigned = damage }

// BeforeCommit makes p call hook with each zone's name once the zone is
// judged, before the lock is checked and the zone written.
func BeforeCommit(p *Publisher, hook func(zone string)) { p.beforeCommit = hook }
