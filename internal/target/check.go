package target

import (
	"fmt"
	"maps"
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
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		opt := ri.Options.Get(k)
		if opt == nil {
			return configErr(key+".options."+k, "unknown option for backend %q", t.Type)
		}
		// Before the value is parsed: a parse error would quote it.
		if isSecret(opt) && opts[k] != "" {
			return configErr(key+".options."+k, "is a secret: put it in secret_files, not inline")
		}
		if err := checkValue(opt, opts[k]); err != nil {
			return configErr(key+".options."+k, "%v", err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(t.SecretFiles)) {
		if ri.Options.Get(k) == nil {
			return configErr(key+".secret_files."+k, "unknown option for backend %q", t.Type)
		}
		if _, dup := t.Options[k]; dup {
			return configErr(key+".secret_files."+k, "also set in options: a value is either inline or in a file")
		}
	}
	return checkPlace(key, ri, t, opts)
}

// checkPlace refuses what rclone accepts and push then fails on, or worse,
// does not: a bucket store without a bucket answers "400 BadRequest" to the
// first request, and an s3 target without an endpoint goes to AWS.
func checkPlace(key string, ri *fs.RegInfo, t config.Target, opts map[string]string) error {
	switch ri.Prefix {
	case "azureblob":
		if strings.Trim(t.Path, "/") == "" {
			return configErr(key+".path", "must name a container: \"container\" or \"container/dir\"")
		}
	case "s3", "b2", "gcs":
		if strings.Trim(t.Path, "/") == "" {
			return configErr(key+".path", "must name a bucket: \"bucket\" or \"bucket/dir\"")
		}
	}
	if ri.Prefix == "s3" {
		_, inFile := t.SecretFiles["endpoint"]
		if opts["endpoint"] == "" && !inFile && opts["provider"] != "AWS" {
			return configErr(key+".options.endpoint", "is not set, so requests would go to Amazon S3: set your S3 server's endpoint, or provider = \"AWS\" if Amazon is meant")
		}
	}
	return nil
}

// isSecret reports whether an rclone option holds a secret that must not
// sit in the config file, which on NixOS is in the world-readable store.
// rclone marks an option Sensitive when `rclone config redacted` should
// hide it, and that includes names of accounts and places (sftp's host and
// user) which open nothing on their own; those stay allowed inline so an
// ordinary sftp target needs no file.
func isSecret(opt *fs.Option) bool {
	return opt.IsPassword || (opt.Sensitive && !identifiers[opt.Name])
}

// identifiers are the Sensitive options of the compiled-in backends that
// name an account, key or project rather than grant access to it. Any
// Sensitive option not listed, including one a newer rclone adds, is
// refused inline.
var identifiers = map[string]bool{
	"host":                 true, // sftp
	"user":                 true, // sftp, webdav
	"username":             true, // azureblob
	"account":              true, // azureblob (storage account name), b2 (account or key ID)
	"tenant":               true, // azureblob
	"client_id":            true, // azureblob, gcs
	"msi_object_id":        true, // azureblob
	"msi_client_id":        true, // azureblob
	"msi_mi_res_id":        true, // azureblob
	"project_number":       true, // gcs
	"user_project":         true, // gcs
	"access_key_id":        true, // s3: the ID is useless without secret_access_key
	"sse_kms_key_id":       true, // s3: the ARN of a key held by KMS
	"sse_customer_key_md5": true, // s3, b2: a checksum of the key, not the key
}

// checkRemote checks the form of a "name:path" remote. On-the-fly backends
// (":s3:bucket") and connection strings ("name,key=value:") are refused:
// their options would sit in the config file and in every log line that
// names the remote; use a type target or rclone.conf for those.
func checkRemote(key string, t config.Target) error {
	if len(t.Options) > 0 || len(t.SecretFiles) > 0 {
		return configErr(key, "options and secret_files go with type, not remote (set them in rclone.conf)")
	}
	// Options in the remote ("nas,pass=...:") may be secrets: a remote
	// that may carry them is refused without being repeated.
	p, err := fspath.Parse(t.Remote)
	switch {
	case err != nil && strings.Contains(t.Remote, ","):
		return configErr(key+".remote", "is not a valid remote (not shown: it may carry options): %v", err)
	case err != nil:
		return configErr(key+".remote", "%q: %v", t.Remote, err)
	case len(p.Config) > 0:
		return configErr(key+".remote", "carries options in the remote name: set them in rclone.conf")
	case p.Name == "":
		return configErr(key+".remote", "%q must look like \"name:path\"", t.Remote)
	case strings.HasPrefix(p.Name, ":"):
		return configErr(key+".remote", "%q is an on-the-fly backend: use type and options instead, or a remote from rclone.conf", t.Remote)
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
