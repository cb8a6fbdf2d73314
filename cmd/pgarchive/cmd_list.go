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

--json prints the same as one array; each object has "status" (complete,
incomplete or missing), "complete" and "missing".

` + exitStatusHelp + `
   A target that cannot be listed is named on stderr and makes the exit 1;
   the other targets are still listed.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "database", Aliases: []string{"d"}, Usage: "only this database `NAME`"},
			&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "only this target `NAME`"},
			&cli.StringFlag{Name: "host", Usage: "archives of this `HOST` (default: the config's host)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON, one array of objects"},
		},
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			return runList(c.Context, listOptions{
				cfg: cfg, host: c.String("host"), database: c.String("database"),
				target: c.String("target"), json: c.Bool("json"), out: c.App.Writer,
			})
		},
	}
}

type listRow struct {
	Database string    `json:"database"`
	Time     time.Time `json:"time"`
	Size     int64     `json:"size"`
	Target   string    `json:"target"`
	Complete bool      `json:"complete"`
	// Missing is set for a manifest whose object is gone.
	Missing bool   `json:"missing"`
	Status  string `json:"status"` // complete, incomplete or missing
	Object  string `json:"object"`
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
	targets, failed := ts.Open, ts.Failed
	rows := []listRow{}
	var errs []string
	for _, f := range failed {
		errs = append(errs, fmt.Sprintf("target %s: %v", f.Target, f.Err))
	}
	for _, t := range targets {
		entries, err := archive.List(ctx, t, host, opts.database)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for _, e := range entries {
			rows = append(rows, listRow{
				Database: e.Name.Database, Time: e.Name.Time, Size: e.Size,
				Target: e.Target, Complete: e.Complete, Missing: e.Missing, Status: entryStatus(e), Object: e.Name.Object(),
			})
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
		fmt.Fprintln(tw, "DATABASE\tTIME\tSIZE\tTARGET\tSTATUS")
		for _, r := range rows {
			status, size := r.Status, human.Bytes(r.Size)
			if r.Missing {
				status, size = "missing: manifest without object", "-"
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
