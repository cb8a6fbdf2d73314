package job

import (
	"fmt"
	"os"
	"time"

	"github.com/pgarchive/pgarchive/internal/archive"
)

// TestNowEnv sets the clock (YYYYMMDDTHHMMSSZ). It is a debugging and test
// aid: back-dated archives go through the real push path. Archive names
// must carry the real time in production, so never set it there.
const TestNowEnv = "PGARCHIVE_TEST_NOW"

// Now is the time jobs stamp archives and judge ages with: the UTC clock,
// or TestNowEnv when set.
func Now() (time.Time, error) {
	if s := os.Getenv(TestNowEnv); s != "" {
		t, err := archive.ParseStamp(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: %w", TestNowEnv, err)
		}
		return t, nil
	}
	return time.Now().UTC(), nil
}
