// Package pgargs builds the command lines pgarchive gives psql and
// pg_restore, the same way everywhere.
//
// Database names go in as a quoted dbname=... connection string, so a name
// holding "=" or a space is never read as connection options, and values
// reach SQL as psql variables (:'name' for a literal, :"name" for an
// identifier), so no value is ever spliced into SQL text.
package pgargs

import (
	"sort"
	"strings"
)

// ConnDB is a libpq connection string naming only the database db.
func ConnDB(db string) string {
	return "dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(db) + "'"
}

// Query is psql's arguments for running a script from stdin in database
// db, stopping at the first error, with vars set as psql variables (in a
// fixed order) and unaligned, tuples-only output.
func Query(db string, vars map[string]string) []string {
	args := []string{"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", ConnDB(db)}
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		args = append(args, "-v", name+"="+vars[name])
	}
	return args
}
