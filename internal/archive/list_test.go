package archive

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/target"
)

func mustStamp(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := ParseStamp(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func testEntry(t *testing.T, stamp string, complete bool) Entry {
	t.Helper()
	n, err := NewName("db1", "forge", mustStamp(t, stamp), ".gz")
	if err != nil {
		t.Fatal(err)
	}
	return Entry{Name: n, Target: "a", Complete: complete}
}

func TestInFuture(t *testing.T) {
	now := mustStamp(t, "20261122T020000Z")
	for _, tt := range []struct {
		stamp  string
		future bool
	}{
		{"20261121T020000Z", false},
		{"20261122T020000Z", false},
		{"20261122T020400Z", false}, // within the tolerance: clocks differ a little
		{"20261122T020500Z", false}, // exactly at it
		{"20261122T020501Z", true},
		{"20301122T020000Z", true},
	} {
		if got := testEntry(t, tt.stamp, true).InFuture(now); got != tt.future {
			t.Errorf("%s at %s: InFuture = %v, want %v", tt.stamp, now.Format(TimeLayout), got, tt.future)
		}
	}
}

func TestLatest(t *testing.T) {
	now := mustStamp(t, "20261122T020000Z")
	tests := []struct {
		name    string
		entries []Entry
		want    string // stamp, "" for none
	}{
		{"none", nil, ""},
		{"newest complete", []Entry{testEntry(t, "20261120T011500Z", true), testEntry(t, "20261121T011500Z", true)}, "20261121T011500Z"},
		{"incomplete skipped", []Entry{testEntry(t, "20261120T011500Z", true), testEntry(t, "20261121T011500Z", false)}, "20261120T011500Z"},
		{"future skipped", []Entry{testEntry(t, "20261120T011500Z", true), testEntry(t, "20301121T011500Z", true)}, "20261120T011500Z"},
		{"slightly ahead counts", []Entry{testEntry(t, "20261120T011500Z", true), testEntry(t, "20261122T020300Z", true)}, "20261122T020300Z"},
		{"only future", []Entry{testEntry(t, "20301121T011500Z", true)}, ""},
		{"missing skipped", []Entry{testEntry(t, "20261120T011500Z", true), {Name: testEntry(t, "20261121T011500Z", false).Name, Missing: true}}, "20261120T011500Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := Latest(tt.entries, now)
			got := ""
			if ok {
				got = e.Name.Stamp()
			}
			if got != tt.want {
				t.Errorf("Latest = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEntriesFromListing(t *testing.T) {
	const (
		obj1 = "db1/forge/forge_20261120T011500Z.sql.gz.age"
		obj2 = "db1/forge/forge_20261121T011500Z.sql.gz.age"
		obj3 = "db1/forge/forge_20261122T011500Z.sql.gz.age"
	)
	tests := []struct {
		name  string
		paths []string
		db    string
		want  []string // object and state
	}{
		{"complete and incomplete", []string{obj1, obj1 + ".json", obj2}, "",
			[]string{obj1 + " complete", obj2 + " incomplete"}},
		{"manifest without object", []string{obj1, obj1 + ".json", obj2 + ".json", obj3, obj3 + ".json"}, "",
			[]string{obj1 + " complete", obj2 + " missing", obj3 + " complete"}},
		{"only a manifest", []string{obj2 + ".json"}, "forge", []string{obj2 + " missing"}},
		{"other host and database left out", []string{
			"db2/forge/forge_20261120T011500Z.sql.gz.age.json",
			"db1/ledger/ledger_20261120T011500Z.sql.gz.age.json",
			obj1 + ".json",
		}, "forge", []string{obj1 + " missing"}},
		{"not archive names ignored", []string{"db1/forge/notes.json", "db1/forge/README", obj1, obj1 + ".json"}, "",
			[]string{obj1 + " complete"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objects []target.Entry
			for _, p := range tt.paths {
				objects = append(objects, target.Entry{Path: p, Size: 10})
			}
			var got []string
			for _, e := range entries("a", objects, "db1", tt.db) {
				state := "incomplete"
				switch {
				case e.Missing && e.Complete:
					state = "missing and complete"
				case e.Missing:
					state = "missing"
				case e.Complete:
					state = "complete"
				}
				if e.Missing && e.Size != 0 {
					t.Errorf("%s: a missing object has size %d", e.Name.Object(), e.Size)
				}
				got = append(got, e.Name.Object()+" "+state)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// The same through a real local target: an object deleted under its
// manifest stays in the listing, as Missing; Hosts finds every host.
func TestListLocalTarget(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{
		"db1/forge/forge_20261120T011500Z.sql.gz.age", "db1/forge/forge_20261120T011500Z.sql.gz.age.json",
		"db1/forge/forge_20261121T011500Z.sql.gz.age.json",
		"db2/ledger/ledger_20261121T011500Z.sql.gz.age",
		"stray/file.txt",
	} {
		f := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tg, err := target.Open(context.Background(), "disk", config.Target{Type: "local", Path: dir}, config.Rclone{})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close(context.Background())
	got, err := List(context.Background(), tg, "db1", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Complete || got[0].Missing || got[1].Complete || !got[1].Missing || got[1].Target != "disk" {
		t.Errorf("List: %+v", got)
	}
	hosts, err := Hosts(context.Background(), tg)
	if err != nil || !slices.Equal(hosts, []string{"db1", "db2"}) {
		t.Errorf("Hosts = %q, %v", hosts, err)
	}
}
