package prune

import (
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/internal/retention"
)

func TestRelease(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	p := retention.Policy{KeepLast: 3, Hourly: 24, Daily: 7, Weekly: 4, Monthly: 6, Yearly: 2}
	// Thursday of ISO week 2026-W48.
	made := at("2026-11-26T03:15:00Z")
	for _, c := range []struct {
		name    string
		reasons []string
		want    string
	}{
		{"hourly", []string{"hourly 2026-11-26T03"}, "2026-11-27T03:00:00Z"},
		{"daily", []string{"daily 2026-11-26"}, "2026-12-03T00:00:00Z"},
		{"weekly starts on monday", []string{"weekly 2026-W48"}, "2026-12-21T00:00:00Z"},
		{"monthly", []string{"monthly 2026-11"}, "2027-05-01T00:00:00Z"},
		{"yearly", []string{"yearly 2026"}, "2028-01-01T00:00:00Z"},
		{"the last tier to let go decides", []string{"daily 2026-11-26", "monthly 2026-11", "weekly 2026-W48"}, "2027-05-01T00:00:00Z"},
		{"keep_last and newest have no date", []string{"last 3", "newest complete"}, ""},
	} {
		got := Release(made, c.reasons, p)
		want := time.Time{}
		if c.want != "" {
			want = at(c.want)
		}
		if !got.Equal(want) {
			t.Errorf("%s: Release = %v, want %v", c.name, got, want)
		}
	}
	// A tier whose count is zero keeps nothing and dates nothing.
	if got := Release(made, []string{"weekly 2026-W48"}, retention.Policy{Daily: 1}); !got.IsZero() {
		t.Errorf("weekly with weekly = 0: %v", got)
	}
	// Sunday belongs to the week that began the Monday before.
	if got := Release(at("2026-11-29T23:00:00Z"), []string{"weekly 2026-W48"}, retention.Policy{Weekly: 1}); !got.Equal(at("2026-11-30T00:00:00Z")) {
		t.Errorf("sunday: %v", got)
	}
}
