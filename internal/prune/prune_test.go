package prune

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/retention"
	"github.com/pgarchive/pgarchive/internal/target"
)

func stamp(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := archive.ParseStamp(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// entry makes a listing entry of database db; "!" after the stamp marks it
// incomplete.
func entry(t *testing.T, db, spec string) archive.Entry {
	t.Helper()
	s, incomplete := strings.CutSuffix(spec, "!")
	n, err := archive.NewName("db1", db, stamp(t, s), ".gz")
	if err != nil {
		t.Fatal(err)
	}
	return archive.Entry{Name: n, Target: "disk", Size: 100, Complete: !incomplete}
}

// summary renders a plan as "stamp keep|delete reasons" lines.
func summary(p DatabasePlan) []string {
	var out []string
	for _, d := range p.Decisions {
		verb := "delete"
		if d.Keep {
			verb = "keep"
		}
		inc := ""
		if !d.Entry.Complete {
			inc = "!"
		}
		out = append(out, fmt.Sprintf("%s%s %s %s", d.Entry.Name.Stamp(), inc, verb, strings.Join(d.Reasons, ", ")))
	}
	return out
}

func TestPlan(t *testing.T) {
	now := stamp(t, "20261130T120000Z")
	tests := []struct {
		name    string
		policy  retention.Policy
		entries []string // db:stamp
		want    map[string][]string
	}{
		{
			name:    "keep last 2 per database, independently",
			policy:  retention.Policy{KeepLast: 2},
			entries: []string{"a:20261127T010000Z", "b:20261127T010000Z", "a:20261128T010000Z", "a:20261129T010000Z", "b:20261129T010000Z"},
			want: map[string][]string{
				"a": {"20261129T010000Z keep last 2, newest complete", "20261128T010000Z keep last 2", "20261127T010000Z delete not kept by policy"},
				"b": {"20261129T010000Z keep last 2, newest complete", "20261127T010000Z keep last 2"},
			},
		},
		{
			name:    "incomplete: young kept, old deleted, never counted",
			policy:  retention.Policy{KeepLast: 1},
			entries: []string{"a:20261130T110000Z!", "a:20261128T010000Z!", "a:20261127T010000Z", "a:20261126T010000Z"},
			want: map[string][]string{
				"a": {
					"20261130T110000Z! keep incomplete, within grace",
					"20261128T010000Z! delete incomplete, older than grace",
					"20261127T010000Z keep last 1, newest complete",
					"20261126T010000Z delete not kept by policy",
				},
			},
		},
		{
			name:    "future archive kept and not counted",
			policy:  retention.Policy{KeepLast: 1},
			entries: []string{"a:20261201T010000Z", "a:20261129T010000Z", "a:20261128T010000Z"},
			want: map[string][]string{
				"a": {
					"20261201T010000Z keep future timestamp",
					"20261129T010000Z keep last 1, newest complete",
					"20261128T010000Z delete not kept by policy",
				},
			},
		},
		{
			name:    "only incomplete archives",
			policy:  retention.Policy{Daily: 7},
			entries: []string{"a:20261101T010000Z!"},
			want:    map[string][]string{"a": {"20261101T010000Z! delete incomplete, older than grace"}},
		},
		{
			name:    "empty listing",
			policy:  retention.Policy{Daily: 7},
			entries: nil,
			want:    map[string][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var entries []archive.Entry
			for _, s := range tt.entries {
				db, spec, _ := strings.Cut(s, ":")
				entries = append(entries, entry(t, db, spec))
			}
			plans := Plan(entries, Options{Policy: tt.policy, Now: now, Grace: 24 * time.Hour})
			got := map[string][]string{}
			var order []string
			for _, p := range plans {
				got[p.Database] = summary(p)
				order = append(order, p.Database)
			}
			if !slices.IsSorted(order) {
				t.Errorf("plans not sorted by database: %v", order)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("plan:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// fakeStore records deletes and fails those whose path matches failOn.
type fakeStore struct {
	objects map[string]bool
	failOn  func(path string) bool
	deleted []string
}

func (f *fakeStore) Delete(_ context.Context, path string) error {
	if f.failOn != nil && f.failOn(path) {
		return fmt.Errorf("target %q: delete %q: %w", "disk", path, errors.New("connection reset"))
	}
	if !f.objects[path] {
		return fmt.Errorf("target %q: delete %q: %w", "disk", path, target.ErrNotFound)
	}
	delete(f.objects, path)
	f.deleted = append(f.deleted, path)
	return nil
}

// store holds the objects of the given entries (manifests of complete ones too).
func store(entries ...archive.Entry) *fakeStore {
	f := &fakeStore{objects: map[string]bool{}}
	for _, e := range entries {
		f.objects[e.Name.Object()] = true
		if e.Complete {
			f.objects[e.Name.Manifest()] = true
		}
	}
	return f
}

// listing turns what a fakeStore holds back into entries, as archive.List would.
func (f *fakeStore) listing(t *testing.T) []archive.Entry {
	var out []archive.Entry
	for p := range f.objects {
		n, err := archive.ParseObject(p)
		if err != nil {
			continue
		}
		out = append(out, archive.Entry{Name: n, Target: "disk", Complete: f.objects[n.Manifest()]})
	}
	return out
}

func TestApplyDeletesManifestFirst(t *testing.T) {
	now := stamp(t, "20261130T120000Z")
	old := entry(t, "a", "20261120T010000Z")
	dead := entry(t, "a", "20261101T010000Z!")
	keep := entry(t, "a", "20261129T010000Z")
	st := store(old, dead, keep)
	plans := Plan([]archive.Entry{old, dead, keep}, Options{Policy: retention.Policy{KeepLast: 1}, Now: now})
	out := Apply(context.Background(), st, plans[0])
	if len(out) != 2 {
		t.Fatalf("outcomes: %+v", out)
	}
	for _, o := range out {
		if o.Err != nil {
			t.Errorf("%s: %v", o.Entry.Name.Object(), o.Err)
		}
	}
	want := []string{old.Name.Manifest(), old.Name.Object(), dead.Name.Object()}
	if !slices.Equal(st.deleted, want) {
		t.Errorf("deleted %q, want %q", st.deleted, want)
	}
	if !st.objects[keep.Name.Object()] || !st.objects[keep.Name.Manifest()] {
		t.Error("the kept archive was touched")
	}
}

// A delete cut short after the manifest leaves an incomplete archive that
// the next run removes (its time is past the grace period).
func TestPartialDeleteIsRetriedNextRun(t *testing.T) {
	now := stamp(t, "20261130T120000Z")
	old := entry(t, "a", "20261120T010000Z")
	keep := entry(t, "a", "20261129T010000Z")
	st := store(old, keep)
	st.failOn = func(p string) bool { return p == old.Name.Object() }
	opts := Options{Policy: retention.Policy{KeepLast: 1}, Now: now}

	out := Apply(context.Background(), st, Plan(st.listing(t), opts)[0])
	if len(out) != 1 || !errors.Is(out[0].Err, archive.ErrPartialDelete) {
		t.Fatalf("want one partial delete, got %+v", out)
	}
	if !strings.Contains(out[0].Err.Error(), "connection reset") || !strings.Contains(out[0].Err.Error(), old.Name.Object()) {
		t.Errorf("error does not say what and why: %v", out[0].Err)
	}
	if st.objects[old.Name.Manifest()] || !st.objects[old.Name.Object()] {
		t.Fatalf("want the manifest gone and the object left: %v", st.objects)
	}

	st.failOn = nil
	plan := Plan(st.listing(t), opts)[0]
	if got := summary(plan); !slices.Contains(got, "20261120T010000Z! delete incomplete, older than grace") {
		t.Fatalf("next run's plan: %q", got)
	}
	out = Apply(context.Background(), st, plan)
	if len(out) != 1 || out[0].Err != nil {
		t.Fatalf("retry: %+v", out)
	}
	if st.objects[old.Name.Object()] {
		t.Error("the object survived the retry")
	}
}

func TestApplyCarriesOnAndNeverDeletesNewest(t *testing.T) {
	a := entry(t, "a", "20261110T010000Z")
	b := entry(t, "a", "20261111T010000Z")
	newest := entry(t, "a", "20261129T010000Z")
	st := store(a, b, newest)
	st.failOn = func(p string) bool { return strings.HasPrefix(p, b.Name.Object()) }
	// A plan that (wrongly) deletes everything.
	p := DatabasePlan{Database: "a"}
	for _, e := range []archive.Entry{newest, b, a} {
		p.Decisions = append(p.Decisions, Decision{Entry: e, Reasons: []string{"test"}})
	}
	out := Apply(context.Background(), st, p)
	if len(out) != 3 {
		t.Fatalf("outcomes: %+v", out)
	}
	if !errors.Is(out[0].Err, ErrNewest) {
		t.Errorf("newest: %v, want ErrNewest", out[0].Err)
	}
	if out[1].Err == nil || errors.Is(out[1].Err, archive.ErrPartialDelete) {
		t.Errorf("failing manifest delete: %v", out[1].Err)
	}
	if out[2].Err != nil {
		t.Errorf("the delete after a failed one: %v", out[2].Err)
	}
	if !st.objects[newest.Name.Object()] || !st.objects[newest.Name.Manifest()] || !st.objects[b.Name.Object()] || !st.objects[b.Name.Manifest()] {
		t.Errorf("left: %v", st.objects)
	}
}

func TestApplyStopsWhenCancelled(t *testing.T) {
	now := stamp(t, "20261130T120000Z")
	var entries []archive.Entry
	for _, s := range []string{"20261101T010000Z", "20261102T010000Z", "20261129T010000Z"} {
		entries = append(entries, entry(t, "a", s))
	}
	st := store(entries...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := Apply(ctx, st, Plan(entries, Options{Policy: retention.Policy{KeepLast: 1}, Now: now})[0])
	if len(out) != 2 || len(st.deleted) != 0 {
		t.Fatalf("deleted %v; outcomes %+v", st.deleted, out)
	}
	for _, o := range out {
		if !errors.Is(o.Err, context.Canceled) {
			t.Errorf("%s: %v", o.Entry.Name.Object(), o.Err)
		}
	}
}

// The same on a real local target, through archive.List: the files go, the
// kept ones stay, and a second run finds nothing to do.
func TestApplyOnLocalTarget(t *testing.T) {
	dir := t.TempDir()
	tg, err := target.Open(context.Background(), "disk", config.Target{Type: "local", Path: dir}, config.Rclone{})
	if err != nil {
		t.Fatal(err)
	}
	now := stamp(t, "20261130T120000Z")
	var want []string
	for i, s := range []string{"20261101T010000Z", "20261115T010000Z", "20261128T010000Z", "20261129T010000Z", "20261130T010000Z!"} {
		e := entry(t, "forge", s)
		p := filepath.Join(dir, filepath.FromSlash(e.Name.Object()))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, p)
		if e.Complete {
			writeTestFile(t, p+archive.ManifestSuffix)
		}
		if i >= 2 {
			want = append(want, e.Name.Object())
			if e.Complete {
				want = append(want, e.Name.Manifest())
			}
		}
	}
	opts := Options{Policy: retention.Policy{KeepLast: 2}, Now: now}
	for run := range 2 {
		entries, err := archive.List(context.Background(), tg, "db1", "")
		if err != nil {
			t.Fatal(err)
		}
		plans := Plan(entries, opts)
		if len(plans) != 1 || plans[0].Database != "forge" {
			t.Fatalf("plans: %+v", plans)
		}
		out := Apply(context.Background(), tg, plans[0])
		if wantN := []int{2, 0}[run]; len(out) != wantN {
			t.Errorf("run %d: %d deletes, want %d", run, len(out), wantN)
		}
		for _, o := range out {
			if o.Err != nil {
				t.Error(o.Err)
			}
		}
	}
	var got []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("left on the target:\n got %q\nwant %q", got, want)
	}
}

func writeTestFile(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The newest archive whose manifest says its dump failed the content check
// is no restore point: retention must keep the newest good one before it,
// and count the failed one as incomplete.
func TestNewestGoodSkipsFailedChecks(t *testing.T) {
	day := func(d int) archive.Entry {
		n, err := archive.NewName("h", "db", time.Date(2026, 11, d, 3, 0, 0, 0, time.UTC), ".gz")
		if err != nil {
			t.Fatal(err)
		}
		return archive.Entry{Name: n, Complete: true}
	}
	entries := []archive.Entry{day(1), day(2), day(3)}
	manifests := map[int]*archive.Manifest{
		1: {},
		2: {Dump: archive.DumpInfo{Check: &archive.ContentCheck{Passed: true, Checked: "gzip-stream,completion-line"}}},
		3: {Dump: archive.DumpInfo{Check: &archive.ContentCheck{Passed: false}}},
	}
	reads := 0
	read := func(_ context.Context, n archive.Name) (*archive.Manifest, error) {
		reads++
		return manifests[n.Time.Day()], nil
	}
	got, err := NewestGood(context.Background(), read, entries)
	if err != nil {
		t.Fatal(err)
	}
	if got[2].Complete || !got[1].Complete || !got[0].Complete {
		t.Fatalf("complete = %v %v %v, want the failed newest counted incomplete only", got[0].Complete, got[1].Complete, got[2].Complete)
	}
	if reads != 2 {
		t.Errorf("read %d manifests, want 2 (down to the first good one)", reads)
	}
	plans := Plan(got, Options{Policy: retention.Policy{KeepLast: 1}, Now: time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)})
	for _, d := range plans[0].Decisions {
		if want := d.Entry.Name.Time.Day() == 2; d.Keep != want {
			t.Errorf("archive of day %d: keep = %v, want %v (%v)", d.Entry.Name.Time.Day(), d.Keep, want, d.Reasons)
		}
	}
}

// A newest manifest that describes another archive is no restore point
// (restore refuses it): the good one below it is the newest kept. A
// manifest the target cannot serve at all stops the judgement: nothing may
// be deleted there.
func TestNewestGoodBadAndUnreadableManifests(t *testing.T) {
	day := func(d int) archive.Entry {
		n, _ := archive.NewName("h", "db", time.Date(2026, 11, d, 3, 0, 0, 0, time.UTC), ".gz")
		return archive.Entry{Name: n, Complete: true}
	}
	entries := []archive.Entry{day(1), day(2)}
	swapped := func(_ context.Context, n archive.Name) (*archive.Manifest, error) {
		if n.Time.Day() == 2 {
			return nil, fmt.Errorf("wrapped: %w", archive.ErrBadManifest)
		}
		return &archive.Manifest{}, nil
	}
	got, err := NewestGood(context.Background(), swapped, entries)
	if err != nil || got[1].Complete || !got[0].Complete {
		t.Fatalf("swapped newest manifest: err %v, complete %v %v; want only day 1 complete", err, got[0].Complete, got[1].Complete)
	}
	down := func(context.Context, archive.Name) (*archive.Manifest, error) {
		return nil, errors.New("connection refused")
	}
	if _, err := NewestGood(context.Background(), down, entries); err == nil {
		t.Fatal("an unreadable manifest must stop the judgement")
	}
}
