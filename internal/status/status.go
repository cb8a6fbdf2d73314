// Package status judges whether every database's backups are fresh on
// every target, from what the targets hold.
//
// For each database found on any target, Compute takes the newest
// complete archive on each target and warns when
//
//   - a target lags: its newest archive is older than another target's
//     newest, or it has none while another has one (a push that failed
//     there, or a target added later and never filled);
//   - a target's newest archive is older than the allowed age (pushes
//     stopped, or every recent push failed there);
//   - a target could not be listed at all;
//   - a target holds an archive stamped more than archive.FutureTolerance
//     after now (a host clock that was wrong when it pushed);
//   - a target holds a manifest whose object is gone.
//
// Incomplete archives (no manifest) never count: a push that died midway
// leaves the target lagging, which is the truth. Neither do archives stamped
// in the future: one push from a clock running a year ahead would otherwise
// be "newest" for a year and hide every push after it. The judgement is
// pure: the caller lists the targets and passes the time, so tests can move
// the clock.
package status

import (
	"fmt"
	"sort"
	"time"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/human"
	"github.com/pgarchive/pgarchive/internal/target"
)

// Listing is what one target holds, or why it could not be listed.
type Listing struct {
	Target  string
	Entries []archive.Entry
	Err     error
}

// Report is the judgement over all databases and targets.
type Report struct {
	Host string `json:"host"`
	// Time is when the judgement was made.
	Time time.Time `json:"time"`
	// MaxAge is [status] max_age; MaxAgeSeconds says it in --json.
	MaxAge        time.Duration `json:"-"`
	MaxAgeSeconds float64       `json:"max_age_seconds"`
	Databases     []Database    `json:"databases"`
	// Warnings are every warning of every database, plus targets that
	// could not be listed and a host with no archive at all.
	Warnings []string `json:"warnings"`
}

// OK reports whether there is nothing to warn about.
func (r *Report) OK() bool { return len(r.Warnings) == 0 }

// Database is one database across all targets.
type Database struct {
	Database string   `json:"database"`
	Targets  []Target `json:"targets"`
}

// Target is the newest complete archive of one database on one target.
type Target struct {
	Target string `json:"target"`
	// Newest is the time of the newest complete archive that is not
	// stamped in the future; nil if none.
	Newest *time.Time `json:"time"`
	Object string     `json:"object,omitempty"`
	// AgeSeconds is how old Newest is at the report's time.
	AgeSeconds float64 `json:"age_seconds,omitempty"`
	// Unreadable is set when the target could not be listed.
	Unreadable bool `json:"unreadable,omitempty"`
	// Future lists the complete archives stamped beyond
	// archive.FutureTolerance after the report's time: left out of Newest.
	Future []string `json:"future"`
	// Missing lists the manifests whose object is gone, by object.
	Missing  []string `json:"missing"`
	Warnings []string `json:"warnings"`
	// Lock is the object lock of the newest archive, on a target with
	// object_lock (filled in by the caller, which reads the target).
	Lock *target.Lock `json:"lock,omitempty"`
}

// Age is how old the newest archive is, or 0 without one.
func (t Target) Age() time.Duration { return time.Duration(t.AgeSeconds * float64(time.Second)) }

// Compute judges the listings of host at now. Targets appear in the order
// of listings; databases by name.
func Compute(host string, listings []Listing, now time.Time, maxAge time.Duration) *Report {
	rep := &Report{Host: host, Time: now.UTC(), MaxAge: maxAge, MaxAgeSeconds: maxAge.Seconds(), Databases: []Database{}, Warnings: []string{}}
	held := map[string]map[string]*holding{} // database -> target -> what it holds
	for _, l := range listings {
		if l.Err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("target %s could not be listed: %v", l.Target, l.Err))
			continue
		}
		for _, e := range l.Entries {
			db := e.Name.Database
			if held[db] == nil {
				held[db] = map[string]*holding{}
			}
			h := held[db][l.Target]
			if h == nil {
				h = &holding{}
				held[db][l.Target] = h
			}
			h.add(e, now)
		}
	}
	dbs := make([]string, 0, len(held))
	for db := range held {
		dbs = append(dbs, db)
	}
	sort.Strings(dbs)
	for _, db := range dbs {
		d := judge(db, held[db], listings, now, maxAge)
		for _, t := range d.Targets {
			if t.Unreadable {
				continue // already said once for the whole target
			}
			for _, w := range t.Warnings {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s on %s: %s", db, t.Target, w))
			}
		}
		rep.Databases = append(rep.Databases, d)
	}
	if len(dbs) == 0 && len(rep.Warnings) == 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("no archive of host %q on any target", host))
	}
	return rep
}

// holding is what one target holds of one database.
type holding struct {
	newest    archive.Entry // the newest complete archive not in the future
	hasNewest bool
	future    []archive.Entry // complete, stamped beyond the tolerance
	missing   []archive.Entry // manifests whose object is gone
}

func (h *holding) add(e archive.Entry, now time.Time) {
	switch {
	case e.Missing:
		h.missing = append(h.missing, e)
	case !e.Complete:
	case e.InFuture(now):
		h.future = append(h.future, e)
	case !h.hasNewest || e.Name.Time.After(h.newest.Name.Time):
		h.newest, h.hasNewest = e, true
	}
}

func judge(db string, held map[string]*holding, listings []Listing, now time.Time, maxAge time.Duration) Database {
	var best archive.Entry
	bestTarget := ""
	for _, l := range listings {
		if h := held[l.Target]; h != nil && h.hasNewest && (bestTarget == "" || h.newest.Name.Time.After(best.Name.Time)) {
			best, bestTarget = h.newest, l.Target
		}
	}
	d := Database{Database: db}
	for _, l := range listings {
		t := Target{Target: l.Target, Future: []string{}, Missing: []string{}, Warnings: []string{}}
		if l.Err != nil {
			t.Unreadable = true
			t.Warnings = append(t.Warnings, "could not be listed")
			d.Targets = append(d.Targets, t)
			continue
		}
		h := held[l.Target]
		if h == nil {
			h = &holding{}
		}
		switch {
		case !h.hasNewest && bestTarget != "":
			t.Warnings = append(t.Warnings, fmt.Sprintf("no complete archive; %s has one from %s", bestTarget, human.Time(best.Name.Time)))
		case !h.hasNewest:
			t.Warnings = append(t.Warnings, "no complete archive")
		default:
			e := h.newest
			tm := e.Name.Time
			t.Newest = &tm
			t.Object = e.Name.Object()
			t.AgeSeconds = now.Sub(tm).Seconds()
			if tm.Before(best.Name.Time) {
				t.Warnings = append(t.Warnings, fmt.Sprintf("lags %s: newest is %s, %s has %s", bestTarget, human.Time(e.Name.Time), bestTarget, human.Time(best.Name.Time)))
			}
			if age := now.Sub(tm); maxAge > 0 && age > maxAge {
				t.Warnings = append(t.Warnings, fmt.Sprintf("newest archive is %s old, more than max_age %s", human.Duration(age), human.Duration(maxAge)))
			}
		}
		for _, e := range h.future {
			t.Future = append(t.Future, e.Name.Object())
		}
		for _, e := range h.missing {
			t.Missing = append(t.Missing, e.Name.Object())
		}
		if n := len(h.future); n > 0 {
			last := h.future[0]
			for _, e := range h.future {
				if e.Name.Time.After(last.Name.Time) {
					last = e
				}
			}
			what := fmt.Sprintf("archive %s is", human.Time(last.Name.Time))
			if n > 1 {
				what = fmt.Sprintf("%d archives up to %s are", n, human.Time(last.Name.Time))
			}
			t.Warnings = append(t.Warnings, fmt.Sprintf("%s stamped in the future (%s ahead; was a host clock wrong?), not counted as newest",
				what, human.Duration(last.Name.Time.Sub(now))))
		}
		for _, e := range h.missing {
			t.Warnings = append(t.Warnings, fmt.Sprintf("archive %s: manifest without object (%s is gone)", human.Time(e.Name.Time), e.Name.File()))
		}
		d.Targets = append(d.Targets, t)
	}
	return d
}
