package main

import (
	"context"
	"errors"
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
	"github.com/pgarchive/pgarchive/internal/verify"
)

type verifyOptions struct {
	cfg            *config.Config
	host           string
	database       string
	target         string
	sample         float64 // percent; 100 checks everything
	identity       string
	passphraseFile string
	json           bool
	now            time.Time
	out            io.Writer
}

func newVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check stored archives against their manifests",
		ArgsUsage: " ",
		Description: `Downloads each complete archive of every database of the host on every
target (or those selected) and checks the object's size and SHA-256 against
its manifest. No key is needed for that, so it runs on the database host.

With a key (--identity or --passphrase-file, else [drill] identity_file or
passphrase_file) it also decrypts, checks the dump's size and SHA-256, and
reads the dump to its end: the gzip or zstd stream must be intact, a plain
dump must end with pg_dump's completion line, and a custom or tar dump must
read through pg_restore (from PATH).

--sample PERCENT checks that share of each database's archives, rounded up,
at least one: a choice that stays the same all (UTC) day and changes the
next, so a daily --sample 5 walks through the archives over time.

A manifest whose object is gone (deleted by hand, lost by the target) is a
bad archive too, whatever --sample says: nothing is left to restore.

It prints one row per archive checked (database, target, time, size, what
was checked, and ok or BAD with what is wrong), sorted by database, target,
then time, newest first, and a summary line. On a terminal a progress line
on stderr shows the bytes checked, the rate and the time left.

` + exitStatusHelp + `
   Every bad archive makes the exit 1: its row says what is wrong, the
   error line names it and counts them; so does a target that cannot be listed, and a selection that
   matched no archive at all (a mistyped --host or --database checks
   nothing, which must not pass for success).`,
		Flags: append(append(selectionFlags(),
			&cli.Float64Flag{Name: "sample", Value: 100, Usage: "check this `PERCENT` of each database's archives, at least one"},
			&cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Usage: "age identity `FILE`: also decrypt and read the dump"},
			&cli.StringFlag{Name: "passphrase-file", Usage: "`FILE` holding the passphrase (passphrase mode)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON, one object (docs/json.md)"},
		), remoteFlags()...),
		Action: func(c *cli.Context) error {
			cfg, now, err := loadReaderConfigAndClock(c)
			if err != nil {
				return err
			}
			return runVerify(c.Context, verifyOptions{
				cfg: cfg, host: c.String("host"), database: c.String("database"), target: c.String("target"),
				sample: c.Float64("sample"), identity: c.String("identity"), passphraseFile: c.String("passphrase-file"),
				json: c.Bool("json"), now: now, out: c.App.Writer,
			})
		},
	}
}

// verifyRow is one archive's line in verify's output.
type verifyRow struct {
	archiveRef
	// Status is complete, or missing for a manifest whose object is gone.
	Status  string `json:"status"`
	Checked string `json:"checked"`
	OK      bool   `json:"ok"`
	// Error says what is wrong with the archive; "" when OK.
	Error string `json:"error"`
}

// verifyJSON is verify --json.
type verifyJSON struct {
	Schema     int                `json:"schema"`
	Host       string             `json:"host"`
	Archives   []verifyRow        `json:"archives"`
	Checked    int                `json:"checked"`
	Bad        int                `json:"bad"`
	Unreadable []unreadableTarget `json:"unreadable"`
	// Problem is why nothing was checked (a selection that matched no
	// archive); "" otherwise.
	Problem string `json:"problem"`
}

func runVerify(ctx context.Context, opts verifyOptions) error {
	cfg := opts.cfg
	if err := checkSelection(cfg, opts.target, opts.database); err != nil {
		return err
	}
	if !(opts.sample > 0 && opts.sample <= 100) {
		return usagef("--sample must be a percentage above 0 and at most 100, not %v", opts.sample)
	}
	ids, _, err := drillIdentities(cfg, opts.identity, opts.passphraseFile)
	if err != nil {
		return err
	}
	vopts := verify.Options{Identities: ids}
	host := resolveHost(cfg, opts.host)
	listings, opened := listTargets(ctx, cfg, opts.target, host, opts.database)
	defer opened.Close()

	var failures, badNames []string
	for _, l := range listings {
		if l.err != nil {
			failures = append(failures, l.err.Error())
			logger().Warn("verify: target not listed", "target", l.name, "error", l.err.Error())
		}
	}
	noMatch := verifyNoMatch(ctx, listings, host, opts.database, opts.target)
	if noMatch != nil {
		failures = append(failures, noMatch.Error())
	}
	rows := []verifyRow{}
	checked, bad := 0, 0
	prog := verifyProgress(listings, opts)
	defer prog.done()
	for _, db := range databaseNames(listings, opts.database, true) {
		// order is what the listings hold of db, target by target, oldest
		// first: the complete archives (all, which --sample draws from)
		// and the manifests whose object is gone, reported whatever the
		// sample since they cost nothing to find.
		var all, order []archive.Entry
		byTarget := map[string]targetListing{}
		for _, l := range listings {
			byTarget[l.name] = l
			for _, e := range l.entries {
				switch {
				case e.Name.Database != db:
				case e.Missing:
					order = append(order, e)
				case e.Complete:
					all = append(all, e)
					order = append(order, e)
				}
			}
		}
		selected := all
		if opts.sample < 100 {
			selected = verify.Sample(all, opts.sample, opts.now)
		}
		picked := map[string]bool{}
		for _, e := range selected {
			picked[e.Target+"\x00"+e.Name.Object()] = true
		}
		run := job.Start(ctx, cfg, "verify", db)
		reports := map[string]*job.TargetReport{}
		rep := job.Report{Database: db}
		if noMatch != nil {
			rep.Err = noMatch
		}
		for _, l := range listings {
			reports[l.name] = &job.TargetReport{Target: l.name}
			if l.err != nil {
				reports[l.name].Failed, reports[l.name].Err = 1, l.err
			}
		}
		for _, e := range order {
			if !e.Missing && !picked[e.Target+"\x00"+e.Name.Object()] {
				continue
			}
			var res verify.Result
			if e.Missing {
				res = verify.Result{Entry: e, Checked: verify.Listing, Err: errMissingObject}
			} else {
				res = verify.Archive(ctx, byTarget[e.Target].target, e, vopts)
			}
			if !e.Missing {
				prog.add(e.Size)
			}
			tr := reports[e.Target]
			tr.Bytes += res.Bytes
			checked++
			row := verifyRow{archiveRef: refOf(e.Target, e.Name, e.Size), Status: entryStatus(e), Checked: res.Checked, OK: res.Err == nil}
			if res.Err != nil {
				bad++
				tr.Failed++
				tr.Err = errors.Join(tr.Err, res.Err)
				row.Error = archiveProblem(e, res.Err)
				badNames = append(badNames, fmt.Sprintf("%s on %s", e.Name.Object(), e.Target))
				// The row says what is wrong; the journal keeps the
				// fields for a search, below the default level.
				logger().Debug("verify: bad archive", "database", db, "target", e.Target, "object", e.Name.Object(), "error", row.Error)
			}
			rows = append(rows, row)
		}
		for _, l := range listings {
			tr := reports[l.name]
			rep.Targets = append(rep.Targets, *tr)
			if tr.Err != nil {
				rep.Err = errors.Join(rep.Err, fmt.Errorf("target %s: %w", l.name, tr.Err))
			}
		}
		run.Finish(rep)
	}
	prog.done()
	sortRows(rows, func(r verifyRow) rowKey { return rowKey{"", r.Database, r.Target, r.Time} })
	if opts.json {
		doc := verifyJSON{Schema: jsonSchema, Host: host, Archives: rows, Checked: checked, Bad: bad, Unreadable: unreadableOf(listings)}
		if noMatch != nil {
			doc.Problem = noMatch.Error()
		}
		if err := writeJSON(opts.out, doc); err != nil {
			return err
		}
	} else if checked > 0 || noMatch == nil {
		if err := printVerify(opts.out, rows); err != nil {
			return err
		}
		depth := "ciphertext only: no identity given"
		if len(ids) > 0 {
			depth = "decrypted and read to the end"
		}
		fmt.Fprintf(opts.out, "verified %s, %d bad (%s)\n", human.Plural(int64(checked), "archive"), bad, depth)
	}
	if bad > 0 {
		// The rows say what is wrong with each; the error names them.
		failures = append([]string{fmt.Sprintf("%d of %s bad: %s", bad, human.Plural(int64(checked), "archive"), strings.Join(badNames, ", "))}, failures...)
	}
	if len(failures) > 0 {
		return fmt.Errorf("verify: %s", joinLines(failures))
	}
	return nil
}

// verifyProgress is the progress line of a verify on a terminal: the
// bytes of the archives checked so far of all it will check, moved on as
// each archive is done (nothing on a pipe or in a unit).
func verifyProgress(listings []targetListing, opts verifyOptions) *progressLine {
	var total int64
	for _, l := range listings {
		for _, e := range l.entries {
			if e.Complete && !e.Missing && (opts.database == "" || e.Name.Database == opts.database) {
				total += e.Size
			}
		}
	}
	if opts.sample < 100 {
		total = 0 // the sample is drawn per database: the total is not known up front
	}
	return terminalLine("verifying", total)
}

// verifyNoMatch returns the error for a selection that matched no archive,
// or nil when it matched one, or when no target could be listed (that
// failure is reported already, and says more). To say what is there
// instead, it lists host's databases, or the hosts on the targets: more
// listing, but only on this error path.
func verifyNoMatch(ctx context.Context, listings []targetListing, host, database, only string) error {
	nm := verify.NoMatch{Host: host, Database: database, Target: only}
	listed := false
	for _, l := range listings {
		if l.err != nil {
			continue
		}
		listed = true
		for _, e := range l.entries {
			if e.Complete || e.Missing {
				return nil
			}
			nm.Incomplete++
		}
	}
	if !listed {
		return nil
	}
	if nm.Incomplete > 0 {
		return nm
	}
	var dbs []string
	if database != "" {
		for _, l := range listings {
			if l.target == nil {
				continue
			}
			if es, err := archive.List(ctx, l.target, host, ""); err == nil {
				for _, e := range es {
					dbs = append(dbs, e.Name.Database)
				}
			}
		}
		if len(dbs) > 0 {
			nm.Databases = sortedUnique(dbs)
			return nm
		}
	}
	for _, l := range listings {
		if l.target == nil {
			continue
		}
		if hs, err := archive.Hosts(ctx, l.target); err == nil {
			nm.Hosts = append(nm.Hosts, hs...)
			if nm.Hosts == nil {
				nm.Hosts = []string{} // looked up: there are none
			}
		}
	}
	nm.Hosts = sortedUnique(nm.Hosts)
	return nm
}

// sortedUnique sorts ss and drops repeats; nil stays nil.
func sortedUnique(ss []string) []string {
	if ss == nil {
		return nil
	}
	slices.Sort(ss)
	return slices.Compact(ss)
}

// errMissingObject is what verify says of a manifest whose object is gone.
var errMissingObject = errors.New("manifest without object: the object is gone, nothing to restore")

// printVerify prints verify's table: one row per archive checked, what
// was checked, and ok or BAD with what is wrong.
func printVerify(w io.Writer, rows []verifyRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATABASE\tTARGET\tTIME\tSIZE\tCHECKED\tRESULT")
	for _, r := range rows {
		size, result := human.Bytes(r.Size), "ok"
		if r.Status == "missing" {
			size = "-"
		}
		if !r.OK {
			result = "BAD: " + r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Database, r.Target, human.Time(r.Time), size, r.Checked, result)
	}
	return tw.Flush()
}

// archiveProblem is err without the "<object> on <target>: " that the
// archive package puts in front, since verify names both already; folded
// into one line.
func archiveProblem(e archive.Entry, err error) string {
	msg := err.Error()
	for _, prefix := range []string{e.Name.Object() + " on " + e.Target + ": ", e.Name.Manifest() + " on " + e.Target + ": "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ")), " ")
}
