package metrics

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parse reads the textfile with Prometheus' own parser and returns
// "name{label=value,...}" -> value.
func parse(t *testing.T, path string) map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("textfile does not parse: %v", err)
	}
	out := map[string]float64{}
	for name, fam := range fams {
		if fam.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s is %v, want gauge", name, fam.GetType())
		}
		for _, m := range fam.GetMetric() {
			k := name + "{"
			for i, l := range m.GetLabel() {
				if i > 0 {
					k += ","
				}
				k += l.GetName() + "=" + l.GetValue()
			}
			out[k+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestUpdateKeepsLastSuccessAcrossFailures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pgarchive.prom")
	t1 := time.Date(2026, 11, 21, 1, 15, 3, 0, time.UTC)
	t2 := t1.Add(24 * time.Hour)
	ok := []Outcome{
		{Operation: Push, Database: "forge", Target: "local", Ended: t1, Duration: 1500 * time.Millisecond, Success: true, Bytes: 1234},
		{Operation: Push, Database: "forge", Target: "nas", Ended: t1, Duration: 1500 * time.Millisecond, Success: true, Bytes: 1234},
	}
	if err := Update(path, ok, []string{"local", "nas"}); err != nil {
		t.Fatal(err)
	}
	m := parse(t, path)
	for k, want := range map[string]float64{
		"pgarchive_last_success_timestamp_seconds{database=forge,operation=push,target=nas}": float64(t1.Unix()),
		"pgarchive_last_attempt_timestamp_seconds{database=forge,operation=push,target=nas}": float64(t1.Unix()),
		"pgarchive_last_run_success{database=forge,operation=push,target=local}":             1,
		"pgarchive_last_bytes{database=forge,operation=push,target=local}":                   1234,
		"pgarchive_last_duration_seconds{database=forge,operation=push,target=local}":        1.5,
	} {
		if got, found := m[k]; !found || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, found, want)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("textfile mode %v", fi.Mode())
	}

	failed := []Outcome{{Operation: Push, Database: "forge", Target: "nas", Ended: t2, Duration: time.Second, Success: false}}
	if err := Update(path, failed, []string{"local", "nas"}); err != nil {
		t.Fatal(err)
	}
	m = parse(t, path)
	for k, want := range map[string]float64{
		"pgarchive_last_success_timestamp_seconds{database=forge,operation=push,target=nas}": float64(t1.Unix()),
		"pgarchive_last_attempt_timestamp_seconds{database=forge,operation=push,target=nas}": float64(t2.Unix()),
		"pgarchive_last_run_success{database=forge,operation=push,target=nas}":               0,
		"pgarchive_last_run_success{database=forge,operation=push,target=local}":             1,
	} {
		if got := m[k]; got != want {
			t.Errorf("after failure: %s = %v, want %v", k, got, want)
		}
	}

	// A target dropped from the config drops its series.
	if err := Update(path, nil, []string{"local"}); err != nil {
		t.Fatal(err)
	}
	if _, found := parse(t, path)["pgarchive_last_run_success{database=forge,operation=push,target=nas}"]; found {
		t.Error("series of a removed target remain")
	}
}

func TestOperationSpecificSeries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pgarchive.prom")
	now := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	err := Update(path, []Outcome{
		{Operation: Prune, Database: "forge", Target: "local", Ended: now, Success: true, Kept: 7, Deleted: 2},
		{Operation: Prune, Database: "forge", Target: "nas", Ended: now, Success: false, Kept: 0, Deleted: 0},
		{Operation: Verify, Database: "forge", Target: "local", Ended: now, Success: false, Failures: 1, Bytes: 99},
		{Operation: Drill, Database: "forge", Target: "local", Ended: now, Duration: 42 * time.Second, Success: true, Bytes: 500, Tables: 12},
		{Operation: Drill, Database: "forge", Target: "nas", Ended: now, Duration: 5 * time.Second, Success: false},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := parse(t, path)
	for k, want := range map[string]float64{
		"pgarchive_archives_kept{database=forge,target=local}":                        7,
		"pgarchive_archives_deleted{database=forge,target=local}":                     2,
		"pgarchive_archives_kept{database=forge,target=nas}":                          0,
		"pgarchive_verify_failures{database=forge,target=local}":                      1,
		"pgarchive_drill_last_success_timestamp_seconds{database=forge,target=local}": float64(now.Unix()),
		"pgarchive_drill_last_duration_seconds{database=forge,target=local}":          42,
		"pgarchive_drill_last_tables{database=forge,target=local}":                    12,
		"pgarchive_last_run_success{database=forge,operation=verify,target=local}":    0,
	} {
		if got, found := m[k]; !found || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, found, want)
		}
	}
	if _, found := m["pgarchive_drill_last_success_timestamp_seconds{database=forge,target=nas}"]; found {
		t.Error("a drill that never succeeded has a success timestamp")
	}
	if _, found := m["pgarchive_last_success_timestamp_seconds{database=forge,operation=verify,target=local}"]; found {
		t.Error("a verify that never succeeded has a success timestamp")
	}
}

// Jobs of several databases finishing together all land in the file.
func TestConcurrentUpdates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pgarchive.prom")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := fmt.Sprintf("db%d", i)
			if err := Update(path, []Outcome{{Operation: Push, Database: db, Target: "local", Ended: time.Now(), Success: true}}, []string{"local"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	m := parse(t, path)
	for i := range 8 {
		if m[fmt.Sprintf("pgarchive_last_run_success{database=db%d,operation=push,target=local}", i)] != 1 {
			t.Errorf("db%d missing", i)
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestDamagedStateStartsOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pgarchive.prom")
	os.WriteFile(StatePath(path), []byte("{not json"), 0o644)
	if err := Update(path, []Outcome{{Operation: Push, Database: "a", Target: "t", Ended: time.Now(), Success: true}}, nil); err != nil {
		t.Fatal(err)
	}
	if parse(t, path)["pgarchive_last_run_success{database=a,operation=push,target=t}"] != 1 {
		t.Error("no series after a damaged state")
	}
}
