package job

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/crypt"
	"github.com/pgarchive/pgarchive/internal/dump"
)

// PushOptions is one push, as the command line asks for it.
type PushOptions struct {
	Config      *config.Config
	Database    string
	File        string // the dump; "" is the config's <dump_dir>/<database>.sql<suffix>
	AllowStale  bool   // push a dump older than max_dump_age
	Now         time.Time
	ToolVersion string
	// Progress, if set, is called with the dump bytes read so far.
	Progress func(done, total int64)
}

// Push archives one dump on every target (opts.Database must have passed
// archive.CheckDatabaseName) and reports the run to the
// observers. The result is nil when the push failed before reaching any
// target; otherwise it holds every target's outcome, and the error says in
// one line which targets failed.
func Push(ctx context.Context, opts PushOptions) (result *archive.PushResult, err error) {
	run := Start(ctx, opts.Config, "push", opts.Database)
	defer func() { run.Finish(pushReport(opts.Database, result, err)) }()
	defer tightenGC()()
	result, err = push(ctx, opts)
	if err != nil {
		return result, fmt.Errorf("push %s: %w", opts.Database, err)
	}
	return result, result.FailedError()
}

// pushReport turns a push's outcome into what observers record.
func pushReport(db string, result *archive.PushResult, err error) Report {
	rep := Report{Database: db, Err: err}
	if result == nil {
		return rep
	}
	for _, t := range result.Results {
		tr := TargetReport{Target: t.Target, Err: t.Err, ClockBehind: t.ClockBehind}
		if t.Lock != nil {
			tr.LockUntil = t.Lock.Until
		}
		if t.Err == nil && result.Manifest != nil {
			tr.Bytes = result.Manifest.Ciphertext.Size
		} else {
			tr.Failed = 1
		}
		rep.Targets = append(rep.Targets, tr)
	}
	return rep
}

func push(ctx context.Context, opts PushOptions) (*archive.PushResult, error) {
	cfg := opts.Config
	path := opts.File
	if path == "" {
		path = cfg.DumpPath(opts.Database)
	}
	lock, err := lockPush(cfg, opts.Database)
	if err != nil {
		return nil, err
	}
	defer lock.release()

	maxAge := cfg.MaxDumpAge.Duration
	if opts.AllowStale {
		maxAge = 0
	}
	info, err := dump.Inspect(path, cfg.Compression, maxAge, opts.Now)
	if err != nil {
		return nil, err
	}
	recipients, err := crypt.FromConfig(cfg.Encryption)
	if err != nil {
		return nil, err
	}
	// Every secret must be readable before anything is sent: a typo in one
	// path should fail loudly, not quietly skip that target forever.
	if err := checkSecretsReadable(cfg); err != nil {
		return nil, err
	}
	ts := OpenTargets(ctx, cfg, "")
	defer ts.Close()
	var result *archive.PushResult
	if len(ts.Open) > 0 {
		var progress func(int64)
		if opts.Progress != nil {
			progress = func(n int64) { opts.Progress(n, info.Size) }
		}
		result, err = archive.Push(ctx, archive.PushRequest{
			Dump:         info,
			Host:         cfg.Host,
			Database:     opts.Database,
			Time:         opts.Now,
			Recipients:   recipients,
			Targets:      ts.Open,
			ToolVersion:  opts.ToolVersion,
			CheckTimeout: TargetTimeout,
			StallTimeout: cfg.StallTimeout.Duration,
			Log:          logger(),
			Progress:     progress,
		})
		if err != nil {
			return nil, err
		}
	} else {
		suffix, _ := config.DumpSuffix(cfg.Compression)
		name, _ := archive.NewName(cfg.Host, opts.Database, opts.Now, suffix)
		result = &archive.PushResult{Name: name}
	}
	for _, oe := range ts.Failed {
		logger().Error("push failed", "database", opts.Database, "target", oe.Target, "error", oe.Err.Error())
		result.Results = append(result.Results, oe)
	}
	return result, nil
}

// checkSecretsReadable reads (and forgets) every secret file the targets
// use: config.Secrets names them, by the keys errors must name.
func checkSecretsReadable(cfg *config.Config) error {
	for _, sec := range cfg.Secrets() {
		if !strings.HasPrefix(sec.ID, "targets.") && sec.ID != "rclone.config_file" {
			continue
		}
		if _, err := config.ReadSecretFile(sec.Path); err != nil {
			return fmt.Errorf("%s: %w", sec.ID, err)
		}
	}
	return nil
}
