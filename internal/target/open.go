package target

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rclone/rclone/fs"
	rconfig "github.com/rclone/rclone/fs/config"
	"github.com/rclone/rclone/fs/config/configfile"
	"github.com/rclone/rclone/fs/config/configmap"
	"github.com/rclone/rclone/fs/config/obscure"
	"github.com/unknwon/goconfig"

	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/target/internal/rcloneenv"
)

// init makes rclone behave as a library: no config file unless a remote
// target asks for one, never a password prompt on the terminal, and upload
// buffers outside Go's heap.
func init() {
	if rcloneenv.Set {
		_ = os.Unsetenv("RCLONE_CONFIG")
	}
	// An empty path is rclone's in-memory config: type targets are built
	// from pgarchive's own file and nothing else.
	_ = rconfig.SetConfigPath("")
	ci := fs.GetConfig(context.Background())
	ci.AskPassword = false
	// Upload buffers (rclone's 1 MiB pages, a multipart part each) come
	// from mmap and go back to the system when the pool flushes them. In
	// Go's heap they were most of it, and the collector let the heap grow
	// to twice their size: a push's peak RSS grew 19% from 256 MiB to
	// 2 GiB, against 6% this way (tests/bench).
	ci.UseMmap = true
}

// Open builds the target name from its configuration and connects to it
// (backends such as sftp dial here; object stores often wait for the first
// request). ctx must outlive the Target for backends that keep it.
//
// For a type target the values of SecretFiles are read now (one trailing
// newline is dropped; an empty file is an error), password options are
// obscured as rclone expects, and the backend is built from that map alone:
// no rclone.conf, no environment variables, no connection string, so a secret
// cannot reach an error message or a log line. For a remote target rc.ConfigFile
// is loaded as rclone's config file, once per process.
//
// The target's root is t.Path; for a remote target it is joined to the
// remote's own path.
func Open(ctx context.Context, name string, t config.Target, rc config.Rclone) (*Target, error) {
	if err := Check(name, t); err != nil {
		return nil, err
	}
	ctx = libraryContext(ctx)
	if t.Remote != "" {
		if _, ok := AsOf(ctx); ok {
			return nil, fmt.Errorf("target %q: cannot show the store as of a time: only type = \"s3\" targets keep versions pgarchive can read", name)
		}
		return openRemote(ctx, name, t, rc)
	}
	ri, err := fs.Find(t.Type)
	if err != nil {
		return nil, err // unreachable: Check found it
	}
	opts, err := t.StringOptions()
	if err != nil {
		return nil, configErr("targets."+name+".options", "%v", err)
	}
	var secrets []string
	for _, k := range slices.Sorted(maps.Keys(t.SecretFiles)) {
		v, err := readSecret("targets."+name+".secret_files."+k, t.SecretFiles[k])
		if err != nil {
			return nil, err
		}
		if isFileOption(k) {
			// key_file, service_account_file...: the option already names
			// a file, and that file is the secret. rclone reads it itself.
			opts[k] = t.SecretFiles[k]
			continue
		}
		opts[k] = v
		secrets = append(secrets, v)
	}
	for k, v := range opts {
		if opt := ri.Options.Get(k); opt != nil && opt.IsPassword && v != "" {
			obscured, err := obscure.Obscure(v)
			if err != nil {
				return nil, fmt.Errorf("target %q: obscure %s: %w", name, k, err)
			}
			opts[k] = obscured
			secrets = append(secrets, v, obscured)
		}
	}
	// A trailing slash says "directory" to rclone, so bucket backends skip
	// their is-it-a-file probe: with the server down that probe takes the
	// empty answer for a file and the target would be misreported.
	lock := lockOptions(t.ObjectLock, opts, time.Now())
	if at, ok := AsOf(ctx); ok {
		if ri.Prefix != "s3" {
			return nil, fmt.Errorf("target %q: cannot show the store as of a time: only s3 targets keep versions", name)
		}
		opts["version_at"] = at.UTC().Format(time.RFC3339)
	}
	root := t.Path
	if root != "" && !strings.HasSuffix(root, "/") {
		root += "/"
	}
	if ri.Name == "local" {
		if err := checkLocalRoot(name, t); err != nil {
			return nil, err
		}
	}
	f, err := ri.NewFs(ctx, name, root, backendConfig(ri, opts))
	if err != nil {
		if errors.Is(err, fs.ErrorIsFile) {
			return nil, fmt.Errorf("target %q: path %q is a file, not a directory", name, t.Path)
		}
		return nil, redact(fmt.Errorf("target %q: %s backend: %w", name, t.Type, err), secrets)
	}
	tg := &Target{Name: name, desc: t.Type + ":" + t.Path, fs: f, localDisk: ri.Name == "local",
		partsFrom: multipartFrom(ri, backendConfig(ri, opts))}
	if !slices.Contains(rereadToHash, ri.Name) {
		tg.confirmHash = f.Hashes().GetOne()
	}
	if ri.Prefix == "s3" {
		if tg.api, err = newS3API(ctx, opts, t.Path); err != nil {
			return nil, redact(fmt.Errorf("target %q: s3 api: %w", name, err), secrets)
		}
		tg.lock = lock
		tg.conditional = conditionalCreate[opts["provider"]]
	}
	return tg, nil
}

// rereadToHash lists the backends that hash an object by reading all of it
// again (on the server or here): Put confirms uploads there without a hash.
var rereadToHash = []string{"local", "sftp", "ftp", "smb", "hdfs"}

// checkLocalRoot fails a local target whose directory is not there, or
// (require_mount) is not a mount point. rclone would create it, and a
// backup meant for a USB disk or NFS share that is not mounted would land
// on the very disk it protects against. pgarchive creates directories
// only below the configured path, never the path itself.
func checkLocalRoot(name string, t config.Target) error {
	fi, err := os.Stat(t.Path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("target %q: directory %q does not exist: is the disk mounted? (pgarchive creates directories only below it)", name, t.Path)
	case err != nil:
		return fmt.Errorf("target %q: %w", name, err)
	case !fi.IsDir():
		return fmt.Errorf("target %q: path %q is a file, not a directory", name, t.Path)
	}
	if t.RequireMount {
		mounted, err := isMountPoint(t.Path)
		if err != nil {
			return fmt.Errorf("target %q: %w", name, err)
		}
		if !mounted {
			return fmt.Errorf("target %q: %q is not a mount point (require_mount = true): is the disk mounted?", name, t.Path)
		}
	}
	return nil
}

// isMountPoint reports whether dir is the root of a mounted file system:
// its device differs from its parent's, or it is the parent (/).
func isMountPoint(dir string) (bool, error) {
	var st, parent syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return false, fmt.Errorf("stat %q: %w", dir, err)
	}
	if err := syscall.Stat(filepath.Join(dir, ".."), &parent); err != nil {
		return false, fmt.Errorf("stat the parent of %q: %w", dir, err)
	}
	return st.Dev != parent.Dev || st.Ino == parent.Ino, nil
}

// libraryContext adds the rclone settings pgarchive wants for every backend
// it builds. Backends read them when they are built.
func libraryContext(ctx context.Context) context.Context {
	ctx, ci := fs.AddConfig(ctx)
	// Modification times come from the listing, not from one metadata
	// request per object (S3, Azure): archive names carry their time anyway.
	ci.UseServerModTime = true
	// A dead server must fail its target in seconds, not after minutes
	// of back-off, so the other targets finish and the unit reports.
	ci.LowLevelRetries = 3
	// A server that accepts connections and then says nothing held every
	// command for 15 minutes (rclone's 5-minute idle timeout, three times).
	// Data flows continuously during an upload, so a minute of silence
	// means the server is gone.
	ci.ConnectTimeout = fs.Duration(30 * time.Second)
	ci.Timeout = fs.Duration(time.Minute)
	return ctx
}

// backendConfig is the only source of options for a type target: the values
// given, then the backend's defaults. rclone's own fs.ConfigMap would add
// environment variables and the config file. Values a backend saves while
// running (refreshed tokens) stay in memory.
func backendConfig(ri *fs.RegInfo, opts map[string]string) configmap.Mapper {
	given := configmap.Simple(opts)
	m := configmap.New()
	m.AddGetter(given, configmap.PriorityNormal)
	m.AddGetter(defaults(ri.Options), configmap.PriorityDefault)
	m.AddSetter(given)
	return m
}

// defaults is a configmap.Getter of a backend's default option values.
type defaults fs.Options

func (d defaults) Get(key string) (string, bool) {
	opt := fs.Options(d).Get(key)
	if opt == nil {
		return "", false
	}
	return opt.String(), true
}

// isFileOption reports whether an rclone option takes a path to a file
// (sftp's key_file, gcs's service_account_file) rather than a value.
func isFileOption(key string) bool { return strings.HasSuffix(key, "_file") }

// readSecret reads one secret_files value. Errors name the key and the
// file, never the content.
func readSecret(key, path string) (string, error) {
	v, err := config.ReadSecretFile(path)
	if err != nil {
		return "", &config.Error{Key: key, Msg: err.Error()}
	}
	return v, nil
}

// redact replaces any secret value that an rclone error message might quote
// ("couldn't parse config item ... = ...") with "***". An error that needed
// redacting loses its chain: the chain would still hold the value.
func redact(err error, secrets []string) error {
	msg := err.Error()
	clean := msg
	for _, s := range secrets {
		if s != "" {
			clean = strings.ReplaceAll(clean, s, "***")
		}
	}
	if clean == msg {
		return err
	}
	return errors.New(clean)
}

// The rclone config file is process-wide in rclone; pgarchive has at most
// one (rclone.config_file) and loads it on first use.
var rcloneConf struct {
	sync.Mutex
	path string
}

func openRemote(ctx context.Context, name string, t config.Target, rc config.Rclone) (*Target, error) {
	if rc.ConfigFile == "" {
		return nil, configErr("targets."+name+".remote", "needs rclone.config_file")
	}
	if err := loadRcloneConfig(rc.ConfigFile); err != nil {
		return nil, err
	}
	remote := joinRemote(t.Remote, t.Path)
	// As for type targets: a trailing slash says "directory", so a bucket
	// backend whose server is down or refuses the key does not take the
	// failed probe for a file.
	dir := remote
	if !strings.HasSuffix(dir, ":") && !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	f, err := fs.NewFs(ctx, dir)
	if err != nil {
		if errors.Is(err, fs.ErrorIsFile) {
			return nil, fmt.Errorf("target %q: %q is a file, not a directory", name, remote)
		}
		if errors.Is(err, fs.ErrorNotFoundInConfigFile) {
			return nil, &config.Error{Key: "targets." + name + ".remote",
				Msg: fmt.Sprintf("remote %q is not in %q", t.Remote, rc.ConfigFile)}
		}
		return nil, fmt.Errorf("target %q: %w", name, err)
	}
	tg := &Target{Name: name, desc: remote, fs: f}
	if ri, configName, _, connection, err := fs.ParseRemote(dir); err == nil {
		tg.partsFrom = multipartFrom(ri, fs.ConfigMap(ri.Prefix, ri.Options, configName, connection))
	}
	return tg, nil
}

// multipartFrom is the upload size from which an s3 backend uploads in
// parts, checked part by part (its upload_cutoff, as rclone reads it);
// 0 for other backends.
func multipartFrom(ri *fs.RegInfo, m configmap.Getter) int64 {
	if ri.Prefix != "s3" {
		return 0
	}
	v, ok := m.Get("upload_cutoff")
	if !ok {
		return 0
	}
	var cutoff fs.SizeSuffix
	if err := cutoff.Set(v); err != nil || cutoff <= 0 {
		return 0
	}
	return int64(cutoff)
}

// joinRemote appends path to a "name:path" remote.
func joinRemote(remote, path string) string {
	path = strings.Trim(path, "/")
	if path == "" {
		return remote
	}
	if strings.HasSuffix(remote, ":") || strings.HasSuffix(remote, "/") {
		return remote + path
	}
	return remote + "/" + path
}

// loadRcloneConfig makes path rclone's config file. The file is parsed once
// here first, so that a broken file is an error rather than rclone's own
// exit on load; parse errors do not quote the file, which holds secrets.
func loadRcloneConfig(path string) error {
	rcloneConf.Lock()
	defer rcloneConf.Unlock()
	switch rcloneConf.path {
	case path:
		return nil
	case "":
	default:
		return &config.Error{Key: "rclone.config_file",
			Msg: fmt.Sprintf("%q: another rclone config, %q, is already loaded", path, rcloneConf.path)}
	}
	if err := rconfig.SetConfigPath(path); err != nil {
		return &config.Error{Key: "rclone.config_file", Msg: fmt.Sprintf("%q: %v", path, err)}
	}
	probe := &configfile.Storage{}
	if err := probe.Load(); err != nil {
		_ = rconfig.SetConfigPath("")
		return &config.Error{Key: "rclone.config_file", Msg: fmt.Sprintf("read %q: %v", path, confLoadError(err))}
	}
	configfile.Install()
	rconfig.LoadedData()
	rcloneConf.path = path
	return nil
}

// confLoadError turns an error from loading rclone.conf into one that does
// not quote the file.
func confLoadError(err error) error {
	var re goconfig.ReadError
	var pe *os.PathError
	switch {
	case errors.Is(err, rconfig.ErrorConfigFileNotFound):
		return errors.New("no such file")
	case errors.As(err, &re):
		return errors.New("not a valid rclone config file (the offending line is not shown: it may hold a secret)")
	case errors.As(err, &pe):
		return pe.Err
	}
	return err
}
