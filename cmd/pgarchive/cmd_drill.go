package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"filippo.io/age"
	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/drill"
	"github.com/pgarchive/pgarchive/internal/human"
	"github.com/pgarchive/pgarchive/internal/job"
)

type drillOptions struct {
	cfg            *config.Config
	host           string
	database       string
	target         string
	age            int       // days
	before         time.Time // zero: no bound but --age
	identity       string
	passphraseFile string
	json           bool
	now            time.Time
	out            io.Writer
	errOut         io.Writer
}

// drillLargest is how many of the largest tables the report lists.
const drillLargest = 10

func newDrillCommand() *cli.Command {
	return &cli.Command{
		Name:      "drill",
		Usage:     "restore an archive into a scratch database, check it, drop it",
		ArgsUsage: " ",
		Description: `Proves that archives restore. For every database of the host found on the
targets (or the one given) it takes the newest complete archive at least
--age days old and, with --before TIME, at or before that time (by the time
in its name; --age 30 proves month-old archives still open), on any target
or the one given, and:

  - restores it into the scratch database pgarchive_drill_<database> (the
    name lower-cased, other characters than a-z, 0-9 and _ replaced by _),
    replacing a leftover of that name;
  - counts the rows of every table in every schema that is not PostgreSQL's
    own (all user schemas, not only public);
  - compares the counts with the last passing drill's record in
    [drill] state_dir: a table that had rows and now has none fails;
  - runs each [drill] queries entry in the scratch database: each must
    return true;
  - drops the scratch database, whatever happened.

It prints a report per database: target, the archive's time and age,
object, size, duration, tables restored and the row counts of the largest;
then one table of every drill (database, target, time, age, size, tables,
duration, result), sorted by database. A passing drill records its counts for the
next one; a failing one does not, so an emptied table keeps failing until
someone looks (remove the record if the table was emptied on purpose).

The key is --identity or --passphrase-file, else [drill] identity_file or
passphrase_file: the database host normally holds recipients only. The
server is [drill] connection (a libpq connection string or
postgresql:// URI; keys it leaves out, and all when it is empty, come from
libpq's PG* environment). The databases "all" (pg_dumpall) and "globals"
(push --globals) are skipped: they cannot be restored into one scratch
database; verify --identity reads them. A [drill] connection to a server of
a newer PostgreSQL major version rehearses an upgrade on a schedule.
Archives stamped more than 5 minutes in the future (a host clock that was
ahead; status warns about them) are never drilled: their age is unknown.

` + exitStatusHelp + `
   A drill that fails leaves no scratch database behind and exits 1, naming
   what failed.`,
		Flags: append(selectionFlags(),
			&cli.IntFlag{Name: "age", Value: 0, Usage: "drill the newest archive at least `DAYS` old"},
			&cli.StringFlag{Name: "before", Usage: "drill the newest archive at or before `TIME` (forms as restore --before)"},
			&cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Usage: "age identity `FILE` (default: [drill] identity_file)"},
			&cli.StringFlag{Name: "passphrase-file", Usage: "`FILE` holding the passphrase (default: [drill] passphrase_file)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON, one object (docs/json.md)"},
		),
		Action: func(c *cli.Context) error {
			cfg, now, err := loadReaderConfigAndClock(c)
			if err != nil {
				return err
			}
			var before time.Time
			if b := c.String("before"); b != "" {
				if before, err = archive.ParseTime(b); err != nil {
					return usagef("--before: %v", err)
				}
			}
			return runDrill(c.Context, drillOptions{
				cfg: cfg, host: c.String("host"), database: c.String("database"), target: c.String("target"),
				age: c.Int("age"), before: before, identity: c.String("identity"), passphraseFile: c.String("passphrase-file"),
				json: c.Bool("json"), now: now, out: c.App.Writer, errOut: c.App.ErrWriter,
			})
		},
	}
}

// drillRow is one drill as --json prints it.
type drillRow struct {
	archiveRef
	DurationSeconds float64       `json:"duration_seconds"`
	Scratch         string        `json:"scratch_database"`
	Tables          []drill.Table `json:"tables"`
	QueriesPassed   int           `json:"queries_passed"`
	Problems        []string      `json:"problems"`
	Notes           []string      `json:"notes"`
	OK              bool          `json:"ok"`
}

// drillJSON is drill --json.
type drillJSON struct {
	Schema     int                `json:"schema"`
	Host       string             `json:"host"`
	Drills     []drillRow         `json:"drills"`
	Unreadable []unreadableTarget `json:"unreadable"`
}

func newDrillRow(r *drill.Report) drillRow {
	return drillRow{
		archiveRef:      archiveRef{Database: r.Database, Target: r.Target, Host: r.Host, Object: r.Archive, Time: r.ArchiveTime, Size: r.Bytes},
		DurationSeconds: r.Duration.Seconds(), Scratch: r.Scratch, Tables: nonNil(r.Tables), QueriesPassed: r.QueriesPassed,
		Problems: nonNil(r.Problems), Notes: nonNil(r.Notes), OK: r.OK(),
	}
}

func runDrill(ctx context.Context, opts drillOptions) error {
	cfg := opts.cfg
	if err := checkSelection(cfg, opts.target, opts.database); err != nil {
		return err
	}
	if opts.age < 0 {
		return usagef("--age must be zero or more days, not %d", opts.age)
	}
	ids, ok, err := drillIdentities(cfg, opts.identity, opts.passphraseFile)
	if err != nil {
		return err
	}
	if !ok {
		return hintError{usagef("a drill decrypts: give --identity FILE or --passphrase-file FILE"),
			"or set [drill] identity_file (on NixOS, a LoadCredential path)"}
	}
	env, err := drill.ConnEnv(cfg.Drill.Connection, os.Environ())
	if err != nil {
		return &config.Error{Key: "drill.connection", Msg: err.Error()}
	}
	host := resolveHost(cfg, opts.host)
	listings, opened := listTargets(ctx, cfg, opts.target, host, opts.database)
	defer opened.Close()

	var failures []string
	for _, l := range listings {
		if l.err != nil {
			failures = append(failures, l.err.Error())
			logger().Warn("drill: target not listed", "target", l.name, "error", l.err.Error())
		}
	}
	reports := []drillRow{}
	dbs := databasesIn(listings, opts.database)
	skipped := 0
	for _, db := range dbs {
		if (db == "all" || db == archive.Globals) && opts.database == "" {
			if db == "all" {
				logger().Warn(fmt.Sprintf("drill: skipping the pg_dumpall archives of %q: they cannot be restored into a scratch database", db), "database", db)
			} else {
				// The roles come with every run: passing them over is
				// the rule, not news.
				logger().Debug("drill: the roles' archives (globals) are not drilled", "database", db)
			}
			skipped++
			if skipped == len(dbs) {
				failures = append(failures, `nothing to drill: the only archives are pg_dumpall's ("all", "globals"), which cannot be restored into a scratch database (verify --identity reads them to the end)`)
			}
			continue
		}
		rep, err := drillDatabase(ctx, opts, drillRequest{db: db, host: host, listings: listings, ids: ids, env: env})
		if rep != nil {
			reports = append(reports, newDrillRow(rep))
			if !opts.json {
				printDrill(opts.out, rep, opts.now)
			}
		}
		if err != nil {
			failures = append(failures, err.Error())
		}
	}
	sortRows(reports, func(r drillRow) rowKey { return rowKey{"", r.Database, r.Target, r.Time} })
	if opts.json {
		if err := writeJSON(opts.out, drillJSON{Schema: jsonSchema, Host: host, Drills: reports, Unreadable: unreadableOf(listings)}); err != nil {
			return err
		}
	} else if len(reports) > 0 {
		if err := printDrillTable(opts.out, reports, opts.now); err != nil {
			return err
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("drill: %s", joinLines(failures))
	}
	return nil
}

type drillRequest struct {
	db, host string
	listings []targetListing
	ids      []age.Identity
	env      []string
}

// drillDatabase drills one database and reports it to observers. The
// report is nil when there was nothing to drill.
func drillDatabase(ctx context.Context, opts drillOptions, req drillRequest) (*drill.Report, error) {
	run := job.Start(ctx, opts.cfg, "drill", req.db)
	rep, tr, err := drillOne(ctx, opts, req)
	jr := job.Report{Database: req.db, Err: err}
	if tr.Target != "" {
		jr.Targets = []job.TargetReport{tr}
	}
	if rep != nil {
		jr.Duration, jr.Tables = rep.Duration, len(rep.Tables)
	}
	run.Finish(jr)
	return rep, err
}

func drillOne(ctx context.Context, opts drillOptions, req drillRequest) (*drill.Report, job.TargetReport, error) {
	l, e, found := pickDrillArchive(req.listings, req.db, opts.now, opts.age, opts.before)
	if !found {
		what := "no complete archive"
		if opts.age > 0 {
			what = fmt.Sprintf("no complete archive at least %d days old", opts.age)
		}
		if !opts.before.IsZero() {
			what += " at or before " + opts.before.Format(archive.TimeLayout)
		}
		of := fmt.Sprintf("of database %q", req.db)
		if req.db == "" {
			of = "of any database"
		}
		var all []archive.Entry
		for _, l := range req.listings {
			all = append(all, l.entriesOf(req.db)...)
		}
		note := ""
		if n, newest := inFuture(all, opts.now); n > 0 {
			note = fmt.Sprintf(": %d stamped in the future passed over (the newest %s)", n, newest.Name.Stamp())
		}
		return nil, job.TargetReport{}, fmt.Errorf("%s %s from host %q on any target%s", what, of, req.host, note)
	}
	tr := job.TargetReport{Target: l.name}
	prev, err := drill.LoadRecord(opts.cfg.Drill.StateDir, req.host, req.db)
	if err != nil {
		tr.Failed, tr.Err = 1, err
		return nil, tr, err
	}
	logger().Info("drill: restoring", "database", req.db, "target", l.name, "object", e.Name.Object())
	rep, err := drill.Run(ctx, drill.Request{
		Target: l.target, Entry: e, Identities: req.ids, Env: req.env,
		Queries: opts.cfg.Drill.Queries, Previous: prev, Stderr: opts.errOut,
		Progress: func(r io.Reader, size int64) (io.Reader, func()) {
			return terminalProgress("drilling "+e.Name.Database, size, r)
		},
	})
	tr.Bytes = rep.Bytes
	if err != nil {
		tr.Failed, tr.Err = 1, err
		return rep, tr, err
	}
	if err := drill.SaveRecord(opts.cfg.Drill.StateDir, rep.Record(opts.now)); err != nil {
		err = fmt.Errorf("drill of %s passed, but its record was not saved: %w", rep.Archive, err)
		rep.Problems = append(rep.Problems, err.Error())
		tr.Failed, tr.Err = 1, err
		return rep, tr, err
	}
	logger().Info("drill: passed", "database", req.db, "target", l.name, "object", e.Name.Object(), "tables", fmt.Sprint(len(rep.Tables)))
	return rep, tr, nil
}

// pickDrillArchive finds the newest complete archive of db at least
// ageDays old at now; of copies with the same time, the first target's.
// With ageDays 0 that is archive.Latest: an archive stamped a little ahead
// (clocks differ) counts, one stamped further in the future does not.
func pickDrillArchive(listings []targetListing, db string, now time.Time, ageDays int, before time.Time) (targetListing, archive.Entry, bool) {
	cutoff := now.Add(-time.Duration(ageDays) * 24 * time.Hour)
	var candidates []archive.Entry
	for _, l := range listings {
		for _, e := range l.entriesOf(db) {
			if (ageDays == 0 || !e.Name.Time.After(cutoff)) && (before.IsZero() || !e.Name.Time.After(before)) {
				candidates = append(candidates, e)
			}
		}
	}
	e, ok := archive.Latest(candidates, now)
	if !ok {
		return targetListing{}, archive.Entry{}, false
	}
	for _, l := range listings {
		if l.name == e.Target {
			return l, e, true
		}
	}
	return targetListing{}, archive.Entry{}, false
}

func printDrill(w io.Writer, r *drill.Report, now time.Time) {
	verdict := "passed"
	if !r.OK() {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "drill of %s: %s\n", r.Database, verdict)
	fmt.Fprintf(w, "  target    %s\n", r.Target)
	fmt.Fprintf(w, "  time      %s (%s)\n", human.Time(r.ArchiveTime), human.Ago(r.ArchiveTime, now))
	fmt.Fprintf(w, "  archive   %s\n", r.Archive)
	fmt.Fprintf(w, "  size      %s\n", human.Bytes(r.Bytes))
	fmt.Fprintf(w, "  duration  %s\n", r.Duration.Round(time.Millisecond))
	fmt.Fprintf(w, "  scratch   %s\n", r.Scratch)
	fmt.Fprintf(w, "  tables    %d restored\n", len(r.Tables))
	for i, t := range r.Tables {
		if i == drillLargest {
			fmt.Fprintf(w, "            ... and %d more\n", len(r.Tables)-drillLargest)
			break
		}
		fmt.Fprintf(w, "    %-40s %s\n", t.Name, human.Plural(t.Rows, "row"))
	}
	fmt.Fprintf(w, "  queries   %d passed\n", r.QueriesPassed)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note      %s\n", n)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  problem   %s\n", strings.ReplaceAll(p, "\n", " "))
	}
}

// printDrillTable ends drill's text output with one row per drill, in
// the columns of every table.
func printDrillTable(w io.Writer, rows []drillRow, now time.Time) error {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATABASE\tTARGET\tTIME\tAGE\tSIZE\tTABLES\tDURATION\tRESULT")
	for _, r := range rows {
		result := "passed"
		if !r.OK {
			result = "FAILED"
		}
		d := time.Duration(r.DurationSeconds * float64(time.Second)).Round(time.Millisecond)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Database, r.Target, human.Time(r.Time), human.Ago(r.Time, now),
			human.Bytes(r.Size), len(r.Tables), d, result)
	}
	return tw.Flush()
}
