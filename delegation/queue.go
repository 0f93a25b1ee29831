package delegation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/store"
)

// QueueStore is what the check queue's checker reads and writes.
type QueueStore interface {
	ClaimChecks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.CheckRequest, error)
	Domain(ctx context.Context, name string) (store.Domain, error)
	DelegationState(ctx context.Context, domain string) (store.DelegationState, error)
	RecordChecks(ctx context.Context, records []store.CheckRecord, sweep *store.Sweep) ([]int64, error)
}

// QueueChecker checks the domains waiting in the check queue: new and
// changed delegations, which the gate keeps out of the zone until a check
// passes (Art 4.2), and the checks registrars and operators ask for. Each
// run claims a batch, checks it and records the results with their
// requests; daemons sharing a database each claim their own.
type QueueChecker struct {
	Checker   *Checker
	Store     QueueStore
	Lifecycle Lifecycle
	// Batch is how many requests one run claims (default 100), Lease how
	// long they are held (default 5 minutes: longer than a batch takes).
	Batch int
	Lease time.Duration
	// Concurrency is how many domains are checked at once (default 32).
	Concurrency int
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *zap.Logger
}

func (q *QueueChecker) now() time.Time {
	if q.Now == nil {
		return time.Now()
	}
	return q.Now()
}

// RunOnce checks one batch of the queue and returns how many domains it
// checked; zero when the queue is empty.
func (q *QueueChecker) RunOnce(ctx context.Context) (int, error) {
	log := q.Log
	if log == nil {
		log = zap.NewNop()
	}
	batch, lease, concurrency := q.Batch, q.Lease, q.Concurrency
	if batch <= 0 {
		batch = 100
	}
	if lease <= 0 {
		lease = 5 * time.Minute
	}
	if concurrency <= 0 {
		concurrency = 32
	}
	reqs, err := q.Store.ClaimChecks(ctx, q.now(), lease, batch)
	if err != nil || len(reqs) == 0 {
		return 0, err
	}
	sess := newSession(q.Checker, q.Checker.RatePerAddress)
	records := make([]*store.CheckRecord, len(reqs))
	errs := make([]error, len(reqs))
	busy := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, req := range reqs {
		busy <- struct{}{}
		wg.Go(func() {
			defer func() { <-busy }()
			records[i], errs[i] = q.check(ctx, sess, req)
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return 0, ctx.Err() // the claims lapse; the requests stay queued
	}
	var out []store.CheckRecord
	for i, rec := range records {
		if errs[i] != nil {
			return 0, errs[i]
		}
		if rec != nil {
			out = append(out, *rec)
		}
	}
	if _, err := q.Store.RecordChecks(ctx, out, nil); err != nil {
		return 0, fmt.Errorf("check queue: recording %d checks: %w", len(out), err)
	}
	for _, rec := range out {
		log.Info("delegation checked", zap.String("domain", rec.Result.Domain), zap.String("reason", rec.Request.Reason),
			zap.String("verdict", string(rec.Result.Verdict)), zap.Int("findings", len(rec.Result.Findings)),
			zap.Bool("withheld", rec.State.Withheld), zap.Duration("took", rec.Result.Duration))
	}
	return len(out), nil
}

// check checks one queued domain; nil when the domain went away
// meanwhile (its request went with it).
func (q *QueueChecker) check(ctx context.Context, sess *session, req store.CheckRequest) (*store.CheckRecord, error) {
	d, err := q.Store.Domain(ctx, req.Domain)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("check queue: %w", err)
	}
	var prev *store.DelegationState
	base := time.Time{}
	switch st, err := q.Store.DelegationState(ctx, req.Domain); {
	case err == nil:
		prev, base = &st, st.Updated
	case !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("check queue: %w", err)
	}
	start := time.Now()
	rep := q.Checker.check(ctx, FromDomain(d), sess)
	rec := q.Lifecycle.Next(prev, d, rep.Result(q.now(), time.Since(start), req.Reason))
	rec.Base, rec.Request = &base, &req
	return &rec, nil
}
