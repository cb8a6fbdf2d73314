package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/atomicfile"
	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/crypt"
	"github.com/pgarchive/pgarchive/internal/dump"
	"github.com/pgarchive/pgarchive/internal/job"
	"github.com/pgarchive/pgarchive/internal/restore"
	"github.com/pgarchive/pgarchive/internal/target"
)

type restoreOptions struct {
	cfg            *config.Config
	host           string
	database       string
	at             string
	target         string
	identity       string
	passphraseFile string
	output         string
	into           string
	jobs           int
	clean          bool
	now            time.Time // what --at latest is the latest at
	stdout         io.Writer
}

func newRestoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "fetch, decrypt and restore an archive to a file, stdout or a database",
		ArgsUsage: " ",
		Description: `Finds the newest complete archive of the database (or the one taken --at a
time) on the first target that has it, decrypts it and checks it against its
manifest as it streams.

--at latest passes over archives stamped more than 5 minutes in the future
(pushed while the host's clock was ahead; status warns about them): such a
stamp says nothing about how recent the archive is. Name one with --at STAMP
to restore it anyway.

--output writes the dump file exactly as services.postgresqlBackup wrote it
(still compressed); - is stdout. A file is written beside PATH under a
temporary name and renamed only when the archive checked out whole.

--into restores into a database, creating it if needed: pg_restore for custom
and tar dumps, psql for plain ones. A plain dump made with pg_dump -C names its
original database; those statements are skipped so the dump lands in DBNAME.
The connection comes from libpq's usual PG* environment (PGHOST, PGUSER, ...).

` + exitStatusHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "database", Aliases: []string{"d"}, Usage: "database `NAME` whose archive to restore"},
			&cli.StringFlag{Name: "at", Value: "latest", Usage: "archive `TIME` (YYYYMMDDTHHMMSSZ) or latest"},
			&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "read from this target `NAME` only"},
			&cli.StringFlag{Name: "host", Usage: "archives of this `HOST` (default: the config's host)"},
			&cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Usage: "age identity `FILE`"},
			&cli.StringFlag{Name: "passphrase-file", Usage: "`FILE` holding the passphrase (passphrase mode)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the dump file to `PATH` (- for stdout)"},
			&cli.StringFlag{Name: "into", Usage: "restore into database `DBNAME`"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 1, Usage: "parallel pg_restore jobs `N` (custom-format dumps)"},
			&cli.BoolFlag{Name: "clean", Usage: "drop and recreate DBNAME first if it exists"},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlag(c, "database"); err != nil {
				return err
			}
			cfg, now, err := loadConfigAndClock(c)
			if err != nil {
				return err
			}
			return runRestore(c.Context, restoreOptions{
				cfg: cfg, host: c.String("host"), database: c.String("database"), at: c.String("at"),
				target: c.String("target"), identity: c.String("identity"), passphraseFile: c.String("passphrase-file"),
				output: c.String("output"), into: c.String("into"), jobs: c.Int("jobs"), clean: c.Bool("clean"),
				now: now, stdout: c.App.Writer,
			})
		},
	}
}

func runRestore(ctx context.Context, opts restoreOptions) error {
	if (opts.output == "") == (opts.into == "") {
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
	t, entry, err := findArchive(ctx, opts.cfg, host, opts.database, opts.at, opts.target, opts.now)
	if err != nil {
		return err
	}
	m, err := archive.ReadManifest(ctx, t, entry.Name)
	if err != nil {
		return err
	}
	logger().Info("restoring", "database", opts.database, "target", t.Name, "object", entry.Name.Object())
	plain, err := archive.Open(ctx, t, entry.Name, m, ids)
	if err != nil {
		return otherCopyHint(opts, t.Name, err)
	}
	defer plain.Close()
	src, done := terminalProgress("restoring "+entry.Name.File(), m.Dump.Size, plain)
	defer done()

	if opts.output != "" {
		return otherCopyHint(opts, t.Name, writeOutput(src, opts.output, opts.stdout))
	}
	sql, err := dump.Decompress(src, m.Dump.Compression)
	if err != nil {
		return fmt.Errorf("restore %s: %w", entry.Name.Object(), err)
	}
	defer sql.Close()
	err = restore.Into(ctx, sql, restore.Options{
		Database: opts.into,
		Format:   m.Dump.Format,
		Jobs:     opts.jobs,
		Clean:    opts.clean,
	})
	done()
	if err != nil {
		err = fmt.Errorf("restore %s into %q: %w", entry.Name.Object(), opts.into, err)
		if errors.Is(err, restore.ErrNotEmpty) || errors.Is(err, restore.ErrClusterInUse) {
			return err
		}
		return otherCopyHint(opts, t.Name, err)
	}
	logger().Info("restored", "database", opts.database, "target", t.Name, "object", entry.Name.Object(), "into", opts.into)
	return nil
}

// otherCopyHint adds, to a failure that may be this copy's damage, that
// the other targets hold copies of their own.
func otherCopyHint(opts restoreOptions, used string, err error) error {
	if err == nil || opts.target != "" || len(opts.cfg.Targets) < 2 {
		return err
	}
	return hintError{err, fmt.Sprintf("this was the copy on %q; the other targets hold their own: try --target NAME (pgarchive list --database %s shows them)", used, opts.database)}
}

// findArchive picks the archive to restore: the newest complete one (or
// the one at the given time) over the targets in config order; the first
// target holding it wins. Latest is as of now: archives stamped beyond
// archive.FutureTolerance after it are passed over.
func findArchive(ctx context.Context, cfg *config.Config, host, db, at, only string, now time.Time) (*target.Target, archive.Entry, error) {
	wantLatest := at == "latest"
	var wantTime time.Time
	if !wantLatest {
		t, err := archive.ParseStamp(at)
		if err != nil {
			return nil, archive.Entry{}, usagef("--at: %v", err)
		}
		wantTime = t
	}
	ts := job.OpenTargets(ctx, cfg, only)
	defer ts.Close()
	targets, failed := ts.Open, ts.Failed
	var errs []string
	for _, f := range failed {
		errs = append(errs, fmt.Sprintf("%s: %v", f.Target, f.Err))
	}
	var candidates []archive.Entry
	byName := map[string]*target.Target{}
	for _, t := range targets {
		entries, err := archive.List(ctx, t, host, db)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		byName[t.Name] = t
		for _, e := range entries {
			if wantLatest || e.Name.Time.Equal(wantTime) {
				candidates = append(candidates, e)
			}
		}
	}
	asOf := now
	if !wantLatest {
		// Named explicitly: the stamp is what was asked for, however far
		// ahead of now it lies.
		asOf = wantTime
	}
	best, ok := archive.Latest(candidates, asOf)
	if !ok {
		what := "no complete archive"
		if !wantLatest {
			what = "no complete archive at " + at
		}
		err := fmt.Errorf("%s of database %q from host %q on any target%s", what, db, host, futureNote(candidates, now, wantLatest))
		if len(errs) > 0 {
			err = fmt.Errorf("%w (and some targets could not be read: %s)", err, joinLines(errs))
		}
		return nil, archive.Entry{}, hintError{err, "`pgarchive list` shows what each target holds; --host picks another host's archives"}
	}
	if n, newest := inFuture(candidates, now); wantLatest && n > 0 {
		logger().Warn(fmt.Sprintf("restore: %d archive(s) stamped in the future passed over, the newest %s; --at %s restores it",
			n, newest.Name.Stamp(), newest.Name.Stamp()), "database", db)
	}
	return byName[best.Target], best, nil
}

// futureNote says why nothing was found where that is not plain: for
// --at latest, which archives it passed over for their future stamps and
// how to get one anyway; for --at STAMP, that only a manifest is left.
// "" when there is nothing to add.
func futureNote(candidates []archive.Entry, now time.Time, latest bool) string {
	if !latest {
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

func joinLines(parts []string) string { return strings.Join(parts, "; ") }
