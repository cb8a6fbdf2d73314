// Command pgarchive encrypts the dumps services.postgresqlBackup writes and
// pushes them to every configured storage target; it also lists, restores
// and checks them. See README.md for the configuration and docs/design.md
// for the archive format.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/job"
)

// version is stamped by the Nix build with -ldflags "-X main.version=...".
var version = ""

func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// Exit codes, as documented in every command's help.
const (
	exitOK         = 0
	exitFailed     = 1
	exitUsage      = 2
	exitStatusHelp = `EXIT STATUS
   0  done
   1  the work failed (the message says which part)
   2  bad usage or configuration`
)

// usageError marks errors that are the caller's to fix: exit 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// hintError carries a second line telling the user what to do.
type hintError struct {
	err  error
	hint string
}

func (h hintError) Error() string { return h.err.Error() }
func (h hintError) Unwrap() error { return h.err }

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "pgarchive",
		Usage:   "encrypt PostgreSQL dumps and keep them on several storage targets",
		Version: toolVersion(),
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "config",
				Usage:   "configuration `FILE`",
				EnvVars: []string{"PGARCHIVE_CONFIG"},
				Value:   config.DefaultPath,
			},
			&cli.BoolFlag{Name: "verbose", Usage: "log debug messages, rclone's included"},
		},
		Commands: []*cli.Command{
			newPushCommand(),
			newListCommand(),
			newRestoreCommand(),
			newPruneCommand(),
			newVerifyCommand(),
			newDrillCommand(),
			newStatusCommand(),
			newNotifyCommand(),
			newCheckConfigCommand(),
			newKeygenCommand(),
			newUnitsCommand(),
		},
		Writer:         stdout,
		ErrWriter:      stderr,
		ExitErrHandler: func(*cli.Context, error) {}, // main maps errors to exit codes
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageErrorWithSuggestion(c, err)
		},
		Before: func(c *cli.Context) error {
			setupLogging(c.Bool("verbose"))
			return nil
		},
		Action:                unknownCommand,
		Suggest:               true,
		CustomAppHelpTemplate: appHelpTemplate,
	}
	for _, c := range app.Commands {
		applyGrammar(app, c)
	}
	return app
}

// checkedAction refuses what urfave/cli lets through: positional words
// (flags after one are not parsed at all, so `prune db --dry-run` would
// prune every database for real) and a --host that cannot be a host name.
func checkedAction(action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() > 0 {
			return usagef("unexpected argument %q: pgarchive %s takes flags only (see --help)", c.Args().First(), c.Command.Name)
		}
		if c.IsSet("host") && !config.ValidName(c.String("host")) {
			return usagef("--host %q is not a host name (letters, digits, '.', '_' or '-')", c.String("host"))
		}
		return action(c)
	}
}

// requireFlag fails with a usage error when a required flag is missing;
// urfave's own Required flags would print the whole help and exit 1.
func requireFlag(c *cli.Context, name string) error {
	if c.String(name) == "" {
		return usagef("--%s is required (see pgarchive %s --help)", name, c.Command.Name)
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := newApp(stdout, stderr).RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "pgarchive: error: %v\n", err)
	var hint hintError
	if errors.As(err, &hint) {
		fmt.Fprintf(stderr, "pgarchive: hint: %s\n", hint.hint)
	}
	var cfgErr *config.Error
	var use usageError
	var exitCoder cli.ExitCoder
	var toolExit *exec.ExitError
	switch {
	case errors.As(err, &cfgErr), errors.As(err, &use):
		return exitUsage
	case errors.As(err, &exitCoder) && !errors.As(err, &toolExit):
		// urfave/cli's own (an unknown command). A tool's exit status
		// (psql, pg_restore) is never passed on as ours.
		return exitUsage
	}
	return exitFailed
}

// loadConfig reads and fully checks the file named by --config (the
// checks check-config makes); problems are exit 2.
func loadConfig(c *cli.Context) (*config.Config, error) {
	path := flagAnywhere(c, "config")
	if path == "" {
		path = config.DefaultPath // PGARCHIVE_CONFIG set but empty
	}
	if err := missingConfig(path); err != nil {
		return nil, err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if err := job.CheckConfig(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// checkConfig is job.CheckConfig, for the commands that load a config
// themselves.
func checkConfig(cfg *config.Config) error { return job.CheckConfig(cfg) }

// logger is the process logger set up in the app's Before hook.
func logger() *slog.Logger { return slog.Default() }
