package dumpcheck

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

const (
	dumpComplete    = "-- PostgreSQL database dump complete"
	clusterComplete = "-- PostgreSQL database cluster dump complete"

	// pg_dump writes `\restrict KEY` within its first lines, and after the
	// completion line only a few short lines follow: these windows hold
	// both with room to spare.
	headSize = 8 << 10
	tailSize = 16 << 10
)

// checkScript reads a plain SQL script (pg_dump, or pg_dumpall when
// cluster) to its end, keeping only its head and tail, and judges its end.
func checkScript(r io.Reader, cluster bool) error {
	buf := make([]byte, 64<<10)
	head := make([]byte, 0, headSize)
	tail := make([]byte, 0, 2*tailSize)
	for {
		n, err := r.Read(buf)
		chunk := buf[:n]
		if len(head) < headSize {
			head = append(head, chunk[:min(n, headSize-len(head))]...)
		}
		tail = appendTail(tail, chunk)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	return judgeScript(head, tail, cluster)
}

// appendTail keeps the last tailSize bytes (at least) of what it is given,
// in a buffer of 2*tailSize, moving bytes only once per tailSize appended.
func appendTail(tail, chunk []byte) []byte {
	if len(chunk) >= tailSize {
		return append(tail[:0], chunk[len(chunk)-tailSize:]...)
	}
	if len(tail)+len(chunk) > cap(tail) {
		keep := tailSize - len(chunk)
		copy(tail, tail[len(tail)-keep:])
		tail = tail[:keep]
	}
	return append(tail, chunk...)
}

func judgeScript(head, tail []byte, cluster bool) error {
	at, marker := lastLine(tail, clusterComplete), clusterComplete
	if !cluster {
		// A pg_dumpall script writes its cluster line after the last
		// database's own completion line; either may close a plain check.
		if i := lastLine(tail, dumpComplete); i > at {
			at, marker = i, dumpComplete
		}
	}
	if at < 0 {
		want := dumpComplete
		if cluster {
			want = clusterComplete
		}
		return verdict(Incomplete, "no %q line at its end", want)
	}
	rest := string(tail[at+len(marker)+1:])
	// What pg_dump writes after the line is fixed: a closing "--", a blank
	// line and, since 17.6/16.10/15.14, the \unrestrict for the key of the
	// \restrict at its top. Anything shorter is a cut; anything else was
	// not written by pg_dump. (Allowing more, such as extra blank lines,
	// would make some cut of a whole script pass too.)
	want := "--\n\n"
	key := restrictKey(head)
	if key != "" && marker == dumpComplete {
		// The cluster line comes after the globals' \unrestrict, far above.
		want += `\unrestrict ` + key + "\n\n"
	}
	switch {
	case rest == want:
		return nil
	case strings.HasPrefix(want, rest):
		return verdict(Truncated, "script ends inside the lines after its completion line")
	case key == "" && strings.HasPrefix(rest, "--\n\n"+`\unrestrict `):
		return verdict(Corrupt, `script has an "\unrestrict" line after its completion line but no "\restrict" line at its top`)
	}
	return verdict(Corrupt, "after its completion line, text pg_dump does not write: %s", quoteLine([]byte(rest)))
}

// lastLine returns where the last whole line equal to line starts in text,
// or -1.
func lastLine(text []byte, line string) int {
	i := bytes.LastIndex(text, []byte("\n"+line+"\n"))
	if i < 0 {
		return -1
	}
	return i + 1
}

// restrictKey returns the key of the `\restrict KEY` line near the top of
// the script, or "" for scripts from pg_dump versions without one.
func restrictKey(head []byte) string {
	for len(head) > 0 {
		nl := bytes.IndexByte(head, '\n')
		if nl < 0 {
			return "" // a partial line says nothing
		}
		line := head[:nl]
		head = head[nl+1:]
		if bytes.HasPrefix(line, []byte(`\restrict `)) {
			return string(bytes.TrimSpace(line[len(`\restrict `):]))
		}
	}
	return ""
}

func quoteLine(line []byte) string {
	if len(line) > 60 {
		return fmt.Sprintf("%q...", line[:60])
	}
	return fmt.Sprintf("%q", line)
}
