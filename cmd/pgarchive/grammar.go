package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/logging"
	"github.com/pgarchive/pgarchive/internal/target"
)

// One grammar for every command: the global flags work before or after the
// command name, help ends with EXIT STATUS, USAGE names the required flags,
// and a typo gets the nearest command or flag.

// globalFlags are accepted after the command name as well as before it:
// `pgarchive list --config c.toml` reads as `pgarchive --config c.toml list`.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Usage: "configuration `FILE` (default: $PGARCHIVE_CONFIG, else " + config.DefaultPath + ")"},
		&cli.BoolFlag{Name: "verbose", Usage: "log debug messages, rclone's included"},
	}
}

// flagAnywhere returns the value of a global flag given after the command
// name, else before it (where $PGARCHIVE_CONFIG and the default apply).
func flagAnywhere(c *cli.Context, name string) string {
	var root *cli.Context
	for _, x := range c.Lineage() {
		if x.App == nil {
			continue // urfave's empty context above the app's own
		}
		if slices.Contains(x.LocalFlagNames(), name) {
			return x.String(name)
		}
		root = x
	}
	return root.String(name)
}

func verboseAnywhere(c *cli.Context) bool {
	for _, x := range c.Lineage() {
		if x.Bool("verbose") {
			return true
		}
	}
	return false
}

// setupLogging points slog and rclone at journald or stderr.
func setupLogging(verbose bool) {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	h := logging.New(level)
	if stderrIsTerminal() {
		// A person watches (not the journal: stderr is a terminal): log
		// lines make room for the progress line.
		h = logging.NewText(ttyStderr{}, level)
	}
	slog.SetDefault(slog.New(h))
	target.SetLogHandler(h)
}

// requiredUsage is what each command's USAGE line shows before [options]:
// the flags it cannot run without.
var requiredUsage = map[string]string{
	"push":    "--database NAME",
	"restore": "--database NAME (--identity FILE | --passphrase-file FILE) (--output PATH | --into DBNAME)",
	"notify":  "--unit NAME",
}

// commandHelpTemplate is urfave's, with EXIT STATUS last, after OPTIONS.
const commandHelpTemplate = `NAME:
   {{template "helpNameTemplate" .}}

USAGE:
   {{template "usageTemplate" .}}{{if .Description}}

DESCRIPTION:
   {{template "descriptionTemplate" .}}{{end}}{{if .VisibleFlags}}

OPTIONS:{{template "visibleFlagTemplate" .}}{{end}}

`

// appHelpTemplate is urfave's, with EXIT STATUS last.
const appHelpTemplate = `NAME:
   {{template "helpNameTemplate" .}}

USAGE:
   {{.HelpName}} [global options] command [command options]

VERSION:
   {{.Version}}

COMMANDS:{{template "visibleCommandCategoryTemplate" .}}

GLOBAL OPTIONS:{{template "visibleFlagTemplate" .}}

Global options may also follow the command: pgarchive list --config FILE.
"pgarchive help COMMAND" or "pgarchive COMMAND --help" shows a command's help.

` + exitStatusHelp + "\n"

// applyGrammar sets up a command the way every command is set up.
func applyGrammar(app *cli.App, c *cli.Command) {
	// Bad flags: one error line and exit 2, not the help text on stdout.
	c.OnUsageError = app.OnUsageError
	c.Action = checkedAction(c.Action)
	if c.Name == "help" {
		return
	}
	c.Flags = append(c.Flags, globalFlags()...)
	c.Before = func(cc *cli.Context) error {
		if cc.Bool("verbose") {
			setupLogging(true)
		}
		return nil
	}
	if req, ok := requiredUsage[c.Name]; ok {
		c.UsageText = "pgarchive " + c.Name + " " + req + " [options]"
	} else {
		c.UsageText = "pgarchive " + c.Name + " [options]"
	}
	// EXIT STATUS (and what a command adds to it) moves from the end of
	// the description to the end of the help.
	desc, exit, found := strings.Cut(c.Description, exitStatusHelp)
	if !found {
		exit = ""
	}
	c.Description = strings.TrimRight(desc, "\n ")
	c.CustomHelpTemplate = commandHelpTemplate + escapeTemplate(exitStatusHelp+exit) + "\n"
}

// escapeTemplate makes text safe to append to a text/template.
func escapeTemplate(s string) string {
	return strings.ReplaceAll(s, "{{", `{{"{{"}}`)
}

// unknownCommand is the app's action: a word that is no command.
func unknownCommand(c *cli.Context) error {
	if c.NArg() == 0 {
		return cli.ShowAppHelp(c)
	}
	name := c.Args().First()
	msg := fmt.Sprintf("unknown command %q", name)
	if s := suggestCommand(c.App.Commands, name); s != "" {
		return hintError{usagef("%s", msg), s + " (pgarchive --help lists the commands)"}
	}
	return hintError{usagef("%s", msg), "pgarchive --help lists the commands"}
}

// suggestCommand is urfave's "Did you mean ...?" for the nearest command,
// or "".
func suggestCommand(cmds []*cli.Command, name string) string {
	if cli.SuggestCommand == nil {
		return ""
	}
	return cli.SuggestCommand(cmds, name)
}

// undefinedFlag finds the flag name in Go's flag package error.
var undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)

// usageErrorWithSuggestion turns a flag parsing error into a usage error
// with the nearest flag of the command as a hint.
func usageErrorWithSuggestion(c *cli.Context, err error) error {
	m := undefinedFlag.FindStringSubmatch(err.Error())
	if m == nil || cli.SuggestFlag == nil {
		return usageError{err}
	}
	flags := c.App.Flags
	where := "pgarchive --help"
	if c.Command != nil && c.Command.Name != "" {
		flags = c.Command.Flags
		where = "pgarchive " + c.Command.Name + " --help"
	}
	if s := cli.SuggestFlag(flags, m[1], false); s != "" {
		return hintError{usagef("unknown flag --%s", m[1]), fmt.Sprintf("did you mean %s? (%s lists the flags)", s, where)}
	}
	return hintError{usagef("unknown flag --%s", m[1]), where + " lists the flags"}
}

// missingConfig explains how to point at a config file that is not there.
func missingConfig(path string) error {
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return hintError{&config.Error{Msg: fmt.Sprintf("no config file at %q", path)},
		"point at one with --config FILE or PGARCHIVE_CONFIG=FILE (default " + config.DefaultPath + ")"}
}
