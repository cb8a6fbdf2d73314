package main

import (
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/crypt"
)

func newKeygenCommand() *cli.Command {
	return &cli.Command{
		Name:      "keygen",
		Usage:     "print a new age identity and its recipient",
		ArgsUsage: " ",
		Description: `Prints an identity file in age-keygen's format on stdout: keep it OFF the
database host (it opens every archive). Put the recipient ("public key") in
encryption.recipients. --pq makes a post-quantum hybrid key (age1pq1...),
which needs age >= 1.3 to decrypt without pgarchive.

` + exitStatusHelp,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "pq", Usage: "post-quantum hybrid (ML-KEM-768 + X25519) key"},
		},
		Action: func(c *cli.Context) error {
			return runKeygen(c.Bool("pq"), c.App.Writer, c.App.ErrWriter)
		},
	}
}

func runKeygen(pq bool, stdout, stderr io.Writer) error {
	id, err := crypt.Generate(pq)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	fmt.Fprintf(stdout, "# created: %s\n# public key: %s\n%s\n", time.Now().UTC().Format(time.RFC3339), id.Recipient, id.Secret)
	fmt.Fprintf(stderr, "Public key: %s\n", id.Recipient)
	return nil
}
