package prune

import (
	"context"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/retention"
	"github.com/pgarchive/pgarchive/internal/target"
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

// fakeLocker holds locks by path and records extensions.
type fakeLocker struct {
	locks    map[string]target.Lock
	extended []string
}

func (f *fakeLocker) Locking() bool { return true }

func (f *fakeLocker) LockOf(_ context.Context, path string) (target.Lock, error) {
	l, ok := f.locks[path]
	if !ok {
		return target.Lock{}, target.ErrNotFound
	}
	return l, nil
}

func (f *fakeLocker) ExtendLock(_ context.Context, path string, until time.Time) (target.Lock, error) {
	l := f.locks[path]
	if l.Until.Before(until) {
		l.Until = until
		f.extended = append(f.extended, path)
	}
	f.locks[path] = l
	return l, nil
}

// TestHoldLockedAndExtend: a delete whose object or manifest is locked
// becomes a keep; an expired lock deletes; a weekly keep is extended, a
// keep_last one is not; a dry run changes nothing.
func TestHoldLockedAndExtend(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	gov := func(until time.Time) target.Lock { return target.Lock{Mode: "GOVERNANCE", Until: until} }
	tomorrow, yesterday := now.Add(24*time.Hour), now.Add(-24*time.Hour)
	locked := entry(t, "shop", "20261110T020000Z")       // object locked
	manifestOnly := entry(t, "shop", "20261111T020000Z") // only its manifest still locked
	expired := entry(t, "shop", "20261112T020000Z")
	weekly := entry(t, "shop", "20261124T020000Z")
	newest := entry(t, "shop", "20261201T020000Z")
	f := &fakeLocker{locks: map[string]target.Lock{}}
	for _, e := range []archive.Entry{locked, manifestOnly, expired, weekly, newest} {
		f.locks[e.Name.Object()], f.locks[e.Name.Manifest()] = gov(tomorrow), gov(tomorrow)
	}
	f.locks[manifestOnly.Name.Object()] = gov(yesterday)
	f.locks[expired.Name.Object()], f.locks[expired.Name.Manifest()] = gov(yesterday), gov(yesterday)

	policy := retention.Policy{KeepLast: 1, Weekly: 2}
	plans := Plan([]archive.Entry{locked, manifestOnly, expired, weekly, newest}, Options{Policy: policy, Now: now})
	p := HoldLocked(context.Background(), f, plans[0], now)
	got := map[string]Decision{}
	for _, d := range p.Decisions {
		got[d.Entry.Name.Stamp()] = d
	}
	for _, stamp := range []string{"20261110T020000Z", "20261111T020000Z"} {
		d := got[stamp]
		if !d.Keep || d.Reasons[len(d.Reasons)-1] != LockedReason+" "+tomorrow.Format(time.RFC3339) {
			t.Errorf("%s: %+v, want kept as locked until %s", stamp, d, tomorrow.Format(time.RFC3339))
		}
	}
	if d := got["20261112T020000Z"]; d.Keep {
		t.Errorf("expired lock kept: %+v", d)
	}
	if len(p.ToDelete()) != 1 || len(plans[0].ToDelete()) != 3 {
		t.Errorf("HoldLocked: %d to delete (plan had %d), want 1 (and the plan untouched)", len(p.ToDelete()), len(plans[0].ToDelete()))
	}

	if res := ExtendLocks(context.Background(), f, p, policy, true); len(f.extended) != 0 || !res[weekly.Name.Object()].Extended {
		t.Errorf("dry run: extended %v, results %+v", f.extended, res)
	}
	res := ExtendLocks(context.Background(), f, p, policy, false)
	// Week 2026-W48 starts on Monday 23 November; with weekly = 2 it is
	// let go at the earliest on Monday 7 December.
	want := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for _, path := range []string{weekly.Name.Object(), weekly.Name.Manifest()} {
		if !f.locks[path].Until.Equal(want) {
			t.Errorf("%s locked until %s, want %s", path, f.locks[path].Until, want)
		}
	}
	if r := res[weekly.Name.Object()]; !r.Extended || !r.Lock.Until.Equal(want) || r.Err != nil {
		t.Errorf("weekly result %+v", r)
	}
	// The newest is weekly 2026-W49 too: Monday 14 December.
	if got := f.locks[newest.Name.Object()].Until; !got.Equal(want.AddDate(0, 0, 7)) {
		t.Errorf("newest locked until %s", got)
	}
	if r := res[locked.Name.Object()]; r.Extended {
		t.Errorf("an archive kept only for its lock was extended: %+v", r)
	}
}
