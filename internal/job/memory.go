package job

import (
	"os"
	"runtime/debug"
)

// pushGCPercent is the collector's target while a push runs. A push's heap
// is mostly long-lived buffers (rclone's upload parts, age's chunks, the
// fan-out queues) plus a slow trickle of garbage, and at Go's default of
// 100 the heap may grow to twice those buffers before a collection: peak
// RSS then grew with the dump, 70 MiB at 256 MiB to 93 MiB at 2 GiB
// (tests/bench). At 50 it measured 73 and 78 MiB for 512 MiB and 2 GiB, for
// ten more collections of about 10 ms each.
const pushGCPercent = 50

// tightenGC applies pushGCPercent unless the GOGC environment variable
// chose a value, and returns what restores the previous setting.
func tightenGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	prev := debug.SetGCPercent(pushGCPercent)
	return func() { debug.SetGCPercent(prev) }
}
