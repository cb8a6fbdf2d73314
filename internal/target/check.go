package target

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/config/configstruct"
	"github.com/rclone/rclone/fs/fspath"

	"github.com/pgarchive/pgarchive/internal/config"
)

// Supported returns the rclone backend names compiled in, sorted. A name is
// what goes in a target's type; for Google Cloud Storage it is "gcs" (rclone
// also accepts "google cloud storage", as its own config files spell it).
func Supported() []string {
	names := make([]string, 0, len(fs.Registry))
	for _, ri := range fs.Registry {
		if !ri.Hide {
			names = append(names, ri.Prefix)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Check validates a target without touching the network or secret files, so
// it is safe in a Nix build sandbox. For a type target the backend must be
// compiled in, and every key of Options and SecretFiles must be an option of
// that backend as rclone's config file spells it ("key_file",
// "access_key_id"); inline option values must parse as the option's type.
// For a remote target only the syntax of Remote is checked: rclone.conf holds
// secrets and is not read here.
//
// Errors are *config.Error values naming the key, for example
// "targets.nas.options.hostt".
func Check(name string, t config.Target) error {
	key := "targets." + name
	switch {
	case t.Remote != "" && t.Type != "":
		return configErr(key, "set either type or remote, not both")
	case t.Remote != "":
		return checkRemote(key, t)
	case t.Type == "":
		return configErr(key, "set type (an rclone backend) or remote (from rclone.conf)")
	}
	ri, err := fs.Find(t.Type)
	if err != nil {
		return configErr(key+".type", "unknown backend %q (supported: %s)",
			t.Type, strings.Join(Supported(), ", "))
	}
	opts, err := t.StringOptions()
	if err != nil {
		return configErr(key+".options", "%v", err)
	}
	for _, k := range sortedKeys(opts) {
		opt := ri.Options.Get(k)
		if opt == nil {
			return configErr(key+".options."+k, "unknown option for backend %q", t.Type)
		}
		if err := checkValue(opt, opts[k]); err != nil {
			return configErr(key+".options."+k, "%v", err)
		}
	}
	for _, k := range sortedKeys(t.SecretFiles) {
		if ri.Options.Get(k) == nil {
			return configErr(key+".secret_files."+k, "unknown option for backend %q", t.Type)
		}
		if _, dup := t.Options[k]; dup {
			return configErr(key+".secret_files."+k, "also set in options: a value is either inline or in a file")
		}
	}
	return nil
}

// checkRemote checks the form of a "name:path" remote. On-the-fly backends
// (":s3:bucket") and connection strings ("name,key=value:") are refused:
// their options would sit in the config file and in every log line that
// names the remote; use a type target or rclone.conf for those.
func checkRemote(key string, t config.Target) error {
	if len(t.Options) > 0 || len(t.SecretFiles) > 0 {
		return configErr(key, "options and secret_files go with type, not remote (set them in rclone.conf)")
	}
	p, err := fspath.Parse(t.Remote)
	if err != nil {
		return configErr(key+".remote", "%q: %v", t.Remote, err)
	}
	switch {
	case p.Name == "":
		return configErr(key+".remote", "%q must look like \"name:path\"", t.Remote)
	case strings.HasPrefix(p.Name, ":"):
		return configErr(key+".remote", "%q is an on-the-fly backend: use type and options instead, or a remote from rclone.conf", t.Remote)
	case len(p.Config) > 0:
		return configErr(key+".remote", "%q carries options in the remote name: set them in rclone.conf", t.Remote)
	}
	return nil
}

// checkValue reports whether s parses as the option's type, the way rclone
// parses it when it builds the backend. An empty string means unset.
func checkValue(opt *fs.Option, s string) error {
	if s == "" {
		return nil
	}
	if _, err := configstruct.StringToInterface(opt.Default, s); err != nil {
		return fmt.Errorf("invalid value: %w", err)
	}
	return nil
}

func configErr(key, format string, args ...any) error {
	return &config.Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
