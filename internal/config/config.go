// Package config loads and validates pgarchive's TOML configuration.
//
// The file is strict: a key the schema does not know is an error that names
// the key, so a typo fails at build time (the NixOS module runs
// `pgarchive check-config`) rather than at 3 AM. Secrets never appear in the
// file itself: it names files whose contents are read at run time.
//
// Load parses and applies defaults; Validate checks what can be checked
// without touching secret files or the network, so it is safe in a Nix build
// sandbox. Backend-specific checks (is "s3" compiled in, is "endpointt" an s3
// option) live in package target and are run by check-config as well.
//
// Every secret path has a credential id, its dotted key:
// encryption.recipients_file, encryption.passphrase_file,
// rclone.config_file, drill.identity_file, drill.passphrase_file,
// notify.urls_file, healthcheck.url_file and
// targets.<name>.secret_files.<option>. When $CREDENTIALS_DIRECTORY is set
// (systemd sets it for a unit with LoadCredential=<id>:<path>), Load
// replaces each secret path whose credential exists there,
// $CREDENTIALS_DIRECTORY/<id>, with that file, and keeps the configured
// path otherwise (UseCredentials). So one file serves root at the shell, a
// unit that loads its secrets as credentials, and a laptop.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/pgarchive/pgarchive/internal/retention"
)

// DefaultPath is used when neither --config nor $PGARCHIVE_CONFIG is set.
const DefaultPath = "/etc/pgarchive/config.toml"

// DefaultMaxDumpAge is how old a dump may be before push refuses it.
const DefaultMaxDumpAge = time.Hour

// Config is the whole configuration file.
type Config struct {
	DumpDir     string   `toml:"dump_dir"`
	Compression string   `toml:"compression"`
	Host        string   `toml:"host"`
	MaxDumpAge  Duration `toml:"max_dump_age"`
	// StallTimeout is how long a target's upload may make no progress
	// before push drops that target, so one hung disk or server cannot
	// hold up the others until the unit's own timeout.
	StallTimeout Duration          `toml:"stall_timeout"`
	Encryption   Encryption        `toml:"encryption"`
	Targets      map[string]Target `toml:"targets"`
	Rclone       Rclone            `toml:"rclone"`

	// PruneOnHost false makes prune refuse to run here: for append-only
	// setups where the host's credentials cannot delete and prune runs
	// elsewhere.
	PruneOnHost *bool       `toml:"prune_on_host"`
	Retention   Retention   `toml:"retention"`
	Drill       Drill       `toml:"drill"`
	Notify      Notify      `toml:"notify"`
	Healthcheck Healthcheck `toml:"healthcheck"`
	Metrics     Metrics     `toml:"metrics"`
	Status      Status      `toml:"status"`
}

// Retention is the GFS policy prune applies per database per target.
type Retention struct {
	retention.Policy
	// IncompleteGrace is how old an archive without a manifest must be
	// before prune removes it (an upload may still be running).
	IncompleteGrace Duration `toml:"incomplete_grace"`
}

// Drill configures restore drills.
type Drill struct {
	// Connection is a libpq connection string or URI for the server the
	// scratch database is created on; empty means libpq's PG* environment.
	Connection string `toml:"connection"`
	// IdentityFile is the age identity drills and verify decrypt with (the
	// host normally holds recipients only, so this is a separate secret).
	IdentityFile string `toml:"identity_file"`
	// PassphraseFile replaces IdentityFile in passphrase mode.
	PassphraseFile string `toml:"passphrase_file"`
	// Queries are SQL statements run in the restored database that must
	// each return true.
	Queries []string `toml:"queries"`
	// StateDir keeps the previous drill's row counts for comparison.
	StateDir string `toml:"state_dir"`
}

// Notify configures failure messages.
type Notify struct {
	// URLsFile holds one shoutrrr URL per line (a secret: URLs carry tokens).
	URLsFile string `toml:"urls_file"`
}

// Healthcheck configures dead-man pings.
type Healthcheck struct {
	// URLFile holds a healthchecks.io-style ping URL (a secret).
	URLFile string `toml:"url_file"`
}

// Metrics configures the Prometheus textfile.
type Metrics struct {
	// Textfile is written atomically after every push, prune, verify and
	// drill, for node_exporter's textfile collector.
	Textfile string `toml:"textfile"`
}

// Status configures the status command's warnings.
type Status struct {
	// MaxAge is how old a database's newest complete archive may be before
	// status warns.
	MaxAge Duration `toml:"max_age"`
}

// DefaultStallTimeout is long enough for a slow link to send a chunk and
// short enough that a hung target is noticed well within a nightly window.
const DefaultStallTimeout = 10 * time.Minute

// MinStallTimeout is the shortest stall_timeout accepted: below a second,
// an ordinary pause (a server flushing, a TLS handshake) would drop a
// healthy target.
const MinStallTimeout = time.Second

// DefaultIncompleteGrace is how long an archive may lack its manifest
// before prune treats it as a dead upload.
const DefaultIncompleteGrace = 24 * time.Hour

// MinIncompleteGrace is the shortest incomplete_grace accepted.
const MinIncompleteGrace = time.Hour

// DefaultStatusMaxAge suits daily dumps with an hour of slack.
const DefaultStatusMaxAge = 25 * time.Hour

// DefaultDrillStateDir keeps drill records across runs.
const DefaultDrillStateDir = "/var/lib/pgarchive"

// PruneAllowed reports whether prune may delete from this host.
func (c *Config) PruneAllowed() bool { return c.PruneOnHost == nil || *c.PruneOnHost }

// Encryption selects who can open archives: age recipients (public keys,
// the default) or a scrypt passphrase read from a file.
type Encryption struct {
	Recipients     []string `toml:"recipients"`
	RecipientsFile string   `toml:"recipients_file"`
	PassphraseFile string   `toml:"passphrase_file"`
}

// Target is one place every push writes to. Either Type (an rclone backend
// built from Options and SecretFiles) or Remote (a remote from an existing
// rclone.conf) is set, not both.
type Target struct {
	Type        string            `toml:"type"`
	Path        string            `toml:"path"`
	Options     map[string]any    `toml:"options"`
	SecretFiles map[string]string `toml:"secret_files"`
	Remote      string            `toml:"remote"`
	// RequireMount makes push fail the target unless Path is a mount
	// point (type "local" only): a backup disk that is not mounted would
	// otherwise be written to the disk it protects against.
	RequireMount bool `toml:"require_mount"`
	// CommandLine marks a target given as --remote rather than in the
	// file: Remote is then anything the rclone CLI accepts (a connection
	// string, a path, name:path), opened the way rclone's CLI opens it.
	// Not a key of the file.
	CommandLine bool `toml:"-"`
	// ObjectLock, when set, locks every object written to this (s3)
	// target; see lock.go.
	ObjectLock *ObjectLock `toml:"object_lock"`
}

// Rclone holds settings for rclone as a whole.
type Rclone struct {
	ConfigFile string `toml:"config_file"`
}

// Duration is a time.Duration written as a Go duration string ("1h30m").
type Duration struct{ time.Duration }

// UnmarshalTOML parses a Go duration string. A bare number is refused
// rather than guessed at: 3600 reads as seconds to a person and as
// nanoseconds to Go.
func (d *Duration) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		return d.UnmarshalText([]byte(v))
	case int64, float64:
		return fmt.Errorf("%v is a bare number: write a duration as a string with its unit, like \"1h\" or \"90m\"", v)
	}
	return errors.New("must be a duration string like \"1h\" or \"90m\"")
}

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like \"1h\" or \"90m\"", string(b))
	}
	if v <= 0 {
		return fmt.Errorf("%q must be positive", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Compression suffixes as services.postgresqlBackup writes them.
var compressionSuffix = map[string]string{"gzip": ".gz", "zstd": ".zstd", "none": ""}

// DumpSuffix returns the file suffix after ".sql" for a compression name
// ("gzip" -> ".gz"); ok is false for an unknown name.
func DumpSuffix(compression string) (suffix string, ok bool) {
	suffix, ok = compressionSuffix[compression]
	return suffix, ok
}

// Error is a configuration problem. Key names the offending key in dotted
// TOML form ("targets.nas.type") when there is one.
type Error struct {
	Key string
	Msg string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return "config: " + e.Msg
	}
	return fmt.Sprintf("config: %s: %s", e.Key, e.Msg)
}

func errorf(key, format string, args ...any) error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Load reads, parses and validates the file at path, then points its
// secrets at the credentials of $CREDENTIALS_DIRECTORY that exist.
func Load(path string) (*Config, error) { return load(path, false) }

// LoadForReading is Load for the commands that only read archives (list,
// restore, verify, status, drill): they never encrypt, so a config without
// [encryption], such as a laptop's that names only the targets, is fine.
func LoadForReading(path string) (*Config, error) { return load(path, true) }

func load(path string, reading bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Msg: fmt.Sprintf("read %q: %v", path, errors.Unwrap(err))}
	}
	c, err := parse(data, reading)
	if err != nil {
		return nil, err
	}
	c.UseCredentials(os.Getenv(CredentialsEnv))
	return c, nil
}

// Parse parses and validates a configuration held in memory.
func Parse(data []byte) (*Config, error) { return parse(data, false) }

func parse(data []byte, reading bool) (*Config, error) {
	var c Config
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		return nil, decodeError(err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		for _, k := range undecoded {
			// Values under options are free-form rclone options, checked
			// against the backend later; every other key must be known.
			if len(k) >= 4 && k[0] == "targets" && k[2] == "options" {
				continue
			}
			return nil, errorf(k.String(), "unknown key")
		}
	}
	c.applyDefaults()
	validate := c.Validate
	if reading {
		validate = c.ValidateForReading
	}
	if err := validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) applyDefaults() {
	if c.DumpDir == "" {
		c.DumpDir = "/var/backup/postgresql"
	}
	if c.Compression == "" {
		c.Compression = "gzip"
	}
	if c.Host == "" {
		if h, err := os.Hostname(); err == nil {
			c.Host = h
		}
	}
	if c.MaxDumpAge.Duration == 0 {
		c.MaxDumpAge.Duration = DefaultMaxDumpAge
	}
	if c.StallTimeout.Duration == 0 {
		c.StallTimeout.Duration = DefaultStallTimeout
	}
	if c.Retention.IncompleteGrace.Duration == 0 {
		c.Retention.IncompleteGrace.Duration = DefaultIncompleteGrace
	}
	if c.Status.MaxAge.Duration == 0 {
		c.Status.MaxAge.Duration = DefaultStatusMaxAge
	}
	if c.Drill.StateDir == "" {
		c.Drill.StateDir = DefaultDrillStateDir
	}
}

// nameRe limits target and host names to what is safe as a path element and
// readable in a journal field.
var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidName reports whether s can be a host or target name.
func ValidName(s string) bool { return nameRe.MatchString(s) }

// Validate checks everything that needs neither the network nor secret files.
func (c *Config) Validate() error { return c.validate(false) }

// ValidateForReading is Validate without requiring [encryption] or a
// target: what a command that only reads archives needs, whose target may
// come from the command line. What is there is still checked.
func (c *Config) ValidateForReading() error { return c.validate(true) }

// Defaults returns the configuration of an empty file: what a command run
// with --remote and no config file works with.
func Defaults() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

func (c *Config) validate(reading bool) error {
	if _, ok := DumpSuffix(c.Compression); !ok {
		return errorf("compression", "%q is not one of gzip, zstd, none", c.Compression)
	}
	if !strings.HasPrefix(c.DumpDir, "/") {
		return errorf("dump_dir", "%q must be an absolute path", c.DumpDir)
	}
	if !nameRe.MatchString(c.Host) {
		return errorf("host", "%q must be letters, digits, '.', '_' or '-'", c.Host)
	}
	if !reading || !c.Encryption.isZero() {
		if err := c.Encryption.validate(); err != nil {
			return err
		}
	}
	if len(c.Targets) == 0 && !reading {
		// A reader may get its target from the command line (--remote).
		return errorf("targets", "at least one target is required")
	}
	for _, name := range c.TargetNames() {
		if err := c.Targets[name].validate(name, c.Rclone); err != nil {
			return err
		}
	}
	for _, p := range []struct{ key, path string }{
		{"rclone.config_file", c.Rclone.ConfigFile},
		{"drill.identity_file", c.Drill.IdentityFile},
		{"drill.passphrase_file", c.Drill.PassphraseFile},
		{"drill.state_dir", c.Drill.StateDir},
		{"notify.urls_file", c.Notify.URLsFile},
		{"healthcheck.url_file", c.Healthcheck.URLFile},
		{"metrics.textfile", c.Metrics.Textfile},
	} {
		if p.path != "" && !strings.HasPrefix(p.path, "/") {
			return errorf(p.key, "%q must be an absolute path", p.path)
		}
	}
	if d := c.StallTimeout.Duration; d < MinStallTimeout {
		return errorf("stall_timeout", "%s is shorter than %s: an ordinary pause would drop a healthy target", d, MinStallTimeout)
	}
	if g := c.Retention.IncompleteGrace.Duration; g < MinIncompleteGrace {
		return errorf("retention.incomplete_grace", "%s is shorter than %s: an archive without its manifest that young may be an upload still running, and prune would delete it under the upload", g, MinIncompleteGrace)
	}
	if c.Drill.IdentityFile != "" && c.Drill.PassphraseFile != "" {
		return errorf("drill.passphrase_file", "cannot be combined with drill.identity_file")
	}
	for _, n := range []struct {
		key string
		n   int
	}{
		{"keep_last", c.Retention.KeepLast},
		{"hourly", c.Retention.Hourly},
		{"daily", c.Retention.Daily},
		{"weekly", c.Retention.Weekly},
		{"monthly", c.Retention.Monthly},
		{"yearly", c.Retention.Yearly},
	} {
		if n.n < 0 {
			return errorf("retention."+n.key, "is %d, must be zero or more", n.n)
		}
	}
	if c.Retention.Policy != (retention.Policy{}) {
		if err := c.Retention.Policy.Validate(); err != nil {
			return errorf("retention", "%v", strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	if hasPassword(c.Drill.Connection) {
		// The string is not repeated: it holds the password.
		return errorf("drill.connection", "holds a password: keep passwords out of the config (use passfile=/path, or ~/.pgpass)")
	}
	if err := c.checkPlaces(); err != nil {
		return err
	}
	return c.checkFiles()
}

func (e Encryption) isZero() bool {
	return len(e.Recipients) == 0 && e.RecipientsFile == "" && e.PassphraseFile == ""
}

func (e Encryption) validate() error {
	hasRecipients := len(e.Recipients) > 0 || e.RecipientsFile != ""
	switch {
	case hasRecipients && e.PassphraseFile != "":
		return errorf("encryption.passphrase_file", "cannot be combined with recipients: choose public keys or a passphrase")
	case !hasRecipients && e.PassphraseFile == "":
		return errorf("encryption", "set recipients, recipients_file or passphrase_file")
	}
	for _, k := range []struct{ key, path string }{
		{"encryption.recipients_file", e.RecipientsFile},
		{"encryption.passphrase_file", e.PassphraseFile},
	} {
		if k.path != "" && !strings.HasPrefix(k.path, "/") {
			return errorf(k.key, "%q must be an absolute path", k.path)
		}
	}
	return nil
}

func (t Target) validate(name string, rc Rclone) error {
	key := "targets." + name
	if !nameRe.MatchString(name) {
		return errorf(key, "target name %q must be letters, digits, '.', '_' or '-'", name)
	}
	switch {
	case t.Type != "" && t.Remote != "":
		return errorf(key, "set either type or remote, not both")
	case t.Type == "" && t.Remote == "":
		return errorf(key, "set type (an rclone backend) or remote (from rclone.conf)")
	case t.Remote != "":
		if len(t.Options) > 0 || len(t.SecretFiles) > 0 {
			return errorf(key, "options and secret_files go with type, not remote (set them in rclone.conf)")
		}
		if !strings.Contains(t.Remote, ":") {
			return errorf(key+".remote", "%q must look like \"name:path\"", t.Remote)
		}
		if rc.ConfigFile == "" {
			return errorf(key+".remote", "needs rclone.config_file")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(t.Options)) {
		if _, ok := optionString(t.Options[k]); !ok {
			return errorf(key+".options."+k, "must be a string, number or boolean")
		}
	}
	for opt, path := range t.SecretFiles {
		if !strings.HasPrefix(path, "/") {
			return errorf(key+".secret_files."+opt, "%q must be an absolute path", path)
		}
		if _, dup := t.Options[opt]; dup {
			return errorf(key+".secret_files."+opt, "also set in options: a value is either inline or in a file")
		}
	}
	if strings.Contains(t.Path, "..") {
		return errorf(key+".path", "%q must not contain \"..\"", t.Path)
	}
	if err := t.validateLock(key); err != nil {
		return err
	}
	if t.RequireMount && t.Type != "local" {
		return errorf(key+".require_mount", "only a target of type \"local\" can require a mount")
	}
	if t.Type == "local" {
		// rclone takes an empty or relative path from the working
		// directory, which is / under systemd: the backup would land on
		// the root disk.
		switch {
		case t.Path == "":
			return errorf(key+".path", "a local target needs an absolute path")
		case !filepath.IsAbs(t.Path):
			return errorf(key+".path", "%q must be an absolute path", t.Path)
		}
	}
	return nil
}

// StringOptions returns the target's rclone options as strings, the form
// rclone's config map takes. TOML booleans and integers are accepted so
// `port = 22` and `env_auth = true` read naturally.
func (t Target) StringOptions() (map[string]string, error) {
	out := make(map[string]string, len(t.Options))
	for k, v := range t.Options {
		s, ok := optionString(v)
		if !ok {
			return nil, fmt.Errorf("%s: value must be a string, number or boolean", k)
		}
		out[k] = s
	}
	return out, nil
}

func optionString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

// TargetNames returns the target names in a stable order.
func (c *Config) TargetNames() []string {
	names := make([]string, 0, len(c.Targets))
	for n := range c.Targets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ReadSecretFile reads a secret (passphrase, password, key) from a file the
// config names, dropping one trailing newline (and a CR before it). An
// empty file is an error. Errors name the file, never its content.
func ReadSecretFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("read %q: %w", path, err)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("secret file %q is empty", path)
	}
	return s, nil
}

// Lines returns the entries of a list file (recipients, notify URLs, a
// ping URL): one a line, trimmed, blank lines and # comments left out.
func Lines(data []byte) []string {
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// DumpPath is where services.postgresqlBackup leaves the newest dump of db.
func (c *Config) DumpPath(db string) string {
	suffix, _ := DumpSuffix(c.Compression)
	return c.DumpDir + "/" + db + ".sql" + suffix
}

// Summary is the one line check-config prints.
func (c *Config) Summary() string {
	mode := fmt.Sprintf("%d recipient(s)", len(c.Encryption.Recipients))
	if c.Encryption.RecipientsFile != "" {
		mode += " + recipients_file"
	}
	if c.Encryption.PassphraseFile != "" {
		mode = "passphrase"
	}
	return fmt.Sprintf("config ok: host %s, %s dumps in %s, encryption: %s, targets: %s",
		c.Host, c.Compression, c.DumpDir, mode, strings.Join(c.TargetNames(), ", "))
}
