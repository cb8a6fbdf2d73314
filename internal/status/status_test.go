package status

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/internal/archive"
)

func entry(t *testing.T, db, stamp string, complete bool) archive.Entry {
	t.Helper()
	tm, err := archive.ParseStamp(stamp)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := archive.NewName("db1", db, tm, ".gz")
	return archive.Entry{Name: n, Complete: complete}
}

func TestCompute(t *testing.T) {
	now, _ := archive.ParseStamp("20261122T020000Z")
	day := 25 * time.Hour
	tests := []struct {
		name     string
		listings func(t *testing.T) []Listing
		warnings []string // substrings, one per warning, in order
	}{
		{"fresh on both", func(t *testing.T) []Listing {
			return []Listing{
				{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261121T011500Z", true), entry(t, "forge", "20261122T011500Z", true)}},
				{Target: "b", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true)}},
			}
		}, nil},
		{"stale everywhere", func(t *testing.T) []Listing {
			return []Listing{
				{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261120T011500Z", true)}},
				{Target: "b", Entries: []archive.Entry{entry(t, "forge", "20261120T011500Z", true)}},
			}
		}, []string{"forge on a: newest archive is 2d0h old, more than max_age 25h0m0s", "forge on b: newest archive is 2d0h old"}},
		{"b lags, still within max_age", func(t *testing.T) []Listing {
			return []Listing{
				{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true)}},
				{Target: "b", Entries: []archive.Entry{entry(t, "forge", "20261121T031500Z", true), entry(t, "forge", "20261122T011500Z", false)}},
			}
		}, []string{"forge on b: lags a: newest is 20261121T031500Z, a has 20261122T011500Z"}},
		{"b has none of one database", func(t *testing.T) []Listing {
			return []Listing{
				{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true), entry(t, "matrix", "20261122T011500Z", true)}},
				{Target: "b", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true)}},
			}
		}, []string{"matrix on b: no complete archive; a has one from 20261122T011500Z"}},
		{"only incomplete", func(t *testing.T) []Listing {
			return []Listing{{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", false)}}}
		}, []string{"forge on a: no complete archive"}},
		{"unlistable target", func(t *testing.T) []Listing {
			return []Listing{
				{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true)}},
				{Target: "b", Err: errors.New("connection refused")},
			}
		}, []string{"target b could not be listed: connection refused"}},
		{"nothing anywhere", func(t *testing.T) []Listing {
			return []Listing{{Target: "a"}}
		}, []string{`no archive of host "db1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Compute("db1", tt.listings(t), now, day)
			if len(rep.Warnings) != len(tt.warnings) {
				t.Fatalf("warnings %q, want %d like %q", rep.Warnings, len(tt.warnings), tt.warnings)
			}
			for i, w := range tt.warnings {
				if !strings.Contains(rep.Warnings[i], w) {
					t.Errorf("warning %d: %q, want it to contain %q", i, rep.Warnings[i], w)
				}
			}
			if rep.OK() != (len(tt.warnings) == 0) {
				t.Error("OK() disagrees with the warnings")
			}
		})
	}
}

func TestTargetAgeAndNewest(t *testing.T) {
	now, _ := archive.ParseStamp("20261122T020000Z")
	rep := Compute("db1", []Listing{{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true)}}}, now, time.Hour)
	tg := rep.Databases[0].Targets[0]
	if tg.Age() != 45*time.Minute || tg.Newest == nil || tg.Object != "db1/forge/forge_20261122T011500Z.sql.gz.age" {
		t.Errorf("target %+v", tg)
	}
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Second:             "10s",
		42*time.Minute + time.Second: "42m",
		5*time.Hour + 12*time.Minute: "5h12m",
		76 * time.Hour:               "3d4h",
		-90 * time.Second:            "-1m",
	} {
		if got := FormatAge(d); got != want {
			t.Errorf("FormatAge(%v) = %q, want %q", d, got, want)
		}
	}
}
