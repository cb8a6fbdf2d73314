package human

import (
	"testing"
	"time"
)

func TestDurationAndAgo(t *testing.T) {
	now := time.Date(2026, 12, 1, 16, 43, 38, 0, time.UTC)
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "just now"},
		{10 * time.Second, "10 s ago"},
		{2*time.Minute + 5*time.Second, "2 min ago"},
		{time.Hour, "1 hour ago"},
		{30 * time.Hour, "30 hours ago"},
		{49 * time.Hour, "2 days ago"},
		{24 * time.Hour * 400, "400 days ago"},
		{-5 * time.Hour, "in 5 hours"},
	} {
		if got := Ago(now.Add(-c.d), now); got != c.want {
			t.Errorf("Ago(now-%s) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestPluralAndTime(t *testing.T) {
	if Plural(1, "row") != "1 row" || Plural(0, "row") != "0 rows" || Plural(5000, "row") != "5000 rows" {
		t.Errorf("Plural: %q %q %q", Plural(1, "row"), Plural(0, "row"), Plural(5000, "row"))
	}
	tm := time.Date(2026, 12, 1, 17, 43, 38, 0, time.FixedZone("CET", 3600))
	if got := Time(tm); got != "2026-12-01 16:43:38Z" {
		t.Errorf("Time = %q", got)
	}
}

func TestLeft(t *testing.T) {
	if got := Left(25, 100, 10*time.Second); got != "30 s left" {
		t.Errorf("Left = %q", got)
	}
	if got := Left(0, 100, time.Second); got != "" {
		t.Errorf("Left with nothing read = %q", got)
	}
}
