package fault

import (
	"encoding/json"
	"path"
	"slices"
	"strings"
	"testing"
	"time"
)

// The checks every case makes after its fault: what each target counts,
// and that it is whole.

// stampOf returns the YYYYMMDDTHHMMSSZ stamp in an archive's object name.
func stampOf(object string) string {
	base := path.Base(object)
	i := strings.LastIndex(base, "_")
	if i < 0 || len(base) < i+17 {
		return ""
	}
	return base[i+1 : i+17]
}

// stampsOf returns the stamps of objects, sorted.
func stampsOf(objects []string) []string {
	out := make([]string, 0, len(objects))
	for _, o := range objects {
		out = append(out, stampOf(o))
	}
	slices.Sort(out)
	return out
}

// mustHold checks that list --json shows exactly the archives at stamps
// complete on target (in any database), and that verify --identity
// passes for each of them: decrypted, digests matched, dump read to its
// end.
func mustHold(t testing.TB, env []string, identity, target string, stamps ...string) {
	t.Helper()
	rows := listJSON(t, env, "--target", target)
	if got := stampsOf(complete(rows, target)); !slices.Equal(got, stamps) {
		t.Fatalf("list: %s holds complete archives %q, want %q (rows %+v)", target, got, stamps, rows)
	}
	if len(stamps) == 0 {
		return
	}
	r := pgarchive(t, env, "verify", "--target", target, "--identity", identity, "--json")
	var doc struct {
		Archives []struct {
			Object string `json:"object"`
			OK     bool   `json:"ok"`
			Error  string `json:"error"`
		} `json:"archives"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 {
		t.Fatalf("verify --target %s --identity: %v: %s", target, err, r)
	}
	var ok []string
	for _, v := range doc.Archives {
		if v.OK {
			ok = append(ok, v.Object)
		}
	}
	if got := stampsOf(ok); !slices.Equal(got, stamps) {
		t.Fatalf("verify --identity on %s passed %q, want %q: %s", target, got, stamps, r)
	}
}

// incomplete returns the objects list --json shows on target that are
// not complete.
func incomplete(t testing.TB, env []string, target string) []string {
	t.Helper()
	var out []string
	for _, r := range listJSON(t, env, "--target", target) {
		if r.Status != "complete" {
			out = append(out, r.Object+" ("+r.Status+")")
		}
	}
	return out
}

// statusNewest returns the stamp of the newest archive status counts on
// each target of db ("" for none), and status's result.
func statusNewest(t testing.TB, env []string, db string) (map[string]string, result) {
	t.Helper()
	r := pgarchive(t, env, "status", "--json")
	var rep struct {
		Databases []struct {
			Database string `json:"database"`
			Targets  []struct {
				Target string  `json:"target"`
				Newest *string `json:"time"`
			} `json:"targets"`
		} `json:"databases"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("status --json: %v: %s", err, r)
	}
	out := map[string]string{}
	for _, d := range rep.Databases {
		if d.Database != db {
			continue
		}
		for _, tg := range d.Targets {
			out[tg.Target] = ""
			if tg.Newest != nil {
				at, err := time.Parse(time.RFC3339, *tg.Newest)
				if err != nil {
					t.Fatalf("status --json: newest %q: %v", *tg.Newest, err)
				}
				out[tg.Target] = at.UTC().Format("20060102T150405Z")
			}
		}
	}
	return out, r
}

// restoreFrom restores the latest archive of db from target to stdout and
// returns the dump and the result.
func restoreFrom(t testing.TB, env []string, identity, db, target string) (string, result) {
	t.Helper()
	r := pgarchive(t, env, "restore", "--database", db, "--target", target, "--identity", identity, "--output", "-")
	return r.stdout, r
}

// pruneDecision is a row of prune --json.
type pruneDecision struct {
	Target   string   `json:"target"`
	Database string   `json:"database"`
	Object   string   `json:"object"`
	Status   string   `json:"status"` // complete or incomplete
	Action   string   `json:"action"`
	Reasons  []string `json:"reasons"`
	Error    string   `json:"error"`
}

func pruneJSON(t testing.TB, r result) []pruneDecision {
	t.Helper()
	var doc struct {
		Archives []pruneDecision `json:"archives"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Archives == nil {
		t.Fatalf("prune --json: %v: %s", err, r)
	}
	return doc.Archives
}

// mustPruneKeep runs prune --dry-run --json with the config's policy and
// checks that on target the newest complete archive is at stamp, kept as
// the newest complete, and that no incomplete archive is counted as one.
func mustPruneKeep(t testing.TB, env []string, target, stamp string) {
	t.Helper()
	r := mustRun(t, env, "prune", "--dry-run", "--json", "--target", target)
	for _, d := range pruneJSON(t, r) {
		newest := slices.Contains(d.Reasons, "newest complete")
		switch {
		case newest && (d.Status != "complete" || stampOf(d.Object) != stamp):
			t.Errorf("prune counts %s on %s (%s) as the newest complete, want %s", d.Object, target, d.Status, stamp)
		case stampOf(d.Object) == stamp && d.Status == "complete" && d.Action != "keep":
			t.Errorf("prune would delete the newest good archive %s on %s: %+v", d.Object, target, d)
		}
	}
}
