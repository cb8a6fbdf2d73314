package notify

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestReadURLs(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		want          []string
		err           string
	}{
		{"lines, comments, blanks", "# team chat\nntfy://ntfy.example/topic\n\n  generic+https://hooks.example/x  \n", []string{"ntfy://ntfy.example/topic", "generic+https://hooks.example/x"}, ""},
		{"only comments", "# nothing yet\n\n", nil, "holds no URL"},
		{"empty", "", nil, "holds no URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			os.WriteFile(p, []byte(tt.content), 0o600)
			got, err := ReadURLs(p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	_, err := ReadURLs(filepath.Join(dir, "missing"))
	if err == nil || !strings.Contains(err.Error(), "notify.urls_file") || strings.Contains(err.Error(), dir) {
		t.Errorf("missing file: %v", err)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, url, text string
		secrets         []string
		keep            string
	}{
		{
			"generic webhook, net/http error",
			"generic+http://127.0.0.1:9/hooks/tk_s3cr3t",
			`failed to send: sending HTTP request: Post "http://127.0.0.1:9/hooks/tk_s3cr3t": dial tcp 127.0.0.1:9: connect: connection refused`,
			[]string{"tk_s3cr3t", "127.0.0.1:9", "http://"},
			"connection refused",
		},
		{
			"telegram token rebuilt into an API URL",
			"telegram://123456:ABCdefGHI@telegram?chats=@backups",
			`Post https://api.telegram.org/bot123456:ABCdefGHI/sendMessage: EOF; token ABCdefGHI rejected`,
			[]string{"ABCdefGHI", "123456", "backups"},
			"rejected",
		},
		{
			"percent-encoded password",
			"smtp://user:p%40ss%2Fword@mail.example:587/?to=ops@example.net",
			`auth failed for p@ss/word at mail.example`,
			[]string{"p@ss/word", "mail.example"},
			"auth failed",
		},
		{
			"unparsable url quoted back",
			"not a url at all %zz",
			`not a url at all %zz: failed to parse URL`,
			[]string{"not a url at all %zz"},
			"failed to parse URL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.text, tt.url)
			for _, s := range tt.secrets {
				if strings.Contains(got, s) {
					t.Errorf("%q still contains %q", got, s)
				}
			}
			if !strings.Contains(got, tt.keep) {
				t.Errorf("%q lost %q", got, tt.keep)
			}
		})
	}
}

// A message reaches a working webhook even when the other URLs are
// unreachable, answer 500 or are not shoutrrr URLs at all; each failure
// names its URL by position only.
func TestSendOneFailureDoesNotStopOthers(t *testing.T) {
	var mu sync.Mutex
	var got []string
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.URL.Path+" "+string(body))
		mu.Unlock()
	}))
	defer good.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusInternalServerError)
	}))
	defer bad.Close()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()

	urls := []string{
		"generic+" + good.URL + "/hook/tk_good",
		"generic+http://" + dead + "/hook/tk_dead",
		"generic+" + bad.URL + "/hook/tk_bad",
		"nosuchservice://tk_unknown@x",
	}
	errs := Send(context.Background(), urls, Message{Title: "db1: x failed", Body: "unit x failed\nresult: exit-code\n"})
	if len(got) != 1 || got[0] != "/hook/tk_good unit x failed\nresult: exit-code\n" {
		t.Errorf("the working webhook got %q", got)
	}
	t.Logf("errors: %q", errs)
	if len(errs) != 3 {
		t.Fatalf("errors: %v", errs)
	}
	for i, err := range errs {
		var e *Error
		if !errors.As(err, &e) || e.Index != i+2 {
			t.Errorf("error %d: %v, want URL #%d", i, err, i+2)
		}
		for _, secret := range []string{"tk_", dead, "127.0.0.1", "http://"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q reveals %q", err, secret)
			}
		}
	}
	if !strings.Contains(errs[0].Error(), "URL #2 in urls_file") || !strings.Contains(errs[0].Error(), "refused") {
		t.Errorf("unreachable: %v", errs[0])
	}
	if !strings.Contains(errs[1].Error(), "500") {
		t.Errorf("500: %v", errs[1])
	}
}
