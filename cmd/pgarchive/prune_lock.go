package main

import (
	"fmt"

	"github.com/pgarchive/pgarchive/internal/prune"
)

// withLocks adds to one database's prune rows on target name what
// prune.ExtendLocks did to each kept archive's lock, and a failure for
// each lock it could not extend: a kept archive whose lock runs out before
// its slot does is open to a stolen host again.
func withLocks(name string, rows []pruneRow, failures []string, locks map[string]prune.LockResult) ([]pruneRow, []string) {
	for i, r := range rows {
		res, ok := locks[r.Object]
		if !ok || r.Target != name {
			continue
		}
		if !res.Lock.IsZero() {
			l := res.Lock
			rows[i].Lock = &l
		}
		rows[i].LockExtended = res.Extended && res.Err == nil
		if res.Err != nil {
			msg := fmt.Sprintf("extend lock of %s on %s: %v", r.Object, name, res.Err)
			if rows[i].Error == "" {
				rows[i].Error = msg
			}
			failures = append(failures, msg)
			logger().Warn("prune: lock not extended", "target", name, "object", r.Object, "error", res.Err.Error())
		}
	}
	return rows, failures
}
