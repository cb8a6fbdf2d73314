package main

import (
	"bytes"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 11, 21, 1, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := newProgressLine(&out, "restoring x", 4<<20, clock)
	r := p.reader(io.LimitReader(zeros{}, 4<<20))
	buf := make([]byte, 1<<20)
	for i := 0; i < 4; i++ {
		now = now.Add(time.Second)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
	}
	// The load goes on after the last byte (indexes, constraints): the
	// final rate is the transfer's.
	now = now.Add(time.Minute)
	p.done()
	p.done() // twice is harmless
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\r")[1:]
	want := []string{
		"restoring x: 1.0 MiB / 4.0 MiB   25%  1.0 MiB/s  3 s left\x1b[K",
		"restoring x: 2.0 MiB / 4.0 MiB   50%  1.0 MiB/s  2 s left\x1b[K",
		"restoring x: 3.0 MiB / 4.0 MiB   75%  1.0 MiB/s  1 s left\x1b[K",
		"restoring x: 4.0 MiB / 4.0 MiB  100%  1.0 MiB/s\x1b[K",
		"restoring x: 4.0 MiB / 4.0 MiB  100%  1.0 MiB/s\x1b[K",
	}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("got\n%q\nwant\n%q", lines, want)
	}
	if !strings.HasSuffix(out.String(), "\n") || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("done must end the line once: %q", out.String())
	}
}

// A nil line (stderr is no terminal) takes every call and draws nothing.
func TestProgressLineNil(t *testing.T) {
	var p *progressLine
	p.add(1)
	p.set(2)
	p.done()
}

// set moves the line to an absolute count, as push's callback reports.
func TestProgressLineSet(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 11, 21, 1, 0, 0, 0, time.UTC)
	p := newProgressLine(&out, "pushing forge", 10<<20, func() time.Time { return now })
	now = now.Add(2 * time.Second)
	p.set(2 << 20)
	if got := out.String(); got != "\rpushing forge: 2.0 MiB / 10.0 MiB   20%  1.0 MiB/s  8 s left\x1b[K" {
		t.Errorf("got %q", got)
	}
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }

// Reads faster than the interval draw once.
func TestProgressLineThrottles(t *testing.T) {
	var out bytes.Buffer
	now := time.Now()
	p := newProgressLine(&out, "x", 0, func() time.Time { return now })
	for i := 0; i < 100; i++ {
		p.add(10)
	}
	if n := strings.Count(out.String(), "\r"); n != 1 {
		t.Errorf("%d draws for 100 quick reads: %q", n, out.String())
	}
	if strings.Contains(out.String(), "%") {
		t.Errorf("a percentage without a total: %q", out.String())
	}
}

func TestSDStatusThrottles(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	s := newSDStatus()
	for i := int64(1); i <= 1000; i++ {
		s.progress("pushing forge", i, 1000)
	}
	s.set("pushed forge")
	var got []string
	conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 1024)
	for {
		n, _, err := conn.ReadFromUnix(buf)
		if err != nil {
			break
		}
		got = append(got, string(buf[:n]))
	}
	want := []string{"STATUS=pushing forge: 1 B of 1000 B (0%)", "STATUS=pushing forge: 1000 B of 1000 B (100%)", "STATUS=pushed forge"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}

	t.Setenv("NOTIFY_SOCKET", "")
	var nilStatus *sdStatus
	nilStatus.progress("x", 1, 2) // no socket, no panic
	newSDStatus().set("nobody listens")
}
