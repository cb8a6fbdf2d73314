// Package job runs pgarchive's commands end to end, between the flags that
// cmd/pgarchive parses and the packages that do one thing each: it opens
// and closes the targets, runs a push from dump file to every target, and
// reports every job that operators watch (push, prune, verify, drill)
// through one place, so dead-man pings and metrics cannot drift apart:
//
//	run := job.Start(ctx, cfg, "prune", db) // "start" ping
//	... do the work, filling a job.Report ...
//	run.Finish(report)                      // success/fail ping, metrics
//
// Observers never fail the job: a ping or textfile that cannot be written is
// logged and the job's own result stands.
package job

import "log/slog"

func logger() *slog.Logger { return slog.Default() }
