package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/human"
	"github.com/pgarchive/pgarchive/internal/job"
)

type listOptions struct {
	cfg      *config.Config
	host     string
	database string
	target   string
	json     bool
	out      io.Writer
}

func newListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list archives on every target",
		ArgsUsage: " ",
		Description: `Prints one row per archive per target: database, time, size, target, and
its status:

  complete    the object and its manifest exist
  incomplete  no manifest: an upload that died or is still running;
              restore and retention ignore it, prune removes it later
  missing: manifest without object
              the object is gone (deleted by hand, lost by the target) but
              its manifest is still there: nothing to restore; verify
              counts it as bad and status warns

  deleted     on a target with object_lock: hidden behind a delete
              marker, its locked version still there; --as-of a time
              before the delete shows it (and restore --as-of restores it)

Without --host, when the config's host (the machine's name, on a laptop)
has no archive there, every host's archives are listed, with a HOST column.
--remote REMOTE lists one store with no config file (see restore --help).

--json prints the same as one array; each object has "host", "status" (complete,
incomplete, missing or deleted), "complete" and "missing", and on a target
with object_lock "lock" (mode, until), and for a deleted one "deleted" and
"recoverable_until". --as-of TIME lists s3 targets as they were then.

` + exitStatusHelp + `
   A target that cannot be listed is named on stderr and makes the exit 1;
   the other targets are still listed.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "database", Aliases: []string{"d"}, Usage: "only this database `NAME`"},
			&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "only this target `NAME`"},
			&cli.StringFlag{Name: "host", Usage: "archives of this `HOST` (default: the config's host; every host when that one has none there)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON, one array of objects"},
			asOfFlag(),
		}, remoteFlags()...),
		Action: func(c *cli.Context) error {
			cfg, err := loadReaderConfig(c)
			if err != nil {
				return err
			}
			ctx, err := asOfContext(c)
			if err != nil {
				return err
			}
			return runList(ctx, listOptions{
				cfg: cfg, host: c.String("host"), database: c.String("database"),
				target: c.String("target"), json: c.Bool("json"), out: c.App.Writer,
			})
		},
	}
}

type listRow struct {
	Host     string    `json:"host"`
	Database string    `json:"database"`
	Time     time.Time `json:"time"`
	Size     int64     `json:"size"`
	Target   string    `json:"target"`
	Complete bool      `json:"complete"`
	// Missing is set for a manifest whose object is gone.
	Missing bool   `json:"missing"`
	Status  string `json:"status"` // complete, incomplete, missing or deleted
	Object  string `json:"object"`
	// Lock, Deleted, RecoverableUntil: see lockview.go.
	Lock             *objectLock `json:"lock,omitempty"`
	Deleted          *time.Time  `json:"deleted,omitempty"`
	RecoverableUntil *time.Time  `json:"recoverable_until,omitempty"`
}

// entryStatus is a row's status as --json has it.
func entryStatus(e archive.Entry) string {
	switch {
	case e.Missing:
		return "missing"
	case e.Complete:
		return "complete"
	}
	return "incomplete"
}

func runList(ctx context.Context, opts listOptions) error {
	if err := selectTarget(opts.cfg, opts.target); err != nil {
		return err
	}
	if opts.database != "" {
		if err := archive.CheckDatabaseName(opts.database); err != nil {
			return usageError{err}
		}
	}
	host := opts.host
	if host == "" {
		host = opts.cfg.Host
	}
	ts := job.OpenTargets(ctx, opts.cfg, opts.target)
	defer ts.Close()
	rows, errs := listRows(ctx, ts, host, opts.database)
	allHosts := false
	if opts.host == "" && len(rows) == 0 && len(errs) == 0 {
		// A laptop, or a new host name: what is there is what the
		// operator is looking for.
		allHosts = true
		rows, errs = listRows(ctx, ts, "", opts.database)
		if len(rows) > 0 {
			logger().Info(fmt.Sprintf("host %q has no archives there; listing every host (pick one with --host)", host))
		}
	}
	if opts.json {
		enc := json.NewEncoder(opts.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(opts.out, 0, 4, 2, ' ', 0)
		if allHosts {
			fmt.Fprint(tw, "HOST\t")
		}
		fmt.Fprintln(tw, "DATABASE\tTIME\tSIZE\tTARGET\tSTATUS")
		for _, r := range rows {
			status, size := r.Status, human.Bytes(r.Size)
			if r.Missing {
				status, size = "missing: manifest without object", "-"
			}
			if r.Status == "deleted" {
				status = deletedStatus(r)
			}
			if allHosts {
				fmt.Fprintf(tw, "%s\t", r.Host)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Database, r.Time.Format(archive.TimeLayout), size, r.Target, status)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("list: %s", joinLines(errs))
	}
	return nil
}

// listRows lists host's archives (every host's for "") of database on
// the opened targets; errs names the targets that failed.
func listRows(ctx context.Context, ts *job.Targets, host, database string) (rows []listRow, errs []string) {
	rows = []listRow{}
	for _, f := range ts.Failed {
		errs = append(errs, fmt.Sprintf("target %s: %v", f.Target, f.Err))
	}
	for _, t := range ts.Open {
		entries, err := archive.List(ctx, t, host, database)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for _, e := range entries {
			rows = append(rows, listRow{
				Host: e.Name.Host, Database: e.Name.Database, Time: e.Name.Time, Size: e.Size,
				Target: e.Target, Complete: e.Complete, Missing: e.Missing, Status: entryStatus(e), Object: e.Name.Object(),
			})
		}
		if rows, err = lockRows(ctx, t, host, database, entries, rows); err != nil {
			errs = append(errs, err.Error())
		}
	}
	return rows, errs
}
