// Package prune applies the retention policy to what one target holds.
//
// Prune keeps no state of its own: each run starts from the target's
// listing (archive.List), so every target is judged on what it really
// holds, and a target that missed some pushes keeps more of its older
// archives rather than fewer. The steps are:
//
//	entries, err := archive.List(ctx, t, host, "")   // a failed listing: stop, delete nothing
//	plans := prune.Plan(entries, prune.Options{Policy: p, Now: now, Grace: g})
//	for _, p := range plans {                          // one per database, by name
//		outcomes := prune.Apply(ctx, t, p)             // deletes what p.ToDelete() lists
//	}
//
// Plan is pure: it turns each database's entries into retention.Plan's
// decisions (see package retention for the rules: GFS by the UTC time in
// each name, the newest complete archive always kept, incomplete archives
// left alone for a grace period and removed after it).
//
// Apply deletes each archive with archive.Delete: the manifest first, then
// the object. A delete cut short leaves an incomplete archive, which the
// next run removes as soon as it is older than the grace period; an archive
// is never left as a manifest pointing to nothing. Apply refuses, whatever
// the plan says, to delete a database's newest complete archive.
package prune

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/retention"
)

// Options is what Plan decides by.
type Options struct {
	// Policy is the [retention] policy.
	Policy retention.Policy
	// Now is the current time; archives dated later are kept.
	Now time.Time
	// Grace is how old an incomplete archive must be before it is
	// deleted; zero or less means retention.DefaultGrace.
	Grace time.Duration
}

// Decision is the fate of one archive in a listing.
type Decision struct {
	Entry archive.Entry
	// Keep is false for an archive to delete.
	Keep bool
	// Reasons names the rules that kept the archive ("daily 2026-11-20",
	// "newest complete"), or why it goes ("not kept by policy",
	// "incomplete, older than grace"). Never empty.
	Reasons []string
}

// DatabasePlan is the plan for one database's archives on one target.
type DatabasePlan struct {
	Database string
	// Decisions holds one decision per archive, newest first.
	Decisions []Decision
}

// Plan decides, per database, what to keep of entries, a listing of one
// host's archives on one target. The plans come sorted by database name.
func Plan(entries []archive.Entry, opts Options) []DatabasePlan {
	byDB := map[string][]archive.Entry{}
	for _, e := range entries {
		byDB[e.Name.Database] = append(byDB[e.Name.Database], e)
	}
	names := make([]string, 0, len(byDB))
	for db := range byDB {
		names = append(names, db)
	}
	sort.Strings(names)
	plans := make([]DatabasePlan, 0, len(names))
	for _, db := range names {
		plans = append(plans, planDatabase(db, byDB[db], opts))
	}
	return plans
}

func planDatabase(db string, entries []archive.Entry, opts Options) DatabasePlan {
	byObject := make(map[string]archive.Entry, len(entries))
	archives := make([]retention.Archive, 0, len(entries))
	for _, e := range entries {
		key := e.Name.Object()
		byObject[key] = e
		archives = append(archives, retention.Archive{Name: key, Time: e.Name.Time, Complete: e.Complete})
	}
	p := DatabasePlan{Database: db}
	for _, d := range retention.Plan(archives, opts.Policy, opts.Now, opts.Grace) {
		p.Decisions = append(p.Decisions, Decision{Entry: byObject[d.Archive.Name], Keep: d.Keep, Reasons: d.Reasons})
	}
	return p
}

// Kept returns the decisions that keep their archive.
func (p DatabasePlan) Kept() []Decision { return p.filter(true) }

// ToDelete returns the decisions that delete their archive.
func (p DatabasePlan) ToDelete() []Decision { return p.filter(false) }

func (p DatabasePlan) filter(keep bool) []Decision {
	var out []Decision
	for _, d := range p.Decisions {
		if d.Keep == keep {
			out = append(out, d)
		}
	}
	return out
}

// newestComplete returns the newest complete archive in the plan, if any.
func (p DatabasePlan) newestComplete() (archive.Entry, bool) {
	var best archive.Entry
	found := false
	for _, d := range p.Decisions {
		if d.Entry.Complete && (!found || d.Entry.Name.Time.After(best.Name.Time)) {
			best, found = d.Entry, true
		}
	}
	return best, found
}

// Outcome is what became of one archive Apply set out to delete.
type Outcome struct {
	Decision
	// Err is nil when the archive is gone. It wraps
	// archive.ErrPartialDelete when only the manifest went: the object is
	// left as an incomplete archive for the next run.
	Err error
}

// ErrNewest is wrapped by an Outcome's error when a plan would delete the
// newest complete archive of its database; Apply never does.
var ErrNewest = errors.New("refusing to delete the newest complete archive")

// Apply deletes the archives p does not keep from d, one at a time, newest
// first, and returns one Outcome per archive it tried. It carries on after
// a failed delete, but stops once ctx is done: the archives not yet tried
// have an Outcome holding ctx's error.
func Apply(ctx context.Context, d archive.Deleter, p DatabasePlan) []Outcome {
	newest, hasNewest := p.newestComplete()
	var out []Outcome
	for _, dec := range p.ToDelete() {
		var err error
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("delete %s: %w", dec.Entry.Name.Object(), ctx.Err())
		case hasNewest && dec.Entry.Complete && dec.Entry.Name == newest.Name:
			// retention.Plan never asks for this; should it ever, the
			// contract wins over the plan.
			err = fmt.Errorf("delete %s: %w", dec.Entry.Name.Object(), ErrNewest)
		default:
			err = archive.Delete(ctx, d, dec.Entry)
		}
		out = append(out, Outcome{Decision: dec, Err: err})
	}
	return out
}
