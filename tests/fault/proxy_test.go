package fault

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Loopback proxies that put a fault between pgarchive and a real server.

// tcpProxy forwards loopback TCP connections to a server, counting the
// bytes that go from clients to the server. Once limit bytes have gone,
// it does what its mode says, once; connections made after that are
// forwarded as usual.
type tcpProxy struct {
	Addr string // 127.0.0.1:PORT, where clients connect

	target string
	limit  int64
	mode   proxyMode

	sent    atomic.Int64
	tripped chan struct{} // closed when limit is passed
	trip    sync.Once
	release chan struct{} // closed by Release: held connections go on
	rel     sync.Once

	mu    sync.Mutex
	conns []net.Conn
}

type proxyMode int

const (
	// holdAt stops forwarding at the limit until Release; the server may
	// die meanwhile, and the held bytes then go to a dead connection.
	holdAt proxyMode = iota
	// cutAt closes every open connection, both sides, at the limit.
	cutAt
)

func startTCPProxy(t testing.TB, target string, limit int64, mode proxyMode) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{
		Addr: l.Addr().String(), target: target, limit: limit, mode: mode,
		tripped: make(chan struct{}), release: make(chan struct{}),
	}
	t.Cleanup(func() {
		l.Close()
		p.Release()
		p.closeAll()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go p.pipe(s, c, true)
			go p.pipe(c, s, false)
		}
	}()
	return p
}

// Tripped is closed once the limit is passed.
func (p *tcpProxy) Tripped() <-chan struct{} { return p.tripped }

// Release lets held connections go on.
func (p *tcpProxy) Release() { p.rel.Do(func() { close(p.release) }) }

func (p *tcpProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) pipe(dst, src net.Conn, upstream bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			first := false
			if upstream && p.sent.Add(int64(n)) > p.limit {
				p.trip.Do(func() { first = true; close(p.tripped) })
			}
			if first {
				switch p.mode {
				case holdAt:
					<-p.release
				case cutAt:
					p.closeAll()
					return
				}
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// failingS3 is an HTTP reverse proxy in front of an S3 server that answers
// "500 Internal Server Error", with S3's error body, to the requests fail
// picks, and forwards the others.
type failingS3 struct {
	URL string

	mu     sync.Mutex
	fail   func(r *http.Request, n int) bool // n counts requests from 1
	n      int
	failed []string // "METHOD path" of each request answered 500
}

func startFailingS3(t testing.TB, endpoint string) *failingS3 {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	f := &failingS3{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.n++
		fail := f.fail != nil && f.fail(r, f.n)
		if fail {
			f.failed = append(f.failed, r.Method+" "+r.URL.Path)
		}
		f.mu.Unlock()
		if !fail {
			rp.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` +
			`<Error><Code>InternalError</Code><Message>We encountered an internal error, please try again.</Message></Error>`))
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// failWhen arms the proxy: from now on, fail picks the requests to fail,
// counting from the next request.
func (f *failingS3) failWhen(fail func(r *http.Request, n int) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n, f.failed, f.fail = 0, nil, fail
}

// failedRequests returns the requests answered 500 since failWhen.
func (f *failingS3) failedRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.failed...)
}

// isObjectPut reports whether r uploads an archive object (not a manifest).
func isObjectPut(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, ".age")
}
