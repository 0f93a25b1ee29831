package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"time"

	"go.uber.org/zap"

	"github.com/ptzone/ptzone/store"
)

// Store is what a notifier reads and writes.
type Store interface {
	store.Outbox
	Registrar(ctx context.Context, id string) (store.Registrar, error)
}

// SMTP is the relay notices are sent through.
type SMTP struct {
	// Addr is the relay's host:port.
	Addr string
	// From is the sender, in the envelope and the From header.
	From string
	// Hello is the name given in EHLO, and the right-hand side of the
	// Message-IDs (default "localhost").
	Hello string
	// Timeout bounds one delivery, from connecting to QUIT (default 30 s).
	Timeout time.Duration
	// STARTTLS is used whenever the relay offers it, with TLS (default:
	// verify the relay's name); RequireTLS refuses a relay that does not.
	TLS        *tls.Config
	RequireTLS bool
	// Username and Password authenticate with AUTH PLAIN, which Go sends
	// only over TLS or to loopback. The password is never logged.
	Username, Password string
}

func (s SMTP) hello() string {
	if s.Hello == "" {
		return "localhost"
	}
	return s.Hello
}

// Notifier delivers the outbox's due notices.
type Notifier struct {
	Store Store
	// SMTP is the relay for the mails; without an Addr, they wait in the
	// outbox.
	SMTP SMTP
	// Webhook receives the notices queued for it; nil: they wait.
	Webhook *Webhook
	// Lease is how long a claimed notice is held before another notifier
	// may take it (default 5 minutes): longer than a delivery takes.
	Lease time.Duration
	// Batch is how many notices one RunOnce claims (default 50).
	Batch int
	// Retry says how long to wait before the next attempt after the
	// given number of failed ones (default one minute, doubling, at most
	// an hour).
	Retry func(attempts int) time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *zap.Logger
}

// Result is what one RunOnce did.
type Result struct {
	Sent, Failed int
}

func (n *Notifier) now() time.Time {
	if n.Now == nil {
		return time.Now()
	}
	return n.Now()
}

func defaultRetry(attempts int) time.Duration {
	d := time.Minute
	for range attempts - 1 {
		if d *= 2; d >= time.Hour {
			return time.Hour
		}
	}
	return d
}

// RunOnce claims the notices due and sends each; a notice that fails is
// kept with its error, to be tried again later. It returns an error only
// when the store fails.
func (n *Notifier) RunOnce(ctx context.Context) (Result, error) {
	log := n.Log
	if log == nil {
		log = zap.NewNop()
	}
	lease, batch, retry := n.Lease, n.Batch, n.Retry
	if lease <= 0 {
		lease = 5 * time.Minute
	}
	if batch <= 0 {
		batch = 50
	}
	if retry == nil {
		retry = defaultRetry
	}
	var roles []string
	if n.SMTP.Addr != "" {
		roles = append(roles, store.RoleTech, store.RoleRegistrar)
	}
	if n.Webhook != nil {
		roles = append(roles, store.RoleWebhook)
	}
	if len(roles) == 0 {
		return Result{}, nil // nothing to deliver through
	}
	notices, err := n.Store.ClaimNotices(ctx, n.now(), lease, batch, roles...)
	if err != nil {
		return Result{}, fmt.Errorf("notify: %w", err)
	}
	var res Result
	for _, nt := range notices {
		err := n.deliver(ctx, nt)
		if ctx.Err() != nil {
			// The lease runs out and frees the notice: not a failure of its own.
			return res, ctx.Err()
		}
		if err != nil {
			res.Failed++
			next := n.now().Add(retry(nt.Attempts + 1))
			log.Warn("notice not sent", zap.Int64("notice", nt.ID), zap.String("domain", nt.Domain), zap.String("kind", string(nt.Kind)),
				zap.String("role", nt.Role), zap.Int("attempts", nt.Attempts+1), zap.Time("retry", next), zap.Error(err))
			if err := n.Store.NoticeFailed(ctx, nt.ID, err.Error(), next); err != nil {
				return res, fmt.Errorf("notify: %w", err)
			}
			continue
		}
		res.Sent++
		log.Info("notice sent", zap.Int64("notice", nt.ID), zap.String("domain", nt.Domain), zap.String("kind", string(nt.Kind)),
			zap.String("role", nt.Role))
		if err := n.Store.NoticeSent(ctx, nt.ID, n.now()); err != nil {
			return res, fmt.Errorf("notify: %w", err)
		}
	}
	return res, nil
}

// deliver sends one notice to its recipient.
func (n *Notifier) deliver(ctx context.Context, nt store.Notice) error {
	if nt.Role == store.RoleWebhook {
		return n.Webhook.post(ctx, nt, n.now())
	}
	to := nt.Recipient
	if nt.Role == store.RoleRegistrar {
		r, err := n.Store.Registrar(ctx, nt.Recipient)
		if err != nil {
			return fmt.Errorf("registrar %s: %w", nt.Recipient, err)
		}
		if r.Email == "" {
			return fmt.Errorf("registrar %s has no e-mail address", nt.Recipient)
		}
		to = r.Email
	}
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("recipient %q: %w", to, err)
	}
	from, err := mail.ParseAddress(n.SMTP.From)
	if err != nil {
		return fmt.Errorf("sender %q: %w", n.SMTP.From, err)
	}
	msg, err := compose(nt, from, addr, n.SMTP.hello(), n.now())
	if err != nil {
		return err
	}
	return n.send(ctx, from.Address, addr.Address, msg)
}

// send hands one message to the relay.
func (n *Notifier) send(ctx context.Context, from, to string, msg []byte) error {
	timeout := n.SMTP.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, err := net.SplitHostPort(n.SMTP.Addr)
	if err != nil {
		return fmt.Errorf("smtp relay %q: %w", n.SMTP.Addr, err)
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", n.SMTP.Addr)
	if err != nil {
		return fmt.Errorf("smtp relay: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp relay %s: %w", n.SMTP.Addr, err)
	}
	defer c.Close()
	if err := c.Hello(n.SMTP.hello()); err != nil {
		return fmt.Errorf("smtp EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := n.SMTP.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp STARTTLS: %w", err)
		}
	} else if n.SMTP.RequireTLS {
		return errors.New("smtp relay: it offers no STARTTLS, and TLS is required")
	}
	if n.SMTP.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", n.SMTP.Username, n.SMTP.Password, host)); err != nil {
			return fmt.Errorf("smtp AUTH as %s: %w", n.SMTP.Username, err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp RCPT TO <%s>: %w", to, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	// The relay took the message: a failed QUIT does not undo that.
	_ = c.Quit()
	return nil
}
