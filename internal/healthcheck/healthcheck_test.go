package healthcheck

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type receiver struct {
	mu   sync.Mutex
	hits []string // "PATH rid BODY"
}

func (rc *receiver) handler(status func(n int) int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.hits = append(rc.hits, r.Method+" "+r.URL.Path+" "+r.URL.Query().Get("rid")+" "+string(body))
		n := len(rc.hits)
		rc.mu.Unlock()
		w.WriteHeader(status(n))
	}
}

func TestPingPathsAndRunID(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc.handler(func(int) int { return 200 }))
	defer srv.Close()
	for _, base := range []string{srv.URL + "/ping/abc-123", srv.URL + "/ping/abc-123/"} {
		rc.hits = nil
		p, err := New(base)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for _, k := range []Kind{Start, Success, Fail} {
			if err := p.Ping(ctx, k, "body "+string(k)); err != nil {
				t.Fatalf("%s: %v", k, err)
			}
		}
		want := []string{"POST /ping/abc-123/start " + p.rid + " body start", "POST /ping/abc-123 " + p.rid + " body success", "POST /ping/abc-123/fail " + p.rid + " body fail"}
		if strings.TrimSuffix(base, "/") != base {
			want[1] = "POST /ping/abc-123/ " + p.rid + " body success"
		}
		if strings.Join(rc.hits, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: got\n%s\nwant\n%s", base, strings.Join(rc.hits, "\n"), strings.Join(want, "\n"))
		}
		if len(p.rid) != 36 || p.rid[14] != '4' {
			t.Errorf("rid %q is not a UUIDv4", p.rid)
		}
	}
}

func TestPingRetriesServerErrorsOnly(t *testing.T) {
	tests := []struct {
		name     string
		status   func(n int) int
		wantHits int
		wantErr  string
	}{
		{"503 then ok", func(n int) int { return map[bool]int{true: 503, false: 200}[n == 1] }, 2, ""},
		{"always 500", func(int) int { return 500 }, 3, "500"},
		{"404 is final", func(int) int { return 404 }, 1, "404"},
		{"429 retried", func(n int) int { return map[bool]int{true: 429, false: 200}[n < 3] }, 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{}
			srv := httptest.NewServer(rc.handler(tt.status))
			defer srv.Close()
			p, _ := New(srv.URL + "/tok")
			p.SetRetry(time.Second, 3, time.Millisecond)
			err := p.Ping(context.Background(), Success, "x")
			if len(rc.hits) != tt.wantHits {
				t.Errorf("%d requests, want %d", len(rc.hits), tt.wantHits)
			}
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// An unreachable or silent server costs a bounded time, and the error
// does not reveal the URL's token.
func TestPingFailsFastAndQuietly(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	p, _ := New("http://" + dead + "/ping/tk_secret")
	p.SetRetry(time.Second, 2, 10*time.Millisecond)
	err := p.Ping(context.Background(), Start, "x")
	if err == nil || strings.Contains(err.Error(), "tk_secret") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("unreachable: %v", err)
	}

	// A server that accepts and never answers.
	silent, _ := net.Listen("tcp", "127.0.0.1:0")
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	p, _ = New("http://" + silent.Addr().String() + "/ping/tk_secret")
	p.SetRetry(200*time.Millisecond, 2, 10*time.Millisecond)
	start := time.Now()
	err = p.Ping(context.Background(), Success, "x")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
	if err == nil || strings.Contains(err.Error(), "tk_secret") || !strings.Contains(err.Error(), "no answer") {
		t.Errorf("silent: %v", err)
	}
}

func TestNewAndReadURL(t *testing.T) {
	for _, bad := range []string{"", "ftp://x/y", "hc-ping.com/abc", "http://"} {
		if _, err := New(bad); err == nil || strings.Contains(err.Error(), bad+"\"") {
			t.Errorf("New(%q) = %v", bad, err)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "url")
	os.WriteFile(p, []byte("# healthchecks.io, check db1\n\n https://hc.example/ping/uuid \n"), 0o600)
	if u, err := ReadURL(p); err != nil || u != "https://hc.example/ping/uuid" {
		t.Errorf("ReadURL = %q, %v", u, err)
	}
	os.WriteFile(p, []byte("# nothing\n"), 0o600)
	if _, err := ReadURL(p); err == nil {
		t.Error("empty url_file accepted")
	}
}

func TestExpandPlaceholders(t *testing.T) {
	got := Expand("https://hc.example/ping/KEY/{host}-{job}-{database}?create=1", "db1", "push", "my db")
	want := "https://hc.example/ping/KEY/db1-push-my%20db?create=1"
	if got != want {
		t.Errorf("Expand = %q, want %q", got, want)
	}
	if got := Expand("https://hc.example/uuid", "h", "j", "d"); got != "https://hc.example/uuid" {
		t.Errorf("a URL without placeholders changed: %q", got)
	}
}
