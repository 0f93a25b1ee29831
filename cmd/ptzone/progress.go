package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress shows how far a long command has gone, on one line redrawn in
// place, when its output is a terminal; on a file or a pipe it writes
// nothing, so that logs and scripts see only the result.
type progress struct {
	w     io.Writer // nil: quiet
	label string
	now   func() time.Time

	mu     sync.Mutex
	last   time.Time
	shown  bool
	pacing time.Duration
}

// newProgress returns the progress of label, written to w if w is a
// terminal.
func newProgress(w io.Writer, label string) *progress {
	p := &progress{label: label, now: time.Now, pacing: 200 * time.Millisecond}
	if isTerminal(w) {
		p.w = w
	}
	return p
}

// step shows done of total (total 0: unknown), at most five times a
// second, and always the last step.
func (p *progress) step(done, total int) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if done != total && now.Sub(p.last) < p.pacing {
		return
	}
	p.last = now
	if total > 0 {
		fmt.Fprintf(p.w, "\r\033[K%s: %d of %d (%d%%)", p.label, done, total, done*100/total)
	} else {
		fmt.Fprintf(p.w, "\r\033[K%s: %d", p.label, done)
	}
	p.shown = true
}

// phase shows what the command is doing now.
func (p *progress) phase(what string) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\033[K%s: %s", p.label, what)
	p.shown = true
}

// done clears the line, leaving the terminal as it was for the result.
func (p *progress) done() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
