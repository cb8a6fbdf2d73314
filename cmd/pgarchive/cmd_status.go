package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/human"
	"github.com/pgarchive/pgarchive/internal/job"
	"github.com/pgarchive/pgarchive/internal/status"
)

type statusOptions struct {
	cfg      *config.Config
	host     string
	allHosts bool
	textfile string // --metrics-textfile, with --all-hosts
	json     bool
	out      io.Writer
}

func newStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show whether every database has a fresh archive on every target",
		ArgsUsage: " ",
		Description: `For every database with archives on any target, shows the newest complete
archive on each target, its time (UTC) and age ("2 min ago"), one row per
database and target, sorted by database then target, and warns where a target lags the others
(its newest archive is older than another target's newest, or it has none)
or where the newest archive is older than [status] max_age (default 25h).

An archive stamped more than 5 minutes after now (pushed while the host's
clock was ahead) is never taken as the newest, and status warns about it,
naming the database, target and stamp: restore --at latest and drill pass
it over too; restore --at STAMP still restores it. A manifest whose object
is gone (deleted by hand, lost by the target) is warned about as well.

--all-hosts judges every host the targets hold, from the store's side: a
monitoring machine runs status --remote REMOTE --all-hosts with no config,
and a host that died silently shows as stale there. --metrics-textfile FILE
then writes, for node_exporter's textfile collector,
pgarchive_store_newest_timestamp_seconds and pgarchive_store_ok labelled
host, database and target.

` + exitStatusHelp + `
   Any warning, or a target that cannot be listed, makes the exit 1, so
   status can gate a script: pgarchive status && upgrade-the-database. A
   future stamp or a missing object is a warning: the archives are not
   what their names or manifests claim, which someone has to look at.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "host", Usage: "archives of this `HOST` (default: the config's host)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON, one object (docs/json.md; with --all-hosts, one per host under \"hosts\")"},
			&cli.BoolFlag{Name: "all-hosts", Usage: "judge every host the targets hold"},
			&cli.StringFlag{Name: "metrics-textfile", Usage: "with --all-hosts, write the store's state to `FILE` for node_exporter"},
		}, remoteFlags()...),
		Action: func(c *cli.Context) error {
			cfg, err := loadReaderConfig(c)
			if err != nil {
				return err
			}
			opts := statusOptions{cfg: cfg, host: c.String("host"), allHosts: c.Bool("all-hosts"),
				textfile: c.String("metrics-textfile"), json: c.Bool("json"), out: c.App.Writer}
			if opts.allHosts {
				if opts.host != "" {
					return usagef("--all-hosts judges every host: it takes no --host")
				}
				return runFleetStatus(c.Context, opts)
			}
			if opts.textfile != "" {
				return usagef("--metrics-textfile goes with --all-hosts (a host's own jobs write [metrics] textfile)")
			}
			return runStatus(c.Context, opts)
		},
	}
}

func runStatus(ctx context.Context, opts statusOptions) error {
	now, err := clockNow()
	if err != nil {
		return err
	}
	host := opts.host
	if host == "" {
		host = opts.cfg.Host
	}
	ts := job.OpenTargets(ctx, opts.cfg, "")
	defer ts.Close()
	targets, failed := ts.Open, ts.Failed
	byName := map[string]status.Listing{}
	for _, f := range failed {
		byName[f.Target] = status.Listing{Target: f.Target, Err: f.Err}
	}
	for _, t := range targets {
		entries, err := archive.List(ctx, t, host, "")
		byName[t.Name] = status.Listing{Target: t.Name, Entries: entries, Err: err}
	}
	var listings []status.Listing
	for _, name := range opts.cfg.TargetNames() {
		listings = append(listings, byName[name])
	}
	rep := status.Compute(host, listings, now, opts.cfg.Status.MaxAge.Duration)
	lockStatus(ctx, rep, targets, host)
	if len(rep.Databases) == 0 && len(rep.Warnings) == 1 && len(failed) == 0 {
		// Nothing of this host: say which hosts there are instead.
		rep.Warnings[0] = nothingFound(host, "", hostsOn(ctx, targets))
	}

	if opts.json {
		if err := writeJSON(opts.out, statusJSON{Schema: jsonSchema, Report: rep, Unreadable: unreadableOfStatus(listings)}); err != nil {
			return err
		}
	} else if err := printStatus(opts.out, rep); err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("status: %s: %s", human.Plural(int64(len(rep.Warnings)), "warning"), joinLines(rep.Warnings))
	}
	return nil
}

// statusJSON is status --json: one host's judgement.
type statusJSON struct {
	Schema int `json:"schema"`
	*status.Report
	Unreadable []unreadableTarget `json:"unreadable"`
}

// fleetJSON is status --all-hosts --json: every host's judgement.
type fleetJSON struct {
	Schema     int                `json:"schema"`
	Time       time.Time          `json:"time"`
	Hosts      []*status.Report   `json:"hosts"`
	Warnings   []string           `json:"warnings"`
	Unreadable []unreadableTarget `json:"unreadable"`
}

// unreadableOfStatus returns the listings that failed, never nil.
func unreadableOfStatus(ls []status.Listing) []unreadableTarget {
	out := []unreadableTarget{}
	for _, l := range ls {
		if l.Err != nil {
			out = append(out, unreadableTarget{Target: l.Target, Error: l.Err.Error()})
		}
	}
	return out
}

// statusCells are the TIME, AGE and STATUS cells of a status row.
func statusCells(t status.Target, now time.Time) (newest, age, state string) {
	newest, age = "-", "-"
	if t.Newest != nil {
		newest = human.Time(*t.Newest)
		age = human.Ago(*t.Newest, now)
	}
	state = "ok"
	if len(t.Warnings) > 0 {
		state = "WARNING: " + strings.Join(t.Warnings, "; ")
	}
	return newest, age, state + lockNote(t)
}

func printStatus(w io.Writer, rep *status.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATABASE\tTARGET\tTIME\tAGE\tSTATUS")
	for _, d := range rep.Databases {
		for _, t := range sortedTargets(d.Targets) {
			newest, age, state := statusCells(t, rep.Time)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Database, t.Target, newest, age, state)
		}
	}
	return tw.Flush()
}

// runFleetStatus is status --all-hosts: every host on the targets, each
// judged as status judges one.
func runFleetStatus(ctx context.Context, opts statusOptions) error {
	now, err := clockNow()
	if err != nil {
		return err
	}
	ts := job.OpenTargets(ctx, opts.cfg, "")
	defer ts.Close()
	byName := map[string]status.Listing{}
	for _, f := range ts.Failed {
		byName[f.Target] = status.Listing{Target: f.Target, Err: f.Err}
	}
	for _, t := range ts.Open {
		entries, err := archive.List(ctx, t, "", "")
		byName[t.Name] = status.Listing{Target: t.Name, Entries: entries, Err: err}
	}
	var listings []status.Listing
	for _, name := range opts.cfg.TargetNames() {
		listings = append(listings, byName[name])
	}
	reps := status.Fleet(listings, now, opts.cfg.Status.MaxAge.Duration)
	var warnings []string
	for _, l := range listings {
		if l.Err != nil && len(reps) == 0 {
			warnings = append(warnings, fmt.Sprintf("target %s could not be listed: %v", l.Target, l.Err))
		}
	}
	if len(reps) == 0 && len(warnings) == 0 {
		warnings = append(warnings, nothingFound("", "", []string{}))
	}
	for _, r := range reps {
		for _, w := range r.Warnings {
			warnings = append(warnings, r.Host+": "+w)
		}
	}
	if opts.json {
		doc := fleetJSON{Schema: jsonSchema, Time: now.UTC(), Hosts: reps, Warnings: nonNil(warnings), Unreadable: unreadableOfStatus(listings)}
		if err := writeJSON(opts.out, doc); err != nil {
			return err
		}
	} else if err := printFleet(opts.out, reps); err != nil {
		return err
	}
	if opts.textfile != "" {
		if err := status.WriteTextfile(opts.textfile, reps, now); err != nil {
			return fmt.Errorf("status: write %s: %w", opts.textfile, err)
		}
	}
	if len(warnings) > 0 {
		return fmt.Errorf("status: %s: %s", human.Plural(int64(len(warnings)), "warning"), joinLines(warnings))
	}
	return nil
}

func printFleet(w io.Writer, reps []*status.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tDATABASE\tTARGET\tTIME\tAGE\tSTATUS")
	for _, r := range reps {
		for _, d := range r.Databases {
			for _, t := range sortedTargets(d.Targets) {
				newest, age, state := statusCells(t, r.Time)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Host, d.Database, t.Target, newest, age, state)
			}
		}
	}
	return tw.Flush()
}

// sortedTargets is ts in the order of every table: by target name.
func sortedTargets(ts []status.Target) []status.Target {
	out := slices.Clone(ts)
	slices.SortStableFunc(out, func(a, b status.Target) int { return strings.Compare(a.Target, b.Target) })
	return out
}
