// Package fault is pgarchive's fault suite: the real binary against real
// servers on loopback (MinIO, sshd, PostgreSQL 15, local directories and
// tmpfs mounts), each case breaking one thing on purpose — a server killed
// mid-upload, a connection cut, a full or read-only disk, a wrong key, a
// damaged object — and asserting what pgarchive promises then: the exit
// code, one last line naming the cause, every other target's archive
// complete and verified, nothing incomplete counted, nothing good deleted.
//
// Each case records one row of docs/reliability.md (fault, what pgarchive
// did, what was kept), in fixed words that its assertions back. When every
// case ran and passed, TestMain compares the table with the file and fails
// the run if they differ; PGARCHIVE_UPDATE_RELIABILITY=1 writes it instead:
//
//	PGARCHIVE_UPDATE_RELIABILITY=1 go test ./tests/fault/ -count=1
package fault

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

// reliabilityFile is docs/reliability.md, seen from this package's
// directory, where go test runs its tests.
const reliabilityFile = "../../docs/reliability.md"

const regenerate = "PGARCHIVE_UPDATE_RELIABILITY=1 go test ./tests/fault/ -count=1"

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		code = checkReliability()
	}
	removeBinary()
	os.Exit(code)
}

// row is one line of docs/reliability.md.
type row struct {
	Fault string // what broke
	Did   string // what pgarchive did: exit code and the line it ended on
	Kept  string // what the targets held afterwards
}

// rowOrder lists every case's row id in the order of the table. A case
// records its row under its id; an id missing here fails the run.
var rowOrder = []string{
	"dump-truncated",
	"dump-changed",
	"push-same-second",
	"target-stalled",
	"target-not-mounted",
	"s3-killed",
	"s3-500-burst",
	"s3-500-outage",
	"s3-500-upload",
	"sftp-cut",
	"disk-full",
	"disk-full-manifest",
	"disk-readonly",
	"key-wrong-identity",
	"key-wrong-passphrase",
	"key-pq-for-x25519",
	"damage-flipped-byte",
	"damage-truncated",
	"damage-swapped-manifests",
	"push-during-prune",
	"prune-newest-manifest-names-another",
	"secrets-in-output",
}

var recorded = struct {
	sync.Mutex
	rows  map[string]row
	extra []string // ids not in rowOrder
}{rows: map[string]row{}}

// record keeps the case's row for docs/reliability.md if t passes.
func record(t *testing.T, id string, r row) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() || t.Skipped() {
			return
		}
		recorded.Lock()
		defer recorded.Unlock()
		recorded.rows[id] = r
	})
}

// checkReliability compares the table the cases recorded with
// docs/reliability.md, or writes it when PGARCHIVE_UPDATE_RELIABILITY=1.
// It does so only when every case ran and recorded its row: under -run or
// -skip, or with a case skipped (no root for the tmpfs mounts), the table
// would be partial, and the run passes without comparing it, unless
// PGARCHIVE_RELIABILITY_REQUIRED=1 (CI: tests/run.sh) makes that a
// failure. It returns the exit code.
func checkReliability() int {
	update := os.Getenv("PGARCHIVE_UPDATE_RELIABILITY") == "1"
	recorded.Lock()
	defer recorded.Unlock()
	for id := range recorded.rows {
		if !contains(rowOrder, id) {
			fmt.Fprintf(os.Stderr, "fault: row %q is not in rowOrder (main_test.go): add it there\n", id)
			return 1
		}
	}
	var missing []string
	for _, id := range rowOrder {
		if _, ok := recorded.rows[id]; !ok {
			missing = append(missing, id)
		}
	}
	filtered := flagSet("test.run") || flagSet("test.skip")
	if filtered || len(missing) > 0 {
		why := "-run or -skip chose the cases"
		if !filtered {
			why = "cases without a row: " + strings.Join(missing, ", ")
		}
		switch {
		case update:
			fmt.Fprintf(os.Stderr, "fault: not writing %s from a partial run (%s): run every case, as root\n", reliabilityFile, why)
			return 1
		case os.Getenv("PGARCHIVE_RELIABILITY_REQUIRED") == "1":
			fmt.Fprintf(os.Stderr, "FAIL: %s cannot be checked: not every case ran (%s), and PGARCHIVE_RELIABILITY_REQUIRED=1\n", reliabilityFile, why)
			return 1
		}
		fmt.Fprintf(os.Stderr, "fault: %s not compared: not every case ran (%s)\n", reliabilityFile, why)
		return 0
	}
	want := renderReliability(recorded.rows)
	if update {
		if err := os.WriteFile(reliabilityFile, want, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "fault: writing %s: %v\n", reliabilityFile, err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "fault: wrote %s\n", reliabilityFile)
		return 0
	}
	have, err := os.ReadFile(reliabilityFile)
	if err != nil || !bytes.Equal(have, want) {
		fmt.Fprintf(os.Stderr, "FAIL: docs/reliability.md is stale: regenerate it with %s\n", regenerate)
		return 1
	}
	return 0
}

func flagSet(name string) bool {
	f := flag.Lookup(name)
	return f != nil && f.Value.String() != ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// renderReliability renders docs/reliability.md from the rows.
func renderReliability(rows map[string]row) []byte {
	var b bytes.Buffer
	b.WriteString(`# Reliability: what pgarchive does when something breaks

<!-- Generated by the fault suite (tests/fault); do not edit by hand.
     Regenerate: ` + regenerate + ` (as root)
     CI fails when this file differs from what the suite records. -->

Each row is one case of the fault suite in ` + "`tests/fault`" + `, run with the real
binary against real servers on loopback: MinIO for S3, OpenSSH's sshd for
SFTP, local directories, small tmpfs mounts, PostgreSQL 15. The words are
fixed phrases that the case's assertions check; ` + "`…`" + ` stands for what
varies from run to run (names, sizes, addresses, the server's own words).
Besides what its row says, each case asserts the exit code; that a command
that fails ends on one ` + "`pgarchive: error: …`" + ` line naming the cause; that the
targets the fault did not touch hold the archive complete (` + "`list --json`" + `)
and passing ` + "`verify --identity`" + `; that nothing incomplete is counted by
list, restore, prune or status; and that nothing good is deleted.

| Fault | What pgarchive did | What was kept |
| --- | --- | --- |
`)
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, id := range rowOrder {
		r := rows[id]
		fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(r.Fault), cell(r.Did), cell(r.Kept))
	}
	return b.Bytes()
}

// The binary: harness.Binary builds it once per test process, and
// harness.Main removes that build after m.Run; but harness.Main exits
// right after, leaving no room for the table check. So this package builds
// its own copy the same way (go build -tags pgarchive_testhooks), hands it
// to harness.Binary through PGARCHIVE_BINARY, and removes it itself.
var built struct {
	once sync.Once
	dir  string
	err  error
}

// binary returns the pgarchive binary under test: $PGARCHIVE_BINARY if
// set, else one built from ./cmd/pgarchive with the test hooks.
func binary(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		if os.Getenv("PGARCHIVE_BINARY") != "" {
			return
		}
		root := harness.ModuleRoot(t)
		built.dir, built.err = os.MkdirTemp("", "pgarchive-fault-bin-")
		if built.err != nil {
			return
		}
		path := filepath.Join(built.dir, "pgarchive")
		cmd := exec.Command("go", "build", "-tags", "pgarchive_testhooks", "-o", path, "./cmd/pgarchive")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("building pgarchive (go build -tags pgarchive_testhooks ./cmd/pgarchive in %s): %w\n%s", root, err, out)
			return
		}
		built.err = os.Setenv("PGARCHIVE_BINARY", path)
	})
	if built.err != nil {
		t.Fatalf("%v", built.err)
	}
	return harness.Binary(t)
}

func removeBinary() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}
