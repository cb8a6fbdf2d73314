package retention

import (
	"fmt"
	"time"
)

// period is one kind of calendar bucket a Policy counts in.
type period struct {
	// reason prefixes the label in Decision.Reasons.
	reason string
	// count picks this period's count from a Policy.
	count func(Policy) int
	// label names the period holding t; t is in UTC.
	label func(t time.Time) string
}

// periods lists the bucket kinds in the order their reasons are recorded.
var periods = []period{
	{"hourly", func(p Policy) int { return p.Hourly }, func(t time.Time) string { return t.Format("2006-01-02T15") }},
	{"daily", func(p Policy) int { return p.Daily }, func(t time.Time) string { return t.Format("2006-01-02") }},
	{"weekly", func(p Policy) int { return p.Weekly }, isoWeek},
	{"monthly", func(p Policy) int { return p.Monthly }, func(t time.Time) string { return t.Format("2006-01") }},
	{"yearly", func(p Policy) int { return p.Yearly }, func(t time.Time) string { return t.Format("2006") }},
}

func isoWeek(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}
