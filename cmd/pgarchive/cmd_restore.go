package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/atomicfile"
	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/crypt"
	"github.com/pgarchive/pgarchive/internal/dump"
	"github.com/pgarchive/pgarchive/internal/human"
	"github.com/pgarchive/pgarchive/internal/job"
	"github.com/pgarchive/pgarchive/internal/restore"
	"github.com/pgarchive/pgarchive/internal/target"
)

type restoreOptions struct {
	cfg            *config.Config
	host           string
	database       string
	at             string
	before         string
	target         string
	identity       string
	passphraseFile string
	output         string
	into           string
	jobs           int
	clean          bool
	globals        bool
	now            time.Time // what --at latest is the latest at
	stdout         io.Writer
}

func newRestoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "fetch, decrypt and restore an archive to a file, stdout or a database",
		ArgsUsage: " ",
		Description: `Finds the newest complete archive of the database (or the one taken --at a
time, or the newest at or before --before a time) on the targets, decrypts it
and checks it against its manifest as it streams. A copy that fails its check
(damaged, truncated, gone, not matching its manifest) is named and the same
archive is read from the next target that has it, as long as nothing of the
bad copy reached stdout.

Times: 20261121T011503Z (as in archive names), RFC 3339
(2026-11-21T02:15:03+01:00), or "2026-11-21 01:15[:03]" in UTC unless an
offset follows. --at with no archive at that second names the nearest ones.

--at latest passes over archives stamped more than 5 minutes in the future
(pushed while the host's clock was ahead; status warns about them): such a
stamp says nothing about how recent the archive is. Name one with --at STAMP
to restore it anyway.

--output writes the dump file exactly as services.postgresqlBackup wrote it
(still compressed); - is stdout. A file is written beside PATH under a
temporary name and renamed only when the archive checked out whole.

--into restores into a database, creating it if needed: pg_restore for custom
and tar dumps, psql --single-transaction for plain ones (a damaged archive
leaves nothing behind). A plain dump made with pg_dump -C names its original
database; those statements are skipped so the dump lands in DBNAME, and what
they said about the database itself (owner, comment, ALTER DATABASE ... SET,
grants) is applied to DBNAME instead and printed. The connection comes from
libpq's usual PG* environment (PGHOST, PGUSER, ...).

--globals recreates the roles and tablespaces archived by push --globals on
that server, before the databases that need them; roles that exist already
(postgres, at least) are left as they are and named.

--remote REMOTE reads one store directly, with no config file: an rclone
connection string such as
  :s3,provider=Other,endpoint='https://s3.example.net':bucket/path
(credentials in RCLONE_S3_ACCESS_KEY_ID and RCLONE_S3_SECRET_ACCESS_KEY, or
in the string), a local path, or name:path with --rclone-config FILE. Give
--host: a laptop's own name has no archives there (pgarchive list --remote
REMOTE shows every host).

` + exitStatusHelp,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "database", Aliases: []string{"d"}, Usage: "database `NAME` whose archive to restore"},
			&cli.StringFlag{Name: "at", Value: "latest", Usage: "the archive taken at `TIME` (YYYYMMDDTHHMMSSZ, RFC 3339, or \"YYYY-MM-DD HH:MM[:SS][Z]\" as list shows it, UTC or with an offset), or latest"},
			&cli.StringFlag{Name: "before", Usage: "the newest complete archive at or before `TIME` (forms as --at)"},
			&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "read from this target `NAME` only"},
			&cli.StringFlag{Name: "host", Usage: "archives of this `HOST` (default: the config's host)"},
			&cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Usage: "age identity `FILE`"},
			&cli.StringFlag{Name: "passphrase-file", Usage: "`FILE` holding the passphrase (passphrase mode)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the dump file to `PATH` (- for stdout)"},
			&cli.StringFlag{Name: "into", Usage: "restore into database `DBNAME`"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 1, Usage: "parallel pg_restore jobs `N` (custom-format dumps)"},
			&cli.BoolFlag{Name: "clean", Usage: "drop and recreate DBNAME first if it exists"},
			&cli.BoolFlag{Name: "globals", Usage: "recreate the roles and tablespaces of push --globals on the server PG* names (before the databases); existing roles are left alone"},
			asOfFlag(),
		}, remoteFlags()...),
		Action: func(c *cli.Context) error {
			if c.Bool("globals") {
				if c.String("database") != "" || c.String("into") != "" {
					return usagef("--globals restores the roles onto the server itself: it takes neither --database nor --into")
				}
			} else if err := requireFlag(c, "database"); err != nil {
				return err
			}
			cfg, now, err := loadReaderConfigAndClock(c)
			if err != nil {
				return err
			}
			ctx, err := asOfContext(c)
			if err != nil {
				return err
			}
			return runRestore(ctx, restoreOptions{
				cfg: cfg, host: c.String("host"), database: c.String("database"), at: c.String("at"), before: c.String("before"),
				target: c.String("target"), identity: c.String("identity"), passphraseFile: c.String("passphrase-file"),
				output: c.String("output"), into: c.String("into"), jobs: c.Int("jobs"), clean: c.Bool("clean"), globals: c.Bool("globals"),
				now: now, stdout: c.App.Writer,
			})
		},
	}
}

func runRestore(ctx context.Context, opts restoreOptions) error {
	switch {
	case opts.globals:
		opts.database = archive.Globals
		if opts.clean || opts.jobs != 1 {
			return usagef("--clean and --jobs do not go with --globals")
		}
	case opts.database == archive.Globals && opts.into != "":
		return usagef("%q holds the roles (push --globals): restore them with --globals, not --into", opts.database)
	case (opts.output == "") == (opts.into == ""):
		return usagef("give exactly one of --output PATH and --into DBNAME")
	}
	if opts.jobs < 1 {
		return usagef("--jobs must be at least 1")
	}
	if opts.output != "" && (opts.clean || opts.jobs != 1) {
		return usagef("--clean and --jobs go with --into")
	}
	if err := archive.CheckDatabaseName(opts.database); err != nil {
		return usageError{err}
	}
	if err := selectTarget(opts.cfg, opts.target); err != nil {
		return err
	}
	want, err := parseWhich(opts.at, opts.before)
	if err != nil {
		return err
	}
	if opts.output != "" && opts.output != "-" {
		if _, err := os.Stat(opts.output); err == nil {
			return usagef("--output %q exists; remove it or choose another path", opts.output)
		}
	}
	ids, err := crypt.LoadIdentities(opts.identity, opts.passphraseFile)
	if err != nil {
		return usageError{err}
	}
	host := opts.host
	if host == "" {
		host = opts.cfg.Host
	}
	ts := job.OpenTargets(ctx, opts.cfg, opts.target)
	defer ts.Close()
	copies, err := findArchive(ctx, ts, host, opts.database, want, opts.now)
	if err != nil {
		return err
	}
	// The copies are the same archive on several targets. One that fails
	// its check (a damaged or truncated object, a manifest that does not
	// match, an object gone) is passed over for the next, as long as
	// nothing of it has been let out where it cannot be taken back.
	retry := false
	for i, c := range copies {
		used, err := restoreCopy(ctx, opts, c, ids, retry)
		if err == nil {
			return nil
		}
		var bad copyError
		if !errors.As(err, &bad) {
			return err
		}
		rest := copies[i+1:]
		if len(rest) == 0 {
			if len(copies) > 1 {
				return hintError{fmt.Errorf("%w (and so did the copy on every other target)", err), earlierHint(opts)}
			}
			return copyHint(opts, c.target.Name, err)
		}
		if used {
			// Bytes already went to stdout, or a cluster dump created
			// databases: another copy would be mixed into them.
			return hintError{err, fmt.Sprintf("this was the copy on %q; %s holds one too: try --target %s", c.target.Name, rest[0].target.Name, rest[0].target.Name)}
		}
		logger().Warn(fmt.Sprintf("restore: the copy on %s failed its check (%v); trying the copy on %s", c.target.Name, err, rest[0].target.Name),
			"database", opts.database, "target", c.target.Name)
		// A custom-format restore commits as it goes: the next copy
		// replaces what this one left in the database this run made
		// fit (created, or found empty, or cleaned).
		retry = true
	}
	return nil // unreachable: findArchive returns at least one copy
}

// archiveCopy is one target's copy of the archive to restore.
type archiveCopy struct {
	target *target.Target
	entry  archive.Entry
}

// copyError marks a failure of the copy itself, rather than of the key,
// the database or the tools: its manifest, its object, or the stream read
// from it (age's authentication, size and SHA-256 against the manifest).
// Only these fall back to another target's copy.
type copyError struct{ err error }

func (c copyError) Error() string { return c.err.Error() }
func (c copyError) Unwrap() error { return c.err }

// copyReader turns every error reading a copy into a copyError, so that it
// can be told apart however far down the tools it surfaces, and counts
// what it let through.
type copyReader struct {
	r io.Reader
	n int64
}

func (c *copyReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		err = copyError{err}
	}
	return n, err
}

// restoreCopy restores one copy. used reports whether a failure left
// effects that another copy cannot undo: bytes written to stdout, or the
// databases a cluster dump creates. retry says an earlier copy failed
// after preparing the database, which this one then recreates.
func restoreCopy(ctx context.Context, opts restoreOptions, c archiveCopy, ids []age.Identity, retry bool) (used bool, err error) {
	t, entry := c.target, c.entry
	m, err := archive.ReadManifest(ctx, t, entry.Name)
	if err != nil {
		return false, copyError{err}
	}
	logger().Info("restoring", "database", opts.database, "target", t.Name, "object", entry.Name.Object())
	plain, err := archive.Open(ctx, t, entry.Name, m, ids)
	if err != nil {
		if errors.Is(err, crypt.ErrNoIdentityMatched) {
			return false, err // the key, not the copy
		}
		return false, copyError{err}
	}
	defer plain.Close()
	checked := &copyReader{r: plain}
	src, done := terminalProgress("restoring "+entry.Name.File(), m.Dump.Size, checked)
	defer done()

	if opts.output != "" {
		err := writeOutput(src, opts.output, opts.stdout)
		return opts.output == "-" && checked.n > 0, err
	}
	sql, err := dump.Decompress(src, m.Dump.Compression)
	if err != nil {
		return false, fmt.Errorf("restore %s: %w", entry.Name.Object(), err)
	}
	defer sql.Close()
	if opts.globals {
		rep, err := restore.Globals(ctx, sql, restore.Options{})
		done()
		if err != nil {
			return false, fmt.Errorf("restore %s: %w", entry.Name.Object(), err)
		}
		printGlobals(opts.stdout, rep)
		return false, nil
	}
	clean := opts.clean || (retry && m.Dump.Format != dump.FormatPlain)
	var applied []string
	err = restore.Into(ctx, sql, restore.Options{
		Database: opts.into,
		Format:   m.Dump.Format,
		Jobs:     opts.jobs,
		Clean:    clean,
		Applied:  func(stmt string) { applied = append(applied, stmt) },
	})
	done()
	if err != nil {
		return m.Dump.Format == dump.FormatCluster, fmt.Errorf("restore %s into %q: %w", entry.Name.Object(), opts.into, err)
	}
	if len(applied) > 0 {
		fmt.Fprintf(opts.stdout, "applied the dump's database-level statements to %q:\n", opts.into)
		for _, a := range applied {
			fmt.Fprintf(opts.stdout, "  %s\n", oneLine(a))
		}
	}
	logger().Info("restored", "database", opts.database, "target", t.Name, "object", entry.Name.Object(), "into", opts.into)
	return false, nil
}

// printGlobals says what restore --globals created and what it left alone.
func printGlobals(w io.Writer, rep *restore.GlobalsReport) {
	line := func(what string, names []string) {
		if len(names) > 0 {
			fmt.Fprintf(w, "%s: %s\n", what, strings.Join(names, ", "))
		}
	}
	if len(rep.Created) == 0 {
		fmt.Fprintln(w, "roles created: none")
	}
	line("roles created", rep.Created)
	line("roles left alone (already there)", rep.Skipped)
	line("tablespaces left alone (already there)", rep.SkippedTablespaces)
	line("role settings not applied (database not there yet; run restore --globals again after it)", rep.Deferred)
}

// copyHint adds, to a failure of the only copy read, where another may
// be: on the targets --target left out, or an earlier archive. Only a
// copyError gets one: a wrong key, an unreachable server or a failing tool
// is the same whatever copy is read.
func copyHint(opts restoreOptions, used string, err error) error {
	var bad copyError
	if !errors.As(err, &bad) {
		return err
	}
	if opts.target != "" && len(opts.cfg.Targets) > 1 {
		return hintError{err, fmt.Sprintf("this was the copy on %q; the other targets hold their own: drop --target, or name another (pgarchive list --database %s shows them)", used, opts.database)}
	}
	return hintError{err, earlierHint(opts)}
}

// earlierHint points at the archives before a damaged one.
func earlierHint(opts restoreOptions) string {
	return fmt.Sprintf("no other copy of this archive is left: restore an earlier one with --before TIME (pgarchive list --database %s shows them)", opts.database)
}

// which is the archive asked for: the latest, the one at a time, or the
// newest at or before a time.
type which struct {
	latest bool
	at     time.Time // exact match, when not zero
	before time.Time // at or before, when not zero
	asked  string    // "at TIME" or "at or before TIME"; "" for latest
}

// parseWhich reads --at and --before.
func parseWhich(at, before string) (which, error) {
	if before != "" {
		if at != "" && at != "latest" {
			return which{}, usagef("give --at or --before, not both")
		}
		t, err := archive.ParseTime(before)
		if err != nil {
			return which{}, usagef("--before: %v", err)
		}
		return which{before: t, asked: "at or before " + t.Format(archive.TimeLayout)}, nil
	}
	if at == "" || at == "latest" {
		return which{latest: true}, nil
	}
	t, err := archive.ParseTime(at)
	if err != nil {
		return which{}, usagef("--at: %v (or latest; --before TIME takes the newest at or before a time)", err)
	}
	return which{at: t, asked: "at " + t.Format(archive.TimeLayout)}, nil
}

// findArchive picks the archive to restore: the newest complete one, the
// one at a time, or the newest at or before one, over every opened
// target. It returns every complete copy of it, in config order (the
// first target holding it first). Latest is as of now: archives stamped
// beyond archive.FutureTolerance after it are passed over.
func findArchive(ctx context.Context, ts *job.Targets, host, db string, want which, now time.Time) ([]archiveCopy, error) {
	var errs []string
	for _, f := range ts.Failed {
		errs = append(errs, fmt.Sprintf("%s: %v", f.Target, f.Err))
	}
	var all, candidates []archive.Entry
	byName := map[string]*target.Target{}
	for _, t := range ts.Open {
		entries, err := archive.List(ctx, t, host, db)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		byName[t.Name] = t
		for _, e := range entries {
			all = append(all, e)
			switch {
			case want.latest,
				!want.at.IsZero() && e.Name.Time.Equal(want.at),
				!want.before.IsZero() && !e.Name.Time.After(want.before):
				candidates = append(candidates, e)
			}
		}
	}
	asOf := now
	if !want.at.IsZero() {
		// Named explicitly: the stamp is what was asked for, however far
		// ahead of now it lies.
		asOf = want.at
	}
	best, ok := archive.Latest(candidates, asOf)
	if !ok {
		what := "no complete archive"
		if want.asked != "" {
			what += " " + want.asked
		}
		note := futureNote(candidates, now, want)
		if near := nearestTo(all, want); note == "" && len(near) > 0 {
			note = "; the nearest are " + strings.Join(near, ", ")
		}
		err := fmt.Errorf("%s of database %q from host %q on any target%s", what, db, host, note)
		if len(errs) > 0 {
			err = fmt.Errorf("%w (and some targets could not be read: %s)", err, joinLines(errs))
		}
		return nil, hintError{err, notFoundHint(ctx, ts, all, want, host, db)}
	}
	if n, newest := inFuture(candidates, now); want.latest && n > 0 {
		logger().Warn(fmt.Sprintf("restore: %s stamped in the future passed over, the newest %s; --at %s restores it",
			human.Plural(int64(n), "archive"), newest.Name.Stamp(), newest.Name.Stamp()), "database", db)
	}
	var copies []archiveCopy
	for _, t := range ts.Open {
		for _, e := range candidates {
			if e.Target == t.Name && e.Complete && e.Name == best.Name {
				copies = append(copies, archiveCopy{target: byName[t.Name], entry: e})
			}
		}
	}
	return copies, nil
}

// notFoundHint says where to look next: for --at, the archives nearest the
// time asked; for another host, the hosts the targets hold.
func notFoundHint(ctx context.Context, ts *job.Targets, all []archive.Entry, want which, host, db string) string {
	if len(nearestTo(all, want)) > 0 {
		return "--at takes the archive of one second, --before TIME the newest at or before it"
	}
	if len(all) == 0 {
		var hosts []string
		seen := map[string]bool{}
		for _, t := range ts.Open {
			hs, err := archive.Hosts(ctx, t)
			if err != nil {
				continue
			}
			for _, h := range hs {
				if !seen[h] {
					seen[h] = true
					hosts = append(hosts, h)
				}
			}
		}
		if len(hosts) > 0 {
			sort.Strings(hosts)
			return fmt.Sprintf("the targets hold archives of host(s) %s: pick one with --host (pgarchive list --host HOST shows its archives)", strings.Join(hosts, ", "))
		}
	}
	return "`pgarchive list` shows what each target holds; --host picks another host's archives"
}

// nearestTo returns, for --at or --before, the stamps of the complete
// archives nearest the time asked, two on either side; nil for latest.
func nearestTo(entries []archive.Entry, want which) []string {
	ref := want.at
	if ref.IsZero() {
		ref = want.before
	}
	if ref.IsZero() {
		return nil
	}
	return nearest(entries, ref, 2)
}

// nearest returns the stamps of up to n complete archives on either side
// of t, oldest first.
func nearest(entries []archive.Entry, t time.Time, n int) []string {
	var stamps []time.Time
	seen := map[time.Time]bool{}
	for _, e := range entries {
		if e.Complete && !seen[e.Name.Time] {
			seen[e.Name.Time] = true
			stamps = append(stamps, e.Name.Time)
		}
	}
	sort.Slice(stamps, func(i, j int) bool { return stamps[i].Before(stamps[j]) })
	i := sort.Search(len(stamps), func(i int) bool { return stamps[i].After(t) })
	lo, hi := max(0, i-n), min(len(stamps), i+n)
	var out []string
	for _, s := range stamps[lo:hi] {
		out = append(out, s.Format(archive.TimeLayout))
	}
	return out
}

// futureNote says why nothing was found where that is not plain: for
// --at latest, which archives it passed over for their future stamps and
// how to get one anyway; for a time, that only a manifest is left.
// "" when there is nothing to add.
func futureNote(candidates []archive.Entry, now time.Time, want which) string {
	if !want.latest {
		for _, e := range candidates {
			if e.Missing {
				return fmt.Sprintf(": on %s only its manifest is left, the object is gone", e.Target)
			}
		}
		return ""
	}
	n, newest := inFuture(candidates, now)
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(": %d stamped in the future passed over (the newest %s; restore it with --at %s)", n, newest.Name.Stamp(), newest.Name.Stamp())
}

// writeOutput copies the plaintext to stdout, or to a file that appears
// under its name only once the archive has checked out whole.
func writeOutput(plain io.Reader, path string, stdout io.Writer) error {
	if path == "-" {
		_, err := io.Copy(stdout, plain)
		return err
	}
	err := atomicfile.Write(path, 0o600, func(w io.Writer) error {
		_, err := io.Copy(w, plain)
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// oneLine squeezes a statement's blanks and newlines into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func joinLines(parts []string) string { return strings.Join(parts, "; ") }
