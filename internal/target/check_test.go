package target

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rclone/rclone/fs"

	"github.com/pgarchive/pgarchive/internal/config"
)

func TestSupported(t *testing.T) {
	got := Supported()
	want := []string{"alias", "azureblob", "b2", "crypt", "gcs", "local", "s3", "sftp", "union", "webdav"}
	if !slices.Equal(got, want) {
		t.Errorf("Supported() = %q, want %q", got, want)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		target  config.Target
		wantKey string // "" means no error
		wantErr string // the whole message, when set
	}{
		{
			name:   "sftp ok",
			target: config.Target{Type: "sftp", Path: "backups/pg", Options: map[string]any{"host": "nas", "user": "pg", "port": int64(2222)}, SecretFiles: map[string]string{"key_file": "/run/credentials/key"}},
		},
		{
			name:   "s3 ok",
			target: config.Target{Type: "s3", Path: "bucket/pg", Options: map[string]any{"provider": "Minio", "endpoint": "http://127.0.0.1:9000", "env_auth": false}, SecretFiles: map[string]string{"access_key_id": "/run/a", "secret_access_key": "/run/s"}},
		},
		{
			name:   "gcs by prefix",
			target: config.Target{Type: "gcs", Path: "bucket", Options: map[string]any{"bucket_policy_only": true}},
		},
		{
			name:   "gcs as rclone.conf spells it",
			target: config.Target{Type: "google cloud storage", Path: "bucket"},
		},
		{
			name:   "remote ok",
			target: config.Target{Remote: "offsite:pg"},
		},
		{
			name:    "unknown backend",
			target:  config.Target{Type: "sftpp"},
			wantKey: "targets.nas.type",
			wantErr: `config: targets.nas.type: unknown backend "sftpp" (supported: alias, azureblob, b2, crypt, gcs, local, s3, sftp, union, webdav)`,
		},
		{
			name:    "backend not compiled in",
			target:  config.Target{Type: "drive"},
			wantKey: "targets.nas.type",
		},
		{
			name:    "unknown option",
			target:  config.Target{Type: "sftp", Options: map[string]any{"host": "nas", "hostt": "nas"}},
			wantKey: "targets.nas.options.hostt",
			wantErr: `config: targets.nas.options.hostt: unknown option for backend "sftp"`,
		},
		{
			name:    "option spelt as a flag",
			target:  config.Target{Type: "sftp", Options: map[string]any{"key-file": "/k"}},
			wantKey: "targets.nas.options.key-file",
		},
		{
			name:    "option of another backend",
			target:  config.Target{Type: "s3", Options: map[string]any{"host": "nas"}},
			wantKey: "targets.nas.options.host",
			wantErr: `config: targets.nas.options.host: unknown option for backend "s3"`,
		},
		{
			name:    "unknown secret_files key",
			target:  config.Target{Type: "sftp", SecretFiles: map[string]string{"password": "/run/p"}},
			wantKey: "targets.nas.secret_files.password",
			wantErr: `config: targets.nas.secret_files.password: unknown option for backend "sftp"`,
		},
		{
			// config.Validate says "also set in options" first; alone,
			// Check refuses the inline secret.
			name:    "secret also inline",
			target:  config.Target{Type: "sftp", Options: map[string]any{"pass": "x"}, SecretFiles: map[string]string{"pass": "/run/p"}},
			wantKey: "targets.nas.options.pass",
		},
		{
			name:    "inline secret",
			target:  config.Target{Type: "s3", Path: "b", Options: map[string]any{"provider": "AWS", "secret_access_key": "hunter2"}},
			wantKey: "targets.nas.options.secret_access_key",
			wantErr: `config: targets.nas.options.secret_access_key: is a secret: put it in secret_files, not inline`,
		},
		{
			name:   "empty inline secret is no secret",
			target: config.Target{Type: "sftp", Options: map[string]any{"host": "nas", "pass": ""}},
		},
		{
			name:    "s3 without a bucket",
			target:  config.Target{Type: "s3", Path: "/", Options: map[string]any{"provider": "AWS"}},
			wantKey: "targets.nas.path",
		},
		{
			name:    "s3 without an endpoint",
			target:  config.Target{Type: "s3", Path: "bucket", Options: map[string]any{"provider": "Minio", "endpoint": ""}},
			wantKey: "targets.nas.options.endpoint",
		},
		{
			name:   "s3 on AWS",
			target: config.Target{Type: "s3", Path: "bucket", Options: map[string]any{"provider": "AWS", "region": "eu-west-1", "access_key_id": "AKIAEXAMPLE"}},
		},
		{
			name:   "s3 endpoint in a file",
			target: config.Target{Type: "s3", Path: "bucket", Options: map[string]any{"provider": "Other"}, SecretFiles: map[string]string{"endpoint": "/run/endpoint"}},
		},
		{
			name:    "gcs without a bucket",
			target:  config.Target{Type: "google cloud storage"},
			wantKey: "targets.nas.path",
		},
		{
			name:    "value of the wrong type",
			target:  config.Target{Type: "sftp", Options: map[string]any{"port": "ssh"}},
			wantKey: "targets.nas.options.port",
		},
		{
			name:    "bad size",
			target:  config.Target{Type: "s3", Options: map[string]any{"chunk_size": "lots"}},
			wantKey: "targets.nas.options.chunk_size",
		},
		{
			name:    "neither type nor remote",
			target:  config.Target{Path: "x"},
			wantKey: "targets.nas",
		},
		{
			name:    "remote without colon",
			target:  config.Target{Remote: "offsite"},
			wantKey: "targets.nas.remote",
		},
		{
			name:    "on-the-fly remote",
			target:  config.Target{Remote: ":sftp:backups"},
			wantKey: "targets.nas.remote",
		},
		{
			name:    "connection string remote",
			target:  config.Target{Remote: "offsite,pass=hunter2:backups"},
			wantKey: "targets.nas.remote",
			wantErr: `config: targets.nas.remote: carries options in the remote name: set them in rclone.conf`,
		},
		{
			name:    "connection string on-the-fly remote",
			target:  config.Target{Remote: ":sftp,pass=hunter2:backups"},
			wantKey: "targets.nas.remote",
			wantErr: `config: targets.nas.remote: carries options in the remote name: set them in rclone.conf`,
		},
		{
			name:    "malformed connection string remote",
			target:  config.Target{Remote: "offsite,pass='hunter2:backups"},
			wantKey: "targets.nas.remote",
		},
		{
			name:    "remote with options",
			target:  config.Target{Remote: "offsite:", Options: map[string]any{"host": "x"}},
			wantKey: "targets.nas",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check("nas", tt.target)
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Check = %v (%T), want a *config.Error", err, err)
			}
			if ce.Key != tt.wantKey {
				t.Errorf("key = %q, want %q (error: %v)", ce.Key, tt.wantKey, err)
			}
			if tt.wantErr != "" && err.Error() != tt.wantErr {
				t.Errorf("error = %q\nwant    %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
}

// TestSensitiveOptions walks every option of every backend compiled in:
// what rclone treats as a password, or as sensitive and not a mere name,
// is refused inline; names stay allowed, so an ordinary sftp target needs
// no file for its host and user.
func TestSensitiveOptions(t *testing.T) {
	refused := map[string]bool{}
	for _, typ := range Supported() {
		ri, err := fs.Find(typ)
		if err != nil {
			t.Fatal(err)
		}
		for _, opt := range ri.Options {
			if !opt.Sensitive && !opt.IsPassword {
				continue
			}
			target := config.Target{Type: typ, Path: "bucket", Options: map[string]any{opt.Name: "x"}}
			if typ == "s3" {
				target.Options["provider"] = "AWS"
			}
			err := Check("t", target)
			var ce *config.Error
			gotRefused := errors.As(err, &ce) && ce.Key == "targets.t.options."+opt.Name && strings.Contains(err.Error(), "secret_files")
			if gotRefused == identifiers[opt.Name] && !opt.IsPassword {
				t.Errorf("%s option %s: refused = %v, identifier = %v (err: %v)", typ, opt.Name, gotRefused, identifiers[opt.Name], err)
			}
			if opt.IsPassword && !gotRefused {
				t.Errorf("%s option %s is a password and was accepted inline (err: %v)", typ, opt.Name, err)
			}
			if gotRefused {
				refused[typ+"."+opt.Name] = true
			}
		}
	}
	for _, want := range []string{"s3.secret_access_key", "s3.session_token", "sftp.pass", "sftp.key_pem", "sftp.key_file_pass", "webdav.pass", "webdav.bearer_token", "b2.key", "azureblob.key", "azureblob.sas_url", "gcs.service_account_credentials", "crypt.password"} {
		if !refused[want] {
			t.Errorf("%s is accepted inline", want)
		}
	}
	for _, allowed := range []string{"host", "user"} {
		if err := Check("nas", config.Target{Type: "sftp", Options: map[string]any{allowed: "x"}}); err != nil {
			t.Errorf("sftp %s inline: %v", allowed, err)
		}
	}
}
