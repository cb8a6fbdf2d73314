package drill

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestScratchName(t *testing.T) {
	tests := map[string]string{
		"forge":                 "pgarchive_drill_forge",
		"Shop-2024.eu":          "pgarchive_drill_shop_2024_eu",
		"zoë":                   "pgarchive_drill_zo_",
		"a b'c\"d":              "pgarchive_drill_a_b_c_d",
		strings.Repeat("x", 80): "pgarchive_drill_" + strings.Repeat("x", 63-len("pgarchive_drill_")),
	}
	for in, want := range tests {
		if got := ScratchName(in); got != want {
			t.Errorf("ScratchName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConnEnv(t *testing.T) {
	base := []string{"PATH=/bin", "PGHOST=/old", "PGUSER=alice", "PGDATABASE=forge"}
	tests := []struct {
		conn    string
		want    []string // added or replaced
		wantErr string
	}{
		{"", nil, ""},
		{"host=/run/postgresql port=5433", []string{"PGHOST=/run/postgresql", "PGPORT=5433"}, ""},
		{"host = db2  user=drill\tdbname=ignored", []string{"PGHOST=db2", "PGUSER=drill"}, ""},
		{`password='it''secret' user=x`, nil, "missing"},
		{`password='it\'s a \\secret' sslmode=verify-full`, []string{`PGPASSWORD=it's a \secret`, "PGSSLMODE=verify-full"}, ""},
		{`application_name=a\ b`, []string{"PGAPPNAME=a b"}, ""},
		{"password=''", []string{"PGPASSWORD="}, ""},
		{"host='unterminated", nil, "unterminated"},
		{"host", nil, `missing "=" after the word at byte 1`},
		{"keepalives=1", nil, `keyword "keepalives"`},
		{"postgresql://", nil, ""},
		{"postgresql://drill:s%40cret@db2:5433/forge?sslmode=require&application_name=a+b",
			[]string{"PGUSER=drill", "PGPASSWORD=s@cret", "PGHOST=db2", "PGPORT=5433", "PGSSLMODE=require", "PGAPPNAME=a+b"}, ""},
		{"postgres://%2Frun%2Fpostgresql/forge", []string{"PGHOST=/run/postgresql"}, ""},
		{"postgresql://[::1]:5433,db3/x", []string{"PGHOST=::1,db3", "PGPORT=5433,"}, ""},
		{"postgresql:///forge?host=/tmp&port=5999", []string{"PGHOST=/tmp", "PGPORT=5999"}, ""},
		{"postgresql://h/?ssl=true", []string{"PGHOST=h", "PGSSLMODE=require"}, ""},
		{"postgresql://h/?replication", nil, "no value"},
		{"postgresql://[::1/x", nil, "unterminated ["},
		{"postgresql://h/?fallback_application_name=x", nil, "fallback_application_name"},
	}
	for _, tt := range tests {
		t.Run(tt.conn, func(t *testing.T) {
			got, err := ConnEnv(tt.conn, base)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows a password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for _, kv := range append(slices.Clone(base), tt.want...) {
				k, v, _ := strings.Cut(kv, "=")
				want[k] = v
			}
			gotMap := map[string]string{}
			for _, kv := range got {
				k, v, _ := strings.Cut(kv, "=")
				if _, dup := gotMap[k]; dup {
					t.Errorf("%s set twice in %q", k, got)
				}
				gotMap[k] = v
			}
			if len(gotMap) != len(want) {
				t.Errorf("env %q, want %v", got, want)
			}
			for k, v := range want {
				if gotMap[k] != v {
					t.Errorf("%s=%q, want %q (env %q)", k, gotMap[k], v, got)
				}
			}
		})
	}
}

func FuzzConnEnv(f *testing.F) {
	for _, s := range []string{"host=/run/postgresql port=5433", `password='a\'b'`, "postgresql://u:p@[::1]:5/db?sslmode=require", "postgres://%2Ftmp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, conn string) {
		env, err := ConnEnv(conn, []string{"PATH=/bin"})
		if err != nil {
			return
		}
		for _, kv := range env {
			if !strings.HasPrefix(kv, "PG") && kv != "PATH=/bin" {
				t.Fatalf("ConnEnv(%q) set %q", conn, kv)
			}
			if strings.HasPrefix(kv, "PGDATABASE=") {
				t.Fatalf("ConnEnv(%q) set PGDATABASE", conn)
			}
		}
	})
}

func TestCompare(t *testing.T) {
	prev := &Record{Archive: "db1/forge/forge_20261120T011500Z.sql.gz.age", Tables: map[string]int64{
		"shop.customers": 2000, "shop.events": 1000, "shop.queue": 0, "shop.gone": 5,
	}}
	tables := []Table{{"shop.customers", 2100}, {"shop.events", 0}, {"shop.queue", 0}, {"shop.new", 7}}
	problems, notes := Compare(prev, tables)
	if len(problems) != 1 || !strings.Contains(problems[0], "table shop.events has 0 rows, 1000 at the drill of db1/forge/forge_20261120T011500Z.sql.gz.age") {
		t.Errorf("problems: %q", problems)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "shop.gone") {
		t.Errorf("notes: %q", notes)
	}
	if p, n := Compare(nil, tables); p != nil || n != nil {
		t.Errorf("no previous record: %q %q", p, n)
	}
	if p, _ := Compare(prev, nil); len(p) != 1 || !strings.Contains(p[0], "no tables restored") {
		t.Errorf("nothing restored: %q", p)
	}
	if p, _ := Compare(&Record{}, nil); p != nil {
		t.Errorf("nothing before, nothing now: %q", p)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if r, err := LoadRecord(dir, "db1", "forge"); r != nil || err != nil {
		t.Fatalf("no record yet: %v %v", r, err)
	}
	rep := &Report{Host: "db1", Database: "forge", Target: "local", Archive: "db1/forge/x.age",
		ArchiveTime: time.Date(2026, 11, 20, 1, 15, 0, 0, time.UTC),
		Tables:      []Table{{"shop.orders", 5000}, {`"Weird"".name"`, 1}}}
	for i := range 2 {
		drilled := time.Date(2026, 11, 21, 3, 0, i, 0, time.UTC)
		if err := SaveRecord(dir, rep.Record(drilled)); err != nil {
			t.Fatal(err)
		}
		got, err := LoadRecord(dir, "db1", "forge")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Drilled.Equal(drilled) || got.Tables["shop.orders"] != 5000 || got.Tables[`"Weird"".name"`] != 1 || got.Version != RecordVersion {
			t.Errorf("round trip: %+v", got)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "drill", "db1"))
	if len(entries) != 1 || entries[0].Name() != "forge.json" {
		t.Errorf("state directory holds %v, want only forge.json", entries)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "drill")); fi.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode %v", fi.Mode().Perm())
	}

	os.WriteFile(RecordPath(dir, "db1", "forge"), []byte("{not json"), 0o600)
	if _, err := LoadRecord(dir, "db1", "forge"); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("corrupt record: %v", err)
	}
	os.WriteFile(RecordPath(dir, "db1", "forge"), []byte(`{"version": 9}`), 0o600)
	if _, err := LoadRecord(dir, "db1", "forge"); err == nil || !strings.Contains(err.Error(), "version 9") {
		t.Errorf("future record: %v", err)
	}
}

func TestOneLine(t *testing.T) {
	got := oneLine("psql: exit status 3\n    ERROR:  relation \"x\" does not exist\n    LINE 1: ...\n")
	if strings.Contains(got, "\n") || !strings.Contains(got, "psql: exit status 3 | ERROR:") {
		t.Errorf("oneLine: %q", got)
	}
}

func TestErrorLine(t *testing.T) {
	tests := map[string]string{
		"ERROR:  relation \"nosuch\" does not exist\nLINE 1: SELECT true FROM nosuch\n                          ^\n": `ERROR:  relation "nosuch" does not exist`,
		"psql:<stdin>:3: ERROR:  database \"x\" is being accessed\nDETAIL:  1 session\n":                             `ERROR:  database "x" is being accessed`,
		"psql: error: connection to server on socket \"/x/.s.PGSQL.5\" failed: No such file or directory\n":          `error: connection to server on socket "/x/.s.PGSQL.5" failed: No such file or directory`,
		"something else\nand the last\n": "and the last",
	}
	for in, want := range tests {
		if got := errorLine(in); got != want {
			t.Errorf("errorLine(%q) = %q, want %q", in, got, want)
		}
	}
}
