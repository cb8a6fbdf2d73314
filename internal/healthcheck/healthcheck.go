// Package healthcheck sends dead-man pings in the style of healthchecks.io,
// so that a backup that silently stops running is noticed.
//
// A job pings three ways, all as HTTP POST with a short plain-text body:
//
//	<url>/start   the job began
//	<url>         the job succeeded
//	<url>/fail    the job failed
//
// The monitoring service alerts when the success ping does not arrive in
// time or a fail ping does. Every ping of one run carries the same
// rid=<uuid> query parameter, so the service pairs start and end even when
// jobs of several databases overlap.
//
// A ping must never fail or stall a backup: each attempt has a short
// timeout, attempts are few, and the caller only logs what Ping returns.
// The URL is a secret (it is the check's write token): errors from this
// package never contain it.
package healthcheck

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/pgarchive/pgarchive/internal/config"
)

// Kind is which of the three pings to send.
type Kind string

// The three pings.
const (
	Start   Kind = "start"
	Success Kind = "success"
	Fail    Kind = "fail"
)

// Defaults for a Pinger.
const (
	DefaultTimeout  = 5 * time.Second
	DefaultAttempts = 3
	// MaxBody is the most of a body that is sent (healthchecks.io keeps
	// the first 100 kB; a few lines are all a ping needs).
	MaxBody = 10 * 1024
)

// Pinger sends the pings of one job run.
type Pinger struct {
	base     *url.URL
	rid      string
	client   *http.Client
	attempts int
	backoff  time.Duration
}

// ReadURL reads the ping URL from the file `[healthcheck] url_file` names:
// the first non-blank line that is not a # comment.
func ReadURL(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read healthcheck.url_file: %w", errors.Unwrap(err))
	}
	if lines := config.Lines(data); len(lines) > 0 {
		return lines[0], nil
	}
	return "", errors.New("healthcheck.url_file holds no URL")
}

// Placeholders a ping URL may contain, replaced (path-escaped) by Expand.
// healthchecks.io creates a check per distinct slug URL
// (https://hc-ping.com/<ping key>/{host}-{job}-{database}?create=1), so
// one line gives every job and database a check of its own.
const (
	PlaceholderHost     = "{host}"
	PlaceholderJob      = "{job}"
	PlaceholderDatabase = "{database}"
)

// Expand fills the placeholders of rawURL.
func Expand(rawURL, host, job, database string) string {
	return strings.NewReplacer(
		PlaceholderHost, url.PathEscape(host),
		PlaceholderJob, url.PathEscape(job),
		PlaceholderDatabase, url.PathEscape(database),
	).Replace(rawURL)
}

// New returns a Pinger for one run of a job against the ping URL rawURL.
func New(rawURL string) (*Pinger, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The parse error would quote the URL: say what is wrong instead.
		return nil, errors.New("healthcheck.url_file does not hold an http:// or https:// URL")
	}
	return &Pinger{
		base:     u,
		rid:      newRunID(),
		client:   &http.Client{Timeout: DefaultTimeout},
		attempts: DefaultAttempts,
		backoff:  time.Second,
	}, nil
}

// SetRetry changes the per-attempt timeout, the number of attempts and the
// pause before the first retry (doubled for each further one).
func (p *Pinger) SetRetry(timeout time.Duration, attempts int, backoff time.Duration) {
	p.client.Timeout = timeout
	p.attempts = max(attempts, 1)
	p.backoff = backoff
}

// Ping sends one ping with body, retrying network errors and server
// errors (5xx, 429) a bounded number of times. The error, if any, names
// neither the URL nor any part of it.
func (p *Pinger) Ping(ctx context.Context, kind Kind, body string) error {
	if len(body) > MaxBody {
		body = body[:MaxBody]
	}
	target := p.urlFor(kind)
	var last error
	wait := p.backoff
	for attempt := 1; attempt <= p.attempts; attempt++ {
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s ping: %w (after: %v)", kind, ctx.Err(), last)
			case <-time.After(wait):
			}
			wait *= 2
		}
		retry, err := p.post(ctx, target, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return fmt.Errorf("%s ping: %v", kind, last)
}

func (p *Pinger) urlFor(kind Kind) string {
	u := *p.base
	switch kind {
	case Start, Fail:
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + string(kind)
		u.RawPath = ""
	}
	q := u.Query()
	q.Set("rid", p.rid)
	u.RawQuery = q.Encode()
	return u.String()
}

// post sends one attempt; retry reports whether another attempt may help.
func (p *Pinger) post(ctx context.Context, target, body string) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewBufferString(body))
	if err != nil {
		return false, errors.New("cannot build the request")
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("User-Agent", "pgarchive")
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// url.Error quotes the URL; keep only what went wrong.
			if ue.Timeout() {
				return true, fmt.Errorf("no answer within %v", p.client.Timeout)
			}
			return true, ue.Err
		}
		return true, errors.New("request failed")
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return true, fmt.Errorf("server answered %s", resp.Status)
	}
	return false, fmt.Errorf("server answered %s", resp.Status)
}

// newRunID returns a random UUID (version 4), the form healthchecks.io
// expects in rid.
func newRunID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
