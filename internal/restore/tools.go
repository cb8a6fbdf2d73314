package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/pgarchive/pgarchive/internal/pgargs"
)

// tools runs psql and pg_restore with one environment and stderr.
type tools struct {
	env    []string
	stderr io.Writer
}

// tailLines is how many of a tool's last stderr lines an error carries.
const tailLines = 6

// query runs sql through psql on database db with psql variables vars
// (interpolated as :'name' or :"name", so values never need quoting here)
// and returns the unaligned, tuples-only output.
func (t tools) query(ctx context.Context, db string, vars map[string]string, sql string) (string, error) {
	args := append(pgargs.Query(db, vars), "-f", "-")
	var out bytes.Buffer
	err := t.exec(ctx, "psql", args, strings.NewReader(sql), copyAll, nil, &out)
	return out.String(), err
}

// run runs a restoring tool, feeding it src through feed, with its stdout
// discarded and each stderr line also given to scan (if not nil), which
// may hide it: an expected complaint that would only alarm the reader.
func (t tools) run(ctx context.Context, name string, args []string, src io.Reader, feed func(io.Writer, io.Reader) error, scan func(string) (hide bool)) error {
	return t.exec(ctx, name, args, src, feed, scan, nil)
}

func (t tools) exec(ctx context.Context, name string, args []string, src io.Reader, feed func(io.Writer, io.Reader) error, scan func(string) bool, stdout io.Writer) error {
	path, err := lookPath(name, t.env)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = t.env
	cmd.Stdout = stdout
	tail := &tailWriter{out: t.stderr, scan: scan}
	cmd.Stderr = tail
	cmd.WaitDelay = 10 * time.Second
	var stdin io.WriteCloser
	if feed != nil {
		if stdin, err = cmd.StdinPipe(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}

	// The feeder's own error is not needed: a broken dump stream is in
	// rec.err, and a write error alone means the tool stopped reading, which
	// its exit status judges (pg_restore leaves a tar archive's end padding
	// unread and succeeds).
	fed := make(chan struct{})
	rec := &readErrRecorder{r: src}
	go func() {
		defer close(fed)
		if feed == nil {
			return
		}
		_ = feed(stdin, rec)
		if rec.err != nil {
			// Stop the tool before it sees the end of its input, or psql
			// --single-transaction would commit a script cut short.
			_ = cmd.Process.Kill()
		}
		stdin.Close()
	}()
	waitErr := cmd.Wait()
	select {
	case <-fed:
	case <-ctx.Done():
		// The feeder may be stuck reading the caller's stream.
		tail.release()
		return fmt.Errorf("%s: %w", name, ctx.Err())
	}
	tail.flush()
	if rec.err != nil {
		tail.release()
		return fmt.Errorf("read dump: %w (%s stopped)", rec.err, name)
	}
	if waitErr != nil {
		if ctx.Err() != nil {
			tail.release()
			return fmt.Errorf("%s: %w", name, ctx.Err())
		}
		return &toolError{tool: name, err: waitErr, lines: tail.lines}
	}
	tail.release()
	return nil
}

// readErrRecorder remembers the first error reading the dump other than
// io.EOF, to tell a broken dump stream from a tool that stopped reading.
type readErrRecorder struct {
	r   io.Reader
	err error
}

func (e *readErrRecorder) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
}

// toolError is a tool's failure with its last stderr lines.
type toolError struct {
	tool  string
	err   error
	lines []string
}

// Error is one line: the tool's own last stderr lines joined with " | ".
// It does not unwrap to the *exec.ExitError on purpose: that carries an
// exit code, and psql's or pg_restore's must not become pgarchive's.
func (e *toolError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v", e.tool, e.err)
	if len(e.lines) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.lines, " | "))
	}
	return b.String()
}

// tailWriter passes a tool's stderr on, line by line, holding its last
// tailLines lines back: when the tool fails those lines are the error
// pgarchive prints (toolError), and printing them as well would show the
// same complaint twice. release prints what it held, for a tool that
// succeeded or whose failure the error does not quote.
type tailWriter struct {
	out     io.Writer
	scan    func(string) bool // true hides the line
	partial []byte
	lines   []string // held back, the last tailLines non-blank lines
}

// maxLineLen bounds a remembered line.
const maxLineLen = 512

func (t *tailWriter) Write(b []byte) (int, error) {
	rest := b
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if len(t.partial) < 64<<10 {
				t.partial = append(t.partial, rest...)
			}
			return len(b), nil
		}
		t.partial = append(t.partial, rest[:i]...)
		t.line()
		rest = rest[i+1:]
	}
}

func (t *tailWriter) line() {
	l := strings.TrimRight(string(t.partial), "\r")
	t.partial = t.partial[:0]
	if t.scan != nil && t.scan(l) {
		return
	}
	if strings.TrimSpace(l) == "" {
		return
	}
	if len(l) > maxLineLen {
		l = l[:maxLineLen] + "..."
	}
	if len(t.lines) == tailLines {
		t.print(t.lines[0])
		t.lines = append(t.lines[:0], t.lines[1:]...)
	}
	t.lines = append(t.lines, l)
}

// print passes one line on; a failing Options.Stderr must not fail the
// restore.
func (t *tailWriter) print(l string) { _, _ = io.WriteString(t.out, l+"\n") }

func (t *tailWriter) flush() {
	if len(t.partial) > 0 {
		t.line()
	}
}

// release prints the lines held back.
func (t *tailWriter) release() {
	for _, l := range t.lines {
		t.print(l)
	}
	t.lines = nil
}

// psqlMessage matches psql's report of a server message in VERBOSITY=verbose,
// "psql:<stdin>:12: ERROR:  42710: role "x" already exists", by its SQLSTATE
// so that translated messages match too; and psql's own errors,
// "psql:<stdin>:12: error: ...".
var (
	psqlMessage = regexp.MustCompile(`^psql:.*?:[0-9]+: [^:]+:  ([0-9A-Z]{5}): `)
	psqlError   = regexp.MustCompile(`^psql:.*?:[0-9]+: error: `)
)

// duplicateObject is SQLSTATE 42710: CREATE ROLE for a role that exists.
const duplicateObject = "42710"

// clusterErrors counts the errors in a pg_dumpall restore's stderr other than
// roles that already exist.
type clusterErrors struct {
	count  int
	first  string
	hiding bool // the last line was a hidden "role exists"
}

func (c *clusterErrors) scan(line string) (hide bool) {
	// A role that exists is expected (the restoring superuser's own
	// CREATE ROLE): printed, it reads as a failure. Its LOCATION line
	// (VERBOSITY=verbose) goes with it.
	if c.hiding && strings.HasPrefix(line, "LOCATION:") {
		return true
	}
	c.hiding = false
	isErr := psqlError.MatchString(line)
	if m := psqlMessage.FindStringSubmatch(line); m != nil {
		if m[1] == duplicateObject && strings.Contains(line, "role") {
			c.hiding = true
			return true
		}
		class := m[1][:2]
		// Classes 00, 01, 02 are success, warning, no data: notices.
		isErr = class != "00" && class != "01" && class != "02" && m[1] != duplicateObject
	}
	if !isErr {
		return false
	}
	if c.count == 0 {
		c.first = line
	}
	c.count++
	return false
}

// lookPath finds a tool in the PATH of env, or of this process when env has
// none.
func lookPath(name string, env []string) (string, error) {
	pathEnv, found := "", false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv, found = v, true
		}
	}
	if !found {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%s not found: is the PostgreSQL client installed? %w", name, err)
		}
		return p, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH %q: is the PostgreSQL client installed?", name, pathEnv)
}
