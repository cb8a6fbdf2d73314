package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// checkArchive feeds a custom or tar archive to `pg_restore --file=/dev/null`
// on stdin. pg_restore turns the whole archive into an SQL script, which is
// thrown away: every data block is read and decompressed, where
// `pg_restore --list` reads the table of contents only and passes an
// archive cut short after it.
func checkArchive(ctx context.Context, r io.Reader) error {
	path, err := lookPath("pg_restore")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, path, "--file=/dev/null")
	in := &readErr{r: r}
	cmd.Stdin = in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	if in.err != nil {
		return in.err
	}
	if err != nil {
		var exit *exec.ExitError
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		if errors.As(err, &exit) && msg != "" {
			return fmt.Errorf("pg_restore cannot read the dump: %s", msg)
		}
		return fmt.Errorf("pg_restore: %w", err)
	}
	return nil
}

// readErr remembers the first read error other than io.EOF, to tell a
// broken archive stream from pg_restore's own complaint.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// lookPath finds a PostgreSQL tool in PATH.
func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found: is the PostgreSQL client installed? %w", name, err)
	}
	return p, nil
}
