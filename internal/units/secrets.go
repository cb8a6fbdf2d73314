package units

import (
	"strings"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/pgarchive/pgarchive/internal/config"
)

// secretKind is a set of secrets a job reads, by what they are for.
type secretKind int

const (
	// secretsTargets: every job that lists or writes the targets (their
	// secret_files and rclone.config_file) and pings (healthcheck.url_file).
	secretsTargets secretKind = 1 << iota
	// secretsEncrypt: push encrypts (encryption.*).
	secretsEncrypt
	// secretsDecrypt: verify and drill decrypt (drill.*).
	secretsDecrypt
	// secretsNotify: the notifier's channels (notify.*).
	secretsNotify
)

// kindOf says which jobs read the secret with credential id id.
func kindOf(id string) secretKind {
	switch {
	case strings.HasPrefix(id, "targets."), id == "rclone.config_file", strings.HasPrefix(id, "healthcheck."):
		return secretsTargets
	case strings.HasPrefix(id, "encryption."):
		return secretsEncrypt
	case strings.HasPrefix(id, "drill."):
		return secretsDecrypt
	case strings.HasPrefix(id, "notify."):
		return secretsNotify
	}
	// A secret this package does not know yet goes to every unit: one
	// credential too many is safer than a job that cannot read its key.
	return secretsTargets | secretsEncrypt | secretsDecrypt | secretsNotify
}

// credentials returns the LoadCredential= lines for the secrets of kinds.
func credentials(c *config.Config, kinds secretKind) []*unit.UnitOption {
	var out []*unit.UnitOption
	for _, s := range c.Secrets() {
		if kindOf(s.ID)&kinds != 0 {
			// The path is the rest of the line, specifiers expanded.
			out = append(out, service("LoadCredential", s.ID+":"+escapeSpecifiers(s.Path)))
		}
	}
	return out
}

func service(name, value string) *unit.UnitOption {
	return unit.NewUnitOption("Service", name, value)
}

func unitOpt(name, value string) *unit.UnitOption {
	return unit.NewUnitOption("Unit", name, value)
}
