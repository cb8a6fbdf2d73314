package main

import (
	"fmt"
	"os"
	"time"

	"github.com/pgarchive/pgarchive/internal/archive"
)

// testNowEnv sets the clock in tests (YYYYMMDDTHHMMSSZ), so back-dated
// archives go through the real push path. Not for production use: archive
// names must carry the real time.
const testNowEnv = "PGARCHIVE_TEST_NOW"

// testTargetTimeoutEnv shortens targetTimeout in tests, so a server that
// never answers can be tested in seconds.
const testTargetTimeoutEnv = "PGARCHIVE_TEST_TARGET_TIMEOUT"

func init() {
	if d, err := time.ParseDuration(os.Getenv(testTargetTimeoutEnv)); err == nil && d > 0 {
		targetTimeout = d
	}
}

func clockNow() (time.Time, error) {
	if s := os.Getenv(testNowEnv); s != "" {
		t, err := archive.ParseStamp(s)
		if err != nil {
			return time.Time{}, usagef("%s: %v", testNowEnv, err)
		}
		return t, nil
	}
	return time.Now().UTC(), nil
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
