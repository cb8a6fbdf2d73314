package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/human"
	"github.com/pgarchive/pgarchive/internal/job"
	"github.com/pgarchive/pgarchive/internal/target"
	"github.com/pgarchive/pgarchive/internal/verify"
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
		Description: `Prints one row per archive per target: database, target, time (UTC, as
--at and --before take it back), size and its status, sorted by database,
target, then time, newest first:

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

When nothing is found it says so on stderr, naming the hosts the targets
hold.

--json prints one object, {"schema": 1, "host", "archives", "unreadable"}
(docs/json.md): each archive has "database", "target", "host", "object",
"time", "size", "status" (complete, incomplete, missing or deleted), and on
a target with object_lock "lock" (mode, until), and for a deleted one
"deleted" and "recoverable_until". --as-of TIME lists s3 targets as they
were then.

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

// archiveRef is what every --json row says of the archive it is about,
// named alike in every command (docs/json.md).
type archiveRef struct {
	Database string    `json:"database"`
	Target   string    `json:"target"`
	Host     string    `json:"host"`
	Object   string    `json:"object"`
	Time     time.Time `json:"time"`
	Size     int64     `json:"size"`
}

// refOf names archive n, of size bytes, on target.
func refOf(target string, n archive.Name, size int64) archiveRef {
	return archiveRef{Database: n.Database, Target: target, Host: n.Host, Object: n.Object(), Time: n.Time, Size: size}
}

type listRow struct {
	archiveRef
	Status string `json:"status"` // complete, incomplete, missing or deleted
	// Lock, Deleted, RecoverableUntil: see lockview.go.
	Lock             *objectLock `json:"lock,omitempty"`
	Deleted          *time.Time  `json:"deleted,omitempty"`
	RecoverableUntil *time.Time  `json:"recoverable_until,omitempty"`
}

// listJSON is list --json.
type listJSON struct {
	Schema int `json:"schema"`
	// Host is the host listed; "" when every host is.
	Host       string             `json:"host"`
	Archives   []listRow          `json:"archives"`
	Unreadable []unreadableTarget `json:"unreadable"`
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
	rows, bad := listRows(ctx, ts, host, opts.database)
	allHosts := false
	if opts.host == "" && len(rows) == 0 && len(bad) == 0 {
		// A laptop, or a new host name: what is there is what the
		// operator is looking for.
		allHosts = true
		rows, bad = listRows(ctx, ts, "", opts.database)
		if len(rows) > 0 {
			logger().Info(fmt.Sprintf("host %q has no archives there; listing every host (pick one with --host)", host))
		}
	}
	sortRows(rows, func(r listRow) rowKey { return rowKey{r.Host, r.Database, r.Target, r.Time} })
	if opts.json {
		shown := host
		if allHosts {
			shown = ""
		}
		if err := writeJSON(opts.out, listJSON{Schema: jsonSchema, Host: shown, Archives: rows, Unreadable: bad}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(opts.out, 0, 4, 2, ' ', 0)
		if allHosts {
			fmt.Fprint(tw, "HOST\t")
		}
		fmt.Fprintln(tw, "DATABASE\tTARGET\tTIME\tSIZE\tSTATUS")
		for _, r := range rows {
			status, size := r.Status, human.Bytes(r.Size)
			if r.Status == "missing" {
				status, size = "missing: manifest without object", "-"
			}
			if r.Status == "deleted" {
				status = deletedStatus(r)
			}
			if allHosts {
				fmt.Fprintf(tw, "%s\t", r.Host)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Database, r.Target, human.Time(r.Time), size, status)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(rows) == 0 && len(bad) == 0 {
		shown := host
		if allHosts {
			shown = ""
		}
		logger().Warn("list: " + nothingFound(shown, opts.database, hostsOn(ctx, ts.Open)))
	}
	if len(bad) > 0 {
		return fmt.Errorf("list: %s", joinLines(unreadableLines(bad)))
	}
	return nil
}

// listRows lists host's archives (every host's for "") of database on
// the opened targets; bad names the targets that failed.
func listRows(ctx context.Context, ts *job.Targets, host, database string) (rows []listRow, bad []unreadableTarget) {
	rows, bad = []listRow{}, []unreadableTarget{}
	for _, f := range ts.Failed {
		bad = append(bad, unreadableTarget{Target: f.Target, Error: f.Err.Error()})
	}
	for _, t := range ts.Open {
		entries, err := archive.List(ctx, t, host, database)
		if err != nil {
			bad = append(bad, unreadableTarget{Target: t.Name, Error: err.Error()})
			continue
		}
		for _, e := range entries {
			rows = append(rows, listRow{archiveRef: refOf(e.Target, e.Name, e.Size), Status: entryStatus(e)})
		}
		if rows, err = lockRows(ctx, t, host, database, entries, rows); err != nil {
			bad = append(bad, unreadableTarget{Target: t.Name, Error: err.Error()})
		}
	}
	return rows, bad
}

// unreadableLines writes bad as the error lines of a command's final error.
func unreadableLines(bad []unreadableTarget) []string {
	var out []string
	for _, b := range bad {
		out = append(out, fmt.Sprintf("target %s: %s", b.Target, b.Error))
	}
	return out
}

// hostsOn returns the hosts the targets hold archives of, sorted; nil
// when none could be listed.
func hostsOn(ctx context.Context, ts []*target.Target) []string {
	var hosts []string
	for _, t := range ts {
		if hs, err := archive.Hosts(ctx, t); err == nil {
			hosts = append(hosts, hs...)
			if hosts == nil {
				hosts = []string{}
			}
		}
	}
	return sortedUnique(hosts)
}

// nothingFound is what list, status and verify say when they found no
// archive of host (of any host for "") and database (any for ""): the
// words of verify.NoMatch, naming the hosts the targets hold instead (nil:
// not known).
func nothingFound(host, database string, hosts []string) string {
	if host != "" {
		return verify.NoMatch{Host: host, Database: database, Hosts: hosts}.Error()
	}
	what := "no archives of any host on any target"
	if database != "" {
		what = fmt.Sprintf("no archives of database %q of any host on any target", database)
	}
	if len(hosts) > 0 {
		return fmt.Sprintf("%s (targets hold hosts: %s)", what, strings.Join(hosts, ", "))
	}
	return what + " (the targets hold no archives at all)"
}
