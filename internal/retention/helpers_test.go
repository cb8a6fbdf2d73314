package retention

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// stampLayout is the UTC time in archive names.
const stampLayout = "20060102T150405Z"

// at parses a name's timestamp, as the caller of Plan does.
func at(stamp string) time.Time {
	t, err := time.Parse(stampLayout, stamp)
	if err != nil {
		panic(err)
	}
	return t
}

func name(stamp string) string { return "db_" + stamp + ".sql.gz.age" }

// complete returns complete archives with the given timestamps.
func complete(stamps ...string) []Archive {
	var as []Archive
	for _, s := range stamps {
		as = append(as, Archive{Name: name(s), Time: at(s), Complete: true})
	}
	return as
}

// incomplete returns archives without manifests with the given timestamps.
func incomplete(stamps ...string) []Archive {
	var as []Archive
	for _, s := range stamps {
		as = append(as, Archive{Name: name(s), Time: at(s)})
	}
	return as
}

// daily returns one complete archive at 02:00 UTC on every day from first to
// last (both "YYYYMMDD"), oldest first.
func daily(first, last string) []Archive {
	var as []Archive
	end := at(last + "T020000Z")
	for t := at(first + "T020000Z"); !t.After(end); t = t.AddDate(0, 0, 1) {
		as = append(as, complete(t.Format(stampLayout))...)
	}
	return as
}

// join concatenates listings.
func join(lists ...[]Archive) []Archive { return slices.Concat(lists...) }

// label shortens a test archive's name to its timestamp.
func label(a Archive) string {
	return strings.TrimSuffix(strings.TrimPrefix(a.Name, "db_"), ".sql.gz.age")
}

// planCase is one row of a Plan table: the kept archives, newest first, as
// "label reason, reason". Every archive not listed must be deleted, with
// "not kept by policy" if complete and "incomplete, older than grace" if not.
type planCase struct {
	name     string
	archives []Archive
	policy   Policy
	now      string
	grace    time.Duration
	keep     []string
}

func runPlanCases(t *testing.T, cases []planCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ds := Plan(c.archives, c.policy, at(c.now), c.grace)
			checkPlan(t, c.archives, ds, c.keep)
		})
	}
}

func checkPlan(t *testing.T, in []Archive, ds []Decision, keep []string) {
	t.Helper()
	if len(ds) != len(in) {
		t.Fatalf("got %d decisions for %d archives", len(ds), len(in))
	}
	var kept []string
	for i, d := range ds {
		if i > 0 && d.Archive.Time.After(ds[i-1].Archive.Time) {
			t.Errorf("decision %d (%s) is newer than decision %d (%s)", i, d.Archive.Name, i-1, ds[i-1].Archive.Name)
		}
		if d.Keep {
			kept = append(kept, label(d.Archive)+" "+strings.Join(d.Reasons, ", "))
			continue
		}
		want := "not kept by policy"
		if !d.Archive.Complete {
			want = "incomplete, older than grace"
		}
		if !slices.Equal(d.Reasons, []string{want}) {
			t.Errorf("%s deleted with reasons %q, want %q", d.Archive.Name, d.Reasons, want)
		}
	}
	if !slices.Equal(kept, keep) {
		t.Errorf("kept:\n\t%s\nwant:\n\t%s", strings.Join(kept, "\n\t"), strings.Join(keep, "\n\t"))
	}
}
