// Package rcloneenv stops rclone from creating ~/.config/rclone when it is
// imported.
//
// rclone's fs/config package looks for a config file in its package init and,
// finding none, creates the directory for one in the home directory of
// whoever runs the program (the postgres user, under systemd), unless
// RCLONE_CONFIG is set. This package sets that variable before fs/config
// initialises, and package target removes it again once rclone is loaded, so
// child processes (psql, pg_restore, a test's rclone binary) never see it.
//
// The order is guaranteed by the Go specification: packages are initialised
// in import-path order among those whose imports are ready, this package
// imports only "os", and its path sorts before github.com/rclone/....
package rcloneenv

import "os"

// Set reports whether this package set RCLONE_CONFIG (it leaves a value the
// environment already had alone).
var Set bool

func init() {
	if _, ok := os.LookupEnv("RCLONE_CONFIG"); ok {
		return
	}
	if os.Setenv("RCLONE_CONFIG", os.DevNull) == nil {
		Set = true
	}
}
