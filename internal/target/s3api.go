package target

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3API speaks the S3 API to an s3 target's bucket for what rclone does
// not offer: reading and extending object locks, and listing versions and
// delete markers with their dates.
type s3API struct {
	c      *s3.Client
	bucket string
	prefix string // "dir/" below the bucket, or ""
}

// key is the bucket key of a path relative to the target's root.
func (a *s3API) key(path string) string { return a.prefix + path }

// newS3API builds a client from the same options rclone was given (secrets
// already read): endpoint, region, keys or env_auth, path style. root is
// the target's path, "bucket/dir".
func newS3API(ctx context.Context, opts map[string]string, root string) (*s3API, error) {
	bucket, dir, _ := strings.Cut(strings.Trim(root, "/"), "/")
	a := &s3API{bucket: bucket}
	if dir != "" {
		a.prefix = dir + "/"
	}
	region := opts["region"]
	if region == "" {
		region = "us-east-1" // rclone's default: v4 signatures need one
	}
	var cfg aws.Config
	if b, _ := strconv.ParseBool(opts["env_auth"]); b && opts["access_key_id"] == "" {
		var err error
		if cfg, err = awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region)); err != nil {
			return nil, err
		}
	} else {
		cfg = aws.Config{
			Region:      region,
			Credentials: credentials.NewStaticCredentialsProvider(opts["access_key_id"], opts["secret_access_key"], opts["session_token"]),
		}
	}
	// The same patience as rclone's own requests (libraryContext).
	cfg.HTTPClient = &http.Client{Timeout: time.Minute}
	cfg.RetryMaxAttempts = 3
	pathStyle := true // rclone's default, except on AWS itself
	if v, ok := opts["force_path_style"]; ok {
		pathStyle, _ = strconv.ParseBool(v)
	} else if opts["provider"] == "AWS" {
		pathStyle = false
	}
	a.c = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if ep := opts["endpoint"]; ep != "" {
			if !strings.Contains(ep, "://") {
				ep = "https://" + ep
			}
			o.BaseEndpoint = aws.String(ep)
		}
		o.UsePathStyle = pathStyle
	})
	return a, nil
}
