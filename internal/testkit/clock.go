package testkit

import (
	"sync"
	"time"
)

// FixedTime is the instant the repository's fixtures are made for,
// 2026-11-22 12:00:00 UTC: the golden zones (testdata/golden) are signed
// at it, the fixed keys are active then, and tables of expected answers
// name signatures valid from an hour before it to 14 days after it.
var FixedTime = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// Clock is a clock a test sets and moves, for code that takes a
// func() time.Time: pass c.Now. It is safe for concurrent use, since the
// code under test reads it from its own goroutines while the test moves
// it. The zero Clock reads the zero time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads at until it is set or moved.
func NewClock(at time.Time) *Clock { return &Clock{now: at} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set sets the clock to at.
func (c *Clock) Set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = at
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
