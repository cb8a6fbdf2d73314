package retention

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Reasons Plan records that carry no period label.
const (
	reasonNewest      = "newest complete"
	reasonFuture      = "future timestamp"
	reasonWithinGrace = "incomplete, within grace"
	reasonPastGrace   = "incomplete, older than grace"
	reasonUnkept      = "not kept by policy"
)

// Plan decides, for each archive of one database on one target, whether
// prune keeps or deletes it, following the rules in the package
// documentation. It returns one Decision per archive, newest first, whatever
// the order of archives.
//
// now is the current time and the only clock Plan reads. An incomplete
// archive is deleted once now is more than grace past its time; a grace of
// zero or less means DefaultGrace, so an unset value never deletes an upload
// still running.
//
// Plan does not validate p: a negative count counts as zero, and a policy of
// all zeros keeps only the newest complete archive (besides future and
// young incomplete ones).
func Plan(archives []Archive, p Policy, now time.Time, grace time.Duration) []Decision {
	if grace <= 0 {
		grace = DefaultGrace
	}
	ds := make([]Decision, len(archives))
	for i, a := range archives {
		ds[i] = Decision{Archive: a}
	}
	slices.SortFunc(ds, func(x, y Decision) int { return newestFirst(x.Archive, y.Archive) })

	// counted holds the complete archives up to now, newest first: the
	// only ones the policy sees.
	var counted []*Decision
	for i := range ds {
		d := &ds[i]
		switch {
		case d.Archive.Time.After(now):
			d.keep(reasonFuture)
		case !d.Archive.Complete && now.Sub(d.Archive.Time) > grace:
			d.Reasons = append(d.Reasons, reasonPastGrace)
		case !d.Archive.Complete:
			d.keep(reasonWithinGrace)
		default:
			counted = append(counted, d)
		}
	}

	if n := min(p.KeepLast, len(counted)); n > 0 {
		reason := fmt.Sprintf("last %d", p.KeepLast)
		for _, d := range counted[:n] {
			d.keep(reason)
		}
	}
	for _, per := range periods {
		keepPeriods(counted, per, per.count(p))
	}
	if len(counted) > 0 {
		counted[0].keep(reasonNewest)
	}
	for _, d := range counted {
		if !d.Keep {
			d.Reasons = append(d.Reasons, reasonUnkept)
		}
	}
	return ds
}

// keepPeriods keeps the first archive of each of the first n distinct
// periods in counted, which is sorted newest first, so that the periods
// come in order and the first archive of each is its newest.
func keepPeriods(counted []*Decision, per period, n int) {
	last := ""
	for _, d := range counted {
		if n <= 0 {
			return
		}
		label := per.label(d.Archive.Time.UTC())
		if label == last {
			continue
		}
		last = label
		d.keep(per.reason + " " + label)
		n--
	}
}

func (d *Decision) keep(reason string) {
	d.Keep = true
	d.Reasons = append(d.Reasons, reason)
}

// newestFirst orders archives by time, newest first, then by name, greatest
// first, then complete before incomplete: a total order on what Plan reads,
// so that the input's order cannot change the plan.
func newestFirst(a, b Archive) int {
	if c := b.Time.Compare(a.Time); c != 0 {
		return c
	}
	if c := strings.Compare(b.Name, a.Name); c != 0 {
		return c
	}
	return boolRank(b.Complete) - boolRank(a.Complete)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
