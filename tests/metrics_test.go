package tests

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/metrics"
	"github.com/pgarchive/pgarchive/internal/status"
	"github.com/pgarchive/pgarchive/tests/harness"
)

// series parses a Prometheus text exposition with Prometheus' own parser
// and returns `name{label="value",...}` (labels sorted) -> value.
func series(t *testing.T, r io.Reader) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("does not parse as Prometheus text: %v", err)
	}
	out := map[string]float64{}
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			var v float64
			switch fam.GetType() {
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			default:
				v = m.GetUntyped().GetValue()
			}
			out[name+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

func textfileSeries(t *testing.T, path string) map[string]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return series(t, f)
}

func stampUnix(t *testing.T, stamp string) float64 {
	t.Helper()
	tm, err := archive.ParseStamp(stamp)
	if err != nil {
		t.Fatal(err)
	}
	return float64(tm.Unix())
}

// Issue 4, metrics: after a good push the textfile parses and holds every
// series for each target; after a push where one target fails, that
// target's last success is unchanged and its last run is 0, while the
// other target moves on.
func TestMetricsTextfileSurvivesFailure(t *testing.T) {
	dumpDir := t.TempDir()
	harness.FakeDump(t, dumpDir, "forge", 50_000)
	_, recipient := keypair(t, false)
	promDir := t.TempDir()
	textfile := filepath.Join(promDir, "pgarchive.prom")
	section := "[metrics]\ntextfile = " + toml(textfile) + "\n"
	local := localTarget("local", t.TempDir())
	good := configFile(t, dumpDir, "gzip", ageRecipients(recipient), local, localTarget("nas", t.TempDir()), section)
	// Same target names, but nas is now broken: a nas outage.
	nasDown := configFile(t, dumpDir, "gzip", ageRecipients(recipient), local, brokenTarget(t, "nas"), section)

	const t1, t2 = "20261121T011500Z", "20261122T011500Z"
	mustRun(t, []string{"PGARCHIVE_CONFIG=" + good, "PGARCHIVE_TEST_NOW=" + t1}, "push", "--database", "forge", "--allow-stale")
	m := textfileSeries(t, textfile)
	object := listJSON(t, []string{"PGARCHIVE_CONFIG=" + good})[0]
	for _, tg := range []string{"local", "nas"} {
		l := fmt.Sprintf(`{database="forge",operation="push",target=%q}`, tg)
		want := map[string]float64{
			"pgarchive_last_success_timestamp_seconds" + l: stampUnix(t, t1),
			"pgarchive_last_attempt_timestamp_seconds" + l: stampUnix(t, t1),
			"pgarchive_last_run_success" + l:               1,
			"pgarchive_last_bytes" + l:                     float64(object.Size),
		}
		for k, v := range want {
			if got, ok := m[k]; !ok || got != v {
				t.Errorf("after success: %s = %v (present: %v), want %v", k, got, ok, v)
			}
		}
		if d, ok := m["pgarchive_last_duration_seconds"+l]; !ok || d <= 0 || d > 60 {
			t.Errorf("duration %v (present: %v)", d, ok)
		}
	}

	r := pgarchive(t, []string{"PGARCHIVE_CONFIG=" + nasDown, "PGARCHIVE_TEST_NOW=" + t2}, "push", "--database", "forge", "--allow-stale")
	if r.code != 1 {
		t.Fatalf("push with nas down: %s", r)
	}
	m = textfileSeries(t, textfile)
	nas := `{database="forge",operation="push",target="nas"}`
	loc := `{database="forge",operation="push",target="local"}`
	for k, v := range map[string]float64{
		"pgarchive_last_success_timestamp_seconds" + nas: stampUnix(t, t1), // unchanged
		"pgarchive_last_attempt_timestamp_seconds" + nas: stampUnix(t, t2),
		"pgarchive_last_run_success" + nas:               0,
		"pgarchive_last_success_timestamp_seconds" + loc: stampUnix(t, t2),
		"pgarchive_last_run_success" + loc:               1,
	} {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("after failure: %s = %v (present: %v), want %v", k, got, ok, v)
		}
	}
	if fi, err := os.Stat(textfile); err != nil || fi.Mode().Perm()&0o044 != 0o044 {
		t.Errorf("textfile not readable by node_exporter's user: %v %v", fi.Mode(), err)
	}
	if _, err := os.Stat(metrics.StatePath(textfile)); err != nil {
		t.Errorf("no state beside the textfile: %v", err)
	}
	if matches, _ := filepath.Glob(filepath.Join(promDir, "*.prom")); len(matches) != 1 {
		t.Errorf("node_exporter would read %v; want only the textfile", matches)
	}

	// Debian's node_exporter reads the file with its textfile collector
	// and reports no error.
	if exporter, err := exec.LookPath("prometheus-node-exporter"); err == nil {
		scraped := scrapeNodeExporter(t, exporter, promDir)
		if scraped["pgarchive_last_run_success"+nas] != 0 || scraped["pgarchive_last_run_success"+loc] != 1 {
			t.Errorf("node_exporter does not expose the pgarchive series")
		}
		if v, ok := scraped[`node_textfile_scrape_error{}`]; !ok || v != 0 {
			t.Errorf("node_textfile_scrape_error = %v (present: %v)", v, ok)
		}
	} else {
		t.Log("prometheus-node-exporter not installed (Debian package prometheus-node-exporter): skipping the scrape")
	}
}

// scrapeNodeExporter runs node_exporter with only the textfile collector
// on a loopback port and returns one scrape.
func scrapeNodeExporter(t *testing.T, exporter, dir string) map[string]float64 {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	cmd := exec.Command(exporter, "--collector.disable-defaults", "--collector.textfile",
		"--collector.textfile.directory="+dir, "--web.listen-address="+addr)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			defer resp.Body.Close()
			return series(t, resp.Body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("node_exporter did not answer: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The example alert rules in docs/alerts.yml are valid and fire as their
// promtool unit tests say (docs/alerts_test.yml), and every pgarchive
// series they use is one pgarchive writes.
func TestAlertRules(t *testing.T) {
	root := harness.ModuleRoot(t)
	rules := filepath.Join(root, "docs", "alerts.yml")
	ruleText := string(harness.ReadFile(t, rules))
	used := map[string]bool{}
	for _, name := range regexp.MustCompile(`pgarchive_[a-z_]+`).FindAllString(ruleText, -1) {
		used[name] = true
	}
	if len(used) == 0 {
		t.Fatal("docs/alerts.yml uses no pgarchive series")
	}
	// Every operation once, so every series exists.
	textfile := filepath.Join(t.TempDir(), "all.prom")
	var outs []metrics.Outcome
	for _, op := range []string{metrics.Push, metrics.Prune, metrics.Verify, metrics.Drill} {
		outs = append(outs, metrics.Outcome{Operation: op, Database: "forge", Target: "local", Ended: time.Now(), Success: true})
	}
	if err := metrics.Update(textfile, outs, nil); err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	for k := range textfileSeries(t, textfile) {
		written[k[:strings.IndexByte(k, '{')]] = true
	}
	// And the store's own textfile (status --all-hosts --metrics-textfile).
	store := filepath.Join(t.TempDir(), "store.prom")
	name, err := archive.ParseObject("pg1/forge/forge_20261101T011500Z.sql.gz.age")
	if err != nil {
		t.Fatal(err)
	}
	now := name.Time.Add(time.Hour)
	reps := status.Fleet([]status.Listing{{Target: "offsite", Entries: []archive.Entry{{Name: name, Target: "offsite", Complete: true}}}}, now, 25*time.Hour)
	if err := status.WriteTextfile(store, reps, now); err != nil {
		t.Fatal(err)
	}
	for k := range textfileSeries(t, store) {
		if i := strings.IndexByte(k, '{'); i >= 0 {
			k = k[:i]
		}
		written[k] = true
	}
	for name := range used {
		if !written[name] {
			t.Errorf("docs/alerts.yml uses %s, which pgarchive does not write", name)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus; tests/setup.sh installs it): rules not evaluated")
	}
	for _, args := range [][]string{{"check", "rules", rules}, {"test", "rules", filepath.Join(root, "docs", "alerts_test.yml")}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
