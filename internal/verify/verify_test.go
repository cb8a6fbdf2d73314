package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/dump"
)

// pg15Tail is how pg_dump 15.20 ends a plain dump.
const pg15Tail = `
--
-- PostgreSQL database dump complete
--

\unrestrict u5gjuRQlszO4G4zVrG7uYdgRaX3cqE6oITZw2gaJBoJ3ZTvceqQ8OONzyZzVRmb

`

// pg15ClusterTail is how pg_dumpall 15.20 ends.
const pg15ClusterTail = `
\unrestrict eWnyiepVZgVxx50CcFf4RPgUegVXbIZeUtiMtCUdSbv95D4rsxslNJIbO6HgMW6

--
-- PostgreSQL database dump complete
--

--
-- PostgreSQL database cluster dump complete
--

`

func TestScript(t *testing.T) {
	body := "--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE t (a int);\nCOPY t (a) FROM stdin;\n1\n\\.\n\n"
	big := body + strings.Repeat("-- padding line to push the end past one buffer\n", 5000)
	tests := []struct {
		name, format, script string
		wantErr              string
	}{
		{"pg15 plain", dump.FormatPlain, body + pg15Tail, ""},
		{"pre-15.14 plain", dump.FormatPlain, body + "--\n-- PostgreSQL database dump complete\n--\n\n", ""},
		{"crlf", dump.FormatPlain, strings.ReplaceAll(body+pg15Tail, "\n", "\r\n"), ""},
		{"long plain", dump.FormatPlain, big + pg15Tail, ""},
		{"pg15 cluster", dump.FormatCluster, body + pg15ClusterTail, ""},
		{"cut short", dump.FormatPlain, body[:len(body)-10], `does not end with "-- PostgreSQL database dump complete"`},
		{"cut in the trailer", dump.FormatPlain, body + "--\n-- PostgreSQL database dump compl", "cut short"},
		{"empty", dump.FormatPlain, "", "plain dump is empty"},
		{"cluster dump ending like one database", dump.FormatCluster, body + pg15Tail, "cluster dump complete"},
		{"plain with a cluster ending", dump.FormatPlain, body + pg15ClusterTail, "does not end with"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Dump(context.Background(), iotest.HalfReader(strings.NewReader(tt.script)), tt.format)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestDumpPassesReadErrors(t *testing.T) {
	boom := errors.New("plaintext SHA-256 is 00, manifest says 11")
	formats := []string{dump.FormatPlain, dump.FormatCluster}
	if _, err := lookPath("pg_restore"); err == nil {
		formats = append(formats, dump.FormatCustom, dump.FormatTar)
	} else {
		t.Logf("pg_restore not installed, custom and tar skipped: %v", err)
	}
	for _, f := range formats {
		r := io.MultiReader(strings.NewReader("PGDMP\x01\x0e\x00"), iotest.ErrReader(boom))
		if err := Dump(context.Background(), r, f); !errors.Is(err, boom) {
			t.Errorf("%s: %v, want the read error", f, err)
		}
	}
	if err := Dump(context.Background(), strings.NewReader(""), "directory"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown format: %v", err)
	}
}

func TestArchiveCutShort(t *testing.T) {
	if _, err := lookPath("pg_restore"); err != nil {
		t.Skipf("pg_restore not installed: %v", err)
	}
	err := Dump(context.Background(), strings.NewReader("PGDMP\x01\x0e\x00\x04\x08\x01\x01"), dump.FormatCustom)
	if err == nil || !strings.Contains(err.Error(), "pg_restore cannot read the dump") {
		t.Errorf("a custom archive cut short: %v", err)
	}
}

func TestTailBuffer(t *testing.T) {
	var want bytes.Buffer
	var tb tailBuffer
	for i := range 3000 {
		s := fmt.Sprintf("line %d\n", i)
		if i%500 == 0 {
			s = strings.Repeat("x", 5000) + "\n"
		}
		want.WriteString(s)
		tb.Write([]byte(s))
	}
	w := want.Bytes()
	if !bytes.Equal(tb.bytes(), w[len(w)-tailSize:]) {
		t.Error("tail buffer does not hold the last bytes written")
	}
}

func entries(n int, targets ...string) []archive.Entry {
	var out []archive.Entry
	base := time.Date(2026, 1, 1, 1, 15, 0, 0, time.UTC)
	for _, tg := range targets {
		for i := range n {
			name, _ := archive.NewName("db1", "forge", base.AddDate(0, 0, i), ".gz")
			out = append(out, archive.Entry{Name: name, Target: tg, Complete: true})
		}
	}
	return out
}

func key(e archive.Entry) string { return e.Target + ":" + e.Name.Object() }

func TestSample(t *testing.T) {
	day := time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC)
	all := entries(60, "local", "s3")
	tests := []struct {
		percent float64
		n, want int
	}{
		{5, 120, 6},
		{1, 120, 2}, // 1.2 rounds up
		{0.1, 120, 1},
		{100, 120, 120},
		{50, 1, 1},
		{5, 0, 0},
	}
	for _, tt := range tests {
		got := Sample(all[:tt.n], tt.percent, day)
		if len(got) != tt.want {
			t.Errorf("Sample(%d entries, %v%%) picked %d, want %d", tt.n, tt.percent, len(got), tt.want)
		}
	}

	// The same all day, whatever the hour and the input order; another
	// day, another choice; order of the input kept.
	a := Sample(all, 10, day)
	b := Sample(all, 10, day.Add(-23*time.Hour))
	if fmt.Sprint(keys(a)) != fmt.Sprint(keys(b)) {
		t.Errorf("sample changed within a day:\n%v\n%v", keys(a), keys(b))
	}
	reversed := make([]archive.Entry, len(all))
	for i, e := range all {
		reversed[len(all)-1-i] = e
	}
	r := Sample(reversed, 10, day)
	if fmt.Sprint(slices.Sorted(slices.Values(keys(r)))) != fmt.Sprint(slices.Sorted(slices.Values(keys(a)))) {
		t.Errorf("sample depends on input order")
	}
	pos := map[string]int{}
	for i, e := range all {
		pos[key(e)] = i
	}
	for i := 1; i < len(a); i++ {
		if pos[key(a[i-1])] > pos[key(a[i])] {
			t.Errorf("sample not in input order: %v", keys(a))
		}
	}
	differs := false
	for d := 1; d <= 3 && !differs; d++ {
		c := Sample(all, 10, day.AddDate(0, 0, d))
		differs = fmt.Sprint(keys(c)) != fmt.Sprint(keys(a))
	}
	if !differs {
		t.Error("the same sample three days running")
	}
	// Over a month of daily 5% samples most archives get checked.
	seen := map[string]bool{}
	for d := range 30 {
		for _, e := range Sample(all, 5, day.AddDate(0, 0, d)) {
			seen[key(e)] = true
		}
	}
	if len(seen) < len(all)/2 {
		t.Errorf("30 daily 5%% samples covered only %d of %d archives", len(seen), len(all))
	}
}

func keys(es []archive.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, key(e))
	}
	return out
}

func TestNoMatch(t *testing.T) {
	tests := []struct {
		m    NoMatch
		want string
	}{
		{NoMatch{Host: "nosuchhost", Hosts: []string{"a", "b"}},
			`no archives of host "nosuchhost" on any target (targets hold hosts: a, b)`},
		{NoMatch{Host: "db1", Hosts: []string{}},
			`no archives of host "db1" on any target (the targets hold no archives at all)`},
		{NoMatch{Host: "db1", Target: "nas"},
			`no archives of host "db1" on target "nas" (nothing matched --host, --database and --target)`},
		{NoMatch{Host: "db1", Database: "forgee", Databases: []string{"forge", "ledger"}},
			`no archives of database "forgee" of host "db1" on any target (host "db1" has databases: forge, ledger)`},
		{NoMatch{Host: "x", Database: "forge", Hosts: []string{"db1"}},
			`no archives of database "forge" of host "x" on any target (targets hold hosts: db1)`},
		{NoMatch{Host: "db1", Database: "forge", Incomplete: 2},
			`no complete archive of database "forge" of host "db1" on any target, only 2 incomplete (uploads that died or are still running)`},
	}
	for _, tt := range tests {
		if got := tt.m.Error(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}
