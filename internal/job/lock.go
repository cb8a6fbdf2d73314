package job

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/pgarchive/pgarchive/internal/config"
)

// pushLock keeps a second push of the same database on this host from
// running while one is under way: two pushes stamped in the same second
// would write the same object names, and the write-once check cannot
// see a write that has not finished yet.
type pushLock struct{ f *os.File }

// lockPush takes the database's push lock, or fails at once naming it.
//
// The lock is an flock on <dump_dir>/.pgarchive-push-<db>.lock, released
// by the kernel when the process ends however it ends, so a killed push
// never leaves a stale lock. The file may belong to another user (root at
// the shell, postgres in the unit): a read-only descriptor locks just as
// well. Where the file cannot be made at all (a read-only dump_dir), the
// directory itself is locked, which serialises every push from it.
func lockPush(cfg *config.Config, db string) (*pushLock, error) {
	path := filepath.Join(cfg.DumpDir, ".pgarchive-push-"+db+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		f, err = os.Open(path)
	}
	if err != nil {
		path = cfg.DumpDir
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, fmt.Errorf("take the push lock for %q: %w", db, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another push of %q is running on this host (lock %s held): not pushing it twice at once", db, path)
		}
		return nil, fmt.Errorf("take the push lock %s: %w", path, err)
	}
	return &pushLock{f: f}, nil
}

func (l *pushLock) release() {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
}
