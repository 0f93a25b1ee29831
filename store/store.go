package store

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Status is a domain's registration status (Rules Art 4, 26, 35, 39).
type Status string

// The statuses a domain can be in. Only StatusActive domains are candidates
// for delegation; policy.Publishable is the one place that says so.
const (
	// StatusReserved: registered without (correct) technical data; never
	// delegated (Art 1.4, 4.2, 23.1).
	StatusReserved Status = "reserved"
	// StatusActive: registered, paid and technically valid (Art 4.1).
	StatusActive Status = "active"
	// StatusPendingDelete: not renewed, held for at most 30 days (Art 26.5).
	StatusPendingDelete Status = "pending_delete"
	// StatusSuspended: suspended by DNS.PT or by an arbitral injunction
	// (Art 35, 39).
	StatusSuspended Status = "suspended"
	// StatusRemoved: removed (Art 22.4, 32, 33); kept for history.
	StatusRemoved Status = "removed"
)

// Statuses lists every valid status, in lifecycle order.
var Statuses = []Status{StatusReserved, StatusActive, StatusPendingDelete, StatusSuspended, StatusRemoved}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Domain is one registered domain as the registry holds it.
type Domain struct {
	// Name is the fully qualified name in A-label form, lowercase, without
	// the trailing dot: "exemplo.pt", "xn--aores-rta.com.pt".
	Name string
	// Zone is the hierarchy the domain is registered in: "pt", "com.pt", ...
	Zone   string
	Status Status
	// Registrar is the registrar's identifier, e.g. "REG-1".
	Registrar string
	// Expires is the expiry date, at midnight UTC.
	Expires time.Time
	// TechEmail is the technical contact's mailbox (Art 5c); may be empty.
	TechEmail string
	// GeoAuthority marks a registrant recognised as the legitimate
	// administrative authority for a geographic name (Art 11.b).
	GeoAuthority bool
	Nameservers  []Nameserver
	DS           []DS
}

// Nameserver is one NS target of a delegation, with the addresses the
// registry holds for it. Addresses are glue: required when the host is at or
// below the domain itself, published only when the host is in a zone we serve.
type Nameserver struct {
	Name  string // A-label host name, lowercase, no trailing dot
	Addrs []netip.Addr
}

// DS is one delegation signer record as submitted by the registrar. Any
// algorithm and digest type is kept, legacy ones (5, 7, SHA-1) included:
// whether a validator uses them is not the registry's call.
type DS struct {
	KeyTag     uint16
	Algorithm  uint8
	DigestType uint8
	Digest     string // uppercase hexadecimal
}

// Registrar is an accredited registrar (Art 2a) with its API credentials.
type Registrar struct {
	ID    string
	Name  string
	Email string
	// TokenHash is the SHA-256 of the registrar's API token; the token
	// itself is never stored. Nil when no token was issued.
	TokenHash []byte
	Created   time.Time
}

// Verdict is the outcome of one delegation check.
type Verdict string

// Verdicts, from best to worst.
const (
	VerdictPass    Verdict = "pass"
	VerdictWarning Verdict = "warning"
	VerdictFail    Verdict = "fail"
)

// Valid reports whether v is a known verdict.
func (v Verdict) Valid() bool {
	return v == VerdictPass || v == VerdictWarning || v == VerdictFail
}

// Severity grades a finding: an error closes the gate (Art 4.2) or
// starts the grace period of a delegated domain (Art 23.2); a warning and
// a notice are reported only.
type Severity string

// Severities, from mildest to worst.
const (
	SeverityNotice  Severity = "notice"
	SeverityWarning Severity = "warning"
	SeverityError   Severity = "error"
)

// Rank orders severities from the mildest, a notice (0), to the worst,
// an error (2); a severity not known ranks as a notice.
func (s Severity) Rank() int {
	switch s {
	case SeverityError:
		return 2
	case SeverityWarning:
		return 1
	}
	return 0
}

// Finding is one observation of the delegation checker, stored as data so
// that registrars can be shown exactly what was seen.
type Finding struct {
	Code       string   `json:"code"`
	Severity   Severity `json:"severity"`
	Nameserver string   `json:"nameserver,omitempty"`
	Address    string   `json:"address,omitempty"`
	Article    string   `json:"article,omitempty"`
	Message    string   `json:"message"`
	MessagePT  string   `json:"message_pt,omitempty"`
	Hint       string   `json:"hint,omitempty"`
	HintPT     string   `json:"hint_pt,omitempty"`
	Evidence   string   `json:"evidence,omitempty"`
}

// CheckResult is one completed delegation check of one domain.
type CheckResult struct {
	ID       int64
	Domain   string
	Time     time.Time
	Duration time.Duration
	// Trigger says what asked for the check: "sweep", "new", "registrar",
	// "operator".
	Trigger  string
	Verdict  Verdict
	Findings []Finding
}

// DelegationState is the gate's memory of one domain: what the last checks
// said and whether its delegation is held back.
type DelegationState struct {
	Domain      string
	LastVerdict Verdict
	LastChecked time.Time
	// LastPassed is the time of the last passing check; zero if the domain
	// never passed one (Art 4.2: it then stays out of the zone).
	LastPassed time.Time
	// FirstFailure is the start of the current run of failures; zero while
	// the domain passes.
	FirstFailure        time.Time
	ConsecutiveFailures int
	// Withheld is set when the grace period ran out (Art 23.2).
	Withheld bool
	Reason   string
	Findings []Finding
	Updated  time.Time
}

// CheckRecord is one check to record: its result, the domain's state
// after it, and the notices it calls for.
type CheckRecord struct {
	Result  CheckResult
	State   DelegationState
	Notices []Notice
	// Base, when set, makes the state conditional: it is written, and
	// the notices queued, only if the stored state is still the one the
	// check started from (updated at *Base; absent when *Base is zero).
	// A sweep works from a snapshot: a check recorded meanwhile (one a
	// registrar asked for) is newer and keeps its state; the sweep's
	// result still joins the history.
	Base *time.Time
	// Request, when the check answers one from the check queue, takes it
	// off the queue, unless a newer request (a later version) came
	// meanwhile.
	Request *CheckRequest
}

// CheckRequest is a domain waiting in the check queue.
type CheckRequest struct {
	Domain    string
	Reason    string // CheckNew, CheckChanged, CheckRegistrar, CheckOperator
	Requested time.Time
	Version   int64
}

// Why a domain is in the check queue.
const (
	CheckNew       = "new"       // registered with name servers (Art 4.2)
	CheckChanged   = "changed"   // its name servers or DS records changed
	CheckRegistrar = "registrar" // its registrar asked
	CheckOperator  = "operator"  // an operator asked
)

// NoticeKind says what a notice tells its recipient.
type NoticeKind string

// Notice kinds.
const (
	// NoticeFailing: the delegation fails its checks; the grace period
	// started and ends at the notice's deadline (Art 23.2).
	NoticeFailing NoticeKind = "delegation_failing"
	// NoticeReminder: still failing, the deadline nearer.
	NoticeReminder NoticeKind = "delegation_reminder"
	// NoticeWithheld: the grace period ran out; the delegation left the zone.
	NoticeWithheld NoticeKind = "delegation_withheld"
	// NoticeRestored: a failing or withheld delegation passes again.
	NoticeRestored NoticeKind = "delegation_restored"
	// NoticeRefused: a domain never delegated failed its first check and
	// stays out of the zone until one passes (Art 4.2).
	NoticeRefused NoticeKind = "delegation_refused"
)

// Valid reports whether k is a known notice kind.
func (k NoticeKind) Valid() bool {
	switch k {
	case NoticeFailing, NoticeReminder, NoticeWithheld, NoticeRestored, NoticeRefused:
		return true
	}
	return false
}

// Recipient roles of a notice.
const (
	RoleTech      = "tech"      // the technical contact's mailbox (Art 5c)
	RoleRegistrar = "registrar" // the registrar, by identifier
	RoleWebhook   = "webhook"   // the registry's webhook, by the name it is configured under
)

// Notice is a message queued in the outbox for the notifier to send.
type Notice struct {
	ID      int64
	Created time.Time
	Domain  string
	Kind    NoticeKind
	// Role is RoleTech (Recipient is a mailbox), RoleRegistrar
	// (Recipient is the registrar's identifier) or RoleWebhook (Recipient
	// is the webhook's name: its address and secret stay in the
	// configuration, out of the database).
	Role      string
	Recipient string
	// Deadline is when a failing delegation will be withheld; zero when
	// the notice has none.
	Deadline time.Time
	Findings []Finding
	// Sent is zero while the notice waits in the outbox.
	Sent time.Time
	// Attempts counts the failed deliveries, LastError says why the last
	// one failed.
	Attempts  int
	LastError string
}

// Sweep is one pass of the delegation checker over every active domain.
type Sweep struct {
	ID      int64
	Started time.Time
	// Finished is zero while the sweep runs (or was interrupted).
	Finished time.Time
	// Cursor is the last domain, in name order, whose result is recorded:
	// an interrupted sweep goes on after it.
	Cursor          string
	Checked, Failed int
}

// Outcome is what became of one publication attempt.
type Outcome string

// Publication outcomes.
const (
	OutcomePublished Outcome = "published"
	OutcomeRefused   Outcome = "refused"
	OutcomeFailed    Outcome = "failed"
	OutcomeDryRun    Outcome = "dry_run"
	// OutcomeAdopted records a zone taken over from the signer that
	// published it before ptzone (ptzone zone adopt): ptzone serves it
	// as it was, and its next publication goes on from its serial and is
	// judged against it. ptzone neither built nor signed it.
	OutcomeAdopted Outcome = "adopted"
)

// Valid reports whether o is a known outcome.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomePublished, OutcomeRefused, OutcomeFailed, OutcomeDryRun, OutcomeAdopted:
		return true
	}
	return false
}

// Publication is one entry of the publication log.
type Publication struct {
	ID          int64
	Zone        string
	Serial      uint32
	Time        time.Time
	Outcome     Outcome
	TriggeredBy string
	Reason      string
	Records     int
	Delegations int
	// Digest is the zone's ZONEMD (SHA-384) digest in hexadecimal.
	Digest string
	// Details is the build receipt as a JSON object (keys, snapshot time,
	// policy version, guard verdict); opaque to the store.
	Details []byte
	// Generation is the generation of the publisher's lock
	// (PublisherLock) the entry was recorded under; 0 for one recorded
	// without the lock (the command line).
	Generation int64
}

// ZoneCount is the number of domains of one zone in one status.
type ZoneCount struct {
	Zone   string
	Status Status
	Count  int
}

// Errors the backends return where a caller must branch.
var (
	// ErrNotFound: the requested row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrSchema: the database schema is missing or older than this binary
	// expects; run "ptzone db migrate".
	ErrSchema = errors.New("database schema is not current")
	// ErrChangeToken: the change feed cannot answer from this token (it is
	// from another database, or older than the feed keeps).
	ErrChangeToken = errors.New("change token not usable")
	// ErrFrozen: publishing of the zone (or of every zone) is frozen
	// already.
	ErrFrozen = errors.New("publishing is frozen")
	// ErrFenced: a write made under a lock whose generation is no longer
	// the latest: its holder lost the lock, and another took it since.
	ErrFenced = errors.New("the lock was taken by another holder since")
)

// Conflict is one imported name that already exists in the store.
type Conflict struct {
	Line int
	Name string
}

// ConflictError reports names an insert-only import found already
// registered. Nothing was written.
type ConflictError struct {
	Conflicts []Conflict // the first few, in line order
	Total     int
}

func (e *ConflictError) Error() string {
	if len(e.Conflicts) == 0 {
		return fmt.Sprintf("%d names already registered", e.Total)
	}
	c := e.Conflicts[0]
	if e.Total == 1 {
		return fmt.Sprintf("line %d: %s is already registered", c.Line, c.Name)
	}
	return fmt.Sprintf("line %d: %s is already registered (and %d more names)", c.Line, c.Name, e.Total-1)
}

// TruncateTime rounds t down to the microsecond, the precision both
// backends keep, and moves it to UTC.
func TruncateTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Truncate(time.Microsecond).UTC()
}
