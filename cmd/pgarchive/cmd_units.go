package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/units"
)

type unitsOptions struct {
	output string
	units  units.Options
	stdout io.Writer
	stderr io.Writer
}

func newUnitsCommand() *cli.Command {
	return &cli.Command{
		Name:      "units",
		Usage:     "write systemd units that dump, push, prune, verify and drill, for any systemd host",
		ArgsUsage: " ",
		Description: `Writes into --output (normally /etc/systemd/system) the arrangement the NixOS
module makes, for Debian, Ubuntu or any other systemd host:

  pgarchive-dump@.service     dumps database %i exactly as NixOS's
                              services.postgresqlBackup does (umask 0077,
                              <db>.sql<suffix> kept as <db>.prev.sql<suffix>,
                              pg_dump <--pg-dump-options> into
                              <db>.in-progress.sql<suffix>, then renamed;
                              "all" runs pg_dumpall), compressed as the
                              config's compression says, then runs
                              pgarchive push --database %i (ExecStartPost)
  pgarchive-dump@<db>.timer   one per --databases entry, at --on-calendar
  pgarchive-prune.*           daily, when [retention] keeps a count
  pgarchive-verify.*          weekly, unless --verify=false
  pgarchive-drill.*           weekly, when [drill] names a key
  pgarchive-notify@.service   OnFailure= of all of them: pgarchive notify

Each unit loads the secrets its job reads with LoadCredential=<id>:<path>,
id being the secret's dotted key in the config (targets.nas.secret_files.pass,
encryption.passphrase_file, ...): the secret files can stay readable by root
alone. Units are hardened as far as their job allows; the dump unit has no
mount namespace (ProtectSystem=, PrivateTmp=, ...), in which systemd 252 would
keep the push (an ExecStartPost) from its credentials.

The units read the config from --config (PGARCHIVE_CONFIG=), which must be
readable by --user; they run the dumps and jobs as --user and the notifier as
--notify-user, a system user owning nothing, which must exist:
  useradd --system --no-create-home --shell /usr/sbin/nologin pgarchive-notify

A re-run writes only what changed and prints, per file, "written",
"unchanged" or "removed" (a file of an earlier run that is no longer
generated; only files starting with the generated header are removed).
Then: systemctl daemon-reload, and systemctl enable --now the timers
it names. Change a unit with a drop-in (systemctl edit), which a re-run keeps.

` + exitStatusHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the unit files into `DIR` (e.g. /etc/systemd/system)"},
			&cli.StringFlag{Name: "databases", Value: "all", Usage: "dump these databases, `a,b,...` (\"all\": pg_dumpall)"},
			&cli.StringFlag{Name: "on-calendar", Value: units.DefaultOnCalendar, Usage: "when to dump, a systemd.time(7) `SPEC`"},
			&cli.StringFlag{Name: "user", Value: units.DefaultUser, Usage: "run dumps and jobs as `NAME`"},
			&cli.StringFlag{Name: "notify-user", Value: units.DefaultNotifyUser, Usage: "run the failure notifier as `NAME`"},
			&cli.StringFlag{Name: "binary", Usage: "pgarchive's `PATH` on the host (default: this program)"},
			&cli.StringFlag{Name: "pg-dump-options", Value: units.DefaultPgDumpOptions, Usage: "pg_dump's `OPTIONS`, words separated by spaces"},
			&cli.StringFlag{Name: "timeout", Value: units.DefaultTimeoutStart, Usage: "stop a dump and push, or a job, after `DURATION` (TimeoutStartSec=)"},
			&cli.BoolFlag{Name: "verify", Value: true, Usage: "add the weekly verify (--verify=false leaves it out)"},
		},
		Action: func(c *cli.Context) error {
			if err := requireFlag(c, "output"); err != nil {
				return err
			}
			opts, err := unitsOptionsFrom(c)
			if err != nil {
				return err
			}
			return runUnits(opts)
		},
	}
}

// unitsOptionsFrom reads the flags and the config. The config is parsed
// as written, without $CREDENTIALS_DIRECTORY: the units name the
// configured paths.
func unitsOptionsFrom(c *cli.Context) (unitsOptions, error) {
	// pgarchive's --config, before or after "units": the units read it
	// in turn.
	cfgPath := flagAnywhere(c, "config")
	if cfgPath == "" {
		cfgPath = config.DefaultPath
	}
	if err := missingConfig(cfgPath); err != nil {
		return unitsOptions{}, err
	}
	cfgPath, err := filepath.Abs(cfgPath)
	if err != nil {
		return unitsOptions{}, err
	}
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return unitsOptions{}, &config.Error{Msg: fmt.Sprintf("read %q: %v", cfgPath, unwrapPathError(err))}
	}
	cfg, err := config.Parse(data)
	if err != nil {
		return unitsOptions{}, err
	}
	if err := checkConfig(cfg); err != nil {
		return unitsOptions{}, err
	}
	binary := c.String("binary")
	if binary == "" {
		if binary, err = thisProgram(); err != nil {
			return unitsOptions{}, hintError{fmt.Errorf("cannot tell where pgarchive is: %w", err), "give --binary PATH"}
		}
	}
	var dbs []string
	for _, db := range strings.Split(c.String("databases"), ",") {
		if db = strings.TrimSpace(db); db != "" {
			dbs = append(dbs, db)
		}
	}
	return unitsOptions{
		output: c.String("output"),
		units: units.Options{
			Config:        cfg,
			ConfigPath:    cfgPath,
			Binary:        binary,
			Databases:     dbs,
			OnCalendar:    c.String("on-calendar"),
			User:          c.String("user"),
			NotifyUser:    c.String("notify-user"),
			PgDumpOptions: c.String("pg-dump-options"),
			TimeoutStart:  c.String("timeout"),
			Verify:        c.Bool("verify"),
		},
		stdout: c.App.Writer,
		stderr: c.App.ErrWriter,
	}, nil
}

func runUnits(opts unitsOptions) error {
	files, err := units.Generate(opts.units)
	if err != nil {
		return usageError{err}
	}
	changes, err := units.Write(opts.output, files)
	for _, ch := range changes {
		fmt.Fprintf(opts.stdout, "%-9s %s\n", ch.Action, ch.Path)
	}
	if err != nil {
		return err
	}
	for _, u := range []struct{ flag, name string }{{"--user", opts.units.User}, {"--notify-user", opts.units.NotifyUser}} {
		if _, err := user.Lookup(u.name); err != nil {
			logger().Warn(fmt.Sprintf("%s %q does not exist on this host; the units need it where they run", u.flag, u.name))
		}
	}
	fmt.Fprintf(opts.stderr, "next: systemctl daemon-reload && systemctl enable --now %s\n",
		strings.Join(units.Timers(files), " "))
	return nil
}

// thisProgram is the path this program was started by, as the units should
// name it: through PATH or as given, not resolved past symlinks (a
// /usr/local/bin/pgarchive link survives an upgrade behind it).
func thisProgram() (string, error) {
	arg0 := os.Args[0]
	if !strings.Contains(arg0, "/") {
		p, err := exec.LookPath(arg0)
		if err != nil {
			return os.Executable()
		}
		arg0 = p
	}
	return filepath.Abs(arg0)
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
