// Package metrics keeps a Prometheus textfile for node_exporter's textfile
// collector: what every push, prune, verify and drill did, per database and
// target, so alerts can fire on a stale backup or a failing target.
//
// Each job run ends with Update, which merges the run's outcomes into a
// state file kept beside the textfile (<textfile>.state.json), and rewrites
// the textfile from the whole state. The state is what makes the last
// success survive a failed run: a failure updates the attempt timestamp and
// last_run_success, and leaves last_success_timestamp_seconds as it was.
// Both files are replaced atomically (written beside, then renamed), and a
// lock file (<textfile>.lock) serialises concurrent runs, so jobs of
// several databases can finish at the same moment.
//
// Series, all gauges, labelled operation (push, prune, verify or drill),
// database and target:
//
//	pgarchive_last_attempt_timestamp_seconds   when the last run ended
//	pgarchive_last_success_timestamp_seconds   when the last good run ended
//	pgarchive_last_run_success                 1 if the last run succeeded, else 0
//	pgarchive_last_bytes                       bytes written or read by the last run
//	pgarchive_last_duration_seconds            how long the last run took
//
// and, labelled database and target only:
//
//	pgarchive_archives_kept                    complete archives left by the last prune
//	pgarchive_archives_deleted                 archives deleted by the last prune
//	pgarchive_verify_failures                  bad archives found by the last verify
//	pgarchive_drill_last_success_timestamp_seconds   when the last good drill ended
//	pgarchive_drill_last_duration_seconds      how long the last good drill took
//	pgarchive_drill_last_tables                tables the last good drill restored
//	pgarchive_archive_lock_until_timestamp_seconds   until when the newest pushed archive is locked
//
// The label is "operation", not "job": Prometheus attaches its own job
// label to every scraped series and would rename ours to exported_job.
package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pgarchive/pgarchive/internal/atomicfile"
)

// Operations as they appear in the operation label.
const (
	Push   = "push"
	Prune  = "prune"
	Verify = "verify"
	Drill  = "drill"
)

// Outcome is one run of one operation on one database and target.
type Outcome struct {
	Operation string
	Database  string
	Target    string
	Ended     time.Time
	Duration  time.Duration
	Success   bool
	Bytes     int64
	Kept      int // prune
	Deleted   int // prune
	Failures  int // verify
	Tables    int // drill: tables restored
	// ClockBehind (push) is how far the newest archive already on the
	// target was stamped after this push: the host clock went back.
	ClockBehind time.Duration
	// LockUntil (push) is the object lock the archive got on the target;
	// zero where the target locks nothing.
	LockUntil time.Time
}

// record is the state kept per operation, database and target.
type record struct {
	Operation   string    `json:"operation"`
	Database    string    `json:"database"`
	Target      string    `json:"target"`
	LastAttempt time.Time `json:"last_attempt"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastRunOK   bool      `json:"last_run_success"`
	Bytes       int64     `json:"bytes"`
	Duration    float64   `json:"duration_seconds"`
	// SuccessDuration is the duration of the last good run (drills).
	SuccessDuration float64   `json:"success_duration_seconds,omitempty"`
	Kept            int       `json:"kept,omitempty"`
	Deleted         int       `json:"deleted,omitempty"`
	Failures        int       `json:"failures,omitempty"`
	Tables          int       `json:"tables,omitempty"`
	ClockBehind     float64   `json:"clock_behind_seconds,omitempty"`
	LockUntil       time.Time `json:"lock_until,omitzero"`
}

// state is the content of the state file.
type state struct {
	Version int       `json:"version"`
	Records []*record `json:"records"`
}

const stateVersion = 1

// StatePath is where the state of textfile is kept.
func StatePath(textfile string) string { return textfile + ".state.json" }

// Update merges outcomes into the state beside textfile and rewrites the
// textfile. When targets is not nil, records of targets not in it (removed
// from the configuration) are dropped, so their series disappear.
func Update(textfile string, outcomes []Outcome, targets []string) error {
	lock, err := os.OpenFile(textfile+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("metrics: lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	st, err := readState(StatePath(textfile))
	if err != nil {
		return err
	}
	for _, o := range outcomes {
		st.find(o.Operation, o.Database, o.Target).apply(o)
	}
	if targets != nil {
		known := map[string]bool{}
		for _, t := range targets {
			known[t] = true
		}
		kept := st.Records[:0]
		for _, r := range st.Records {
			if known[r.Target] {
				kept = append(kept, r)
			}
		}
		st.Records = kept
	}
	sort.Slice(st.Records, func(i, j int) bool {
		a, b := st.Records[i], st.Records[j]
		if a.Operation != b.Operation {
			return a.Operation < b.Operation
		}
		if a.Database != b.Database {
			return a.Database < b.Database
		}
		return a.Target < b.Target
	})
	if err := writeState(StatePath(textfile), st); err != nil {
		return err
	}
	reg, err := registry(st)
	if err != nil {
		return err
	}
	if err := prometheus.WriteToTextfile(textfile, reg); err != nil {
		return fmt.Errorf("metrics: write %s: %w", textfile, err)
	}
	// WriteToTextfile creates the file 0600 through os.CreateTemp; the
	// node_exporter reading it usually runs as another user.
	if err := os.Chmod(textfile, 0o644); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// find returns the record of op, db and target, adding it if missing.
func (st *state) find(op, db, target string) *record {
	for _, r := range st.Records {
		if r.Operation == op && r.Database == db && r.Target == target {
			return r
		}
	}
	r := &record{Operation: op, Database: db, Target: target}
	st.Records = append(st.Records, r)
	return r
}

func (r *record) apply(o Outcome) {
	r.LastAttempt = o.Ended.UTC()
	r.LastRunOK = o.Success
	r.Bytes = o.Bytes
	r.Duration = o.Duration.Seconds()
	if o.Success {
		r.LastSuccess = o.Ended.UTC()
		r.SuccessDuration = o.Duration.Seconds()
	}
	switch o.Operation {
	case Prune:
		// A prune that failed on this target does not know what is left.
		if o.Success {
			r.Kept, r.Deleted = o.Kept, o.Deleted
		}
	case Push:
		r.ClockBehind = o.ClockBehind.Seconds()
		if o.Success {
			// A failed push locked nothing new: the last lock stands.
			r.LockUntil = o.LockUntil.UTC()
		}
	case Verify:
		r.Failures = o.Failures
	case Drill:
		if o.Success {
			r.Tables = o.Tables
		}
	}
}

func readState(path string) (*state, error) {
	st := &state{Version: stateVersion}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("metrics: read state: %w", err)
	}
	if err := json.Unmarshal(data, st); err != nil || st.Version != stateVersion {
		// A damaged state must not stop metrics for good: start over
		// (the last success times are lost, which alerts then show).
		return &state{Version: stateVersion}, nil
	}
	return st, nil
}

func writeState(path string, st *state) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if err := atomicfile.WriteBytes(path, 0o600, append(data, '\n')); err != nil {
		return fmt.Errorf("metrics: write state: %w", err)
	}
	return nil
}

// registry builds the gauges from the state.
func registry(st *state) (*prometheus.Registry, error) {
	opLabels := []string{"operation", "database", "target"}
	dbLabels := []string{"database", "target"}
	g := func(name, help string, labels []string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "pgarchive", Name: name, Help: help}, labels)
	}
	var (
		attempt   = g("last_attempt_timestamp_seconds", "When the last run of the operation ended, in Unix seconds.", opLabels)
		success   = g("last_success_timestamp_seconds", "When the last successful run of the operation ended, in Unix seconds.", opLabels)
		runOK     = g("last_run_success", "1 if the last run of the operation succeeded, else 0.", opLabels)
		bytes     = g("last_bytes", "Bytes written (push) or read (verify, drill) by the last run.", opLabels)
		duration  = g("last_duration_seconds", "Duration of the last run of the operation.", opLabels)
		kept      = g("archives_kept", "Complete archives on the target after the last prune.", dbLabels)
		deleted   = g("archives_deleted", "Archives deleted by the last prune.", dbLabels)
		failures  = g("verify_failures", "Archives the last verify found bad.", dbLabels)
		drillOK   = g("drill_last_success_timestamp_seconds", "When the last successful restore drill ended, in Unix seconds.", dbLabels)
		drillTook = g("drill_last_duration_seconds", "Duration of the last successful restore drill.", dbLabels)
		drillRows = g("drill_last_tables", "Tables the last successful restore drill restored.", dbLabels)
		lockUntil = g("archive_lock_until_timestamp_seconds", "Until when the object lock of the newest archive pushed holds, in Unix seconds; absent where the target locks nothing.", dbLabels)
		behind    = g("push_clock_behind_seconds", "How far the newest archive already on the target was stamped after the last push's clock; above 0 the host clock went back.", dbLabels)
	)
	reg := prometheus.NewPedanticRegistry()
	for _, c := range []prometheus.Collector{attempt, success, runOK, bytes, duration, kept, deleted, failures, drillOK, drillTook, drillRows, behind, lockUntil} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	for _, r := range st.Records {
		op, db, t := r.Operation, r.Database, r.Target
		attempt.WithLabelValues(op, db, t).Set(unix(r.LastAttempt))
		if !r.LastSuccess.IsZero() {
			success.WithLabelValues(op, db, t).Set(unix(r.LastSuccess))
		}
		runOK.WithLabelValues(op, db, t).Set(b2f(r.LastRunOK))
		bytes.WithLabelValues(op, db, t).Set(float64(r.Bytes))
		duration.WithLabelValues(op, db, t).Set(r.Duration)
		switch op {
		case Push:
			behind.WithLabelValues(db, t).Set(r.ClockBehind)
			if !r.LockUntil.IsZero() {
				lockUntil.WithLabelValues(db, t).Set(unix(r.LockUntil))
			}
		case Prune:
			kept.WithLabelValues(db, t).Set(float64(r.Kept))
			deleted.WithLabelValues(db, t).Set(float64(r.Deleted))
		case Verify:
			failures.WithLabelValues(db, t).Set(float64(r.Failures))
		case Drill:
			if !r.LastSuccess.IsZero() {
				drillOK.WithLabelValues(db, t).Set(unix(r.LastSuccess))
				drillTook.WithLabelValues(db, t).Set(r.SuccessDuration)
				drillRows.WithLabelValues(db, t).Set(float64(r.Tables))
			}
		}
	}
	return reg, nil
}

func unix(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
