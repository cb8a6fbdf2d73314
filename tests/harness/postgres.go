package harness

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultPGBinDir is where Debian's postgresql-15 package installs the
// server binaries; PGARCHIVE_PG_BINDIR overrides it.
const DefaultPGBinDir = "/usr/lib/postgresql/15/bin"

// Postgres is a PostgreSQL server started for one test, listening only on a
// Unix socket in SocketDir, with trust authentication and the superuser
// "postgres".
type Postgres struct {
	// BinDir holds initdb, postgres, pg_ctl, psql, pg_dump and friends.
	BinDir string
	// ServerBinDir, when set, holds the server's initdb, postgres and
	// pg_ctl instead (a newer major version, StartPostgres17); the
	// clients still come from BinDir.
	ServerBinDir string
	// Version is the server's major version, 15 or 17.
	Version int
	// Dir is the server's private directory, owned by the postgres user.
	Dir string
	// DataDir is the cluster directory made by initdb.
	DataDir string
	// SocketDir is where the server's socket lives; it is PGHOST.
	SocketDir string
	// Port names the socket (.s.PGSQL.<Port>); it is PGPORT. No TCP port
	// is opened.
	Port int
	// User is the database superuser, "postgres"; it is PGUSER.
	User string
	// LogFile receives the server's output.
	LogFile string

	run      runAs
	proc     *process
	stopOnce sync.Once
}

// runAs describes the OS user the server and dumps run as: the postgres
// system user when the test runs as root, the current user otherwise.
type runAs struct {
	switchUser bool
	uid, gid   int
}

func (r runAs) apply(cmd *exec.Cmd) {
	if !r.switchUser {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid), Groups: []uint32{}}
}

// chown gives path to the user the server runs as.
func (r runAs) chown(path string) error {
	if !r.switchUser {
		return nil
	}
	if err := os.Chown(path, r.uid, r.gid); err != nil {
		return fmt.Errorf("chown %s to postgres: %w", path, err)
	}
	return nil
}

// makeTraversable lets the postgres user reach dir by adding o+x to every
// ancestor that lacks it (t.TempDir's parents are 0700 root).
func (r runAs) makeTraversable(dir string) error {
	if !r.switchUser {
		return nil
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("making %s traversable: %w", d, err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("making %s traversable for postgres: %w", d, err)
			}
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func lookupRunAs(t testing.TB) runAs {
	t.Helper()
	if os.Geteuid() != 0 {
		return runAs{}
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("harness: PostgreSQL refuses to run as root and there is no \"postgres\" user to run it as (install postgresql-15, or run tests/setup.sh): %v", err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		t.Fatalf("harness: postgres uid %q: %v", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		t.Fatalf("harness: postgres gid %q: %v", u.Gid, err)
	}
	return runAs{switchUser: true, uid: uid, gid: gid}
}

func pgBinDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PGARCHIVE_PG_BINDIR")
	if dir == "" {
		dir = DefaultPGBinDir
	}
	for _, tool := range []string{"initdb", "postgres", "pg_ctl", "pg_isready", "psql", "pg_dump", "pg_dumpall", "pg_restore"} {
		if _, err := os.Stat(filepath.Join(dir, tool)); err != nil {
			t.Fatalf("harness: PostgreSQL 15 tool %q missing in %s (install postgresql-15 and postgresql-client-15 with tests/setup.sh, or set PGARCHIVE_PG_BINDIR): %v", tool, dir, err)
		}
	}
	return dir
}

// StartPostgres runs initdb in a fresh directory and starts a PostgreSQL 15
// server on a Unix socket there. It is stopped with pg_ctl stop -m immediate
// and its directory removed when the test ends.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	return startPostgres(t, &Postgres{BinDir: pgBinDir(t), Version: 15, User: "postgres", run: lookupRunAs(t)})
}

// serverTool is the path of a server binary (initdb, postgres, pg_ctl).
func (p *Postgres) serverTool(name string) string {
	if p.ServerBinDir != "" {
		return filepath.Join(p.ServerBinDir, name)
	}
	return filepath.Join(p.BinDir, name)
}

func startPostgres(t testing.TB, p *Postgres) *Postgres {
	t.Helper()
	start := time.Now()

	// A short path: socket paths are limited to 107 bytes.
	dir, err := makeTempDir("pgarchive-pg-")
	if err != nil {
		t.Fatalf("harness: postgres directory: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := p.run.chown(dir); err != nil {
		t.Fatalf("harness: %v", err)
	}
	if err := p.run.makeTraversable(dir); err != nil {
		t.Fatalf("harness: %v", err)
	}
	p.Dir = dir
	p.DataDir = filepath.Join(dir, "data")
	p.SocketDir = dir
	p.LogFile = filepath.Join(dir, "postgres.log")
	p.Port = FreePort(t)

	out, err := p.asPostgres(p.serverTool("initdb"),
		"-D", p.DataDir, "-U", p.User, "-A", "trust", "-E", "UTF8", "--locale=C",
		"--no-sync", "--no-instructions").CombinedOutput()
	if err != nil {
		t.Fatalf("harness: initdb in %s failed: %v\n%s", p.DataDir, err, out)
	}

	conf := fmt.Sprintf(`
# added by pgarchive's test harness
listen_addresses = ''
port = %d
unix_socket_directories = '%s'
max_connections = 30
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
`, p.Port, p.SocketDir)
	f, err := os.OpenFile(filepath.Join(p.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(conf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatalf("harness: writing postgresql.conf: %v", err)
	}

	if f, err := os.Create(p.LogFile); err == nil {
		f.Close()
		_ = p.run.chown(p.LogFile)
	}
	cmd := p.asPostgres(p.serverTool("postgres"), "-D", p.DataDir)
	// SIGQUIT is PostgreSQL's immediate shutdown, should the test die.
	p.proc, err = startProcess(cmd, p.LogFile, syscall.SIGQUIT)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(p.Stop)
	logOnFailure(t, "postgres", p.LogFile)

	err = waitFor(60*time.Second, 50*time.Millisecond, p.proc, func() error {
		out, err := exec.Command(filepath.Join(p.BinDir, "pg_isready"), "-q",
			"-h", p.SocketDir, "-p", strconv.Itoa(p.Port), "-U", p.User, "-d", "postgres").CombinedOutput()
		if err != nil {
			return fmt.Errorf("pg_isready: %v %s", err, out)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("harness: postgres in %s: %v\nlog:\n%s", p.Dir, err, tail(p.LogFile, 40))
	}
	t.Logf("harness: postgres %d ready on %s/.s.PGSQL.%d in %v", p.Version, p.SocketDir, p.Port, time.Since(start).Round(time.Millisecond))
	return p
}

// asPostgres returns a command running as the postgres user, in its private
// directory, with PATH, HOME and the PG* variables pointing at this server.
func (p *Postgres) asPostgres(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = p.Dir
	cmd.Env = setEnv(p.Env(), "HOME="+p.Dir)
	p.run.apply(cmd)
	return cmd
}

// Stop shuts the server down at once (pg_ctl stop -m immediate). It is safe
// to call more than once; StartPostgres registers it as a cleanup.
func (p *Postgres) Stop() {
	p.stopOnce.Do(func() {
		if p.proc == nil {
			return
		}
		_ = p.asPostgres(p.serverTool("pg_ctl"), "stop", "-D", p.DataDir, "-m", "immediate", "-w", "-t", "30").Run()
		if !p.proc.waitExit(30 * time.Second) {
			p.proc.stop(syscall.SIGQUIT, 5*time.Second)
		}
	})
}

// Env returns the process environment with the PG* variables replaced by
// PGHOST, PGPORT and PGUSER for this server and PATH starting with BinDir,
// ready to be used as exec.Cmd.Env for psql, pg_restore or pgarchive.
func (p *Postgres) Env() []string {
	env := dropEnv(os.Environ(), func(k string) bool { return strings.HasPrefix(k, "PG") })
	return setEnv(env,
		"PGHOST="+p.SocketDir,
		"PGPORT="+strconv.Itoa(p.Port),
		"PGUSER="+p.User,
		"PATH="+p.BinDir+string(os.PathListSeparator)+os.Getenv("PATH"),
	)
}

// Psql runs sql in database db with psql -X -At -v ON_ERROR_STOP=1 and
// returns its output without the trailing newline: one row per line, columns
// separated by "|". Several statements may be given.
func (p *Postgres) Psql(t testing.TB, db, sql string) string {
	t.Helper()
	out, err := p.psql(db, sql)
	if err != nil {
		t.Fatalf("harness: psql on database %q: %v\nSQL:\n%s", db, err, truncate(sql, 2000))
	}
	return out
}

func (p *Postgres) psql(db, sql string) (string, error) {
	cmd := exec.Command(filepath.Join(p.BinDir, "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-f", "-")
	cmd.Env = p.Env()
	cmd.Stdin = strings.NewReader(sql)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimRight(stdout.String(), "\n"), nil
}

// CreateDB creates the database name.
func (p *Postgres) CreateDB(t testing.TB, name string) {
	t.Helper()
	p.Psql(t, "postgres", "CREATE DATABASE "+quoteIdent(name))
}

// DropDB drops the database name, if it exists.
func (p *Postgres) DropDB(t testing.TB, name string) {
	t.Helper()
	p.Psql(t, "postgres", "DROP DATABASE IF EXISTS "+quoteIdent(name)+" WITH (FORCE)")
}

// SeedRows gives the row count of each table Seed fills.
var SeedRows = map[string]int{
	"shop.customers": 2000,
	"shop.orders":    5000,
	"shop.events":    1000,
}

// Seed fills database db with the schema "shop": tables customers (text
// with non-ASCII characters, newlines, tabs, quotes and backslashes, and some
// NULLs), orders (numeric, bytea with NUL bytes, text[], a column defaulting
// to the sequence shop.invoice_no) and events (identity column, jsonb), plus
// the view shop.customer_totals. Row counts are in SeedRows. The data is the
// same on every run.
func (p *Postgres) Seed(t testing.TB, db string) {
	t.Helper()
	p.Psql(t, db, seedSQL)
}

const seedSQL = `
BEGIN;
CREATE SCHEMA shop;
CREATE SEQUENCE shop.invoice_no START 1000 INCREMENT 7;
CREATE TABLE shop.customers (
	id         integer PRIMARY KEY,
	name       text NOT NULL,
	note       text,
	created_at timestamptz NOT NULL
);
CREATE TABLE shop.orders (
	id          bigserial PRIMARY KEY,
	customer_id integer NOT NULL REFERENCES shop.customers (id),
	invoice     bigint NOT NULL DEFAULT nextval('shop.invoice_no'),
	amount      numeric(12,2) NOT NULL,
	payload     bytea,
	tags        text[]
);
CREATE INDEX orders_customer_idx ON shop.orders (customer_id);
CREATE TABLE shop.events (
	id   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind text NOT NULL,
	body jsonb
);
INSERT INTO shop.customers
SELECT i,
	'Zoë Ünïcødé 東京 Ελλάδα №' || i,
	CASE WHEN i % 100 = 0 THEN NULL
	     WHEN i % 100 = 1 THEN ''
	     ELSE E'line one\nline\ttwo \\ back ''single'' "double" € ' || i || E'\r\nend' END,
	timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour'
FROM generate_series(1, 2000) AS i;
INSERT INTO shop.orders (customer_id, amount, payload, tags)
SELECT 1 + i % 2000,
	round((i * 7919 % 1000000) / 100.0, 2),
	CASE WHEN i % 50 = 0 THEN NULL ELSE decode(md5(i::text), 'hex') || '\x00ff0a0d095c'::bytea END,
	ARRAY['tag' || i % 7, 'ü', E'a\tb']
FROM generate_series(1, 5000) AS i;
INSERT INTO shop.events (kind, body)
SELECT (ARRAY['created', 'paid', 'shipped'])[1 + i % 3],
	jsonb_build_object('n', i, 'text', 'α→β ' || i, 'nested', jsonb_build_array(i, 'x'))
FROM generate_series(1, 1000) AS i;
CREATE VIEW shop.customer_totals AS
SELECT c.id, c.name, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS total
FROM shop.customers c LEFT JOIN shop.orders o ON o.customer_id = c.id
GROUP BY c.id, c.name;
COMMIT;
ANALYZE;
`

// Fingerprint summarises the user data in database db, one line per
// relation, sorted:
//
//	table shop.customers rows=2000 md5=…
//	view shop.customer_totals rows=2000 md5=…
//	sequence shop.invoice_no last_value=35993
//
// The md5 covers every row's text form in a fixed order, so two databases
// with equal fingerprints hold the same data. Compare a restored database
// with its source this way.
func (p *Postgres) Fingerprint(t testing.TB, db string) string {
	t.Helper()
	rels := p.Psql(t, db, `
SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'view' ELSE 'table' END
	|| ' ' || format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm')
	AND n.nspname NOT IN ('pg_catalog', 'information_schema')
	AND n.nspname NOT LIKE 'pg\_%'
ORDER BY 1`)
	var q strings.Builder
	q.WriteString("SELECT line FROM (\n")
	first := true
	for _, rel := range strings.Split(rels, "\n") {
		if rel == "" {
			continue
		}
		kind, name, _ := strings.Cut(rel, " ")
		if !first {
			q.WriteString("UNION ALL\n")
		}
		first = false
		fmt.Fprintf(&q, "SELECT %s || ' rows=' || count(*) || ' md5=' || md5(coalesce(string_agg(fp_row_::text, E'\\n' ORDER BY fp_row_::text COLLATE \"C\"), '')) AS line FROM %s AS fp_row_\n",
			quoteLiteral(kind+" "+name), name)
	}
	if !first {
		q.WriteString("UNION ALL\n")
	}
	q.WriteString(`SELECT 'sequence ' || format('%I.%I', schemaname, sequencename) || ' last_value=' || coalesce(last_value::text, 'null') FROM pg_sequences
) AS fp ORDER BY line COLLATE "C"`)
	return p.Psql(t, db, q.String())
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteLiteral quotes an SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
