package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/human"
	"github.com/pgarchive/pgarchive/internal/job"
	"github.com/pgarchive/pgarchive/internal/prune"
	"github.com/pgarchive/pgarchive/internal/retention"
	"github.com/pgarchive/pgarchive/internal/target"
)

type pruneOptions struct {
	cfg      *config.Config
	host     string
	database string
	target   string
	dryRun   bool
	json     bool
	now      time.Time
	out      io.Writer
}

func newPruneCommand() *cli.Command {
	return &cli.Command{
		Name:      "prune",
		Usage:     "delete the archives the [retention] policy does not keep",
		ArgsUsage: " ",
		Description: `Applies the [retention] policy (keep_last, hourly, daily, weekly, monthly,
yearly; GFS by the UTC time in each archive's name) to every database of the
host on every target, each judged on that target's own listing: no local
state. A target that cannot be listed is left alone entirely.

Whatever the policy, a database's newest complete archive is kept, and so are
archives dated in the future. An incomplete archive (an object without its
manifest) is deleted once it is older than retention.incomplete_grace
(default 24h): younger, its upload may still be running.

On a target with object_lock, an archive still locked is kept ("locked until
…") and deleted by a later run once its lock is over; an archive kept for a
weekly, monthly or yearly slot has its lock (object and manifest) extended
to the earliest date that slot could let it go. Deleting there removes every
version, so the archive is gone rather than hidden behind a delete marker.

An archive goes manifest first, then object: a delete cut short leaves an
incomplete archive, reported now and removed by a later run.

One row per archive (database, target, time, size, status, action, why;
sorted by database, target, then time, newest first): keep or delete and
the rule behind it ("daily
2026-11-20", "newest complete", "not kept by policy"). --dry-run deletes
nothing; it is the only form allowed where the config says
prune_on_host = false (append-only setups, where prune runs elsewhere with
credentials that may delete; --host names the host whose archives to prune).

` + exitStatusHelp + `
   A target that cannot be listed, or an archive that cannot be deleted, is
   named in the error and makes the exit 1; the other targets are pruned.`,
		Flags: append(selectionFlags(),
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print the plan, delete nothing"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON, one object (docs/json.md)"},
		),
		Action: func(c *cli.Context) error {
			cfg, now, err := loadConfigAndClock(c)
			if err != nil {
				return err
			}
			return runPrune(c.Context, pruneOptions{
				cfg: cfg, host: c.String("host"), database: c.String("database"), target: c.String("target"),
				dryRun: c.Bool("dry-run"), json: c.Bool("json"), now: now, out: c.App.Writer,
			})
		},
	}
}

// pruneRow is one archive's line in prune's output.
type pruneRow struct {
	archiveRef
	Status string `json:"status"` // complete or incomplete
	// Action is keep or delete (--dry-run), else keep, deleted or failed.
	Action  string   `json:"action"`
	Reasons []string `json:"reasons"`
	Error   string   `json:"error"` // "" unless failed
	// Lock is a kept archive's object lock after the run, on targets
	// with object_lock; LockExtended says prune moved it later (or, dry,
	// would).
	Lock         *target.Lock `json:"lock,omitempty"`
	LockExtended bool         `json:"lock_extended,omitempty"`
}

// pruneJSON is prune --json.
type pruneJSON struct {
	Schema     int                `json:"schema"`
	Host       string             `json:"host"`
	DryRun     bool               `json:"dry_run"`
	Archives   []pruneRow         `json:"archives"`
	Unreadable []unreadableTarget `json:"unreadable"`
}

func runPrune(ctx context.Context, opts pruneOptions) error {
	cfg := opts.cfg
	if err := checkSelection(cfg, opts.target, opts.database); err != nil {
		return err
	}
	if cfg.Retention.Policy == (retention.Policy{}) {
		return hintError{&config.Error{Key: "retention", Msg: "no retention policy: prune would keep only the newest archive of each database"},
			"set keep_last, hourly, daily, weekly, monthly or yearly, e.g. daily = 7, weekly = 4, monthly = 6"}
	}
	if !cfg.PruneAllowed() && !opts.dryRun {
		return hintError{usagef("prune_on_host = false: this host does not delete archives; prune runs elsewhere, with credentials that may delete"),
			"--dry-run shows what prune would delete; on the pruning machine, --host names this host"}
	}
	host := resolveHost(cfg, opts.host)
	popts := prune.Options{Policy: cfg.Retention.Policy, Now: opts.now, Grace: cfg.Retention.IncompleteGrace.Duration}
	listings, opened := listTargets(ctx, cfg, opts.target, host, opts.database)
	defer opened.Close()

	var rows []pruneRow
	var failures []string
	for _, l := range listings {
		if l.err != nil {
			failures = append(failures, fmt.Sprintf("%v: nothing deleted there", l.err))
			logger().Warn("prune: target not listed, nothing deleted there", "target", l.name, "error", l.err.Error())
		}
	}
	for _, db := range databasesIn(listings, opts.database) {
		var run *job.Run
		if !opts.dryRun {
			// A dry run is no prune: it must not tell monitoring one ran.
			run = job.Start(ctx, cfg, "prune", db)
		}
		rep := job.Report{Database: db}
		for _, l := range listings {
			tr := job.TargetReport{Target: l.name}
			if l.err != nil {
				tr.Failed, tr.Err = 1, l.err
				rep.Targets = append(rep.Targets, tr)
				continue
			}
			entries, err := prune.NewestGood(ctx, prune.FromTarget(l.target), l.entriesOf(db))
			if err != nil {
				tr.Failed, tr.Err = 1, err
				failures = append(failures, fmt.Sprintf("%s on %s: %v: nothing deleted there", db, l.name, err))
				rep.Targets = append(rep.Targets, tr)
				continue
			}
			for _, p := range prune.Plan(entries, popts) {
				// Locks are the store's, judged by its clock, not the test clock.
				p = prune.HoldLocked(ctx, l.target, p, time.Now())
				locks := prune.ExtendLocks(ctx, l.target, p, cfg.Retention.Policy, opts.dryRun)
				rs, errs := prunePlan(ctx, l, p, opts.dryRun, &tr)
				rs, errs = withLocks(l.name, rs, errs, locks)
				rows = append(rows, rs...)
				failures = append(failures, errs...)
			}
			rep.Targets = append(rep.Targets, tr)
		}
		if run != nil {
			for _, tr := range rep.Targets {
				if tr.Err != nil {
					rep.Err = errors.Join(rep.Err, tr.Err)
				}
			}
			run.Finish(rep)
		}
	}
	if err := printPrune(opts, host, rows, unreadableOf(listings)); err != nil {
		return err
	}
	if len(failures) > 0 {
		return fmt.Errorf("prune: %s", joinLines(failures))
	}
	return nil
}

// prunePlan carries out (or with dryRun only reports) one database's plan
// on one target, counting into tr, and returns its rows and failures.
func prunePlan(ctx context.Context, l targetListing, p prune.DatabasePlan, dryRun bool, tr *job.TargetReport) ([]pruneRow, []string) {
	row := func(d prune.Decision, action string) pruneRow {
		return pruneRow{
			archiveRef: refOf(l.name, d.Entry.Name, d.Entry.Size),
			Status:     entryStatus(d.Entry), Action: action, Reasons: nonNil(d.Reasons),
		}
	}
	var rows []pruneRow
	tr.Kept = len(p.Kept())
	if dryRun {
		for _, d := range p.Decisions {
			action := "delete"
			if d.Keep {
				action = "keep"
			}
			rows = append(rows, row(d, action))
		}
		return rows, nil
	}
	outcomes := map[string]prune.Outcome{}
	for _, o := range prune.Apply(ctx, l.target, p) {
		outcomes[o.Entry.Name.Object()] = o
	}
	var failures []string
	var errs []error
	for _, d := range p.Decisions { // newest first, as planned
		if d.Keep {
			rows = append(rows, row(d, "keep"))
			continue
		}
		o := outcomes[d.Entry.Name.Object()]
		r := row(d, "deleted")
		if o.Err != nil {
			// Still there (without its manifest, after a partial
			// delete): a later run tries again.
			r.Action, r.Error = "failed", o.Err.Error()
			tr.Kept++
			failures = append(failures, o.Err.Error())
			errs = append(errs, o.Err)
			logger().Warn("prune: delete failed", "database", p.Database, "target", l.name, "object", d.Entry.Name.Object(), "error", o.Err.Error())
		} else {
			tr.Deleted++
			tr.Bytes += d.Entry.Size
			logger().Info("pruned", "database", p.Database, "target", l.name, "object", d.Entry.Name.Object(), "reason", strings.Join(d.Reasons, ", "))
		}
		rows = append(rows, r)
	}
	if len(errs) > 0 {
		tr.Failed, tr.Err = 1, errors.Join(errs...)
	}
	return rows, failures
}

func printPrune(opts pruneOptions, host string, rows []pruneRow, bad []unreadableTarget) error {
	sortRows(rows, func(r pruneRow) rowKey { return rowKey{"", r.Database, r.Target, r.Time} })
	if opts.json {
		return writeJSON(opts.out, pruneJSON{Schema: jsonSchema, Host: host, DryRun: opts.dryRun, Archives: nonNil(rows), Unreadable: bad})
	}
	tw := tabwriter.NewWriter(opts.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATABASE\tTARGET\tTIME\tSIZE\tSTATUS\tACTION\tWHY")
	for _, r := range rows {
		why := strings.Join(r.Reasons, ", ")
		switch {
		case r.LockExtended && r.Lock != nil && opts.dryRun:
			why += ", lock would be extended to " + human.Time(r.Lock.Until)
		case r.LockExtended && r.Lock != nil:
			why += ", lock extended to " + human.Time(r.Lock.Until)
		}
		if r.Error != "" {
			why += ": " + r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Database, r.Target, human.Time(r.Time), human.Bytes(r.Size), r.Status, r.Action, why)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if opts.dryRun {
		_, err := fmt.Fprintln(opts.out, "dry run: nothing was deleted")
		return err
	}
	return nil
}
