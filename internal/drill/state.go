package drill

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/pgarchive/pgarchive/internal/atomicfile"
)

// RecordVersion is the format of the record files this code writes.
const RecordVersion = 1

// Record is what a passing drill leaves for the next one to compare with:
// the row count of every table it restored. One file per host and
// database, <state_dir>/drill/<host>/<database>.json.
type Record struct {
	Version     int              `json:"version"`
	Host        string           `json:"host"`
	Database    string           `json:"database"`
	Target      string           `json:"target"`
	Archive     string           `json:"archive"`
	ArchiveTime time.Time        `json:"archive_time"`
	Drilled     time.Time        `json:"drilled"`
	Tables      map[string]int64 `json:"tables"`
}

// RecordPath is where the record of host's database lives under dir.
func RecordPath(dir, host, database string) string {
	return filepath.Join(dir, "drill", host, database+".json")
}

// LoadRecord reads the previous drill's record of host's database from
// dir; it returns nil and no error when there is none yet.
func LoadRecord(dir, host, database string) (*Record, error) {
	path := RecordPath(dir, host, database)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read drill record: %w", err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("drill record %s: %w (remove it to start afresh)", path, err)
	}
	if r.Version < 1 || r.Version > RecordVersion {
		return nil, fmt.Errorf("drill record %s: version %d is not supported (reads up to %d)", path, r.Version, RecordVersion)
	}
	return &r, nil
}

// SaveRecord writes r under dir atomically: a file beside the record,
// synced, then renamed over it, so a crash leaves the old record or the
// new one, never half of one.
func SaveRecord(dir string, r *Record) error {
	path := RecordPath(dir, r.Host, r.Database)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save drill record: %w", err)
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("save drill record: %w", err)
	}
	if err := atomicfile.WriteBytes(path, 0o600, append(data, '\n')); err != nil {
		return fmt.Errorf("save drill record %s: %w", path, err)
	}
	return nil
}

// Compare checks tables, the census of this drill, against prev, the last
// passing drill's record (nil: nothing to compare with). problems fail the
// drill: a table that had rows and now has none, or no table at all where
// the last drill found some. notes are only reported: tables gone since
// (a drill of an older archive, or a table dropped on purpose).
func Compare(prev *Record, tables []Table) (problems, notes []string) {
	if prev == nil {
		return nil, nil
	}
	now := make(map[string]int64, len(tables))
	for _, t := range tables {
		now[t.Name] = t.Rows
	}
	if len(tables) == 0 && len(prev.Tables) > 0 {
		problems = append(problems, fmt.Sprintf("no tables restored; the drill of %s found %d", prev.Archive, len(prev.Tables)))
		return problems, nil
	}
	names := make([]string, 0, len(prev.Tables))
	for name := range prev.Tables {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		before := prev.Tables[name]
		rows, ok := now[name]
		switch {
		case !ok:
			notes = append(notes, fmt.Sprintf("table %s (%d rows at the drill of %s) is gone", name, before, prev.Archive))
		case rows == 0 && before > 0:
			problems = append(problems, fmt.Sprintf("table %s has 0 rows, %d at the drill of %s", name, before, prev.Archive))
		}
	}
	return problems, notes
}
