package verify

import (
	"bytes"
	"crypto/sha256"
	"math"
	"slices"
	"time"

	"github.com/pgarchive/pgarchive/internal/archive"
)

// Sample returns percent (0 < percent <= 100) of entries, at least one when
// there are any, rounding up. The choice depends only on the entries and on
// day's UTC date: the same all day, a different share the next day. Each
// entry is ranked by SHA-256 of the date, its target and its object path,
// so copies of one archive on two targets are drawn independently, and an
// archive added or removed moves at most one other in or out. The result
// keeps the order of entries.
func Sample(entries []archive.Entry, percent float64, day time.Time) []archive.Entry {
	if len(entries) == 0 {
		return nil
	}
	n := int(math.Ceil(float64(len(entries)) * percent / 100))
	n = max(1, min(n, len(entries)))
	date := day.UTC().Format("2006-01-02")
	type ranked struct {
		i    int
		rank [sha256.Size]byte
	}
	rs := make([]ranked, len(entries))
	for i, e := range entries {
		rs[i] = ranked{i, sha256.Sum256([]byte(date + "\n" + e.Target + "\n" + e.Name.Object()))}
	}
	slices.SortFunc(rs, func(a, b ranked) int { return bytes.Compare(a.rank[:], b.rank[:]) })
	picked := make([]int, n)
	for k := range n {
		picked[k] = rs[k].i
	}
	slices.Sort(picked)
	out := make([]archive.Entry, n)
	for k, i := range picked {
		out[k] = entries[i]
	}
	return out
}
