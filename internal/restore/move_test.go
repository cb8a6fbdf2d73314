package restore

import (
	"bytes"
	"strings"
	"testing"
)

func TestMoveDatabaseStatements(t *testing.T) {
	script := `CREATE DATABASE forge WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';

ALTER DATABASE forge OWNER TO alice;

\connect forge

CREATE TABLE t (x int);
COMMENT ON DATABASE forge IS 'the DATABASE forge';
ALTER DATABASE forge SET search_path TO 'app', 'public';
ALTER DATABASE forge IS_TEMPLATE = true;
ALTER ROLE bob IN DATABASE forge SET work_mem TO '8MB';
GRANT CONNECT ON DATABASE forge TO bob;
ALTER DATABASE other SET x TO 1;
`
	var out bytes.Buffer
	moved, err := MoveDatabaseStatements(&out, strings.NewReader(script), `new "one"`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`ALTER DATABASE "new ""one""" OWNER TO alice`,
		`COMMENT ON DATABASE "new ""one""" IS 'the DATABASE forge'`,
		`ALTER DATABASE "new ""one""" SET search_path TO 'app', 'public'`,
		`ALTER ROLE bob IN DATABASE "new ""one""" SET work_mem TO '8MB'`,
		`GRANT CONNECT ON DATABASE "new ""one""" TO bob`,
	}
	if strings.Join(moved, "\n") != strings.Join(want, "\n") {
		t.Errorf("moved:\n%s\nwant:\n%s", strings.Join(moved, "\n"), strings.Join(want, "\n"))
	}
	got := out.String()
	for _, w := range want {
		if !strings.Contains(got, w+";\n") {
			t.Errorf("script lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "forge IS_TEMPLATE") || strings.Contains(got, "\\connect") || strings.Contains(got, "CREATE DATABASE") {
		t.Errorf("script keeps what it must not:\n%s", got)
	}
	// Line numbers still match for psql's messages: the original lines
	// come first, the moved statements after them.
	if n := strings.Count(got[:strings.Index(got, "\n-- pgarchive:")], "\n"); n != strings.Count(script, "\n") {
		t.Errorf("%d lines before the moved statements, want %d", n, strings.Count(script, "\n"))
	}
}

func TestFilterGlobals(t *testing.T) {
	script := []string{
		`CREATE ROLE alice;`,
		`ALTER ROLE alice WITH NOSUPERUSER INHERIT LOGIN PASSWORD 'SCRAM-SHA-256$x';`,
		`CREATE ROLE postgres;`,
		`ALTER ROLE postgres WITH SUPERUSER PASSWORD 'secret';`,
		`CREATE ROLE "Odd ""one""";`,
		`ALTER ROLE alice SET search_path TO app;`,
		`ALTER ROLE alice IN DATABASE forge SET work_mem TO '8MB';`,
		`ALTER ROLE alice IN DATABASE gone SET work_mem TO '8MB';`,
		`GRANT reader TO alice GRANTED BY postgres;`,
		`CREATE TABLESPACE fast OWNER postgres LOCATION '/srv/fast';`,
	}
	roles := map[string]bool{"postgres": true}
	dbs := map[string]bool{"forge": true}
	spaces := map[string]bool{"fast": true}
	rep := &GlobalsReport{}
	var kept []string
	for _, l := range script {
		if filterGlobal(l, roles, dbs, spaces, rep) {
			kept = append(kept, l)
		}
	}
	wantKept := []int{0, 1, 4, 5, 6, 8}
	if len(kept) != len(wantKept) {
		t.Fatalf("kept %q", kept)
	}
	for i, k := range wantKept {
		if kept[i] != script[k] {
			t.Errorf("kept[%d] = %q, want %q", i, kept[i], script[k])
		}
	}
	if strings.Join(rep.Created, "|") != `alice|Odd "one"` || strings.Join(rep.Skipped, "|") != "postgres" ||
		strings.Join(rep.Deferred, "|") != "alice in database gone" || strings.Join(rep.SkippedTablespaces, "|") != "fast" {
		t.Errorf("report %+v", rep)
	}
}
