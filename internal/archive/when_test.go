package archive

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 11, 21, 1, 15, 3, 0, time.UTC)
	noSec := time.Date(2026, 11, 21, 1, 15, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"20261121T011503Z", want},
		{"2026-11-21T01:15:03Z", want},
		{"2026-11-21T02:15:03+01:00", want},
		{"2026-11-21 01:15:03", want},
		{" 2026-11-21 01:15:03 ", want},
		{"2026-11-21 01:15", noSec},
		{"2026-11-21T01:15", noSec},
		{"2026-11-21 02:15:03+01:00", want},
		{"2026-11-21 02:15 +01:00", noSec.Add(0)},
		{"2026-11-20 20:15:03 -0500", want},
		{"2026-11-21 01:15:03Z", want},
	} {
		got, err := ParseTime(tc.in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", tc.in, err)
			continue
		}
		if !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, want %v in UTC", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "latest", "2026-11-21", "yesterday", "2026-13-01 00:00", "20261121T011503"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q): no error", bad)
		}
	}
}
