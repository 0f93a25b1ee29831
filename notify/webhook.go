package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ptzone/ptzone/store"
)

// Webhook is the registry's own endpoint for notices: each one is POSTed
// to it as JSON, signed as Standard Webhooks (standardwebhooks.com) sign
// theirs, so that the registry's tools (a ticket queue, a chat channel)
// hear of a failing delegation when its contacts do.
type Webhook struct {
	// Name is what notices for the webhook are queued under
	// (store.Notice.Recipient with store.RoleWebhook).
	Name string
	// URL receives the POSTs; any 2xx answer takes the notice.
	URL string
	// Secret is the HMAC-SHA256 key: webhook-signature is
	// "v1,"+base64(HMAC(Secret, webhook-id "." webhook-timestamp "." body)).
	Secret []byte
	// Timeout bounds one delivery (default 10 s).
	Timeout time.Duration
	// Client sends the POSTs (default: one that follows no redirect, so
	// a notice goes nowhere but URL).
	Client *http.Client
}

// WebhookSecret reads a webhook secret as Standard Webhooks write them,
// "whsec_" and the key in base64, or as the raw key; at least 16 bytes.
// from names where it was read, for the errors.
func WebhookSecret(text, from string) ([]byte, error) {
	text = strings.TrimSpace(text)
	key := []byte(text)
	if b64, ok := strings.CutPrefix(text, "whsec_"); ok {
		var err error
		if key, err = base64.StdEncoding.DecodeString(b64); err != nil {
			return nil, fmt.Errorf("%s: the secret after whsec_ is not base64: %w", from, err)
		}
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("%s: the secret is %d bytes, want at least 16 (make one: echo whsec_$(head -c 32 /dev/urandom | base64))", from, len(key))
	}
	return key, nil
}

// webhookNotice is the body of a POST: the notice's kind as type, when it
// was queued, and what the mails say, in both languages.
type webhookNotice struct {
	Type      store.NoticeKind `json:"type"`
	Timestamp time.Time        `json:"timestamp"`
	Data      webhookData      `json:"data"`
}

type webhookData struct {
	Notice    int64           `json:"notice"`
	Domain    string          `json:"domain"`
	Deadline  *time.Time      `json:"deadline,omitempty"`
	Summary   string          `json:"summary"`
	SummaryPT string          `json:"summary_pt"`
	Findings  []store.Finding `json:"findings"`
}

// webhookID is a notice's delivery id: the same on every attempt, so a
// receiver that got it once can tell a repeat.
func webhookID(nt store.Notice) string {
	return fmt.Sprintf("notice-%d.%d", nt.ID, nt.Created.Unix())
}

// sign returns the webhook-signature header's value for a delivery.
func (w *Webhook) sign(id string, at time.Time, body []byte) string {
	mac := hmac.New(sha256.New, w.Secret)
	fmt.Fprintf(mac, "%s.%d.", id, at.Unix())
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// post delivers one notice to the webhook.
func (w *Webhook) post(ctx context.Context, nt store.Notice, now time.Time) error {
	words, ok := wordings[nt.Kind]
	if !ok {
		return fmt.Errorf("notice %d: unknown kind %q", nt.ID, nt.Kind)
	}
	pt, en, err := intros(nt, words)
	if err != nil {
		return fmt.Errorf("notice %d: %w", nt.ID, err)
	}
	msg := webhookNotice{Type: nt.Kind, Timestamp: nt.Created.UTC(),
		Data: webhookData{Notice: nt.ID, Domain: nt.Domain, Summary: en, SummaryPT: pt, Findings: nt.Findings}}
	if msg.Data.Findings == nil {
		msg.Data.Findings = []store.Finding{}
	}
	if !nt.Deadline.IsZero() {
		d := nt.Deadline.UTC()
		msg.Data.Deadline = &d
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("notice %d: %w", nt.ID, err)
	}

	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", w.Name, err) // the configuration checked the URL
	}
	id := webhookID(nt)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ptzone-notify")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", w.sign(id, now, body))
	client := w.Client
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := client.Do(req)
	if err != nil {
		// The URL's path or query may carry a token: the error, which is
		// logged and kept in the outbox, names the host alone.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook %s at %s: %w", w.Name, req.URL.Host, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s at %s: %s: %q", w.Name, req.URL.Host, resp.Status, strings.TrimSpace(string(snippet)))
	}
	return nil
}
