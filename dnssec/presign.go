package dnssec

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ptzone/ptzone/zone"
)

// Presigner signs the DS RRsets of a zone's delegations before Sign is
// called. Reading a TLD's registry keeps both cores busy, but assembling
// the zone at the end of it, and planning the signing, leave one core idle
// for seconds: the signatures of a few hundred thousand DS RRsets, half of
// a full signing's, fit in that time. Offer the RRsets as the zone is
// generated, Start once the registry is read, and give the Presigner to
// Sign, which takes a presigned signature over an RRset only when the zone
// holds that RRset exactly as it was offered (owner, type, TTL and
// records), and signs every other RRset itself. The zone it makes is byte
// for byte the zone it makes without a Presigner, since every algorithm
// signs deterministically.
type Presigner struct {
	s     *signer
	tasks []task
	stop  chan struct{}
	done  chan struct{}
	start sync.Once
	once  sync.Once
	// out is written by the worker only, and read once it is done.
	out *presigned
}

// presigned are a Presigner's signatures by owner.
type presigned struct {
	byOwner map[zone.Name]presig
	used    atomic.Int64 // RRsets whose signatures Sign took
}

type presig struct {
	typ   uint16
	ttl   uint32
	block []byte
	sigs  []keptSig
}

// NewPresigner prepares presigning for the zone at apex with the keys and
// options Sign will be given (opt.Now, the validity, jitter and inception
// offset must be the same; Sign refuses a Presigner made with others).
// Close it when the zone is not signed after all.
func NewPresigner(apex zone.Name, keys []*Key, opt SignOptions) (*Presigner, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	s, err := keySigner(apex, keys, opt)
	if err != nil {
		return nil, err
	}
	p := &Presigner{s: s, stop: make(chan struct{}), done: make(chan struct{}),
		out: &presigned{byOwner: map[zone.Name]presig{}}}
	return p, nil
}

// Offer notes the DS RRset of a delegation: owner as a key (the bytes of
// a Name), the records in canonical wire form. What it keeps it copies.
// Offer is not safe for concurrent use, and is ignored once Start is
// called.
func (p *Presigner) Offer(owner []byte, ttl uint32, rdatas [][]byte) {
	select {
	case <-p.stop:
		return
	default:
	}
	p.tasks = append(p.tasks, task{owner: zone.Name(owner), typ: zone.TypeDS, ttl: ttl, block: encodeBlock(rdatas), keys: p.s.zsks})
}

// Start signs what was offered, on a goroutine of its own, until Sign or
// Close stops it.
func (p *Presigner) Start() {
	p.start.Do(func() {
		tasks := p.tasks
		go p.work(tasks)
	})
}

func (p *Presigner) work(tasks []task) {
	defer close(p.done)
	inception := uint32(p.s.opt.Now.Add(-p.s.opt.InceptionOffset).Unix())
	var buf []byte
	q := newSigQueue()
	// Tasks go in chunks, which share the batch signers' inversions; a
	// chunk takes a few milliseconds, which is how long Close may wait.
	const chunk = 256
	made := make(map[zone.Name]presig, chunk)
	for len(tasks) > 0 {
		select {
		case <-p.stop:
			return
		default:
		}
		n := min(chunk, len(tasks))
		for _, t := range tasks[:n] {
			if err := p.sign(t, inception, &buf, q, made); err != nil {
				return // Sign meets the error again when it signs this RRset
			}
		}
		if err := q.flush(); err != nil {
			return
		}
		for owner, ps := range made {
			p.out.byOwner[owner] = ps
		}
		clear(made)
		tasks = tasks[n:]
	}
}

// sign signs one offered RRset with each key whose signature Sign would not
// keep from the previous zone, into made, complete once q is flushed.
func (p *Presigner) sign(t task, inception uint32, buf *[]byte, q *sigQueue, made map[zone.Name]presig) error {
	var sigs []keptSig
	err := p.s.signTask(buf, q, t, inception, p.s.keptSignatures(t), func(k *Key, rd []byte, made bool) {
		if made {
			sigs = append(sigs, keptSig{keyID{k.Tag, k.Algorithm()}, rd})
		}
	})
	if err == nil && len(sigs) > 0 {
		made[t.owner] = presig{typ: t.typ, ttl: t.ttl, block: t.block, sigs: sigs}
	}
	return err
}

// Wait starts the Presigner if it has not started, and returns once it
// has signed everything offered (or was closed): for a caller, such as a
// test, that needs what is presigned not to depend on scheduling.
func (p *Presigner) Wait() {
	p.Start()
	<-p.done
}

// Close stops the Presigner after the signature it is making, leaving
// the rest to Sign. It may be called more than once.
func (p *Presigner) Close() {
	p.once.Do(func() { close(p.stop) })
	p.start.Do(func() { close(p.done) }) // never started
	<-p.done
}

// finish closes the Presigner and returns its signatures, after checking
// that they were made as s signs.
func (p *Presigner) finish(s *signer) (*presigned, error) {
	p.Close()
	o, q := s.opt, p.s.opt
	switch {
	case p.s.apex != s.apex:
		return nil, fmt.Errorf("signing %s with signatures presigned for %s", s.apex, p.s.apex)
	case !o.Now.Equal(q.Now) || o.Validity != q.Validity || o.Jitter != q.Jitter || o.InceptionOffset != q.InceptionOffset:
		return nil, fmt.Errorf("signing %s: signatures were presigned with other times", s.apex)
	case !slices.Equal(p.s.zsks, s.zsks):
		return nil, fmt.Errorf("signing %s: signatures were presigned with other keys", s.apex)
	}
	return p.out, nil
}

// lookup returns the presigned signatures over t's RRset, if t is the
// RRset that was offered.
func (ps *presigned) lookup(t task) []keptSig {
	p, ok := ps.byOwner[t.owner]
	if !ok || p.typ != t.typ || p.ttl != t.ttl || !bytes.Equal(p.block, t.block) {
		return nil
	}
	ps.used.Add(1)
	return p.sigs
}

// Stats reports, once Sign has run, how many RRsets were presigned and
// how many of them Sign took.
func (p *Presigner) Stats() (presigned, used int) {
	p.Close()
	return len(p.out.byOwner), int(p.out.used.Load())
}
