package verify

import (
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
)

func TestDumpPassesReadErrors(t *testing.T) {
	boom := errors.New("plaintext SHA-256 is 00, manifest says 11")
	if _, err := lookPath("pg_restore"); err != nil {
		t.Skipf("pg_restore not installed: %v", err)
	}
	r := io.MultiReader(strings.NewReader("PGDMP\x01\x0e\x00"), iotest.ErrReader(boom))
	if err := checkArchive(context.Background(), r); !errors.Is(err, boom) {
		t.Errorf("%v, want the read error", err)
	}
}

func TestArchiveCutShort(t *testing.T) {
	if _, err := lookPath("pg_restore"); err != nil {
		t.Skipf("pg_restore not installed: %v", err)
	}
	err := checkArchive(context.Background(), strings.NewReader("PGDMP\x01\x0e\x00\x04\x08\x01\x01"))
	if err == nil || !strings.Contains(err.Error(), "pg_restore cannot read the dump") {
		t.Errorf("a custom archive cut short: %v", err)
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
