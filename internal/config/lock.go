package config

import (
	"strings"
)

// ObjectLock is a target's object_lock table: every object pgarchive
// writes there is locked (S3 Object Lock) in Mode for at least Days days,
// and prune extends the lock of the archives it keeps for longer.
type ObjectLock struct {
	// Mode is "GOVERNANCE" (a key with s3:BypassGovernanceRetention may
	// still delete) or "COMPLIANCE" (nobody may, not even the account's
	// root, until the date passes).
	Mode string `toml:"mode"`
	// Days is the shortest lock, counted from the push: the horizon of the
	// shortest retention tier. At least 1.
	Days int `toml:"days"`
}

// LockModes are the object lock modes S3 knows.
var LockModes = []string{"GOVERNANCE", "COMPLIANCE"}

// lockOptions are the rclone s3 options object_lock sets itself; setting
// them as well would make two sources of one lock.
var lockOptions = []string{"object_lock_mode", "object_lock_retain_until_date", "object_lock_set_after_upload"}

// noObjectLock names the s3 providers (rclone's provider option) whose S3
// API takes no per-object retention, and what to do there instead.
var noObjectLock = map[string]string{
	"Cloudflare": "R2 locks by bucket rules (bucket lock rules by prefix and age); set one there and leave object_lock out",
	"GCS":        "use a bucket retention policy on the bucket and leave object_lock out",
	"Neon":       "rclone marks its object lock as not enforced",
	"Autonomys":  "it locks everything in COMPLIANCE mode itself",
}

// validateLock checks a target's object_lock: only s3 type targets have a
// lock pgarchive can set and read back (rclone.conf remotes hide their
// backend), and a lock under a day protects nothing a stolen host cannot
// wait out.
func (t Target) validateLock(key string) error {
	l := t.ObjectLock
	if l == nil {
		return nil
	}
	key += ".object_lock"
	switch {
	case t.Remote != "":
		return errorf(key, "needs a target of type \"s3\": a remote from rclone.conf cannot be checked for object lock")
	case t.Type != "s3":
		return errorf(key, "backend %q has no object lock: only type \"s3\" targets can lock objects", t.Type)
	}
	switch strings.ToUpper(l.Mode) {
	case "GOVERNANCE", "COMPLIANCE":
		if l.Mode != strings.ToUpper(l.Mode) {
			return errorf(key+".mode", "%q must be written in capitals: %q", l.Mode, strings.ToUpper(l.Mode))
		}
	case "":
		return errorf(key+".mode", "is not set: \"GOVERNANCE\" or \"COMPLIANCE\"")
	default:
		return errorf(key+".mode", "%q is not \"GOVERNANCE\" or \"COMPLIANCE\"", l.Mode)
	}
	if p, _ := optionString(t.Options["provider"]); noObjectLock[p] != "" {
		return errorf(key, "provider %q has no S3 object lock pgarchive can set per object: %s", p, noObjectLock[p])
	}
	if v, _ := optionString(t.Options["object_lock_supported"]); v == "false" {
		return errorf(key, "options.object_lock_supported is false: the store has no object lock")
	}
	if l.Days < 1 {
		return errorf(key+".days", "is %d: a lock shorter than a day protects nothing, set 1 or more", l.Days)
	}
	for _, o := range lockOptions {
		if _, set := t.Options[o]; set {
			return errorf(key, "options.%s is set too: object_lock sets it, remove the option", o)
		}
	}
	return nil
}
