package target

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rclone/rclone/fs"
)

// OpenCommandLine opens remote, a place given on the command line
// (--remote) rather than in pgarchive's config, the way the rclone CLI
// opens one: an on-the-fly connection string
// (":s3,provider=Minio,endpoint='http://host:9000':bucket/path"), a local
// path, or "name:path" from rcloneConfig (rclone.conf; "" for none) or
// from RCLONE_CONFIG_<NAME>_* variables. Options not in the string come
// from rclone's own RCLONE_<BACKEND>_<OPTION> variables, so credentials
// need not be typed where the shell history keeps them.
//
// It serves the commands that read archives from a machine without the
// host's config, a laptop after the host is lost. Since the string may
// hold a secret, the target never describes itself with it.
func OpenCommandLine(ctx context.Context, name, remote, rcloneConfig string) (*Target, error) {
	if _, ok := AsOf(ctx); ok {
		return nil, fmt.Errorf("target %q: cannot show the store as of a time: name the s3 target in the config instead of --remote", name)
	}
	if strings.TrimSpace(remote) == "" {
		return nil, errors.New("--remote is empty")
	}
	ctx = libraryContext(ctx)
	if rcloneConfig != "" {
		if err := loadRcloneConfig(rcloneConfig); err != nil {
			return nil, err
		}
	}
	// As in Open: a trailing slash says "directory", sparing bucket
	// backends a probe that misreads a dead server.
	root := remote
	if !strings.HasSuffix(root, "/") && !strings.HasSuffix(root, ":") {
		root += "/"
	}
	f, err := fs.NewFs(ctx, root)
	if err != nil {
		if errors.Is(err, fs.ErrorNotFoundInConfigFile) {
			if rcloneConfig == "" {
				return nil, fmt.Errorf("--remote: no such rclone remote (name it in an rclone.conf given with --rclone-config FILE, or use a connection string such as :s3,provider=...:bucket/path): %w", err)
			}
			return nil, fmt.Errorf("--remote: remote not in %q: %w", rcloneConfig, err)
		}
		if errors.Is(err, fs.ErrorIsFile) {
			return nil, errors.New("--remote: the path is a file, not a directory")
		}
		// rclone's message may quote the string, and the string may
		// hold a secret.
		return nil, fmt.Errorf("--remote: cannot open it: %s", redactRemote(err.Error(), remote))
	}
	return &Target{Name: name, desc: "given with --remote", fs: f, localDisk: f.Features().IsLocal}, nil
}

// redactRemote replaces remote, and every option value in it, in msg.
func redactRemote(msg, remote string) string {
	msg = strings.ReplaceAll(msg, remote, "<--remote>")
	head, _, _ := strings.Cut(strings.TrimPrefix(remote, ":"), ":")
	for _, kv := range strings.Split(head, ",")[1:] {
		if _, v, ok := strings.Cut(kv, "="); ok && len(v) > 3 {
			msg = strings.ReplaceAll(msg, strings.Trim(v, `'"`), "***")
		}
	}
	return msg
}
