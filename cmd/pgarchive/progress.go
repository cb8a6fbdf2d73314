package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/term"

	"github.com/pgarchive/pgarchive/internal/human"
)

// Two ways of showing a long copy as it runs: STATUS= lines for systemd
// (`systemctl status` shows the latest) when NOTIFY_SOCKET is set, and a
// line rewritten in place on stderr when stderr is a terminal. Neither ever
// fails the copy.

// sdStatus sends STATUS= updates to the service manager, at most one a
// second. The zero value and a nil *sdStatus do nothing.
type sdStatus struct {
	enabled  bool
	interval time.Duration
	mu       sync.Mutex
	last     time.Time
}

func newSDStatus() *sdStatus {
	return &sdStatus{enabled: os.Getenv("NOTIFY_SOCKET") != "", interval: time.Second}
}

// progress reports n of total bytes done, unless the last update was less
// than the interval ago.
func (s *sdStatus) progress(what string, n, total int64) {
	if s == nil || !s.enabled {
		return
	}
	s.mu.Lock()
	now := time.Now()
	due := now.Sub(s.last) >= s.interval || n == total
	if due {
		s.last = now
	}
	s.mu.Unlock()
	if due {
		s.set(fmt.Sprintf("%s: %s of %s (%d%%)", what, human.Bytes(n), human.Bytes(total), percent(n, total)))
	}
}

// set sends a status line now.
func (s *sdStatus) set(text string) {
	if s == nil || !s.enabled {
		return
	}
	// An error means no service manager listens: nothing to do about it.
	_, _ = daemon.SdNotify(false, "STATUS="+text)
}

func percent(n, total int64) int64 {
	if total <= 0 {
		return 0
	}
	return n * 100 / total
}

// terminalProgress wraps r so a progress line (bytes, percent of total,
// rate, time left) is redrawn on stderr while it is read, if stderr is a
// terminal; otherwise r is returned as is. Call done once reading is over:
// it draws the last state, its rate measured up to the last byte read (not
// diluted by what came after, such as building indexes), and ends the line.
// It is safe to call more than once.
//
// restore uses it for the archive it reads:
//
//	src, done := terminalProgress("restoring "+file, size, plain)
//	defer done()
func terminalProgress(label string, total int64, r io.Reader) (io.Reader, func()) {
	p := terminalLine(label, total)
	if p == nil {
		return r, func() {}
	}
	return p.reader(r), p.done
}

// terminalLine is a progress line on stderr when stderr is a terminal,
// else nil: every method of a nil *progressLine does nothing. Callers that
// learn of progress other than by reading (push's callback, verify's
// archive after archive) call add or set.
func terminalLine(label string, total int64) *progressLine {
	if !stderrIsTerminal() {
		return nil
	}
	p := newProgressLine(os.Stderr, label, total, time.Now)
	onScreen.Lock()
	onScreen.line = p
	onScreen.Unlock()
	return p
}

// onScreen is the progress line on the terminal, if any: a log line
// written meanwhile (through ttyStderr) erases it first and redraws it
// below, so the two never run into each other.
var onScreen struct {
	sync.Mutex
	line *progressLine
}

// ttyStderr is stderr for log lines when stderr is a terminal.
type ttyStderr struct{}

func (ttyStderr) Write(b []byte) (int, error) {
	onScreen.Lock()
	p := onScreen.line
	onScreen.Unlock()
	if p == nil {
		return os.Stderr.Write(b)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	drawn := !p.finished && !p.lastDraw.IsZero()
	if drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	n, err := os.Stderr.Write(b)
	if drawn {
		p.draw(p.now())
	}
	return n, err
}

// stderrIsTerminal reports whether stderr is a terminal a person watches.
func stderrIsTerminal() bool { return term.IsTerminal(int(os.Stderr.Fd())) }

// progressLine draws "label: 12.3 MiB / 45.0 MiB  27%  5.1 MiB/s  2 min left".
type progressLine struct {
	w        io.Writer
	label    string
	total    int64
	now      func() time.Time
	interval time.Duration

	mu       sync.Mutex
	n        int64
	start    time.Time
	last     time.Time // when n last grew
	lastDraw time.Time
	finished bool
}

func newProgressLine(w io.Writer, label string, total int64, now func() time.Time) *progressLine {
	start := now()
	return &progressLine{w: w, label: label, total: total, now: now, interval: 200 * time.Millisecond, start: start, last: start}
}

func (p *progressLine) reader(r io.Reader) io.Reader { return &progressLineReader{r: r, p: p} }

type progressLineReader struct {
	r io.Reader
	p *progressLine
}

func (pr *progressLineReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	if n > 0 {
		pr.p.add(int64(n))
	}
	return n, err
}

// add counts n more bytes done.
func (p *progressLine) add(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance(p.n + n)
}

// set says n bytes are done in all.
func (p *progressLine) set(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advance(n)
}

// of says n of total bytes are done, as push's progress callback reports.
func (p *progressLine) of(n, total int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = total
	p.advance(n)
}

func (p *progressLine) advance(n int64) {
	now := p.now()
	if n > p.n {
		p.last = now
	}
	p.n = n
	if !p.finished && now.Sub(p.lastDraw) >= p.interval {
		p.lastDraw = now
		p.draw(now)
	}
}

func (p *progressLine) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	p.draw(p.last)
	fmt.Fprint(p.w, "\n")
	onScreen.Lock()
	if onScreen.line == p {
		onScreen.line = nil
	}
	onScreen.Unlock()
}

// draw rewrites the line as of now: carriage return, text, erase to end
// of line.
func (p *progressLine) draw(now time.Time) {
	text := fmt.Sprintf("%s: %s", p.label, human.Bytes(p.n))
	if p.total > 0 {
		text += fmt.Sprintf(" / %s  %3d%%", human.Bytes(p.total), percent(p.n, p.total))
	}
	if elapsed := now.Sub(p.start); elapsed > 0 {
		text += "  " + human.Rate(p.n, elapsed)
		if left := human.Left(p.n, p.total, elapsed); left != "" && !p.finished {
			text += "  " + left
		}
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", text)
}
