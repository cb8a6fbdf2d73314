package main

import (
	"errors"
	"os"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/job"
)

// remoteTarget is the name a --remote target goes by in output.
const remoteTarget = "remote"

// remoteFlags are the flags of the commands that read archives (list,
// restore, verify, status): they let them run from any machine, with no
// config file, against a place rclone's CLI would accept.
func remoteFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "remote", Usage: "read the archives at `REMOTE` (anything rclone accepts: :s3,provider=...:bucket/path, a path, or name:path) instead of the config's targets; no config file needed"},
		&cli.StringFlag{Name: "rclone-config", Usage: "rclone.conf `FILE` that names the remote of --remote"},
	}
}

// loadReaderConfig loads the config of a command that only reads archives.
// Such a config needs no [encryption]. With --remote the config file is
// optional (read when given or when the default one exists, for the host
// name and [drill] and [status] settings) and its targets are replaced by
// the one remote.
func loadReaderConfig(c *cli.Context) (*config.Config, error) {
	remote := c.String("remote")
	if remote == "" {
		if c.String("rclone-config") != "" {
			return nil, usagef("--rclone-config goes with --remote")
		}
		cfg, err := loadFileForReading(c)
		if err != nil {
			return nil, err
		}
		if len(cfg.Targets) == 0 {
			return nil, &config.Error{Key: "targets", Msg: "at least one target is required (or give --remote REMOTE)"}
		}
		return cfg, nil
	}
	if c.String("target") != "" {
		return nil, usagef("--target picks one of the config's targets; with --remote there is just the one")
	}
	cfg := config.Defaults()
	path := flagAnywhere(c, "config")
	if _, err := os.Stat(path); err == nil || configNamed(c) {
		loaded, err := loadFileForReading(c)
		if err != nil {
			return nil, err
		}
		cfg = loaded
	}
	cfg.Targets = map[string]config.Target{remoteTarget: {Remote: remote, CommandLine: true}}
	if f := c.String("rclone-config"); f != "" {
		cfg.Rclone.ConfigFile = f
	}
	return cfg, nil
}

// loadReaderConfigAndClock is loadReaderConfig plus the clock.
func loadReaderConfigAndClock(c *cli.Context) (*config.Config, time.Time, error) {
	cfg, err := loadReaderConfig(c)
	if err != nil {
		return nil, time.Time{}, err
	}
	now, err := clockNow()
	return cfg, now, err
}

// loadFileForReading is loadConfig for readers: the same checks, but no
// [encryption] and no target are required.
func loadFileForReading(c *cli.Context) (*config.Config, error) {
	path := flagAnywhere(c, "config")
	if err := missingConfig(path); err != nil {
		return nil, hintError{errors.Unwrap(err), "point at one with --config FILE or PGARCHIVE_CONFIG=FILE, or read a store directly with --remote REMOTE"}
	}
	cfg, err := config.LoadForReading(path)
	if err != nil {
		return nil, err
	}
	if err := job.CheckConfig(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// configNamed reports whether the user named a config file (flag or
// PGARCHIVE_CONFIG) rather than leaving the default.
func configNamed(c *cli.Context) bool {
	if os.Getenv("PGARCHIVE_CONFIG") != "" {
		return true
	}
	return slices.ContainsFunc(c.Lineage(), func(x *cli.Context) bool { return x.IsSet("config") })
}
