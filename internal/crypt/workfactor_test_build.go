//go:build pgarchive_testhooks

package crypt

import (
	"os"
	"strconv"
)

// ScryptWorkFactorEnv lowers the scrypt work factor (log2 N) so passphrase
// tests stay fast: the default costs about a second per encryption and per
// decryption. Only a binary built with -tags pgarchive_testhooks (the test
// harness's) honours it; an environment variable that weakens encryption
// has no place in a production build.
const ScryptWorkFactorEnv = "PGARCHIVE_TEST_SCRYPT_WORK_FACTOR"

// workFactorForTests is set by this package's own tests.
var workFactorForTests int

func testWorkFactor() int {
	if workFactorForTests > 0 {
		return workFactorForTests
	}
	n, err := strconv.Atoi(os.Getenv(ScryptWorkFactorEnv))
	if err != nil || n < 1 || n > 30 {
		return 0
	}
	return n
}
