package target

// The rclone backends pgarchive can write to. They are imported one by one,
// not through backend/all, so the binary carries only what a backup target
// needs: local, s3 (AWS, MinIO, Garage, R2, Wasabi, ...), b2, sftp, webdav,
// azureblob and googlecloudstorage. union, alias and crypt are here so that an
// existing rclone.conf built from them (a union of two buckets, an alias to a
// path) keeps working as a remote target. Adding a backend means adding its
// import here; Supported, Check and the NixOS module's documentation follow.
import (
	_ "github.com/rclone/rclone/backend/alias"
	_ "github.com/rclone/rclone/backend/azureblob"
	_ "github.com/rclone/rclone/backend/b2"
	_ "github.com/rclone/rclone/backend/crypt"
	_ "github.com/rclone/rclone/backend/googlecloudstorage"
	_ "github.com/rclone/rclone/backend/local"
	_ "github.com/rclone/rclone/backend/s3"
	_ "github.com/rclone/rclone/backend/sftp"
	_ "github.com/rclone/rclone/backend/union"
	_ "github.com/rclone/rclone/backend/webdav"
)
