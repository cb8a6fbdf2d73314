package config

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CredentialsEnv is the variable systemd sets, for a unit with
// LoadCredential= lines, to the directory holding that unit's credentials.
const CredentialsEnv = "CREDENTIALS_DIRECTORY"

// Secret is one file the configuration names whose content is secret (or,
// for encryption.recipients_file, may be kept like one).
type Secret struct {
	// ID is the secret's credential id: its dotted TOML key, such as
	// "encryption.passphrase_file" or "targets.nas.secret_files.key_file".
	ID string
	// Path is the file the configuration names for it.
	Path string
}

// secretRef is a secret of c and the way to change its path in c.
type secretRef struct {
	Secret
	set func(path string)
}

// secretRefs lists every secret path c names, in a stable order: the
// fixed keys first, then each target's secret_files by target and option.
func (c *Config) secretRefs() []secretRef {
	var refs []secretRef
	add := func(id string, p *string) {
		if *p != "" {
			refs = append(refs, secretRef{Secret{id, *p}, func(v string) { *p = v }})
		}
	}
	add("encryption.recipients_file", &c.Encryption.RecipientsFile)
	add("encryption.passphrase_file", &c.Encryption.PassphraseFile)
	add("rclone.config_file", &c.Rclone.ConfigFile)
	add("drill.identity_file", &c.Drill.IdentityFile)
	add("drill.passphrase_file", &c.Drill.PassphraseFile)
	add("notify.urls_file", &c.Notify.URLsFile)
	add("healthcheck.url_file", &c.Healthcheck.URLFile)
	for _, name := range c.TargetNames() {
		files := c.Targets[name].SecretFiles
		for _, opt := range slices.Sorted(maps.Keys(files)) {
			refs = append(refs, secretRef{
				Secret{"targets." + name + ".secret_files." + opt, files[opt]},
				func(v string) { files[opt] = v },
			})
		}
	}
	return refs
}

// Secrets returns every secret file the configuration names, with its
// credential id, in a stable order. A unit that runs pgarchive loads them
// as LoadCredential=<ID>:<Path>.
func (c *Config) Secrets() []Secret {
	refs := c.secretRefs()
	out := make([]Secret, len(refs))
	for i, r := range refs {
		out[i] = r.Secret
	}
	return out
}

// UseCredentials replaces the path of every secret whose credential exists
// in dir (a file named by its ID) with that file's path, and leaves the
// others as configured. Only existence is checked; nothing is read. An
// empty dir changes nothing; a relative one is taken from the working
// directory. Load applies it with $CREDENTIALS_DIRECTORY.
func (c *Config) UseCredentials(dir string) {
	if dir == "" {
		return
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	for _, r := range c.secretRefs() {
		if !credentialName(r.ID) {
			continue
		}
		p := filepath.Join(dir, r.ID)
		if _, err := os.Stat(p); err == nil {
			r.set(p)
		}
	}
}

// credentialName reports whether id can name a credential: one file name,
// as systemd requires (an rclone option name from secret_files is not
// checked before this runs).
func credentialName(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, "/\x00")
}
