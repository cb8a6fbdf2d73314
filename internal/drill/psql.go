package drill

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pgarchive/pgarchive/internal/pgargs"
)

// psql runs psql with one environment (libpq's PG* variables included).
type psql struct {
	env []string
}

// Separators of census output: ASCII unit and record separators, which
// no table name holds in practice and which, unlike a newline or "|", no
// quoting makes ambiguous.
const (
	fieldSep  = "\x1f"
	recordSep = "\x1e"
)

// run runs script (psql variables interpolated as :'name' or :"name", so
// values need no quoting here) in database db, and returns its unaligned,
// tuples-only output.
func (p psql) run(ctx context.Context, db string, vars map[string]string, script string, extra ...string) (string, error) {
	args := append(pgargs.Query(db, vars), extra...)
	args = append(args, "-f", "-")
	return p.exec(ctx, args, script)
}

// command runs one SQL command as it is (no psql variable interpolation:
// it is the operator's SQL) in database db.
func (p psql) command(ctx context.Context, db, sql string) (string, error) {
	return p.exec(ctx, append(pgargs.Query(db, nil), "-c", sql), "")
}

func (p psql) exec(ctx context.Context, args []string, stdin string) (string, error) {
	path, err := exec.LookPath("psql")
	if err != nil {
		return "", fmt.Errorf("psql not found: is the PostgreSQL client installed? %w", err)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = p.env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		msg := errorLine(stderr.String())
		if msg == "" {
			return "", fmt.Errorf("psql: %w", err)
		}
		return "", fmt.Errorf("psql: %s", msg)
	}
	return stdout.String(), nil
}

// errorLine picks the line of psql's stderr that says what went wrong:
// the first server ERROR or FATAL, or psql's own error, not the LINE and
// caret lines that follow; else the last line.
func errorLine(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for _, l := range lines {
		l = strings.TrimSpace(l)
		for _, marker := range []string{"ERROR:", "FATAL:", "psql: error:"} {
			if i := strings.Index(l, marker); i >= 0 {
				return strings.TrimPrefix(l[i:], "psql: ")
			}
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// Table is one restored table and its exact row count.
type Table struct {
	Name string `json:"name"` // schema.table, quoted where SQL needs it
	Rows int64  `json:"rows"`
}

// censusSQL counts the rows of every ordinary and partitioned table outside
// PostgreSQL's own schemas (partitions count in their parent, not on their
// own), exactly, with count(*) through query_to_xml, in one statement.
const censusSQL = `
SELECT format('%I.%I', n.nspname, c.relname),
       (xpath('/row/n/text()',
              query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
ORDER BY 1;
`

// census lists the tables of db with their row counts, largest first.
func (p psql) census(ctx context.Context, db string) ([]Table, error) {
	out, err := p.run(ctx, db, nil, censusSQL, "-F", fieldSep, "-R", recordSep)
	if err != nil {
		return nil, fmt.Errorf("count rows: %w", err)
	}
	var tables []Table
	for _, rec := range strings.Split(strings.TrimRight(out, "\n"+recordSep), recordSep) {
		if rec == "" {
			continue
		}
		name, rows, ok := strings.Cut(rec, fieldSep)
		n, err := strconv.ParseInt(strings.TrimSpace(rows), 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("count rows: unexpected psql output %q", rec)
		}
		tables = append(tables, Table{Name: name, Rows: n})
	}
	sort.SliceStable(tables, func(i, j int) bool { return tables[i].Rows > tables[j].Rows })
	return tables, nil
}

// dropSQL drops the scratch database, disconnecting anyone still in it
// (WITH (FORCE) needs PostgreSQL 13).
const dropSQL = `
SELECT current_setting('server_version_num')::int >= 130000 AS pgarchive_force \gset
\if :pgarchive_force
DROP DATABASE IF EXISTS :"db" WITH (FORCE);
\else
DROP DATABASE IF EXISTS :"db";
\endif
`

// drop drops database db, connected to the maintenance database.
func (p psql) drop(ctx context.Context, db string) error {
	if _, err := p.run(ctx, maintenanceDB, map[string]string{"db": db}, dropSQL); err != nil {
		return fmt.Errorf("drop database %q: %w", db, err)
	}
	return nil
}

// query runs one of the operator's [drill] queries; it must return a
// single true.
func (p psql) query(ctx context.Context, db, sql string) error {
	out, err := p.command(ctx, db, sql)
	if err != nil {
		return err
	}
	if got := strings.TrimRight(out, "\n"); got != "t" {
		return fmt.Errorf("returned %q, want true", abbreviate(got, 60))
	}
	return nil
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
