package main

import (
	"time"

	"github.com/pgarchive/pgarchive/internal/job"
)

// clockNow is job.Now, a bad PGARCHIVE_TEST_NOW being the caller's to fix.
func clockNow() (time.Time, error) {
	t, err := job.Now()
	if err != nil {
		return time.Time{}, usageError{err}
	}
	return t, nil
}
