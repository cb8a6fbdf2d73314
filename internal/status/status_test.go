package status

import (
	"encoding/json"
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

func missing(t *testing.T, db, stamp string) archive.Entry {
	e := entry(t, db, stamp, false)
	e.Missing = true
	return e
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
		}, []string{"forge on a: newest archive is 2 days old, more than max_age 25 hours", "forge on b: newest archive is 2 days old"}},
		{"b lags, still within max_age", func(t *testing.T) []Listing {
			return []Listing{
				{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true)}},
				{Target: "b", Entries: []archive.Entry{entry(t, "forge", "20261121T031500Z", true), entry(t, "forge", "20261122T011500Z", false)}},
			}
		}, []string{"forge on b: lags a: newest is 2026-11-21 03:15:00Z, a has 2026-11-22 01:15:00Z"}},
		{"b has none of one database", func(t *testing.T) []Listing {
			return []Listing{
				{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true), entry(t, "matrix", "20261122T011500Z", true)}},
				{Target: "b", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true)}},
			}
		}, []string{"matrix on b: no complete archive; a has one from 2026-11-22 01:15:00Z"}},
		{"only incomplete", func(t *testing.T) []Listing {
			return []Listing{{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", false)}}}
		}, []string{"forge on a: no complete archive"}},
		{"unlistable target", func(t *testing.T) []Listing {
			return []Listing{
				{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true)}},
				{Target: "b", Err: errors.New("connection refused")},
			}
		}, []string{"target b could not be listed: connection refused"}},
		{"future archive is not newest", func(t *testing.T) []Listing {
			return []Listing{
				{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true), entry(t, "forge", "20271122T011500Z", true)}},
				{Target: "b", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true)}},
			}
		}, []string{"forge on a: archive 2027-11-22 01:15:00Z is stamped in the future (364 days ahead; was a host clock wrong?), not counted as newest"}},
		{"several future archives, one warning", func(t *testing.T) []Listing {
			return []Listing{{Target: "a", Entries: []archive.Entry{
				entry(t, "forge", "20261122T011500Z", true), entry(t, "forge", "20261123T011500Z", true), entry(t, "forge", "20261122T030000Z", true),
			}}}
		}, []string{"forge on a: 2 archives up to 2026-11-23 01:15:00Z are stamped in the future (23 hours ahead"}},
		{"within the tolerance counts", func(t *testing.T) []Listing {
			return []Listing{{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261122T020400Z", true)}}}
		}, nil},
		{"only a future archive", func(t *testing.T) []Listing {
			return []Listing{{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20271122T011500Z", true)}}}
		}, []string{"forge on a: no complete archive", "forge on a: archive 2027-11-22 01:15:00Z is stamped in the future"}},
		{"the other target's future archive makes no lag", func(t *testing.T) []Listing {
			return []Listing{
				{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true)}},
				{Target: "b", Entries: []archive.Entry{entry(t, "forge", "20261121T011500Z", true), entry(t, "forge", "20271122T011500Z", true)}},
			}
		}, []string{"forge on b: lags a: newest is 2026-11-21 01:15:00Z, a has 2026-11-22 01:15:00Z", "forge on b: archive 2027-11-22 01:15:00Z is stamped in the future"}},
		{"manifest without object", func(t *testing.T) []Listing {
			return []Listing{
				{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261121T011500Z", true), missing(t, "forge", "20261122T011500Z")}},
				{Target: "b", Entries: []archive.Entry{entry(t, "forge", "20261121T011500Z", true)}},
			}
		}, []string{"forge on a: archive 2026-11-22 01:15:00Z: manifest without object (forge_20261122T011500Z.sql.gz.age is gone)"}},
		{"nothing but a manifest", func(t *testing.T) []Listing {
			return []Listing{{Target: "a", Entries: []archive.Entry{missing(t, "forge", "20261122T011500Z")}}}
		}, []string{"forge on a: no complete archive", "forge on a: archive 2026-11-22 01:15:00Z: manifest without object"}},
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

func TestJSONArraysNeverNull(t *testing.T) {
	now, _ := archive.ParseStamp("20261122T020000Z")
	rep := Compute("db1", []Listing{{Target: "a", Entries: []archive.Entry{entry(t, "forge", "20261122T011500Z", true)}}}, now, time.Hour)
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"future":[]`, `"missing":[]`, `"warnings":[]`, `"max_age_seconds":3600`, `"time":"2026-11-22T01:15:00Z"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %s in %s", want, b)
		}
	}
}

func TestFutureAndMissingInJSON(t *testing.T) {
	now, _ := archive.ParseStamp("20261122T020000Z")
	rep := Compute("db1", []Listing{{Target: "a", Entries: []archive.Entry{
		entry(t, "forge", "20261122T011500Z", true), entry(t, "forge", "20301122T011500Z", true), missing(t, "forge", "20261121T011500Z"),
	}}}, now, 25*time.Hour)
	tg := rep.Databases[0].Targets[0]
	if tg.Newest == nil || !tg.Newest.Equal(time.Date(2026, 11, 22, 1, 15, 0, 0, time.UTC)) ||
		len(tg.Future) != 1 || tg.Future[0] != "db1/forge/forge_20301122T011500Z.sql.gz.age" ||
		len(tg.Missing) != 1 || tg.Missing[0] != "db1/forge/forge_20261121T011500Z.sql.gz.age" {
		t.Errorf("target %+v", tg)
	}
}
