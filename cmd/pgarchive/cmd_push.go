package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/human"
	"github.com/pgarchive/pgarchive/internal/job"
)

type pushOptions struct {
	cfg        *config.Config
	database   string
	file       string
	allowStale bool
	globals    bool
	now        time.Time
}

func newPushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "encrypt the newest dump of a database and store it on every target",
		ArgsUsage: " ",
		Description: `Reads the dump services.postgresqlBackup just wrote (<dump_dir>/<database>.sql<suffix>)
once, checks that it is whole (it decompresses to its end and ends the way
pg_dump ends a dump), encrypts it with age and streams it to every target at
once. Each target gets the object, confirmed, and then its manifest; a target
that fails or stalls does not stop the others. A dump that is not whole, or
that changes while it is read, is stored nowhere. Only one push of a
database runs at a time on a host. This is the ExecStartPost of
postgresqlBackup-<database>.service. Run by hand at a terminal, it shows
the bytes read, the rate and the time left on stderr.

--globals archives the cluster's roles and tablespaces instead: it runs
pg_dumpall --globals-only itself (connecting as libpq's PG* variables say,
as the postgres user does under systemd), compresses the script as the
config's compression says and pushes it as the database "globals", a name
kept for this. restore --globals recreates the roles from it.

` + exitStatusHelp + `
   A push that stored a complete archive on some targets but not all exits 1
   and names each failed target; the complete copies stay.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "database", Aliases: []string{"d"}, Usage: "database `NAME` (\"all\" for backupAll)"},
			&cli.StringFlag{Name: "file", Usage: "dump `PATH` (default: <dump_dir>/<database>.sql<suffix>)"},
			&cli.BoolFlag{Name: "allow-stale", Usage: "push a dump older than max_dump_age"},
			&cli.BoolFlag{Name: "globals", Usage: "archive the roles and tablespaces (pg_dumpall --globals-only) as \"globals\""},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("globals") {
				if c.String("database") != "" || c.String("file") != "" {
					return usagef("--globals dumps the roles itself: it takes neither --database nor --file")
				}
			} else if err := requireFlag(c, "database"); err != nil {
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
				globals:    c.Bool("globals"),
				now:        now,
			})
		},
	}
}

func runPush(ctx context.Context, opts pushOptions) error {
	if opts.globals {
		opts.database = archive.Globals
	} else if opts.database == archive.Globals {
		return usagef("the database name %q is kept for the roles (push --globals); pgarchive cannot archive a database of that name", opts.database)
	}
	if err := archive.CheckDatabaseName(opts.database); err != nil {
		return usageError{err}
	}
	sd := newSDStatus()
	what := "pushing " + opts.database
	// By hand, at a terminal: the same progress as a line on stderr.
	tl := terminalLine(what, 0)
	defer tl.done()
	push := job.Push
	if opts.globals {
		push = job.PushGlobals
	}
	result, err := push(ctx, job.PushOptions{
		Config:      opts.cfg,
		Database:    opts.database,
		File:        opts.file,
		AllowStale:  opts.allowStale,
		Now:         opts.now,
		ToolVersion: toolVersion(),
		Progress:    func(n, total int64) { sd.progress(what, n, total); tl.of(n, total) },
	})
	tl.done()
	if result != nil && result.Manifest != nil {
		sd.set(fmt.Sprintf("pushed %s (%s): %d of %d targets ok", opts.database, human.Bytes(result.Manifest.Dump.Size),
			len(result.Results)-len(result.Failed()), len(result.Results)))
	}
	return err
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
