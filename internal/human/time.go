package human

import (
	"fmt"
	"math"
	"time"
)

// TimeLayout is how tables write a point in time: UTC, to the second, the
// "Z" saying so ("2026-12-01 16:43:38Z"). --at and --before take it back.
const TimeLayout = "2006-01-02 15:04:05Z"

// Time formats t in UTC as TimeLayout.
func Time(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Plural writes n and the noun, with an "s" unless n is 1: "1 row",
// "0 rows", "3 archives".
func Plural(n int64, noun string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Duration writes d the way people say it, in its largest whole unit:
// "42 s", "2 min", "5 hours", "3 days" ("1 hour", "1 day"). A negative d
// is written as its size: the caller says whether it is ahead or ago.
func Duration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int64(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int64(d/time.Minute))
	case d < 48*time.Hour:
		return Plural(int64(d/time.Hour), "hour")
	}
	return Plural(int64(d/(24*time.Hour)), "day")
}

// Ago writes how long before now t was: "2 min ago", "3 days ago", or
// "in 5 hours" for a t after now (a clock that was ahead), "just now"
// under a second either way.
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d > -time.Second && d < time.Second:
		return "just now"
	case d < 0:
		return "in " + Duration(d)
	}
	return Duration(d) + " ago"
}

// Rate writes n bytes over d as "12.3 MiB/s"; "-" when d is not positive.
func Rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return Bytes(int64(float64(n)/d.Seconds())) + "/s"
}

// Left writes the time left to move the rest of total bytes at the rate n
// bytes took d: "3 min left"; "" when it cannot be told yet.
func Left(n, total int64, d time.Duration) string {
	if n <= 0 || total <= n || d <= 0 {
		return ""
	}
	secs := math.Ceil(d.Seconds() * float64(total-n) / float64(n))
	if math.IsInf(secs, 0) || secs > 1e9 {
		return ""
	}
	return Duration(time.Duration(secs*float64(time.Second))) + " left"
}
