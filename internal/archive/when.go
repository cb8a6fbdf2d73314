package archive

import (
	"fmt"
	"strings"
	"time"
)

// timeLayouts are the forms ParseTime takes besides the archive stamp:
// RFC 3339, and the date and time an operator types, with or without
// seconds, with "T" or a space, with an offset or none (UTC).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04Z07:00",
	"2006-01-02 15:04:05 Z07:00",
	"2006-01-02 15:04 Z07:00",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04 -0700",
}

// utcLayouts carry no offset: the time is UTC, as archive names are.
var utcLayouts = []string{
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
}

// ParseTime parses a point in time as --at and --before take it: an
// archive stamp (20261121T011503Z), RFC 3339 (2026-11-21T01:15:03Z,
// 2026-11-21T02:15:03+01:00), or "YYYY-MM-DD HH:MM[:SS]" in UTC or
// followed by an offset ("2026-11-21 02:15 +01:00"). The result is UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(TimeLayout, s); err == nil {
		return t, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	for _, l := range utcLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: give 20261121T011503Z, 2026-11-21T01:15:03Z or \"2026-11-21 01:15[:03]\" (UTC unless followed by an offset such as +01:00)", s)
}
