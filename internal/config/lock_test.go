package config

import (
	"strings"
	"testing"
)

func TestObjectLock(t *testing.T) {
	const head = "host = \"db1\"\n[encryption]\nrecipients = [\"age1example\"]\n"
	s3 := func(provider, lock string) string {
		return head + "[targets.vault]\ntype = \"s3\"\npath = \"b/pg\"\noptions = { provider = " + provider +
			", endpoint = \"http://127.0.0.1:9000\" }\nobject_lock = " + lock + "\n"
	}
	for _, tt := range []struct {
		name, src, want string // want "" parses
	}{
		{"governance", s3(`"Minio"`, `{ mode = "GOVERNANCE", days = 1 }`), ""},
		{"compliance", s3(`"AWS"`, `{ mode = "COMPLIANCE", days = 400 }`), ""},
		{"lower case mode", s3(`"Minio"`, `{ mode = "governance", days = 1 }`), `object_lock.mode: "governance" must be written in capitals`},
		{"no mode", s3(`"Minio"`, `{ days = 1 }`), "object_lock.mode: is not set"},
		{"zero days", s3(`"Minio"`, `{ mode = "GOVERNANCE" }`), "object_lock.days: is 0"},
		{"negative days", s3(`"Minio"`, `{ mode = "GOVERNANCE", days = -3 }`), "object_lock.days: is -3"},
		{"unknown key", s3(`"Minio"`, `{ mode = "GOVERNANCE", days = 1, years = 1 }`), "years"},
		{"r2", s3(`"Cloudflare"`, `{ mode = "GOVERNANCE", days = 1 }`), `provider "Cloudflare" has no S3 object lock`},
		{"sftp", head + "[targets.nas]\ntype = \"sftp\"\npath = \"x\"\noptions = { host = \"nas\" }\nobject_lock = { mode = \"GOVERNANCE\", days = 1 }\n", `backend "sftp" has no object lock`},
		{"remote", head + "[rclone]\nconfig_file = \"/r.conf\"\n[targets.r]\nremote = \"x:y\"\nobject_lock = { mode = \"GOVERNANCE\", days = 1 }\n", "targets.r.object_lock: needs a target of type \"s3\""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.src))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want == "":
				if l := c.Targets["vault"].ObjectLock; l == nil || l.Days < 1 {
					t.Errorf("object_lock = %+v", l)
				}
			case err == nil || !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
