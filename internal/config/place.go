package config

import (
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
)

// checkPlaces refuses two targets that write to the same place: list and
// status would count one copy as two, and prune would delete from it twice.
func (c *Config) checkPlaces() error {
	seen := map[string]string{} // place -> first target name
	for _, name := range c.TargetNames() {
		t := c.Targets[name]
		where, shown := t.place()
		if where == "" {
			continue
		}
		first, dup := seen[where]
		if !dup {
			seen[where] = name
			continue
		}
		key, firstKey := placeKey(name, t), placeKey(first, c.Targets[first])
		if shown != "" {
			return errorf(key, "the same place as %s (both are %q): one copy would be counted as two", firstKey, shown)
		}
		return errorf(key, "the same place as %s: one copy would be counted as two", firstKey)
	}
	return nil
}

// placeKey is the key that says where a target writes.
func placeKey(name string, t Target) string {
	if t.Remote != "" {
		return "targets." + name + ".remote"
	}
	return "targets." + name + ".path"
}

// place returns where t writes, in a form two targets compare by, and
// for a local target the resolved path to show. where is "" when the
// place cannot be told from the config alone (crypt, union and alias
// wrap other remotes).
func (t Target) place() (where, shown string) {
	if t.Remote != "" {
		name, p, _ := strings.Cut(t.Remote, ":")
		if sub := strings.Trim(t.Path, "/"); sub != "" {
			if p != "" && !strings.HasSuffix(p, "/") {
				p += "/"
			}
			p += sub
		}
		return "remote\x00" + name + "\x00" + path.Clean(p), ""
	}
	opts, err := t.StringOptions()
	if err != nil {
		return "", ""
	}
	// A value kept in a secret file is compared by the file's path: the
	// same file means the same value, which is all that can be known here.
	opt := func(k string) string {
		if f, ok := t.SecretFiles[k]; ok {
			return "file:" + f
		}
		return opts[k]
	}
	switch t.Type {
	case "local":
		p := resolvePath(filepath.Clean(t.Path))
		return "local\x00" + p, p
	case "s3", "b2", "gcs", "google cloud storage", "azureblob":
		typ := t.Type
		if typ == "google cloud storage" {
			typ = "gcs"
		}
		// rclone puts https:// in front of an endpoint without a scheme.
		endpoint := strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(opt("endpoint")), "https://"), "/")
		return strings.Join([]string{typ, endpoint, opt("account"), cleanSlashes(t.Path)}, "\x00"), ""
	case "sftp":
		port := opt("port")
		if port == "" {
			port = "22"
		}
		return strings.Join([]string{"sftp", strings.ToLower(opt("host")), port, opt("user"), path.Clean(t.Path)}, "\x00"), ""
	case "webdav":
		return strings.Join([]string{"webdav", strings.TrimSuffix(opt("url"), "/"), cleanSlashes(t.Path)}, "\x00"), ""
	}
	return "", ""
}

// cleanSlashes makes "bucket/dir/", "/bucket//dir" and "bucket/dir" alike.
func cleanSlashes(p string) string {
	return strings.Trim(path.Clean("/"+p), "/")
}

// resolvePath follows symlinks in the longest part of p that exists, so
// two paths reaching one directory through a link compare equal even
// before the directory below them is created.
func resolvePath(p string) string {
	var rest []string
	for dir := p; ; dir = filepath.Dir(dir) {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return p
		}
		if dir == filepath.Dir(dir) {
			return p
		}
		rest = append([]string{filepath.Base(dir)}, rest...)
	}
}
