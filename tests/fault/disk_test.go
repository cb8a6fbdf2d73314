package fault

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// mountTmpfs mounts a tmpfs of size (mount's syntax: "16m") on a new
// directory and returns it; it is unmounted when the test ends. The test
// is skipped, saying why, where mounting is not possible.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root: run the fault suite as root (tests/run.sh does)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (a container without CAP_SYS_ADMIN?): mount -t tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// The disk under a local target is too small for the next archive, fills
// up between the archive and its manifest, or goes read-only. The archive
// already there stays, counted, and the other target completes.
func TestLocalDiskFaults(t *testing.T) {
	t.Parallel()
	identity, recipient := keypair(t, false)
	const first, second, later = "20260301T011500Z", "20260301T021500Z", "20260301T030000Z"

	// setup mounts a 16 MiB tmpfs for the target "usb" beside the local
	// target "local", and pushes a 1 MiB dump to both at first.
	setup := func(t *testing.T) (cfg, dumpDir, mnt string) {
		mnt = mountTmpfs(t, "16m")
		if err := os.Mkdir(filepath.Join(mnt, "pg"), 0o700); err != nil {
			t.Fatal(err)
		}
		dumpDir = t.TempDir()
		randomDump(t, dumpDir, "shop", 1<<20)
		cfg = configFile(t, dumpDir, "none", "", ageRecipients(recipient),
			localTarget("local", t.TempDir()), localTarget("usb", filepath.Join(mnt, "pg")),
			"[retention]\nkeep_last = 1\n")
		mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + first}, "push", "-d", "shop", "--allow-stale")
		return cfg, dumpDir, mnt
	}
	env := func(cfg, now string) []string {
		return []string{"PGARCHIVE_CONFIG=" + cfg, "PGARCHIVE_TEST_NOW=" + now}
	}
	// kept checks what both targets count after the failed push: usb its
	// first archive only, local both; usb holds the incomplete objects
	// given and no other.
	kept := func(t *testing.T, cfg string, incompleteOnUSB ...string) {
		mustHold(t, env(cfg, later), identity, "local", first, second)
		mustHold(t, env(cfg, later), identity, "usb", first)
		if left := incomplete(t, env(cfg, later), "usb"); !slices.Equal(left, incompleteOnUSB) {
			t.Errorf("usb holds incomplete objects %q, want %q", left, incompleteOnUSB)
		}
		if _, r := restoreFrom(t, env(cfg, later), identity, "shop", "usb"); r.code != 0 || !strings.Contains(r.stderr, "shop_"+first) {
			t.Errorf("restore from usb did not take %s: %s", first, r)
		}
		newest, _ := statusNewest(t, env(cfg, later), "shop")
		if newest["usb"] != first || newest["local"] != second {
			t.Errorf("status counts newest %v, want usb %s and local %s", newest, first, second)
		}
		mustPruneKeep(t, env(cfg, later), "usb", first)
	}

	t.Run("too small for the archive", func(t *testing.T) {
		cfg, dumpDir, mnt := setup(t)
		randomDump(t, dumpDir, "shop", 32<<20)
		r := pgarchive(t, env(cfg, second), "push", "-d", "shop", "--allow-stale")
		mustFailWith(t, r, "1 of 2 targets failed", `usb: target "usb": put `, "file too big for remaining disk space", "the other 1 hold a complete archive")
		kept(t, cfg)
		if left, _ := filepath.Glob(filepath.Join(mnt, "pg", "db1", "shop", "*"+second+"*")); len(left) != 0 {
			t.Errorf("the failed push left %q on the full disk", left)
		}
		record(t, "disk-full", row{
			Fault: "A local target's disk has less room than the archive (32 MiB into a 16 MiB tmpfs)",
			Did:   "rclone reserves the object's size before writing and fails at once: push exits 1: `1 of 2 targets failed (usb: …: preallocate: file too big for remaining disk space)`; nothing written there",
			Kept:  "full disk: the archive it held before, still counted newest there; other target: the new archive, complete and verified",
		})
	})

	t.Run("full before the manifest", func(t *testing.T) {
		cfg, _, mnt := setup(t)
		// Fill the disk so that the next archive fits to the page and its
		// manifest does not.
		rows := listJSON(t, env(cfg, later), "--target", "usb")
		if len(rows) != 1 {
			t.Fatalf("usb holds %+v, want one archive", rows)
		}
		var st syscall.Statfs_t
		if err := syscall.Statfs(mnt, &st); err != nil {
			t.Fatal(err)
		}
		page := int64(st.Bsize)
		object := (rows[0].Size + page - 1) / page * page
		filler := int64(st.Bavail)*page - object
		if err := os.WriteFile(filepath.Join(mnt, "filler"), make([]byte, filler), 0o600); err != nil {
			t.Fatalf("filling the tmpfs: %v", err)
		}
		r := pgarchive(t, env(cfg, second), "push", "-d", "shop", "--allow-stale")
		mustFailWith(t, r, "1 of 2 targets failed", `usb: write manifest: `, "file too big for remaining disk space", "the other 1 hold a complete archive")
		kept(t, cfg, "db1/shop/shop_"+second+".sql.age (incomplete)")

		// Once older than incomplete_grace (24h), prune removes the
		// object without a manifest, and keeps the newest good archive.
		const dayAfter = "20260302T040000Z"
		decisions := pruneJSON(t, mustRun(t, env(cfg, dayAfter), "prune", "--target", "usb", "--json"))
		var actions []string
		for _, d := range decisions {
			actions = append(actions, stampOf(d.Object)+" "+d.Action)
		}
		if !slices.Equal(actions, []string{second + " deleted", first + " keep"}) {
			t.Errorf("prune on usb: %q, want the incomplete archive deleted and the first kept", actions)
		}
		mustHold(t, env(cfg, dayAfter), identity, "usb", first)
		if left := incomplete(t, env(cfg, dayAfter), "usb"); len(left) != 0 {
			t.Errorf("usb holds incomplete objects after prune: %q", left)
		}
		record(t, "disk-full-manifest", row{
			Fault: "A local target's disk fills up between the archive and its manifest",
			Did:   "push exits 1: `1 of 2 targets failed (usb: write manifest: …: file too big for remaining disk space)`; the object stays there without a manifest: list shows it incomplete, prune removes it once older than incomplete_grace",
			Kept:  "full disk: the archive it held before, still counted newest there (status, restore, prune); other target: the new archive, complete and verified",
		})
	})

	t.Run("read-only", func(t *testing.T) {
		cfg, dumpDir, mnt := setup(t)
		if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
			t.Fatalf("remount %s read-only: %v: %s", mnt, err, out)
		}
		randomDump(t, dumpDir, "shop", 2<<20)
		r := pgarchive(t, env(cfg, second), "push", "-d", "shop", "--allow-stale")
		mustFailWith(t, r, "1 of 2 targets failed", `usb: target "usb": put `, "read-only file system", "the other 1 hold a complete archive")
		kept(t, cfg)
		record(t, "disk-readonly", row{
			Fault: "A local target's disk is read-only (tmpfs remounted ro)",
			Did:   "push exits 1: `1 of 2 targets failed (usb: …: read-only file system)`",
			Kept:  "read-only disk: the archive it held before, still counted newest there; other target: the new archive, complete and verified",
		})
	})
}
