// Package drill proves that an archive restores: it restores one into a
// scratch database, checks what came back, and drops it again.
//
// A drill takes one complete archive (the caller picks it, by age), and:
//
//  1. reads its manifest, decrypts it with a key the database host does not
//     normally hold (archive.Open checks both SHA-256 sums on the way), and
//     restores it with restore.Into into the scratch database
//     pgarchive_drill_<db> (ScratchName), dropping a leftover of that name
//     first;
//  2. counts the rows of every table in every schema that is not
//     PostgreSQL's own (not only public), exactly;
//  3. compares the counts with the previous passing drill's Record, if any:
//     a table that had rows and now has none fails the drill;
//  4. runs the operator's [drill] queries in the scratch database, each of
//     which must return a single true;
//  5. drops the scratch database, whatever happened before, even when the
//     drill is interrupted.
//
// Run returns a Report of all that, and an error when any step failed. The
// caller saves the Report's Record only after a drill that passed, so that
// a table emptied by mistake keeps failing drills until someone looks.
//
// The server is reached through libpq's PG* environment, which ConnEnv can
// build from a connection string ([drill] connection); the drill needs
// rights to create and drop databases there. A pg_dumpall archive (the
// database "all") recreates every database under its own name, so it cannot
// be drilled into one scratch database: Run refuses it (ErrCluster); verify
// --identity reads such an archive to its end instead.
package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/dump"
	"github.com/pgarchive/pgarchive/internal/restore"
	"github.com/pgarchive/pgarchive/internal/target"
)

// ScratchPrefix starts the name of every scratch database.
const ScratchPrefix = "pgarchive_drill_"

// maintenanceDB is where the scratch database is dropped from.
const maintenanceDB = "postgres"

// maxNameLen is PostgreSQL's NAMEDATALEN-1.
const maxNameLen = 63

// dropTimeout bounds dropping the scratch database after the drill, which
// runs even when the drill's context is done.
const dropTimeout = 2 * time.Minute

// ScratchName is the scratch database a drill of database restores into:
// ScratchPrefix, then database in lower case with every character other
// than a-z, 0-9 and "_" replaced by "_", cut to PostgreSQL's 63 bytes.
func ScratchName(database string) string {
	var b strings.Builder
	b.WriteString(ScratchPrefix)
	for _, r := range strings.ToLower(database) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > maxNameLen {
		s = s[:maxNameLen]
	}
	return s
}

// ErrCluster is returned by Run for a pg_dumpall archive.
var ErrCluster = errors.New("a pg_dumpall archive recreates every database under its own name and cannot be restored into a scratch database (verify --identity reads it to the end instead)")

// Request is one drill.
type Request struct {
	// Target holds the archive Entry names.
	Target *target.Target
	Entry  archive.Entry
	// Identities decrypt the archive.
	Identities []age.Identity
	// Env is the environment of psql and pg_restore: libpq's PG*
	// variables say which server the scratch database goes to. Nil means
	// this process's environment.
	Env []string
	// Queries are SQL statements that must each return true.
	Queries []string
	// Previous is the last passing drill's record of this database, or nil.
	Previous *Record
	// Stderr receives psql's and pg_restore's messages; nil means os.Stderr.
	Stderr io.Writer
	// Progress, if set, wraps the dump as the drill reads it (size bytes
	// in all), for a progress line; done is called when the restore ends.
	Progress func(r io.Reader, size int64) (wrapped io.Reader, done func())
}

// Report is what a drill did and found.
type Report struct {
	Host        string        `json:"host"`
	Database    string        `json:"database"`
	Target      string        `json:"target"`
	Archive     string        `json:"archive"`
	ArchiveTime time.Time     `json:"archive_time"`
	Scratch     string        `json:"scratch_database"`
	Bytes       int64         `json:"bytes"`
	Duration    time.Duration `json:"-"`
	// Tables lists every restored table, largest first.
	Tables []Table `json:"tables"`
	// QueriesPassed counts the [drill] queries that returned true.
	QueriesPassed int `json:"queries_passed"`
	// Problems are why the drill failed, one line each; empty when it
	// passed.
	Problems []string `json:"problems"`
	// Notes are worth reading but fail nothing.
	Notes []string `json:"notes"`
}

// OK reports whether the drill passed.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Record is what the next drill compares with.
func (r *Report) Record(drilled time.Time) *Record {
	tables := make(map[string]int64, len(r.Tables))
	for _, t := range r.Tables {
		tables[t.Name] = t.Rows
	}
	return &Record{
		Version: RecordVersion, Host: r.Host, Database: r.Database, Target: r.Target,
		Archive: r.Archive, ArchiveTime: r.ArchiveTime, Drilled: drilled.UTC(), Tables: tables,
	}
}

// Run drills req.Entry. It always returns a Report; the error is non-nil
// when the drill failed, and then names every problem.
func Run(ctx context.Context, req Request) (rep *Report, err error) {
	e := req.Entry
	rep = &Report{
		Host: e.Name.Host, Database: e.Name.Database, Target: req.Target.Name,
		Archive: e.Name.Object(), ArchiveTime: e.Name.Time, Scratch: ScratchName(e.Name.Database),
	}
	env := req.Env
	if env == nil {
		env = os.Environ()
	}
	stderr := req.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	pg := psql{env: env}
	start := time.Now()

	m, err := archive.ReadManifest(ctx, req.Target, e.Name)
	if err != nil {
		return rep, rep.fail(err.Error())
	}
	if m.Dump.Format == dump.FormatCluster {
		return rep, rep.fail(ErrCluster.Error())
	}

	plain, err := archive.Open(ctx, req.Target, e.Name, m, req.Identities)
	if err != nil {
		return rep, rep.fail(err.Error())
	}
	defer plain.Close()
	var src io.Reader = plain
	if req.Progress != nil {
		var done func()
		src, done = req.Progress(plain, m.Dump.Size)
		defer done()
	}
	sql, err := dump.Decompress(src, m.Dump.Compression)
	if err != nil {
		return rep, rep.fail(fmt.Sprintf("%s: %v", e.Name.Object(), err))
	}
	defer sql.Close()

	defer func() {
		// From here on the scratch database may exist. It goes whatever
		// happens, even when ctx is done (SIGTERM): a drill must leave
		// nothing behind.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dropTimeout)
		defer cancel()
		if derr := pg.drop(dctx, rep.Scratch); derr != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("scratch database left behind: %v", derr))
			err = rep.err()
		}
	}()
	err = restore.Into(ctx, sql, restore.Options{
		Database: rep.Scratch,
		Format:   m.Dump.Format,
		Clean:    true, // a scratch database left by a drill that was killed
		Env:      env,
		Stderr:   stderr,
	})
	if err == nil {
		// pg_restore may stop reading before the end: read on, so that
		// archive.Open's size and SHA-256 checks always run.
		_, err = io.Copy(io.Discard, src)
	}
	if err != nil {
		rep.Duration = time.Since(start)
		return rep, rep.fail("restore: " + oneLine(err.Error()))
	}
	rep.Bytes = m.Ciphertext.Size

	tables, err := pg.census(ctx, rep.Scratch)
	if err != nil {
		rep.Duration = time.Since(start)
		return rep, rep.fail(err.Error())
	}
	rep.Tables = tables
	problems, notes := Compare(req.Previous, tables)
	rep.Problems = append(rep.Problems, problems...)
	rep.Notes = append(rep.Notes, notes...)
	if len(tables) == 0 && req.Previous == nil {
		rep.Notes = append(rep.Notes, "the archive holds no tables")
	}
	for _, q := range req.Queries {
		if err := pg.query(ctx, rep.Scratch, q); err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("query %q: %v", abbreviate(oneLine(q), 80), err))
			continue
		}
		rep.QueriesPassed++
	}
	rep.Duration = time.Since(start)
	return rep, rep.err()
}

// fail records a problem and returns the drill's error.
func (r *Report) fail(problem string) error {
	r.Problems = append(r.Problems, problem)
	return r.err()
}

// err sums up the problems as one error, nil when there are none. It is
// computed again after the scratch database is dropped.
func (r *Report) err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	return &Error{Report: r}
}

// Error is a failed drill; its message names every problem of the Report,
// including one found while dropping the scratch database.
type Error struct{ Report *Report }

func (e *Error) Error() string {
	return fmt.Sprintf("drill of %s from %s failed: %s", e.Report.Archive, e.Report.Target, strings.Join(e.Report.Problems, "; "))
}

// oneLine folds a multi-line message (a tool's error with its last lines,
// a query) into one line.
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " | ")
}
