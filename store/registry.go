package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"iter"
	"time"
)

// Registry is everything a backend provides. Consumers should not ask for
// all of it: they declare the small interface they use (often one of those
// below) and a Registry satisfies it.
type Registry interface {
	DomainReader
	DomainWriter
	RegistrarStore
	CheckStore
	CheckQueue
	Outbox
	PublicationLog
	Pruner
	Operations
	// Zones lists the hierarchies the store accepts domains in, sorted.
	Zones(ctx context.Context) ([]string, error)
	Close() error
}

// DomainReader reads registered domains.
type DomainReader interface {
	// Domain returns one domain by its A-label name, or ErrNotFound.
	Domain(ctx context.Context, name string) (Domain, error)
	// Snapshot opens one consistent, read-only view of the registry.
	Snapshot(ctx context.Context) (Snapshot, error)
	// Counts returns how many domains each zone has in each status.
	Counts(ctx context.Context) ([]ZoneCount, error)
}

// Filter selects domains from a snapshot. Zero fields select everything.
type Filter struct {
	Zone     string
	Statuses []Status
	// Registrar selects one registrar's domains.
	Registrar string
	// DelegationOnly reads only what a delegation needs, for building zones
	// fast: the name, zone, status, nameservers and DS of each domain, and
	// of its state only LastPassed and Withheld (State is nil when the
	// domain was never checked). Every other field is left zero.
	DelegationOnly bool
	// AnyOrder lets Domains yield the domains in whatever order is
	// cheapest for the store (a table's physical order) instead of by
	// name. A zone build sorts names itself, in the DNS's order: sorting
	// the registry in PostgreSQL first kept both cores busy for seconds
	// before the first row came.
	AnyOrder bool
}

// Candidate is a domain together with its delegation state, read in the same
// snapshot. State is nil when the domain was never checked.
type Candidate struct {
	Domain Domain
	State  *DelegationState
}

// Snapshot is one consistent read-only view of the registry: every Domains
// call sees the registry as it was when the snapshot was opened, whatever is
// written meanwhile. A snapshot holds one database connection; iterate one
// Domains sequence at a time and Close it when done.
type Snapshot interface {
	// Time is the database's clock when the snapshot was taken.
	Time() time.Time
	// Domains streams the selected domains ordered by name (unless
	// Filter.AnyOrder), one row in memory at a time. Iteration stops at the first error, which is
	// yielded with a zero Candidate.
	Domains(ctx context.Context, f Filter) iter.Seq2[Candidate, error]
	// ChangeToken marks the snapshot's place in the registry's change
	// feed, for a later snapshot's Changes.
	ChangeToken() string
	// Changes yields, in name order, every domain written, deleted, or
	// whose delegation state crossed the gate (a first passing check,
	// withheld or released) since the snapshot whose token is since was
	// taken, as this snapshot sees it. A domain may come more than once,
	// and unchanged; a deleted one comes with a nil Candidate (before its
	// row, if the name was registered again). Filter.Zone and
	// DelegationOnly apply; Statuses does not, a new status being a
	// change. A token from another database, or that this one no longer
	// covers, gives ErrChangeToken: read everything instead.
	Changes(ctx context.Context, since string, f Filter) iter.Seq2[DomainChange, error]
	Close() error
}

// DomainChange is one domain to look at again; Candidate is nil when the
// domain is gone.
type DomainChange struct {
	Name, Zone string
	Candidate  *Candidate
}

// ImportMode says what an import does with names the store already holds.
type ImportMode int

const (
	// ImportInsert adds new domains; any name already registered makes the
	// whole import fail with a *ConflictError and writes nothing.
	ImportInsert ImportMode = iota
	// ImportReplace makes the registry equal to the input: new names are
	// added, existing ones updated in place (keeping their delegation state
	// and check history), names absent from the input deleted.
	ImportReplace
)

// ImportRecord is one domain of an import and the input line it came from,
// so that the store can name the line in a conflict.
type ImportRecord struct {
	Line   int
	Domain Domain
}

// ImportResult counts what an import changed.
type ImportResult struct {
	Inserted          int
	Updated           int
	Deleted           int
	RegistrarsCreated int
}

// DomainWriter changes registered domains. Every method is atomic.
type DomainWriter interface {
	// Import writes all records in one transaction: all or nothing. The
	// records must already be valid (Domain.Validate); a record that is not
	// fails the import. Registrars named by records and missing from the
	// store are created without a name or token. An error yielded by src
	// aborts the import.
	Import(ctx context.Context, src iter.Seq2[ImportRecord, error], mode ImportMode) (ImportResult, error)
	// PutDomain inserts d, or replaces the domain of that name.
	PutDomain(ctx context.Context, d Domain) error
	// SetStatus changes one domain's status; ErrNotFound if it does not exist.
	SetStatus(ctx context.Context, name string, status Status) error
}

// RegistrarStore keeps registrars and their hashed API tokens.
type RegistrarStore interface {
	// PutRegistrar creates a registrar or updates its name and e-mail; the
	// token hash is left as it is.
	PutRegistrar(ctx context.Context, r Registrar) error
	// SetRegistrarToken replaces the registrar's token hash; ErrNotFound if
	// the registrar does not exist.
	SetRegistrarToken(ctx context.Context, id string, hash []byte) error
	Registrar(ctx context.Context, id string) (Registrar, error)
	// RegistrarByTokenHash finds the registrar holding a token, or ErrNotFound.
	RegistrarByTokenHash(ctx context.Context, hash []byte) (Registrar, error)
	Registrars(ctx context.Context) ([]Registrar, error)
}

// CheckStore keeps delegation check results and per-domain delegation state.
type CheckStore interface {
	// RecordCheck stores a check result and the domain's new state in one
	// transaction, and returns the result's ID. ErrNotFound if the domain
	// does not exist.
	RecordCheck(ctx context.Context, r CheckResult, s DelegationState) (int64, error)
	// DelegationState returns the domain's state, or ErrNotFound if it was
	// never checked.
	DelegationState(ctx context.Context, domain string) (DelegationState, error)
	// CheckHistory returns the domain's most recent results, newest first.
	CheckHistory(ctx context.Context, domain string, limit int) ([]CheckResult, error)
	// RecordChecks stores a batch of checks, their domains' new states
	// and their notices in one transaction, with the progress of the
	// sweep they belong to when sweep is not nil (its Cursor, Checked,
	// Failed and Finished are written). It returns each result's ID; a
	// domain deleted since it was read is skipped, with ID 0.
	RecordChecks(ctx context.Context, records []CheckRecord, sweep *Sweep) ([]int64, error)
	// OpenSweep returns the sweep that was interrupted, to go on with, or
	// starts a new one at started.
	OpenSweep(ctx context.Context, started time.Time) (s Sweep, resumed bool, err error)
	// Sweeps returns the most recent sweeps, newest first.
	Sweeps(ctx context.Context, limit int) ([]Sweep, error)
	// Notices returns notices oldest first: only those not yet sent when
	// pending is set.
	Notices(ctx context.Context, pending bool, limit int) ([]Notice, error)
}

// CheckQueue holds the domains waiting for a check: new and changed
// delegations, queued by the database itself whoever writes the domain,
// and the checks registrars and operators ask for. Checkers sharing the
// database claim requests for a lease; a check recorded with its request
// (CheckRecord.Request) takes it off the queue.
type CheckQueue interface {
	// RequestCheck queues a check of the domain for the reason given
	// (CheckRegistrar, CheckOperator); ErrNotFound if there is no such
	// domain. A request already queued is brought up to date.
	RequestCheck(ctx context.Context, domain, reason string, at time.Time) error
	// ClaimChecks claims, until now+lease, up to limit requests not
	// claimed past now, oldest first; only of domains active with name
	// servers (another's request waits until the domain is again).
	ClaimChecks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]CheckRequest, error)
}

// Locker elects one holder of a named role (the publisher) among the
// daemons sharing a store. A lock goes with its holder: a daemon that
// dies, or loses the database, holds it no more, and another may take it.
type Locker interface {
	// TryLock takes the lock named, or returns false when another holds
	// it. Each taking of a lock gets the next of its generations.
	TryLock(ctx context.Context, name string) (Lock, bool, error)
}

// PublisherLock is the name of the lock that elects the publisher: the
// publication log fences its entries with its generation.
const PublisherLock = "publisher"

// Lock is a held lock.
type Lock interface {
	// Held reports whether the lock is still held and nobody took it
	// since (its generation is still the latest); a holder checks
	// before each act the lock guards. A lock lost stays lost.
	Held(ctx context.Context) bool
	// Generation numbers this taking of the lock, counting every taking
	// of it in the store, by whichever daemon (1, 2, ...): the fencing
	// token of what is written under the lock. A later holder's is
	// larger.
	Generation() int64
	Release(ctx context.Context) error
}

// Outbox is the notifier's side of the notices queued by checks: a
// notifier claims notices for a while (a lease), then marks each sent or
// failed. A lease that lapses, its notifier gone, frees the notice for
// another: none is lost, and no two notifiers hold one at once.
type Outbox interface {
	// ClaimNotices claims, until now+lease, up to limit notices due at
	// now (not sent, no retry pending after now, no lease running past
	// now), oldest first; only those for the roles given, or for any
	// role when none is given (a notifier without a mail relay leaves
	// the mails waiting).
	ClaimNotices(ctx context.Context, now time.Time, lease time.Duration, limit int, roles ...string) ([]Notice, error)
	// NoticeSent marks a notice sent at the time given; ErrNotFound if
	// there is no such notice. A notice already sent stays as it was.
	NoticeSent(ctx context.Context, id int64, at time.Time) error
	// NoticeFailed records a failed delivery: one attempt more, why, and
	// when to try again; the lease ends.
	NoticeFailed(ctx context.Context, id int64, reason string, retry time.Time) error
}

// Operations keeps what operators do: the audit log of their actions,
// and the freezes that stop every daemon publishing a zone, or every
// zone.
type Operations interface {
	// Audit appends an entry to the audit log and returns its ID.
	Audit(ctx context.Context, e AuditEntry) (int64, error)
	// AuditLog returns the newest entries first.
	AuditLog(ctx context.Context, limit int) ([]AuditEntry, error)
	// Freeze stops publishing f.Zone (every zone when it is empty), and
	// records the entry in the audit log (its target the zone), in one
	// transaction; ErrFrozen if that zone is frozen already. A zone's
	// freeze and the freeze of every zone are independent: thawing one
	// leaves the other in force.
	Freeze(ctx context.Context, f Freeze) error
	// Thaw ends the freeze of zone (of every zone when it is empty),
	// recording e in the audit log in the same transaction with the zone
	// as its target, and returns the freeze it ended; ErrNotFound if that
	// zone was not frozen.
	Thaw(ctx context.Context, zone string, e AuditEntry) (Freeze, error)
	// Freezes returns the freezes in force: the freeze of every zone
	// first, if any, then the zones' by name.
	Freezes(ctx context.Context) ([]Freeze, error)
	// Health counts what the dashboards watch: one scan of the active
	// domains and of the outbox's waiting notices.
	Health(ctx context.Context) (Health, error)
}

// The gate's states of an active delegation, as Health counts them.
const (
	GateUnchecked = "unchecked" // never checked
	GateRefused   = "refused"   // never passed a check: not delegated (Art 4.2)
	GatePassing   = "passing"   // delegated, its last check passed or warned
	GateFailing   = "failing"   // delegated, failing: in its grace period (Art 23.2)
	GateWithheld  = "withheld"  // failing past its grace period: out of the zone (Art 23.2)
)

// Health is the registry's state as the dashboards watch it.
type Health struct {
	// Delegations counts the active domains with name servers by the
	// gate's state (GateUnchecked ... GateWithheld), every state present.
	Delegations map[string]int
	// Verdicts counts their last checks' verdicts, every verdict present.
	Verdicts map[Verdict]int
	// OutboxPending counts the notices not yet sent; OutboxOldest is when
	// the oldest of them was queued (zero when none waits).
	OutboxPending int
	OutboxOldest  time.Time
}

// NewHealth returns a Health with every state and verdict at zero.
func NewHealth() Health {
	h := Health{Delegations: map[string]int{}, Verdicts: map[Verdict]int{}}
	for _, s := range []string{GateUnchecked, GateRefused, GatePassing, GateFailing, GateWithheld} {
		h.Delegations[s] = 0
	}
	for _, v := range []Verdict{VerdictPass, VerdictWarning, VerdictFail} {
		h.Verdicts[v] = 0
	}
	return h
}

// AuditEntry is one operator action.
type AuditEntry struct {
	ID     int64
	Time   time.Time
	Actor  string
	Action string
	Target string
	Reason string
	// Detail is a JSON object (the action's outcome); empty for none.
	Detail []byte
}

// Freeze is publishing stopped by an operator, and why.
type Freeze struct {
	// Zone is the zone frozen; empty, every zone.
	Zone   string    `json:"zone,omitempty"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
}

// FreezeOf returns, among the freezes in force, the one that stops
// publishing zone: the freeze of every zone before the zone's own. With
// zone empty, only the freeze of every zone.
func FreezeOf(freezes []Freeze, zone string) (Freeze, bool) {
	var own *Freeze
	for i, f := range freezes {
		switch f.Zone {
		case "":
			return f, true
		case zone:
			own = &freezes[i]
		}
	}
	if own != nil {
		return *own, true
	}
	return Freeze{}, false
}

// String says who froze what, since when and why.
func (f Freeze) String() string {
	what := "publishing"
	if f.Zone != "" {
		what = "publishing of " + f.Zone
	}
	return fmt.Sprintf("%s is frozen by %s since %s: %s", what, f.Actor, f.Time.UTC().Format(time.RFC3339), f.Reason)
}

// Pruner removes old history.
type Pruner interface {
	// Prune deletes, in one transaction, the history older than the
	// cut says.
	Prune(ctx context.Context, cut PruneCut) (PruneResult, error)
}

// PruneCut says, for each kind of history, what is old enough to go:
// what is older than its time; a zero time keeps all of that kind.
type PruneCut struct {
	// History: check results (each domain's newest is kept, whatever
	// its age), notices sent, and finished sweeps (the newest is kept).
	History time.Time
	// Publications: the publication log's entries, each zone's newest
	// published or adopted one kept whatever its age (the serial the
	// next publication goes on from, and the zone a daemon taking over
	// finds published). The publish guard sums a zone's publications
	// over its window (publish.Guard.Window): the caller keeps at least
	// that much.
	Publications time.Time
	// Deletions: the change feed's deleted domains. A change token
	// taken before the newest of those deleted is refused afterwards
	// (ErrChangeToken): a publisher that has not published since builds
	// from the whole registry rather than miss a deletion.
	Deletions time.Time
}

// PruneResult counts the rows Prune deleted.
type PruneResult struct {
	Checks, Notices, Sweeps, Publications, Deletions int64
}

// PublicationLog records every publication attempt.
type PublicationLog interface {
	// RecordPublication appends an entry and returns its ID. An entry
	// with a Generation is recorded only while that generation is the
	// publisher's lock's latest: otherwise ErrFenced, and nothing is
	// written (its publisher lost the lock, and another took it).
	RecordPublication(ctx context.Context, p Publication) (int64, error)
	// Publications returns the newest entries first; zone "" means all zones.
	Publications(ctx context.Context, zone string, limit int) ([]Publication, error)
	// PublishedSince returns the zone's entries whose outcome is
	// OutcomePublished, recorded at since or later, oldest first: the
	// changes the publish guard sums over its window.
	PublishedSince(ctx context.Context, zone string, since time.Time) ([]Publication, error)
}

// HashToken returns the digest under which an API token is stored. Tokens
// are long random strings, so a plain SHA-256 is enough: there is nothing to
// brute-force that a slow hash would protect.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
