package tests

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// Helpers for the tests of what operators watch: notify, dead-man pings,
// metrics, status, sd_notify and the systemd units.

// brokenTarget is a local target whose path lies below a regular file, so
// every write to it fails: a target that is down, without a server.
func brokenTarget(t *testing.T, name string) string {
	t.Helper()
	file := harness.WriteFile(t, t.TempDir(), "not-a-directory", "x")
	return localTarget(name, filepath.Join(file, "pg"))
}

// deadSFTPTarget is an SFTP target on a loopback port nobody listens on:
// a server that is down. Opening it fails, so it can be neither written nor
// listed.
// passFile names the file holding its password, as the process that reads
// the config sees it ("" writes one to a temporary directory).
func deadSFTPTarget(t *testing.T, name, passFile string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(deadAddr(t))
	pass := passFile
	if pass == "" {
		pass = harness.WriteFile(t, t.TempDir(), "sftp-pass", "x\n")
	}
	return fmt.Sprintf("[targets.%s]\ntype = \"sftp\"\npath = \"/srv/pg\"\noptions = { host = %q, port = %s, user = \"backup\" }\nsecret_files = { pass = %q }\n", name, host, port, pass)
}

// deadAddr returns a 127.0.0.1 address nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// hookRequest is one request a hook received.
type hookRequest struct {
	Method, Path, Body string
	Query              map[string]string
}

// hook is an HTTP receiver on loopback standing in for a webhook or a
// healthchecks.io server; it answers 200 and records every request.
type hook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []hookRequest
	got  chan struct{}
}

func startHook(t *testing.T) *hook {
	t.Helper()
	h := &hook{got: make(chan struct{}, 100)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		q := map[string]string{}
		for k, v := range r.URL.Query() {
			q[k] = v[0]
		}
		h.mu.Lock()
		h.reqs = append(h.reqs, hookRequest{Method: r.Method, Path: r.URL.Path, Body: string(body), Query: q})
		h.mu.Unlock()
		h.got <- struct{}{}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// URL is the receiver's base URL, http://127.0.0.1:PORT.
func (h *hook) URL() string { return h.srv.URL }

// requests returns what arrived so far.
func (h *hook) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.reqs...)
}

// reset forgets what arrived so far.
func (h *hook) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reqs = nil
	for len(h.got) > 0 {
		<-h.got
	}
}

// waitFor waits until n requests arrived in all, or timeout passes.
func (h *hook) waitFor(n int, timeout time.Duration) []hookRequest {
	deadline := time.After(timeout)
	for len(h.requests()) < n {
		select {
		case <-h.got:
		case <-deadline:
			return h.requests()
		}
	}
	return h.requests()
}

func paths(reqs []hookRequest) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Path
	}
	return out
}
