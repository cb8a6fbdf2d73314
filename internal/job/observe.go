package job

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/healthcheck"
	"github.com/pgarchive/pgarchive/internal/human"
	"github.com/pgarchive/pgarchive/internal/metrics"
)

// TargetReport is one target's share of a job.
type TargetReport struct {
	Target  string
	Bytes   int64 // bytes written (push) or read (verify, drill)
	Kept    int   // prune: archives kept
	Deleted int   // prune: archives deleted
	Failed  int   // verify: bad archives; other jobs: 1 if this target failed
	Err     error
	// ClockBehind (push): the newest archive already there was stamped
	// this much after the push's clock.
	ClockBehind time.Duration
	// LockUntil (push): the object lock the archive got; zero if none.
	LockUntil time.Time
}

// Report is the outcome of one job on one database.
type Report struct {
	Database string
	Targets  []TargetReport
	Err      error // the job's overall error, nil on success

	Duration time.Duration // drill: restore and checks, as reported
	Tables   int           // drill: tables restored
}

// Run is a job in progress.
type Run struct {
	ctx      context.Context
	cfg      *config.Config
	job      string
	database string
	started  time.Time

	pinger    *healthcheck.Pinger // nil without [healthcheck]
	startDone chan struct{}       // closed once the start ping is over
}

// pingWait bounds how long Finish waits for pings; a ping's own retries
// end sooner.
const pingWait = 30 * time.Second

// Start begins a job of kind job (push, prune, verify, drill) on database
// and sends its start ping.
func Start(ctx context.Context, cfg *config.Config, job, database string) *Run {
	r := &Run{ctx: ctx, cfg: cfg, job: job, database: database, started: time.Now()}
	if cfg.Healthcheck.URLFile == "" {
		return r
	}
	u, err := healthcheck.ReadURL(cfg.Healthcheck.URLFile)
	if err == nil && job != "push" && !strings.Contains(u, healthcheck.PlaceholderJob) {
		// One check for every job would let a daily prune's success
		// hide backups that stopped: without {job} in the URL only push
		// pings it.
		return r
	}
	if err == nil {
		r.pinger, err = healthcheck.New(healthcheck.Expand(u, cfg.Host, job, database))
	}
	if err != nil {
		logger().Warn("no dead-man pings for this run", "job", job, "database", database, "error", err.Error())
		return r
	}
	// The start ping runs beside the job, so a slow monitoring service
	// does not delay the backup; finish waits for it, keeping the order.
	r.startDone = make(chan struct{})
	go func() {
		defer close(r.startDone)
		r.ping(healthcheck.Start, fmt.Sprintf("pgarchive %s %s on %s: started", job, database, cfg.Host))
	}()
	return r
}

// Finish records the outcome. It returns nothing: observers never change
// the job's result.
func (r *Run) Finish(rep Report) {
	took := time.Since(r.started)
	targets := r.outcomes(rep)
	ok := rep.Err == nil
	for _, t := range targets {
		ok = ok && t.Err == nil && t.Failed == 0
	}
	if r.pinger != nil {
		<-r.startDone
		kind := healthcheck.Success
		if !ok {
			kind = healthcheck.Fail
		}
		r.ping(kind, r.summary(rep, targets, ok, took))
	}
	if path := r.cfg.Metrics.Textfile; path != "" {
		ended, err := Now()
		if err != nil {
			ended = time.Now()
		}
		duration := took
		if rep.Duration > 0 {
			duration = rep.Duration // what the job itself measured (drill)
		}
		var outs []metrics.Outcome
		for _, t := range targets {
			outs = append(outs, metrics.Outcome{
				Operation: r.job, Database: r.database, Target: t.Target,
				Ended: ended, Duration: duration,
				Success: t.Err == nil && t.Failed == 0,
				Bytes:   t.Bytes, Kept: t.Kept, Deleted: t.Deleted, Failures: t.Failed, Tables: rep.Tables,
				ClockBehind: t.ClockBehind, LockUntil: t.LockUntil,
			})
		}
		if err := metrics.Update(path, outs, r.cfg.TargetNames()); err != nil {
			logger().Warn("metrics textfile not updated", "job", r.job, "database", r.database, "error", err.Error())
		}
	}
}

// outcomes is the report per target as observers count it. A job that
// failed before reaching any target (a missing dump, say) failed on every
// target; a job that failed while every target says it did fine (a drill
// whose checks failed, say) failed on each of them.
func (r *Run) outcomes(rep Report) []TargetReport {
	if len(rep.Targets) == 0 {
		var out []TargetReport
		for _, name := range r.cfg.TargetNames() {
			out = append(out, TargetReport{Target: name, Err: rep.Err})
		}
		return out
	}
	out := append([]TargetReport(nil), rep.Targets...)
	if rep.Err == nil {
		return out
	}
	for _, t := range out {
		if t.Err != nil || t.Failed > 0 {
			return out
		}
	}
	for i := range out {
		out[i].Err = rep.Err
	}
	return out
}

// summary is the ping body: a headline, then a line per target.
func (r *Run) summary(rep Report, targets []TargetReport, ok bool, took time.Duration) string {
	var b strings.Builder
	verdict := "ok"
	if !ok {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "pgarchive %s %s on %s: %s in %s\n", r.job, r.database, r.cfg.Host, verdict, took.Round(time.Millisecond))
	if rep.Err != nil {
		fmt.Fprintf(&b, "error: %v\n", rep.Err)
	}
	for _, t := range targets {
		var parts []string
		if t.Bytes > 0 {
			parts = append(parts, human.Bytes(t.Bytes))
		}
		if r.job == "prune" {
			parts = append(parts, fmt.Sprintf("kept %d, deleted %d", t.Kept, t.Deleted))
		}
		if r.job == "drill" && rep.Tables > 0 {
			parts = append(parts, fmt.Sprintf("%d tables restored", rep.Tables))
		}
		if r.job == "verify" && t.Failed > 0 {
			parts = append(parts, fmt.Sprintf("%d bad archive(s)", t.Failed))
		}
		if t.Err != nil && (rep.Err == nil || t.Err != rep.Err) {
			parts = append(parts, "failed: "+t.Err.Error())
		} else if t.Err != nil {
			parts = append(parts, "failed")
		}
		if len(parts) == 0 {
			parts = append(parts, "ok")
		}
		fmt.Fprintf(&b, "%s: %s\n", t.Target, strings.Join(parts, "; "))
	}
	return b.String()
}

// ping sends one dead-man ping and logs, never returns, a failure. The
// URL is a secret: the log line does not carry it.
func (r *Run) ping(kind healthcheck.Kind, body string) {
	// A cancelled job (SIGTERM) must still report that it failed.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), pingWait)
	defer cancel()
	if err := r.pinger.Ping(ctx, kind, body); err != nil {
		logger().Warn("dead-man ping not delivered", "job", r.job, "database", r.database, "error", err.Error())
	}
}
