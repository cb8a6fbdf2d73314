package prune

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pgarchive/pgarchive/internal/retention"
	"github.com/pgarchive/pgarchive/internal/target"
)

// On a target that locks what it stores (object_lock), prune neither
// tries to delete what the store would refuse, nor lets a kept archive's
// lock run out before its retention tier would let it go:
//
//	p = prune.HoldLocked(ctx, t, p, time.Now())         // deletes still locked become keeps
//	locks := prune.ExtendLocks(ctx, t, p, policy, dryRun) // weekly, monthly, yearly keeps locked longer
//
// Locks are judged by the real clock, not a test clock: it is the store's
// clock that enforces them.

// Locker reads and extends object locks; *target.Target is one.
type Locker interface {
	Locking() bool
	LockOf(ctx context.Context, path string) (target.Lock, error)
	ExtendLock(ctx context.Context, path string, until time.Time) (target.Lock, error)
}

// LockedReason is the start of the reason HoldLocked gives a delete it
// turned into a keep: "locked until 2026-12-24T03:00:00Z".
const LockedReason = "locked until"

// HoldLocked returns p with every archive it would delete whose object or
// manifest is locked at now kept instead, for the reason "locked until …"
// (the later of the two locks). An archive whose lock cannot be read is
// kept too ("lock unknown: …"): deleting it might only half succeed. On a
// target that does not lock, p comes back as it is.
func HoldLocked(ctx context.Context, l Locker, p DatabasePlan, now time.Time) DatabasePlan {
	if !l.Locking() {
		return p
	}
	out := p
	out.Decisions = append([]Decision(nil), p.Decisions...)
	for i, d := range out.Decisions {
		if d.Keep {
			continue
		}
		paths := []string{d.Entry.Name.Object()}
		if d.Entry.Complete {
			paths = append(paths, d.Entry.Name.Manifest())
		}
		var until time.Time
		var errs []string
		for _, path := range paths {
			lk, err := l.LockOf(ctx, path)
			switch {
			case errors.Is(err, target.ErrNotFound):
			case err != nil:
				errs = append(errs, err.Error())
			case lk.Locked(now) && lk.Until.After(until):
				until = lk.Until
			}
		}
		switch {
		case len(errs) > 0:
			d.Keep, d.Reasons = true, append(append([]string(nil), d.Reasons...), "lock unknown: "+strings.Join(errs, "; "))
		case !until.IsZero():
			d.Keep, d.Reasons = true, append(append([]string(nil), d.Reasons...), LockedReason+" "+until.UTC().Format(time.RFC3339))
		default:
			continue
		}
		out.Decisions[i] = d
	}
	return out
}

// LockResult is what ExtendLocks did to one kept archive's lock.
type LockResult struct {
	// Lock is the archive object's lock after the run (what it would be,
	// for a dry run).
	Lock target.Lock
	// Extended is set when the lock was (or, dry, would be) moved later.
	Extended bool
	Err      error
}

// ExtendLocks makes each archive p keeps for a retention tier locked (the
// object and its manifest) until the earliest time that tier could let it
// go (Release). Locks already reaching that far are left alone; nothing is
// changed with dryRun. The results are by object path; archives without a
// tier (kept only as the newest, by keep_last or as incomplete) have their
// lock read but not extended.
func ExtendLocks(ctx context.Context, l Locker, p DatabasePlan, policy retention.Policy, dryRun bool) map[string]LockResult {
	if !l.Locking() {
		return nil
	}
	out := map[string]LockResult{}
	for _, d := range p.Kept() {
		obj := d.Entry.Name.Object()
		cur, err := l.LockOf(ctx, obj)
		if err != nil {
			if !errors.Is(err, target.ErrNotFound) {
				out[obj] = LockResult{Err: err}
			}
			continue
		}
		res := LockResult{Lock: cur}
		want := Release(d.Entry.Name.Time, d.Reasons, policy)
		if want.IsZero() || !cur.Until.Before(want) {
			out[obj] = res
			continue
		}
		res.Extended = true
		if dryRun {
			res.Lock.Until = want
			out[obj] = res
			continue
		}
		paths := []string{obj}
		if d.Entry.Complete {
			paths = append(paths, d.Entry.Name.Manifest())
		}
		for _, path := range paths {
			lk, err := l.ExtendLock(ctx, path, want)
			if err != nil {
				res.Err = errors.Join(res.Err, err)
				continue
			}
			if path == obj {
				res.Lock = lk
			}
		}
		out[obj] = res
	}
	return out
}

// Release is the earliest time the retention tiers named in reasons
// (as retention.Plan words them: "weekly 2026-W47", "monthly 2026-11")
// could let go of an archive made at t, under policy: the start of the
// period policy's count of periods after t's own, since only an archive
// made in that period can push t's period out of the count. Kept by
// several tiers, it goes when the last of them lets go: the latest date.
// Zero when no tier with a period keeps it (keep_last, the newest
// complete archive: those depend on pushes to come, not on the calendar).
func Release(t time.Time, reasons []string, policy retention.Policy) time.Time {
	var latest time.Time
	for _, r := range reasons {
		tier, _, _ := strings.Cut(r, " ")
		var at time.Time
		if n := tierCount(tier, policy); n > 0 {
			at = periodAfter(tier, t.UTC(), n)
		}
		if at.After(latest) {
			latest = at
		}
	}
	return latest
}

func tierCount(tier string, p retention.Policy) int {
	switch tier {
	case "hourly":
		return p.Hourly
	case "daily":
		return p.Daily
	case "weekly":
		return p.Weekly
	case "monthly":
		return p.Monthly
	case "yearly":
		return p.Yearly
	}
	return 0
}

// periodAfter is the start of the n-th period of kind tier after the one
// holding t (UTC; ISO weeks start on Monday).
func periodAfter(tier string, t time.Time, n int) time.Time {
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch tier {
	case "hourly":
		return t.Truncate(time.Hour).Add(time.Duration(n) * time.Hour)
	case "daily":
		return day.AddDate(0, 0, n)
	case "weekly":
		monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		return monday.AddDate(0, 0, 7*n)
	case "monthly":
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, n, 0)
	case "yearly":
		return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC).AddDate(n, 0, 0)
	}
	panic(fmt.Sprintf("prune: unknown tier %q", tier))
}
