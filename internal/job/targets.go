package job

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/target"
)

// TargetTimeout bounds how long the targets may take to open, together,
// and then to answer push's write-once check.
var TargetTimeout = 2 * time.Minute

// testTargetTimeoutEnv shortens TargetTimeout in tests, so a server that
// never answers can be tested in seconds.
const testTargetTimeoutEnv = "PGARCHIVE_TEST_TARGET_TIMEOUT"

func init() {
	if d, err := time.ParseDuration(os.Getenv(testTargetTimeoutEnv)); err == nil && d > 0 {
		TargetTimeout = d
	}
}

// Targets is the outcome of opening a config's targets.
type Targets struct {
	Open   []*target.Target       // opened, in config order
	Failed []archive.TargetResult // could not be opened, and why
}

// Close releases every opened target's connections; errors are logged,
// since nothing a command still has to do depends on them.
func (ts *Targets) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, t := range ts.Open {
		if err := t.Close(ctx); err != nil {
			logger().Debug("close target", "target", t.Name, "error", err.Error())
		}
	}
}

// OpenTargets opens every target (or just the one named only) at once; a
// target that cannot be opened (its server is down, say) is reported, not
// fatal. A target that stalls holds up the others for TargetTimeout at most,
// and not at all once ctx ends (SIGTERM, the unit's timeout): the ones
// still opening then are reported as failed and left behind, since some
// handshakes (SSH) watch neither ctx nor deadlines.
func OpenTargets(ctx context.Context, cfg *config.Config, only string) *Targets {
	type opened struct {
		t   *target.Target
		err error
	}
	var names []string
	var results []chan opened
	for _, name := range cfg.TargetNames() {
		if only != "" && name != only {
			continue
		}
		ch := make(chan opened, 1)
		go func(name string) {
			var t *target.Target
			var err error
			if tc := cfg.Targets[name]; tc.CommandLine {
				t, err = target.OpenCommandLine(ctx, name, tc.Remote, cfg.Rclone.ConfigFile)
			} else {
				t, err = target.Open(ctx, name, tc, cfg.Rclone)
			}
			ch <- opened{t, err}
		}(name)
		names = append(names, name)
		results = append(results, ch)
	}
	ts := &Targets{}
	deadline := time.NewTimer(TargetTimeout)
	defer deadline.Stop()
	expired := false
	for i, name := range names {
		var r opened
		if expired {
			select {
			case r = <-results[i]:
			default:
				r.err = fmt.Errorf("target %q: no answer within %s", name, TargetTimeout)
			}
		} else {
			select {
			case r = <-results[i]:
			case <-ctx.Done():
				r.err = fmt.Errorf("target %q: not opened: %w", name, ctx.Err())
			case <-deadline.C:
				expired = true
				r.err = fmt.Errorf("target %q: no answer within %s", name, TargetTimeout)
			}
		}
		if r.err != nil {
			ts.Failed = append(ts.Failed, archive.TargetResult{Target: name, Err: r.err})
			continue
		}
		ts.Open = append(ts.Open, r.t)
	}
	return ts
}
