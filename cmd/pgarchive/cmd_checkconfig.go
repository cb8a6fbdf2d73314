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
runs in a Nix build sandbox: unknown keys, bad recipients, backends that are
not compiled in and options those backends do not have are errors naming the
key. The NixOS module runs it on the rendered file at build time.

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
