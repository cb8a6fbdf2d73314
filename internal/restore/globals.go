package restore

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/pgarchive/pgarchive/internal/pgargs"
)

// GlobalsReport says what Globals did.
type GlobalsReport struct {
	Created []string // roles the script created
	Skipped []string // roles that were there already, left as they were
	// Tablespaces skipped because they exist.
	SkippedTablespaces []string
	// Deferred are per-database role settings (ALTER ROLE ... IN DATABASE)
	// for databases not there yet: run Globals again once they are.
	Deferred []string
}

// maxGlobals bounds the script Globals holds in memory: roles and
// tablespaces, a few KiB even on a large cluster.
const maxGlobals = 64 << 20

// Globals recreates roles and tablespaces from a pg_dumpall --globals-only
// script on the server libpq's environment names, before any database is
// restored, so that their owners and grantees exist.
//
// A role that already exists (the restoring superuser, "postgres", at
// least) is left exactly as it is: its CREATE ROLE and its ALTER ROLE
// lines (attributes, password, settings) are dropped from the script, so a
// restore never changes a live role's password. Existing tablespaces are
// passed over the same way. Settings of a role in one database (ALTER
// ROLE ... IN DATABASE) are applied where the database exists and reported
// as deferred where it does not: running Globals again after the
// databases are restored applies them, since everything else is then
// skipped. The rest (memberships, comments, parameter grants) runs as
// written, in one transaction with ON_ERROR_STOP: all of it or none.
func Globals(ctx context.Context, script io.Reader, opts Options) (*GlobalsReport, error) {
	p, err := newPlan(Options{Database: "postgres", Format: "cluster", Env: opts.Env, Stderr: opts.Stderr})
	if err != nil {
		return nil, err
	}
	roles, err := p.names(ctx, `SELECT rolname FROM pg_catalog.pg_roles`)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	dbs, err := p.names(ctx, `SELECT datname FROM pg_catalog.pg_database`)
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	spaces, err := p.names(ctx, `SELECT spcname FROM pg_catalog.pg_tablespace`)
	if err != nil {
		return nil, fmt.Errorf("list tablespaces: %w", err)
	}
	rep := &GlobalsReport{}
	var out strings.Builder
	sc := bufio.NewScanner(io.LimitReader(script, maxGlobals))
	sc.Buffer(make([]byte, 64<<10), maxGlobals)
	for sc.Scan() {
		line := sc.Text()
		if keep := filterGlobal(line, roles, dbs, spaces, rep); keep {
			out.WriteString(line)
			out.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read globals script: %w", err)
	}
	args := []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", pgargs.ConnDB(p.Database), "-f", "-"}
	if err := p.tools.run(ctx, "psql", args, strings.NewReader(out.String()), copyAll, nil); err != nil {
		return nil, fmt.Errorf("restore roles: %w", err)
	}
	return rep, nil
}

// filterGlobal reports whether a line of the script is kept, noting in rep
// what it passes over.
func filterGlobal(line string, roles, dbs, spaces map[string]bool, rep *GlobalsReport) bool {
	if rest, ok := strings.CutPrefix(line, "CREATE ROLE "); ok {
		name, _, ok := cutIdent(rest)
		if !ok {
			return true
		}
		if roles[name] {
			rep.Skipped = append(rep.Skipped, name)
			return false
		}
		rep.Created = append(rep.Created, name)
		return true
	}
	if rest, ok := strings.CutPrefix(line, "ALTER ROLE "); ok {
		name, after, ok := cutIdent(rest)
		if !ok {
			return true
		}
		if db, ok := strings.CutPrefix(after, " IN DATABASE "); ok {
			if dbName, _, ok := cutIdent(db); ok && !dbs[dbName] {
				rep.Deferred = append(rep.Deferred, fmt.Sprintf("%s in database %s", name, dbName))
				return false
			}
			return true
		}
		return !roles[name]
	}
	if rest, ok := strings.CutPrefix(line, "CREATE TABLESPACE "); ok {
		if name, _, ok := cutIdent(rest); ok && spaces[name] {
			rep.SkippedTablespaces = append(rep.SkippedTablespaces, name)
			return false
		}
	}
	return true
}

// cutIdent splits a leading SQL identifier, quoted ("a ""b""") or not,
// from s and returns it as the server names it.
func cutIdent(s string) (name, rest string, ok bool) {
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '"' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			return b.String(), s[i+1:], true
		}
		return "", s, false
	}
	end := strings.IndexAny(s, " ;")
	if end <= 0 {
		return "", s, false
	}
	return s[:end], s[end:], true
}

// names runs a one-column query and returns its values as a set.
func (p *plan) names(ctx context.Context, sql string) (map[string]bool, error) {
	out, err := p.tools.query(ctx, p.Database, nil, sql)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if l != "" {
			set[l] = true
		}
	}
	return set, nil
}
