package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/internal/dump"
	"github.com/pgarchive/pgarchive/tests/harness"
)

// The integration tests run the real PostgreSQL 15 tools against a server
// started by tests/harness; -short skips them.

// srcDB is the database dumped: its quote exercises pg_dump's
// \connect -reuse-previous=on "dbname='...'" form.
const srcDB = "shop's data"

// seedExtra adds what pg_dump -C writes database-level statements for, and
// an empty table the source gets a row in after the dumps.
const seedExtra = `
CREATE TABLE shop.marker (note text);
COMMENT ON DATABASE "shop's data" IS 'before the dump';
ALTER DATABASE "shop's data" SET work_mem = '3MB';
CREATE ROLE reader;
GRANT CREATE ON DATABASE "shop's data" TO reader;
ALTER ROLE reader IN DATABASE "shop's data" SET search_path = shop;
`

// afterDump changes the source after it was dumped: a restore that reached
// back into it (a \connect or ALTER DATABASE left in) would undo this.
const afterDump = `
INSERT INTO shop.marker VALUES ('written after the dump');
COMMENT ON DATABASE "shop's data" IS 'after the dump';
ALTER DATABASE "shop's data" SET work_mem = '5MB';
ALTER ROLE reader IN DATABASE "shop's data" SET search_path = changed;
REVOKE CREATE ON DATABASE "shop's data" FROM reader;
`

// srcState is what afterDump changed, seen from outside the source.
const srcState = `
SELECT shobj_description(d.oid, 'pg_database'),
       (SELECT string_agg(array_to_string(setconfig, ','), ';' ORDER BY setrole)
          FROM pg_db_role_setting WHERE setdatabase = d.oid),
       datacl
FROM pg_database d WHERE datname = 'shop''s data';
`

type fixture struct {
	pg     *harness.Postgres
	want   string            // the source's fingerprint when dumped
	dumps  map[string]string // format -> decompressed dump file
	stderr bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("starts PostgreSQL; skipped with -short")
	}
	f := &fixture{pg: harness.StartPostgres(t), dumps: map[string]string{}}
	f.pg.CreateDB(t, srcDB)
	f.pg.Seed(t, srcDB)
	f.pg.Psql(t, srcDB, seedExtra)
	f.want = f.pg.Fingerprint(t, srcDB)

	// Dumps as services.postgresqlBackup makes them, decompressed the way
	// pgarchive restore does, each format recognised by dump.Inspect.
	dir := t.TempDir()
	for _, d := range []struct{ kind, cmd, compression string }{
		{"plain", "pg_dump -C " + shellQuote(srcDB), "gzip"},
		{"custom", "pg_dump -C -Fc " + shellQuote(srcDB), "gzip"},
		{"tar", "pg_dump -C -Ft " + shellQuote(srcDB), "none"},
	} {
		path := f.pg.DumpCommand(t, filepath.Join(dir, d.kind), srcDB, d.cmd, d.compression)
		info, err := dump.Inspect(path, d.compression, 0, time.Now())
		if err != nil {
			t.Fatalf("inspect %s dump: %v", d.kind, err)
		}
		f.dumps[info.Format] = decompressTo(t, path, d.compression, filepath.Join(dir, d.kind+".dump"))
	}
	for _, format := range []string{dump.FormatPlain, dump.FormatCustom, dump.FormatTar} {
		if f.dumps[format] == "" {
			t.Fatalf("no %s dump among %v", format, f.dumps)
		}
	}
	f.pg.Psql(t, srcDB, afterDump)
	return f
}

func decompressTo(t *testing.T, path, compression, out string) string {
	t.Helper()
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := dump.Decompress(in, compression)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) into(t *testing.T, format string, opts Options) error {
	t.Helper()
	in, err := os.Open(f.dumps[format])
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	return f.intoFrom(t, in, format, opts)
}

func (f *fixture) intoFrom(t *testing.T, r io.Reader, format string, opts Options) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts.Format = format
	opts.Env = f.pg.Env()
	f.stderr.Reset()
	opts.Stderr = &f.stderr
	start := time.Now()
	err := Into(ctx, r, opts)
	t.Logf("Into %q (%s, jobs %d, clean %v): %v in %v", opts.Database, format, opts.Jobs, opts.Clean, err, time.Since(start).Round(time.Millisecond))
	return err
}

// query runs sql on db through the package's own psql helper, which takes
// any database name.
func (f *fixture) query(t *testing.T, db, sql string) string {
	t.Helper()
	out, err := tools{env: f.pg.Env(), stderr: io.Discard}.query(context.Background(), db, nil, sql)
	if err != nil {
		t.Fatalf("query %q: %v", db, err)
	}
	return strings.TrimSpace(out)
}

func (f *fixture) exists(t *testing.T, db string) bool {
	t.Helper()
	out, err := tools{env: f.pg.Env(), stderr: io.Discard}.query(context.Background(), "postgres",
		map[string]string{"db": db}, `SELECT count(*) FROM pg_database WHERE datname = :'db';`)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out) == "1"
}

func (f *fixture) userTables(t *testing.T, db string) string {
	t.Helper()
	// A restore cancelled early may not have created the database at all:
	// no database holds no tables.
	exists := f.query(t, "postgres", fmt.Sprintf(`SELECT count(*) FROM pg_database WHERE datname = '%s';`, strings.ReplaceAll(db, "'", "''")))
	if exists == "0" {
		return "0"
	}
	return f.query(t, db, `SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema');`)
}

func TestInto(t *testing.T) {
	f := newFixture(t)
	srcBefore := f.pg.Psql(t, "postgres", srcState)

	for _, tt := range []struct{ format, db string }{
		{dump.FormatPlain, "restored plain"},
		{dump.FormatCustom, "restored custom"},
		{dump.FormatTar, "restored tar"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			if err := f.into(t, tt.format, Options{Database: tt.db}); err != nil {
				t.Fatalf("Into: %v\nstderr:\n%s", err, f.stderr.String())
			}
			if got := f.pg.Fingerprint(t, tt.db); got != f.want {
				t.Errorf("restored %s differs from the source as dumped:\ngot\n%s\nwant\n%s", tt.format, got, f.want)
			}
			if got := f.query(t, tt.db, `SELECT count(*) FROM shop.marker;`); got != "0" {
				t.Errorf("marker rows in the restored database: %s, want 0 (it was written after the dump)", got)
			}
		})
	}

	t.Run("custom with two jobs into a name with = and quotes", func(t *testing.T) {
		const db = `restored jobs=2 'x' "y"`
		if err := f.into(t, dump.FormatCustom, Options{Database: db, Jobs: 2}); err != nil {
			t.Fatalf("Into: %v\nstderr:\n%s", err, f.stderr.String())
		}
		const counts = `SELECT (SELECT count(*) FROM shop.customers) || ',' || (SELECT count(*) FROM shop.orders) || ',' || (SELECT count(*) FROM shop.events);`
		if got, want := f.query(t, db, counts), f.query(t, srcDB, counts); got != want {
			t.Errorf("row counts: got %s, want %s", got, want)
		}
		tmp, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgarchive-restore-*"))
		if len(tmp) > 0 {
			t.Errorf("spool files left behind: %v", tmp)
		}
	})

	t.Run("refuses a database that is not empty", func(t *testing.T) {
		err := f.into(t, dump.FormatPlain, Options{Database: "restored plain"})
		if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "use --clean") {
			t.Fatalf("Into into a filled database: got %v, want ErrNotEmpty", err)
		}
		if got := f.pg.Fingerprint(t, "restored plain"); got != f.want {
			t.Errorf("refused restore changed the database")
		}
	})

	t.Run("restores into an existing empty database", func(t *testing.T) {
		f.pg.CreateDB(t, "empty target")
		if err := f.into(t, dump.FormatPlain, Options{Database: "empty target"}); err != nil {
			t.Fatalf("Into: %v", err)
		}
		if got := f.pg.Fingerprint(t, "empty target"); got != f.want {
			t.Errorf("restored database differs from the source")
		}
	})

	t.Run("clean replaces a database in use", func(t *testing.T) {
		const db = "restored plain"
		f.pg.Psql(t, db, `CREATE TABLE public.extra (id int); DELETE FROM shop.events;`)
		// A session holding the database open: DROP ... WITH (FORCE) ends it.
		hold := exec.Command(filepath.Join(f.pg.BinDir, "psql"), "-X", "-q", "-d", db, "-c", "SELECT pg_sleep(60)")
		hold.Env = f.pg.Env()
		if err := hold.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = hold.Process.Kill(); _ = hold.Wait() }()
		for i := 0; i < 100 && f.query(t, "postgres", `SELECT count(*) FROM pg_stat_activity WHERE datname = 'restored plain';`) == "0"; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		if err := f.into(t, dump.FormatCustom, Options{Database: db, Clean: true}); err != nil {
			t.Fatalf("Into with Clean: %v\nstderr:\n%s", err, f.stderr.String())
		}
		if got := f.pg.Fingerprint(t, db); got != f.want {
			t.Errorf("cleaned database differs from the source:\ngot\n%s\nwant\n%s", got, f.want)
		}
	})

	t.Run("jobs need a custom-format dump", func(t *testing.T) {
		for _, format := range []string{dump.FormatPlain, dump.FormatTar} {
			err := f.into(t, format, Options{Database: "never made", Jobs: 2})
			if err == nil || !strings.Contains(err.Error(), "custom-format") {
				t.Errorf("%s with Jobs 2: got %v, want an error asking for a custom-format dump", format, err)
			}
		}
		if f.exists(t, "never made") {
			t.Errorf("a refused restore created its database")
		}
	})

	t.Run("truncated custom dump fails with pg_restore's words", func(t *testing.T) {
		// (pg_restore 15 takes a valid header followed by junk for an
		// archive of no entries and exits 0: only a checksum catches that.)
		full, err := os.ReadFile(f.dumps[dump.FormatCustom])
		if err != nil {
			t.Fatal(err)
		}
		err = f.intoFrom(t, bytes.NewReader(full[:len(full)/2]), dump.FormatCustom, Options{Database: "corrupt custom"})
		if err == nil {
			t.Fatal("Into accepted a corrupt dump")
		}
		// The complaint is in the error, and only there: printed on
		// stderr as well, the operator read it twice.
		const complaint = "could not read from input file"
		if !strings.Contains(err.Error(), "pg_restore") || !strings.Contains(err.Error(), complaint) {
			t.Errorf("error %q does not carry pg_restore's complaint", err)
		}
		if strings.Contains(f.stderr.String(), complaint) {
			t.Errorf("pg_restore's complaint was printed besides the error:\n%s", f.stderr.String())
		}
	})

	t.Run("failing plain script restores nothing", func(t *testing.T) {
		script := "CREATE TABLE public.a (x int);\nINSERT INTO public.a VALUES (1);\nSELEC broken;\nCREATE TABLE public.b (x int);\n"
		err := f.intoFrom(t, strings.NewReader(script), dump.FormatPlain, Options{Database: "failing plain"})
		if err == nil || !strings.Contains(err.Error(), `syntax error at or near "SELEC"`) || !strings.Contains(err.Error(), "psql:<stdin>:3:") {
			t.Fatalf("got %v, want psql's syntax error at line 3", err)
		}
		if got := f.userTables(t, "failing plain"); got != "0" {
			t.Errorf("%s tables left after a failed single-transaction restore, want 0", got)
		}
	})

	t.Run("dump stream breaking off restores nothing", func(t *testing.T) {
		full, err := os.ReadFile(f.dumps[dump.FormatPlain])
		if err != nil {
			t.Fatal(err)
		}
		// Cut after the first table's data so that, were psql to see a
		// clean end of input, it would commit a partial restore.
		cut := bytes.Index(full, []byte("\\.\n")) + 3
		r := io.MultiReader(bytes.NewReader(full[:cut]), errReader{errors.New("connection reset by peer")})
		err = f.intoFrom(t, r, dump.FormatPlain, Options{Database: "broken stream"})
		if err == nil || !strings.Contains(err.Error(), "connection reset by peer") {
			t.Fatalf("got %v, want the read error", err)
		}
		if got := f.userTables(t, "broken stream"); got != "0" {
			t.Errorf("%s tables committed from a broken stream, want 0", got)
		}
	})

	t.Run("cancelled restore stops and restores nothing", func(t *testing.T) {
		full, err := os.ReadFile(f.dumps[dump.FormatPlain])
		if err != nil {
			t.Fatal(err)
		}
		// A stream that stalls halfway, as a hung download would.
		pr, pw := io.Pipe()
		defer pw.Close()
		go func() { _, _ = pw.Write(full[:len(full)/2]) }()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = Into(ctx, pr, Options{Database: "cancelled", Format: dump.FormatPlain, Env: f.pg.Env(), Stderr: io.Discard})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("Into took %v to give up", d)
		}
		if got := f.userTables(t, "cancelled"); got != "0" {
			t.Errorf("%s tables committed by a cancelled restore, want 0", got)
		}
	})

	t.Run("source database untouched", func(t *testing.T) {
		if got := f.query(t, srcDB, `SELECT count(*) FROM shop.marker;`); got != "1" {
			t.Errorf("source marker rows: %s, want 1", got)
		}
		if got := f.pg.Psql(t, "postgres", srcState); got != srcBefore {
			t.Errorf("source database settings changed by the restores:\ngot  %s\nwant %s", got, srcBefore)
		}
	})
}

func TestIntoCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL; skipped with -short")
	}
	src := harness.StartPostgres(t)
	src.CreateDB(t, "cluster db")
	src.Seed(t, "cluster db")
	src.Psql(t, "postgres", `CREATE ROLE app LOGIN; ALTER DATABASE "cluster db" OWNER TO app;`)
	want := src.Fingerprint(t, "cluster db")
	path := src.DumpAll(t, t.TempDir(), "gzip")
	info, err := dump.Inspect(path, "gzip", 0, time.Now())
	if err != nil || info.Format != dump.FormatCluster {
		t.Fatalf("inspect pg_dumpall output: %v, format %q", err, info.Format)
	}

	dst := harness.StartPostgres(t)
	restore := func(opts Options) (string, error) {
		t.Helper()
		in, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		r, err := dump.Decompress(in, "gzip")
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		opts.Format, opts.Env, opts.Stderr = dump.FormatCluster, dst.Env(), &stderr
		err = Into(context.Background(), r, opts)
		return stderr.String(), err
	}

	if stderr, err := restore(Options{}); err != nil {
		t.Fatalf("Into a fresh cluster: %v\nstderr:\n%s", err, stderr)
	} else if strings.Contains(stderr, `already exists`) {
		// Expected, and so not shown: printed, it reads as a failure.
		t.Errorf("psql's report of the existing role postgres was shown, stderr:\n%s", stderr)
	}
	if got := dst.Fingerprint(t, "cluster db"); got != want {
		t.Errorf("restored cluster database differs:\ngot\n%s\nwant\n%s", got, want)
	}
	if got := dst.Psql(t, "postgres", `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'cluster db'`); got != "app" {
		t.Errorf("owner of the restored database: %q, want app", got)
	}

	if _, err := restore(Options{Clean: true}); err == nil || !strings.Contains(err.Error(), "cluster") {
		t.Errorf("Clean with a cluster dump: got %v, want a refusal", err)
	}
	// Regression: restoring again into a server that has the databases
	// used to run the dump into them (psql goes on after "already exists"),
	// appending rows to live tables and winding sequences back. It is now
	// refused before psql runs, and the data stays as it was.
	before := dst.Fingerprint(t, "cluster db")
	_, err = restore(Options{Database: "postgres"})
	if !errors.Is(err, ErrClusterInUse) || !strings.Contains(err.Error(), "cluster db") {
		t.Errorf("restoring a cluster dump twice: got %v, want ErrClusterInUse naming the database", err)
	}
	if got := dst.Fingerprint(t, "cluster db"); got != before {
		t.Errorf("the refused restore changed the live database")
	}
}

func TestOptionsChecked(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		want string
	}{
		{Options{Format: dump.FormatPlain}, "no target database"},
		{Options{Database: strings.Repeat("x", 64), Format: dump.FormatPlain}, "longer than 63 bytes"},
		{Options{Database: "a\x00b", Format: dump.FormatPlain}, "NUL"},
		{Options{Database: "db", Format: "zip"}, `unknown dump format "zip"`},
		{Options{Database: "db", Format: dump.FormatPlain, Jobs: 4}, "custom-format"},
		{Options{Database: "db", Format: dump.FormatTar, Jobs: 2}, "custom-format"},
		{Options{Database: "db", Format: dump.FormatCustom, Jobs: -1}, "at least 1"},
		{Options{Format: dump.FormatCluster, Clean: true}, "--clean does not apply"},
	} {
		// Checked before any tool runs: an empty PATH proves it.
		tt.opts.Env = []string{"PATH="}
		err := Into(context.Background(), strings.NewReader(""), tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Into(%+v): got %v, want an error with %q", tt.opts, err, tt.want)
		}
	}
	err := Into(context.Background(), strings.NewReader(""), Options{Database: "db", Format: dump.FormatPlain, Env: []string{"PATH=/nonexistent"}})
	if err == nil || !strings.Contains(err.Error(), "psql not found") {
		t.Errorf("missing psql: got %v", err)
	}
}

func TestClusterErrors(t *testing.T) {
	var c clusterErrors
	for _, line := range []string{
		`psql:<stdin>:14: ERROR:  42710: role "postgres" already exists`,
		`LOCATION:  CreateRole, user.c:308`,
		`psql:<stdin>:20: NOTICE:  00000: table "x" does not exist, skipping`,
		`psql:<stdin>:21: WARNING:  01000: something`,
		`psql:<stdin>:30: FEHLER:  42P04: Datenbank »x« existiert bereits`,
		`psql:<stdin>:31: error: \connect: connection to server failed`,
	} {
		c.scan(line)
	}
	if c.count != 2 || !strings.Contains(c.first, "42P04") {
		t.Errorf("clusterErrors = %+v, want 2 errors, the first 42P04", c)
	}
}

func TestTailWriter(t *testing.T) {
	var out bytes.Buffer
	tw := &tailWriter{out: &out}
	for i := 0; i < 10; i++ {
		io.WriteString(tw, strings.Repeat("ab", 3)+"\r\n\n")
	}
	io.WriteString(tw, "last without newline")
	tw.flush()
	if len(tw.lines) != tailLines || tw.lines[tailLines-1] != "last without newline" || tw.lines[0] != "ababab" {
		t.Errorf("tail lines = %q", tw.lines)
	}
	if out.Len() == 0 {
		t.Error("stderr not passed through")
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func lastNonEmptyLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
