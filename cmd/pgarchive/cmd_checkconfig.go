package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/config"
)

func newCheckConfigCommand() *cli.Command {
	return &cli.Command{
		Name:      "check-config",
		Usage:     "validate the configuration and print a one-line summary",
		ArgsUsage: " ",
		Description: `Checks the file without reading secret files or touching the network, so it
runs in a Nix build sandbox. Each problem is one line naming the key: unknown
keys, values of the wrong type, bad recipients, backends that are not compiled
in and options those backends do not have, secrets written inline in options
(they belong in secret_files), a password in drill.connection, a local target
without an absolute path, an s3 target without a bucket or endpoint, two
targets that are one place. Files are looked at only where they exist: a
directory where a secret or recipients file belongs, or a file as dump_dir, is
an error; a missing file is not, as no secret exists in the build sandbox. The
NixOS module runs it on the rendered file at build time.

` + exitStatusHelp,
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			return runCheckConfig(cfg, c.App.Writer)
		},
	}
}

// runCheckConfig prints the summary; loadConfig has made every check.
func runCheckConfig(cfg *config.Config, out io.Writer) error {
	_, err := fmt.Fprintln(out, cfg.Summary())
	return err
}
