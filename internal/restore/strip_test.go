package restore

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want from the current StripDatabaseStatements")

func strip(t testing.TB, in string) string {
	t.Helper()
	var out bytes.Buffer
	if err := StripDatabaseStatements(&out, strings.NewReader(in)); err != nil {
		t.Fatalf("StripDatabaseStatements: %v", err)
	}
	return out.String()
}

func TestStripDatabaseStatements(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{{
		name: "create and alter database, as pg_dump -C writes them",
		in: "SET row_security = off;\n\n" +
			"CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';\n\n\n" +
			"ALTER DATABASE shop OWNER TO postgres;\n\n" +
			"\\connect shop\n\nSET x = 1;\n",
		want: "SET row_security = off;\n\n\n\n\n\n\n\n\nSET x = 1;\n",
	}, {
		name: `\connect with a doubled quote`,
		in:   "\\unrestrict KEY\n\\connect -reuse-previous=on \"dbname='we''ird'\"\n\\restrict KEY\n",
		want: "\\unrestrict KEY\n\n\\restrict KEY\n",
	}, {
		name: `\connect with a backslash-escaped quote (pg_dump 15)`,
		in:   "\\connect -reuse-previous=on \"dbname='we\\'ird'\"\nSELECT 1;\n",
		want: "\nSELECT 1;\n",
	}, {
		name: `\c and other meta-commands`,
		in:   "\\c other\n\\copy t from 'f'\n\\conninfo\n\\encoding SQL_ASCII\n  \\connect x\n\\restrict K\n",
		want: "\n\\copy t from 'f'\n\\conninfo\n\\encoding SQL_ASCII\n\n\\restrict K\n",
	}, {
		name: "multi-line statement with ; at a line end inside its string",
		in:   "COMMENT ON DATABASE \"we'ird\" IS 'multi\nline;\ncomment';\n\nSELECT 2;\n",
		want: "\n\n\n\nSELECT 2;\n",
	}, {
		name: "statement spread over lines, keywords on separate lines",
		in:   "ALTER\n  DATABASE\n  shop\n  SET work_mem = '1MB'\n;\nSELECT 3;\n",
		want: "\n\n\n\n\nSELECT 3;\n",
	}, {
		name: "database ACL, role settings, security labels, template flag",
		in: "REVOKE CONNECT,TEMPORARY ON DATABASE shop FROM PUBLIC;\n" +
			"GRANT CREATE ON DATABASE shop TO r1;\n" +
			"GRANT SELECT (a, b) ON TABLE public.t TO r1;\n" +
			"GRANT r1 TO r2;\n" +
			"ALTER ROLE r1 IN DATABASE shop SET search_path TO 'x';\n" +
			"ALTER ROLE \"r 2\" IN DATABASE shop SET work_mem TO '1MB';\n" +
			"ALTER ROLE r1 SET work_mem TO '1MB';\n" +
			"SECURITY LABEL FOR selinux ON DATABASE shop IS 'x';\n" +
			"SECURITY LABEL ON DATABASE shop IS 'x';\n" +
			"SECURITY LABEL FOR selinux ON TABLE t IS 'x';\n" +
			"UPDATE pg_catalog.pg_database SET datistemplate = false WHERE datname = 'shop';\n" +
			"UPDATE public.t SET a = 1;\n" +
			"DROP DATABASE IF EXISTS shop;\n" +
			"DROP TABLE t;\n",
		want: "\n\n" +
			"GRANT SELECT (a, b) ON TABLE public.t TO r1;\n" +
			"GRANT r1 TO r2;\n" +
			"\n\n" +
			"ALTER ROLE r1 SET work_mem TO '1MB';\n" +
			"\n\n" +
			"SECURITY LABEL FOR selinux ON TABLE t IS 'x';\n" +
			"\n" +
			"UPDATE public.t SET a = 1;\n" +
			"\n" +
			"DROP TABLE t;\n",
	}, {
		name: "lookalikes are kept",
		in: "CREATE TABLE database (id int);\nALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO r1;\n" +
			"COMMENT ON TABLE t IS 'ON DATABASE';\nCREATE DATABASES;\nSELECT 'CREATE DATABASE x;';\n",
		want: "CREATE TABLE database (id int);\nALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO r1;\n" +
			"COMMENT ON TABLE t IS 'ON DATABASE';\nCREATE DATABASES;\nSELECT 'CREATE DATABASE x;';\n",
	}, {
		name: "COPY data with lines that look like statements",
		in: "COPY public.scripts (line, n) FROM stdin;\nCREATE DATABASE evil;\t1\n\\\\connect other\t2\n" +
			"don't\t3\n$$ x\t4\n/* y\t5\n\\.\nALTER DATABASE shop SET a = 1;\n",
		want: "COPY public.scripts (line, n) FROM stdin;\nCREATE DATABASE evil;\t1\n\\\\connect other\t2\n" +
			"don't\t3\n$$ x\t4\n/* y\t5\n\\.\n\n",
	}, {
		name: "COPY FROM stdin with options, and COPY TO stdout",
		in:   "COPY t FROM STDIN WITH (FORMAT csv);\nCREATE DATABASE x;\n\\.\nCOPY t TO stdout;\nCREATE DATABASE y;\n",
		want: "COPY t FROM STDIN WITH (FORMAT csv);\nCREATE DATABASE x;\n\\.\nCOPY t TO stdout;\n\n",
	}, {
		name: "COPY data running to the end of the input",
		in:   "COPY t (a) FROM stdin;\nCREATE DATABASE x;\n",
		want: "COPY t (a) FROM stdin;\nCREATE DATABASE x;\n",
	}, {
		name: "function bodies, quoted identifiers and comments hide statements",
		in: "CREATE FUNCTION f() RETURNS int AS $body$\nCREATE DATABASE x;\n$body$;\n" +
			"CREATE FUNCTION g() RETURNS text AS $$ SELECT 'a' $$;\n" +
			"CREATE TABLE \"x;\nCREATE DATABASE y\" (a int);\n" +
			"/* CREATE DATABASE z; /* nested */\nALTER DATABASE z; */\n" +
			"-- CREATE DATABASE w;\n" +
			"SELECT E'it\\'s;\nCREATE DATABASE v;';\n" +
			"SELECT $1, a$b$c FROM t;\nCREATE DATABASE u;\n",
		want: "CREATE FUNCTION f() RETURNS int AS $body$\nCREATE DATABASE x;\n$body$;\n" +
			"CREATE FUNCTION g() RETURNS text AS $$ SELECT 'a' $$;\n" +
			"CREATE TABLE \"x;\nCREATE DATABASE y\" (a int);\n" +
			"/* CREATE DATABASE z; /* nested */\nALTER DATABASE z; */\n" +
			"-- CREATE DATABASE w;\n" +
			"SELECT E'it\\'s;\nCREATE DATABASE v;';\n" +
			"SELECT $1, a$b$c FROM t;\n\n",
	}, {
		name: "comments around and inside a dropped statement",
		in:   "-- Name: shop; Type: DATABASE\nCREATE /* c */ DATABASE shop; -- trailing\n/* lead */ ALTER DATABASE shop SET a = 1;\n",
		want: "-- Name: shop; Type: DATABASE\n -- trailing\n/* lead */ \n",
	}, {
		name: "statements sharing a line",
		in:   "SET a = 1; CREATE DATABASE x; SET b = 2;\nCREATE DATABASE y; SELECT 1;\n",
		want: "SET a = 1;  SET b = 2;\n SELECT 1;\n",
	}, {
		name: "case and an empty statement",
		in:   ";\ncreate database x;\nAlter Database x set a = 1;\n",
		want: ";\n\n\n",
	}, {
		name: "no newline at the end",
		in:   "SELECT 1;\nCREATE DATABASE x;",
		want: "SELECT 1;\n",
	}, {
		name: "unterminated statement at the end is kept",
		in:   "SELECT 1;\nCREATE",
		want: "SELECT 1;\nCREATE",
	}, {
		name: "restrict and unrestrict are kept",
		in:   "\\restrict abc\nSET a = 1;\n\\unrestrict abc\n",
		want: "\\restrict abc\nSET a = 1;\n\\unrestrict abc\n",
	}, {
		name: "empty input",
		in:   "",
		want: "",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strip(t, tt.in); got != tt.want {
				t.Errorf("StripDatabaseStatements(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestStripLongLines crosses the reader's buffer inside a statement, inside
// COPY data and at a COPY terminator.
func TestStripLongLines(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	in := "COMMENT ON DATABASE shop IS '" + long + "';\n" +
		"SELECT '" + long + "';\n" +
		"COPY t (a) FROM stdin;\n" + long + "\n\\." + long + "\n\\.\n" +
		"CREATE DATABASE x;\n"
	want := "\n" +
		"SELECT '" + long + "';\n" +
		"COPY t (a) FROM stdin;\n" + long + "\n\\." + long + "\n\\.\n" +
		"\n"
	if got := strip(t, in); got != want {
		t.Errorf("long lines: got %d bytes, want %d", len(got), len(want))
	}
}

// TestStripPgDump checks real `pg_dump -C` output (PostgreSQL 15.20) against
// golden files; run with -update to rewrite them after a deliberate change,
// and read the diff.
//
//	weird.sql           pg_dump -C of the database we'ird: comment, settings,
//	                    ACL and role settings on it, functions and a table
//	                    comment quoting CREATE DATABASE, COPY data lines
//	                    starting with CREATE DATABASE, \\connect, ' and $$
//	clean-template.sql  pg_dump -C -c --if-exists of a template database
func TestStripPgDump(t *testing.T) {
	for _, name := range []string{"weird.sql", "clean-template.sql"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			got := strip(t, string(in))
			wantPath := filepath.Join("testdata", strings.TrimSuffix(name, ".sql")+".want")
			if *update {
				if err := os.WriteFile(wantPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("StripDatabaseStatements(%s) differs from %s:\n%s", name, wantPath, got)
			}
			checkStripInvariants(t, string(in), got)
			for _, gone := range []string{"CREATE DATABASE \"", "ALTER DATABASE \"", "\\connect", "ON DATABASE \"", "IN DATABASE", "pg_database", "DROP DATABASE"} {
				for _, line := range strings.Split(got, "\n") {
					if strings.HasPrefix(line, gone) {
						t.Errorf("output still has %q", line)
					}
				}
			}
		})
	}
}

// checkStripInvariants: the output has the input's lines, each either
// unchanged or with bytes taken out, never added or reordered.
func checkStripInvariants(t testing.TB, in, out string) {
	t.Helper()
	inLines, outLines := strings.Split(in, "\n"), strings.Split(out, "\n")
	if len(inLines) != len(outLines) {
		t.Fatalf("input has %d lines, output %d", len(inLines), len(outLines))
	}
	for i := range inLines {
		if !isSubsequence(outLines[i], inLines[i]) {
			t.Fatalf("line %d: output %q is not input %q with bytes removed", i+1, outLines[i], inLines[i])
		}
	}
}

func isSubsequence(sub, s string) bool {
	j := 0
	for i := 0; i < len(s) && j < len(sub); i++ {
		if s[i] == sub[j] {
			j++
		}
	}
	return j == len(sub)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

type failingReader struct{ data *strings.Reader }

func (r failingReader) Read(b []byte) (int, error) {
	if r.data.Len() == 0 {
		return 0, errors.New("connection reset")
	}
	return r.data.Read(b)
}

func TestStripErrors(t *testing.T) {
	err := StripDatabaseStatements(failingWriter{}, strings.NewReader("SELECT 1;\n"))
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write error: got %v", err)
	}
	for _, in := range []string{"SELECT 1;\n", "COPY t FROM stdin;\n1\n"} {
		err = StripDatabaseStatements(&bytes.Buffer{}, failingReader{strings.NewReader(in)})
		if err == nil || !strings.Contains(err.Error(), "connection reset") {
			t.Errorf("read error after %q: got %v", in, err)
		}
	}
}

func FuzzStripDatabaseStatements(f *testing.F) {
	for _, seed := range []string{
		"CREATE DATABASE x;\n\\connect x\nSELECT 1;\n",
		"COPY t FROM stdin;\nCREATE DATABASE x;\n\\.\nALTER DATABASE x SET a = 1;\n",
		"COMMENT ON DATABASE x IS 'a\nb;\nc';\nSELECT $a$ ; $a$;\n/* x */ GRANT ALL ON DATABASE x TO y;",
		"SET a = 1; CREATE DATABASE x; SELECT E'\\'';\n",
	} {
		f.Add(seed)
	}
	if in, err := os.ReadFile(filepath.Join("testdata", "weird.sql")); err == nil {
		f.Add(string(in))
	}
	f.Fuzz(func(t *testing.T, in string) {
		var out bytes.Buffer
		if err := StripDatabaseStatements(&out, strings.NewReader(in)); err != nil {
			t.Fatal(err)
		}
		checkStripInvariants(t, in, out.String())
	})
}
