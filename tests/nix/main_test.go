package nixeval

import (
	"testing"

	"github.com/pgarchive/pgarchive/tests/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
