package unitlog

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Output of systemd 252's `systemctl show` for a dump unit whose
// ExecStartPost (pgarchive push) failed.
const showFailedPost = `Id=postgresqlBackup-db1.service
Result=exit-code
ActiveState=failed
InvocationID=0f3c2f6b9d1e4a7c8b5a3e2d1c0b9a87
ExecMainCode=1
ExecMainStatus=0
ExecStart={ path=/bin/sh ; argv[]=/bin/sh -c pg_dump db1 | gzip > /var/backup/postgresql/db1.sql.gz ; ignore_errors=no ; start_time=[Sat 2026-11-21 01:15:02 UTC] ; stop_time=[Sat 2026-11-21 01:15:03 UTC] ; pid=41 ; code=exited ; status=0 }
ExecStartPost={ path=/usr/local/bin/pgarchive ; argv[]=/usr/local/bin/pgarchive push --database db1 ; ignore_errors=no ; start_time=[Sat 2026-11-21 01:15:03 UTC] ; stop_time=[Sat 2026-11-21 01:15:04 UTC] ; pid=57 ; code=exited ; status=1 }
`

func TestParseShow(t *testing.T) {
	u := parseShow("x.service", []byte(showFailedPost))
	want := Unit{
		Name: "postgresqlBackup-db1.service", Result: "exit-code", ActiveState: "failed",
		InvocationID: "0f3c2f6b9d1e4a7c8b5a3e2d1c0b9a87", ExecMainCode: "exited", ExecMainStatus: "0",
		Failed: "ExecStartPost /usr/local/bin/pgarchive exited with status 1",
	}
	if u != want {
		t.Errorf("got  %+v\nwant %+v", u, want)
	}
	killed := parseShow("y.service", []byte("Result=signal\nExecStart={ path=/bin/pg_dump ; argv[]=/bin/pg_dump ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=9 ; code=killed ; status=9/KILL }\n"))
	if killed.Name != "y.service" || killed.Failed != "ExecStart /bin/pg_dump killed (9/KILL)" {
		t.Errorf("killed: %+v", killed)
	}
}

// Lines as journalctl -o json prints them: a native pgarchive entry with
// fields, a stderr line, a binary MESSAGE, a repeated field.
const journalJSON = `{"__REALTIME_TIMESTAMP":"1795223703000000","PRIORITY":"6","SYSLOG_IDENTIFIER":"pgarchive","MESSAGE":"pushing database=db1 bytes=12","PGARCHIVE_DATABASE":"db1","_SYSTEMD_UNIT":"postgresqlBackup-db1.service"}
{"__REALTIME_TIMESTAMP":"1795223704000000","PRIORITY":"3","SYSLOG_IDENTIFIER":"pgarchive","MESSAGE":"push failed database=db1 target=offsite error=\"connection refused\"","PGARCHIVE_DATABASE":"db1","PGARCHIVE_TARGET":"offsite"}
{"__REALTIME_TIMESTAMP":"1795223704100000","PRIORITY":"3","SYSLOG_IDENTIFIER":"pgarchive","MESSAGE":"push failed database=db1 target=nas","PGARCHIVE_TARGET":["nas","nas"]}
{"__REALTIME_TIMESTAMP":"1795223704200000","PRIORITY":"6","SYSLOG_IDENTIFIER":"pgarchive","MESSAGE":"pgarchive: error: push failed target=third"}
{"__REALTIME_TIMESTAMP":"1795223704300000","PRIORITY":"6","SYSLOG_IDENTIFIER":"sh","MESSAGE":[104,105,255]}
{"__REALTIME_TIMESTAMP":"1795223704400000","PRIORITY":"3","SYSLOG_IDENTIFIER":"pgarchive","MESSAGE":"push failed database=db1 target=offsite","PGARCHIVE_TARGET":"offsite"}
`

func TestParseJSONAndFailedTargets(t *testing.T) {
	entries, err := ParseJSON([]byte(journalJSON))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 6 {
		t.Fatalf("%d entries", len(entries))
	}
	if got := strings.Join(FailedTargets(entries), ","); got != "offsite,nas,third" {
		t.Errorf("failed targets %q", got)
	}
	if entries[4].Message != "hi?" || entries[1].Priority != 3 || entries[0].Fields["PGARCHIVE_DATABASE"] != "db1" {
		t.Errorf("entries %+v", entries)
	}
	lines := Lines(entries)
	if !strings.HasSuffix(lines[1], ` pgarchive: push failed database=db1 target=offsite error="connection refused"`) || len(lines[1]) < 9 {
		t.Errorf("line %q", lines[1])
	}
	if _, err := ParseJSON([]byte("-- No entries --\n")); err == nil {
		t.Error("text output accepted as JSON")
	}
}

// Show and Journal run the systemctl and journalctl found in PATH and
// report their complaint when they fail.
func TestCommandsFromPath(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "systemctl"), []byte("#!/bin/sh\necho 'System has not been booted with systemd as init system (PID 1). Can'\"'\"'t operate.' >&2\nexit 1\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "journalctl"), []byte("#!/bin/sh\n[ \"$6\" = _SYSTEMD_INVOCATION_ID=abc ] || { echo \"bad args: $*\" >&2; exit 1; }\nprintf '%s\\n' '{\"MESSAGE\":\"hello\",\"PRIORITY\":\"6\"}'\n"), 0o755)
	t.Setenv("PATH", dir)
	u, err := Show(context.Background(), "x.service")
	if err == nil || !strings.Contains(err.Error(), "systemctl: System has not been booted") || u.Name != "x.service" {
		t.Errorf("Show: %+v, %v", u, err)
	}
	entries, err := Journal(context.Background(), Unit{Name: "x.service", InvocationID: "abc"}, 40)
	if err != nil || len(entries) != 1 || entries[0].Message != "hello" {
		t.Errorf("Journal: %+v, %v", entries, err)
	}
	os.Remove(filepath.Join(dir, "journalctl"))
	if _, err := Journal(context.Background(), Unit{Name: "x.service"}, 40); err == nil || !strings.Contains(err.Error(), "journalctl") {
		t.Errorf("missing journalctl: %v", err)
	}
}
