package publish

import "github.com/ptzone/ptzone/zone"

// WaitPresigned makes p's signings wait until every DS RRset offered is
// presigned.
func WaitPresigned(p *Publisher) { p.waitPresigned = true }

// DamageSigned makes damage change in place what p's signings make,
// before the verifier sees it: a signer's fault.
func DamageSigned(p *Publisher, damage func(*zone.Zone)) { p.damageSigned = damage }
