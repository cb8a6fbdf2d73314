// Package restore puts a PostgreSQL dump back into a database with the
// standard PostgreSQL tools, the last step of `pgarchive restore` and of the
// restore drill.
//
// The caller has already fetched, decrypted and decompressed the archive
// (dump.Decompress): Into gets the dump's bytes as a stream and its format,
// and runs the tool that format needs, with the connection taken from libpq's
// usual environment (PGHOST, PGPORT, PGUSER, PGPASSFILE, ...):
//
//   - a plain pg_dump script (services.postgresqlBackup's `pg_dump -C`) goes
//     through StripDatabaseStatements into `psql --single-transaction`, so it
//     lands in the database named by Options.Database whatever it was called
//     when dumped, and either all of it is restored or none;
//   - a custom (-Fc) or tar (-Ft) archive goes to `pg_restore` without -C,
//     which ignores the archive's CREATE DATABASE for the same effect;
//     Options.Jobs > 1 spools a custom archive to a temporary file first,
//     because pg_restore restores in parallel only from a seekable file;
//   - a pg_dumpall script (the database "all") goes to psql unchanged: it
//     recreates every database under its own name.
//
// Before a single-database restore Into makes sure the target is fit: it
// creates a missing database (from template0, as a restore should), restores
// into an existing empty one, refuses one that holds objects unless
// Options.Clean asks to drop and recreate it. It never touches the database
// the dump was taken from, even on the same server: that is what stripping
// the database statements is for. What a plain pg_dump -C script says about
// the database itself (owner, comment, ALTER DATABASE ... SET, grants,
// per-role settings) is moved to the target database instead
// (MoveDatabaseStatements). A custom or tar archive is restored without
// --create, and a second pg_restore reading the same bytes prints the
// same statements (--create --schema-only), which are moved the same way
// once the restore is in. Encoding and locale are not moved: a created
// target gets the server's defaults.
//
// Tool output on stderr is passed through to Options.Stderr; when a tool
// fails, its last lines are part of the returned error.
package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/pgarchive/pgarchive/internal/dump"
	"github.com/pgarchive/pgarchive/internal/pgargs"
)

// Options says where and how Into restores a dump.
type Options struct {
	// Database is the target database. For a cluster dump it is only the
	// database psql connects to first ("postgres" when empty).
	Database string
	// Format is the dump's format: dump.FormatPlain, dump.FormatCustom,
	// dump.FormatTar or dump.FormatCluster.
	Format string
	// Jobs is pg_restore's --jobs. Above 1 it needs a custom-format dump,
	// which is then spooled to a temporary file in os.TempDir() (removed
	// afterwards): pg_restore cannot restore in parallel from a stream, nor
	// from a tar archive at all.
	Jobs int
	// Clean drops and recreates the target database before restoring.
	// It is refused for cluster dumps.
	Clean bool
	// Env is the environment of psql and pg_restore, libpq's PG* variables
	// included; its PATH, if any, is where they are looked up. Nil means
	// os.Environ().
	Env []string
	// Stderr receives the tools' stderr; nil means os.Stderr.
	Stderr io.Writer
	// Applied, if set, is told each statement about the database itself
	// (owner, comment, settings, grants) that a plain pg_dump -C script
	// held and that was applied to Database in its place; it is called
	// before the restore's outcome is known, which then applies to them
	// too (one transaction).
	Applied func(stmt string)
}

// ErrNotEmpty is wrapped by Into's error when the target database exists and
// already holds objects, and Options.Clean is not set.
var ErrNotEmpty = errors.New("use --clean to replace it")

// maxNameLen is PostgreSQL's NAMEDATALEN-1: longer names are silently
// truncated by the server, so the database restored to would not be the one
// asked for.
const maxNameLen = 63

// Into restores dump, the decompressed content of an archive, into
// opts.Database.
//
// For a single database (plain, custom or tar) it connects to the
// maintenance database "postgres" first ("template1" when the target is
// "postgres"): it creates the target if it does
// not exist, refuses with ErrNotEmpty if it exists and holds objects, and
// with opts.Clean drops it (WITH (FORCE), disconnecting its sessions, from
// PostgreSQL 13 on) and creates it again. A plain script is restored in one
// transaction: when it fails, or the dump stream breaks off, nothing of it
// stays. pg_restore commits as it goes and stops at the first error, so a
// failed custom or tar restore can leave a partly filled database; restore it
// again with Clean.
//
// A cluster dump (pg_dumpall) is different: it creates its roles and
// databases under their own names and fills "postgres" and "template1" as
// they are, so opts.Database is only where psql connects first, Clean is
// refused, and the server must be a new one: nothing but postgres,
// template0 and template1, with nothing of ours in them. On a server that
// still has the databases, psql would go on after "already exists" and
// append the archive's rows to the live tables and wind their sequences
// back.
// It runs without --single-transaction (CREATE DATABASE cannot run inside
// one) and without stopping at the first error, because pg_dumpall writes
// CREATE ROLE for every role, the restoring superuser included, and that one
// always exists. Those "already exists" errors for roles are expected; any
// other error fails the restore once psql is done.
func Into(ctx context.Context, dump io.Reader, opts Options) error {
	p, err := newPlan(opts)
	if err != nil {
		return err
	}
	return p.run(ctx, dump)
}

// plan is a checked Options with the defaults filled in.
type plan struct {
	Options
	tools tools
}

func newPlan(opts Options) (*plan, error) {
	p := &plan{Options: opts}
	if p.Env == nil {
		p.Env = os.Environ()
	}
	if p.Stderr == nil {
		p.Stderr = os.Stderr
	}
	p.tools = tools{env: p.Env, stderr: p.Stderr}
	if p.Format == dump.FormatCluster && p.Database == "" {
		p.Database = "postgres"
	}
	switch {
	case p.Database == "":
		return nil, errors.New("no target database given")
	case len(p.Database) > maxNameLen:
		return nil, fmt.Errorf("database name %q is longer than %d bytes", p.Database, maxNameLen)
	case strings.IndexByte(p.Database, 0) >= 0:
		return nil, fmt.Errorf("database name %q contains a NUL byte", p.Database)
	case p.Jobs < 0:
		return nil, fmt.Errorf("jobs must be at least 1, not %d", p.Jobs)
	}
	switch p.Format {
	case dump.FormatCustom:
	case dump.FormatPlain, dump.FormatTar, dump.FormatCluster:
		if p.Jobs > 1 {
			return nil, fmt.Errorf("--jobs %d needs a custom-format dump (pg_dump -Fc), and this one is %s: restore it with one job", p.Jobs, p.Format)
		}
	default:
		return nil, fmt.Errorf("unknown dump format %q", p.Format)
	}
	if p.Format == dump.FormatCluster && p.Clean {
		return nil, errors.New("--clean does not apply to a cluster dump (pg_dumpall): it recreates its databases under their own names; drop them first if they exist")
	}
	return p, nil
}

func (p *plan) run(ctx context.Context, r io.Reader) error {
	if p.Format == dump.FormatCluster {
		if err := p.checkNewCluster(ctx); err != nil {
			return err
		}
		return p.cluster(ctx, r)
	}
	if err := p.prepare(ctx); err != nil {
		return err
	}
	var err error
	switch p.Format {
	case dump.FormatPlain:
		err = p.plain(ctx, r)
	default:
		err = p.pgRestore(ctx, r)
	}
	if err != nil {
		return fmt.Errorf("restore into database %q: %w", p.Database, err)
	}
	return nil
}

// maintenanceDB is where Into connects to create or drop the target.
func (p *plan) maintenanceDB() string {
	if p.Database == "postgres" {
		return "template1"
	}
	return "postgres"
}

// prepare makes sure the target database exists and is empty.
func (p *plan) prepare(ctx context.Context) error {
	maint := p.maintenanceDB()
	out, err := p.tools.query(ctx, maint, map[string]string{"db": p.Database},
		`SELECT current_setting('server_version_num'), EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = :'db');`)
	if err != nil {
		return fmt.Errorf("look up database %q: %w", p.Database, err)
	}
	version, exists, ok := strings.Cut(strings.TrimSpace(out), "|")
	if !ok {
		return fmt.Errorf("look up database %q: unexpected answer %q", p.Database, out)
	}
	if exists == "t" {
		if !p.Clean {
			empty, err := p.isEmpty(ctx)
			if err != nil {
				return err
			}
			if !empty {
				return fmt.Errorf("database %q exists and is not empty: %w", p.Database, ErrNotEmpty)
			}
			return nil
		}
		drop := `DROP DATABASE :"db";`
		if n, _ := strconv.Atoi(version); n >= 130000 {
			drop = `DROP DATABASE :"db" WITH (FORCE);`
		}
		if _, err := p.tools.query(ctx, maint, map[string]string{"db": p.Database}, drop); err != nil {
			return fmt.Errorf("drop database %q: %w", p.Database, err)
		}
	}
	if _, err := p.tools.query(ctx, maint, map[string]string{"db": p.Database},
		`CREATE DATABASE :"db" TEMPLATE template0;`); err != nil {
		return fmt.Errorf("create database %q: %w", p.Database, err)
	}
	return nil
}

// userObjects counts what a restore could collide with: relations, routines,
// types, schemas other than public, extensions other than plpgsql, and large
// objects.
const userObjects = `
SELECT
  (SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')
+ (SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')
+ (SELECT count(*) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')
+ (SELECT count(*) FROM pg_catalog.pg_namespace
    WHERE nspname NOT IN ('public', 'information_schema') AND nspname !~ '^pg_')
+ (SELECT count(*) FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql')
+ (SELECT count(*) FROM pg_catalog.pg_largeobject_metadata);
`

func (p *plan) isEmpty(ctx context.Context) (bool, error) {
	out, err := p.tools.query(ctx, p.Database, nil, userObjects)
	if err != nil {
		return false, fmt.Errorf("check database %q is empty: %w", p.Database, err)
	}
	return strings.TrimSpace(out) == "0", nil
}

// plain restores a plain pg_dump script without its database statements, in
// one transaction.
func (p *plan) plain(ctx context.Context, r io.Reader) error {
	args := []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", pgargs.ConnDB(p.Database), "-f", "-"}
	move := func(w io.Writer, r io.Reader) error {
		moved, err := MoveDatabaseStatements(w, r, p.Database)
		if err == nil && p.Applied != nil {
			for _, m := range moved {
				p.Applied(m)
			}
		}
		return err
	}
	return p.tools.run(ctx, "psql", args, r, move, nil)
}

// pgRestore restores a custom or tar archive, streaming it, or from a spooled
// file for a parallel restore.
func (p *plan) pgRestore(ctx context.Context, r io.Reader) error {
	args := []string{"--exit-on-error", "-d", pgargs.ConnDB(p.Database)}
	if p.Jobs <= 1 {
		// The archive is read once, as it streams: a second pg_restore
		// reads the same bytes for the database's own statements.
		st := p.startState(ctx)
		err := p.tools.run(ctx, "pg_restore", args, io.TeeReader(r, st), copyAll, nil)
		moved, stErr := st.finish(err)
		if err != nil {
			return err
		}
		if stErr != nil {
			// The data is in; say what is missing rather than fail it.
			fmt.Fprintf(p.Stderr, "pgarchive: warning: the database's own statements (owner, comment, settings, grants) were not read, so not applied: %v\n", stErr)
		}
		return p.applyState(ctx, moved)
	}
	path, err := spool(ctx, r)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	// pg_dump writing to a pipe (as services.postgresqlBackup runs it)
	// cannot go back to record where each table's data starts; pg_restore
	// (12 and later) finds the data by scanning the seekable file instead.
	args = append(args, "--jobs", strconv.Itoa(p.Jobs), path)
	if err := p.tools.run(ctx, "pg_restore", args, nil, nil, nil); err != nil {
		return err
	}
	var script bytes.Buffer
	quiet := tools{env: p.Env, stderr: io.Discard}
	if err := quiet.exec(ctx, "pg_restore", append(stateArgs, path), nil, nil, nil, &script); err != nil {
		return fmt.Errorf("read the database's own statements: %w", err)
	}
	moved, err := MoveDatabaseStatements(io.Discard, &script, p.Database)
	if err != nil {
		return fmt.Errorf("read the database's own statements: %w", err)
	}
	return p.applyState(ctx, moved)
}

// stateArgs makes pg_restore print, rather than run, the archive's schema
// with its CREATE DATABASE and what follows it about the database itself
// (owner, comment, settings, grants): the statements a restore without
// --create leaves out, which MoveDatabaseStatements picks from the script.
var stateArgs = []string{"--create", "--schema-only", "-f", "-"}

// stateReader feeds a second pg_restore (stateArgs) the archive's bytes
// as the restoring one reads them. It never holds the restore up: once
// the second one stops reading, the rest is dropped.
type stateReader struct {
	into   string
	w      *io.PipeWriter
	failed bool
	done   chan struct{}
	script bytes.Buffer
	err    error
}

func (p *plan) startState(ctx context.Context) *stateReader {
	pr, pw := io.Pipe()
	st := &stateReader{into: p.Database, w: pw, done: make(chan struct{})}
	quiet := tools{env: p.Env, stderr: io.Discard}
	go func() {
		defer close(st.done)
		st.err = quiet.exec(ctx, "pg_restore", stateArgs, pr, copyAll, nil, &st.script)
		// Unblock the writer should pg_restore stop reading early.
		pr.CloseWithError(errStateDone)
	}()
	return st
}

var errStateDone = errors.New("state reader done")

func (st *stateReader) Write(b []byte) (int, error) {
	if !st.failed {
		if _, err := st.w.Write(b); err != nil {
			st.failed = true
		}
	}
	return len(b), nil
}

// finish ends the second pg_restore's input and returns the statements it
// found; none when the restore failed, and an error when it did itself.
func (st *stateReader) finish(restoreErr error) ([]string, error) {
	if restoreErr != nil {
		st.w.CloseWithError(restoreErr)
	} else {
		st.w.Close()
	}
	<-st.done
	// A write that failed after pg_restore had what it needed and exited
	// is fine: it stops reading once past the schema.
	if restoreErr != nil {
		return nil, nil
	}
	if st.err != nil {
		return nil, st.err
	}
	return MoveDatabaseStatements(io.Discard, &st.script, st.into)
}

// applyState runs the moved database statements in DBNAME, in one
// transaction, and reports each.
func (p *plan) applyState(ctx context.Context, moved []string) error {
	if len(moved) == 0 {
		return nil
	}
	var script strings.Builder
	for _, m := range moved {
		script.WriteString(m + ";\n")
	}
	args := []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", pgargs.ConnDB(p.Database), "-f", "-"}
	if err := p.tools.run(ctx, "psql", args, strings.NewReader(script.String()), copyAll, nil); err != nil {
		return fmt.Errorf("restored, but the database's own statements (owner, comment, settings, grants) failed: %w", err)
	}
	if p.Applied != nil {
		for _, m := range moved {
			p.Applied(m)
		}
	}
	return nil
}

// cluster restores a pg_dumpall script as it is.
func (p *plan) cluster(ctx context.Context, r io.Reader) error {
	var errs clusterErrors
	args := []string{"-X", "-q", "-v", "VERBOSITY=verbose", "-d", pgargs.ConnDB(p.Database), "-f", "-"}
	if err := p.tools.run(ctx, "psql", args, r, copyAll, errs.scan); err != nil {
		return fmt.Errorf("restore cluster dump: %w", err)
	}
	if errs.count > 0 {
		return fmt.Errorf("restore cluster dump: psql reported %d error(s), the first: %s", errs.count, errs.first)
	}
	return nil
}

// ErrClusterInUse refuses a cluster dump restore into a server that holds
// databases or objects the dump would mix into.
var ErrClusterInUse = errors.New("a pg_dumpall archive restores a whole cluster, only into a new one (initdb): restore it with --output and psql there")

// checkNewCluster makes sure a cluster dump meets a newly initialised server.
func (p *plan) checkNewCluster(ctx context.Context) error {
	out, err := p.tools.query(ctx, p.Database, nil,
		`SELECT coalesce(string_agg(datname, ', ' ORDER BY datname), '') FROM pg_catalog.pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1');`)
	if err != nil {
		return fmt.Errorf("check the server is a new cluster: %w", err)
	}
	if names := strings.TrimSpace(out); names != "" {
		return fmt.Errorf("the server already has databases (%s): %w", names, ErrClusterInUse)
	}
	for _, db := range []string{"postgres", "template1"} {
		out, err := p.tools.query(ctx, db, nil, userObjects)
		if err != nil {
			return fmt.Errorf("check database %q is empty: %w", db, err)
		}
		if strings.TrimSpace(out) != "0" {
			return fmt.Errorf("database %q holds objects: %w", db, ErrClusterInUse)
		}
	}
	return nil
}

// spool copies r to a new private temporary file and returns its path.
func spool(ctx context.Context, r io.Reader) (string, error) {
	f, err := os.CreateTemp("", "pgarchive-restore-*.dump")
	if err != nil {
		return "", fmt.Errorf("spool dump for --jobs: %w", err)
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("spool dump to %q for --jobs: %w", f.Name(), err)
	}
	return f.Name(), nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

func copyAll(w io.Writer, r io.Reader) error {
	_, err := io.Copy(w, r)
	return err
}
