//go:build !pgarchive_testhooks

package crypt

// workFactorForTests is set by this package's own tests only (_test.go files
// never reach a binary): production builds always use age's own scrypt work
// factor, whatever the environment says.
var workFactorForTests int

func testWorkFactor() int { return workFactorForTests }
