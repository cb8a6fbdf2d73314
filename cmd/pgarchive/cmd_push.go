package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/crypt"
	"github.com/pgarchive/pgarchive/internal/dump"
	"github.com/pgarchive/pgarchive/internal/target"
)

type pushOptions struct {
	cfg        *config.Config
	database   string
	file       string
	allowStale bool
	now        time.Time
}

func newPushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "encrypt the newest dump of a database and store it on every target",
		ArgsUsage: " ",
		Description: `Reads the dump services.postgresqlBackup just wrote (<dump_dir>/<database>.sql<suffix>)
once, encrypts it with age and streams it to every target at once. Each target
gets the object and then its manifest; a target that fails does not stop the
others. This is the ExecStartPost of postgresqlBackup-<database>.service.

` + exitStatusHelp + `
   A push that stored a complete archive on some targets but not all exits 1
   and names each failed target; the complete copies stay.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "database", Aliases: []string{"d"}, Usage: "database `NAME` (\"all\" for backupAll)"},
			&cli.StringFlag{Name: "file", Usage: "dump `PATH` (default: <dump_dir>/<database>.sql<suffix>)"},
			&cli.BoolFlag{Name: "allow-stale", Usage: "push a dump older than max_dump_age"},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlag(c, "database"); err != nil {
				return err
			}
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			now, err := clockNow()
			if err != nil {
				return err
			}
			return runPush(c.Context, pushOptions{
				cfg:        cfg,
				database:   c.String("database"),
				file:       c.String("file"),
				allowStale: c.Bool("allow-stale"),
				now:        now,
			})
		},
	}
}

func runPush(ctx context.Context, opts pushOptions) (err error) {
	cfg := opts.cfg
	if err := archive.CheckDatabaseName(opts.database); err != nil {
		return usageError{err}
	}
	run := startJob(ctx, cfg, "push", opts.database)
	var result *archive.PushResult
	defer func() { run.finish(pushReport(opts.database, result, err)) }()
	return push(ctx, opts, &result)
}

// pushReport turns a push's outcome into what observers record.
func pushReport(db string, result *archive.PushResult, err error) jobReport {
	rep := jobReport{Database: db, Err: err}
	if result == nil {
		return rep
	}
	for _, t := range result.Results {
		tr := targetReport{Target: t.Target, Err: t.Err}
		if t.Err == nil && result.Manifest != nil {
			tr.Bytes = result.Manifest.Ciphertext.Size
		} else {
			tr.Failed = 1
		}
		rep.Targets = append(rep.Targets, tr)
	}
	return rep
}

func push(ctx context.Context, opts pushOptions, out **archive.PushResult) error {
	cfg := opts.cfg
	path := opts.file
	if path == "" {
		path = cfg.DumpPath(opts.database)
	}
	maxAge := cfg.MaxDumpAge.Duration
	if opts.allowStale {
		maxAge = 0
	}
	info, err := dump.Inspect(path, cfg.Compression, maxAge, opts.now)
	if err != nil {
		return fmt.Errorf("push %s: %w", opts.database, err)
	}
	recipients, err := crypt.FromConfig(cfg.Encryption)
	if err != nil {
		return fmt.Errorf("push %s: %w", opts.database, err)
	}
	// Every secret must be readable before anything is sent: a typo in one
	// path should fail loudly, not quietly skip that target forever.
	if err := checkSecretsReadable(cfg); err != nil {
		return fmt.Errorf("push %s: %w", opts.database, err)
	}
	targets, openErrs := openTargets(ctx, cfg, "")
	var result *archive.PushResult
	if len(targets) > 0 {
		sd := newSDStatus()
		what := "pushing " + opts.database
		result, err = archive.Push(ctx, archive.PushRequest{
			Dump:         info,
			Host:         cfg.Host,
			Database:     opts.database,
			Time:         opts.now,
			Recipients:   recipients,
			Targets:      targets,
			ToolVersion:  toolVersion(),
			CheckTimeout: targetTimeout,
			Log:          logger(),
			Progress:     func(n int64) { sd.progress(what, n, info.Size) },
		})
		if err != nil {
			return fmt.Errorf("push %s: %w", opts.database, err)
		}
		sd.set(fmt.Sprintf("pushed %s (%s): %d of %d targets ok", opts.database, formatBytes(info.Size),
			len(result.Results)-len(result.Failed()), len(result.Results)+len(openErrs)))
	} else {
		suffix, _ := config.DumpSuffix(cfg.Compression)
		name, _ := archive.NewName(cfg.Host, opts.database, opts.now, suffix)
		result = &archive.PushResult{Name: name}
	}
	for _, oe := range openErrs {
		logger().Error("push failed", "database", opts.database, "target", oe.Target, "error", oe.Err.Error())
		result.Results = append(result.Results, oe)
	}
	*out = result
	return result.FailedError()
}

// checkSecretsReadable reads (and forgets) every secret file the config names.
func checkSecretsReadable(cfg *config.Config) error {
	for _, name := range cfg.TargetNames() {
		for opt, path := range cfg.Targets[name].SecretFiles {
			if _, err := config.ReadSecretFile(path); err != nil {
				return fmt.Errorf("targets.%s.secret_files.%s: %w", name, opt, err)
			}
		}
	}
	if cfg.Rclone.ConfigFile != "" {
		if _, err := config.ReadSecretFile(cfg.Rclone.ConfigFile); err != nil {
			return fmt.Errorf("rclone.config_file: %w", err)
		}
	}
	return nil
}

// targetTimeout bounds how long the targets may take to open, together,
// and then to answer push's write-once check.
var targetTimeout = 2 * time.Minute

// openTargets opens every target (or just the one named only) at once; a
// target that cannot be opened (its server is down, say) is reported, not
// fatal. A target that stalls holds up the others for targetTimeout at most,
// and not at all once ctx ends (SIGTERM, the unit's timeout): the ones
// still opening then are reported as failed and left behind, since some
// handshakes (SSH) watch neither ctx nor deadlines.
func openTargets(ctx context.Context, cfg *config.Config, only string) ([]*target.Target, []archive.TargetResult) {
	type opened struct {
		t   *target.Target
		err error
	}
	var names []string
	var results []chan opened
	for _, name := range cfg.TargetNames() {
		if only != "" && name != only {
			continue
		}
		ch := make(chan opened, 1)
		go func(name string) {
			t, err := target.Open(ctx, name, cfg.Targets[name], cfg.Rclone)
			ch <- opened{t, err}
		}(name)
		names = append(names, name)
		results = append(results, ch)
	}
	var ok []*target.Target
	var failed []archive.TargetResult
	deadline := time.NewTimer(targetTimeout)
	defer deadline.Stop()
	expired := false
	for i, name := range names {
		var r opened
		if expired {
			select {
			case r = <-results[i]:
			default:
				r.err = fmt.Errorf("target %q: no answer within %s", name, targetTimeout)
			}
		} else {
			select {
			case r = <-results[i]:
			case <-ctx.Done():
				r.err = fmt.Errorf("target %q: not opened: %w", name, ctx.Err())
			case <-deadline.C:
				expired = true
				r.err = fmt.Errorf("target %q: no answer within %s", name, targetTimeout)
			}
		}
		if r.err != nil {
			failed = append(failed, archive.TargetResult{Target: name, Err: r.err})
			continue
		}
		ok = append(ok, r.t)
	}
	return ok, failed
}

// selectTarget checks --target names a configured target.
func selectTarget(cfg *config.Config, name string) error {
	if name == "" {
		return nil
	}
	if _, ok := cfg.Targets[name]; !ok {
		return usagef("--target %q is not in the config (targets: %v)", name, cfg.TargetNames())
	}
	return nil
}
