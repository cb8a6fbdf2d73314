package job

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pgarchive/pgarchive/internal/config"
)

func TestJobOutcomes(t *testing.T) {
	cfg := &config.Config{Host: "db1", Targets: map[string]config.Target{"a": {}, "b": {}}}
	run := &Run{ctx: context.Background(), cfg: cfg, job: "drill", database: "forge"}
	boom := errors.New("boom")
	tests := []struct {
		name string
		rep  Report
		want string // target:failed per target
	}{
		{"failed before any target", Report{Err: boom}, "a:true b:true"},
		{"nothing to do, fine", Report{}, "a:false b:false"},
		{"one target failed", Report{Err: boom, Targets: []TargetReport{{Target: "a"}, {Target: "b", Err: boom, Failed: 1}}}, "a:false b:true"},
		{"job failed though targets say fine", Report{Err: boom, Targets: []TargetReport{{Target: "a", Bytes: 5}}}, "a:true"},
		{"verify found bad archives", Report{Targets: []TargetReport{{Target: "a", Failed: 2}}}, "a:true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, o := range run.outcomes(tt.rep) {
				got = append(got, o.Target+":"+map[bool]string{true: "true", false: "false"}[o.Err != nil || o.Failed > 0])
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("got %q, want %q", strings.Join(got, " "), tt.want)
			}
		})
	}
}

func TestJobSummary(t *testing.T) {
	cfg := &config.Config{Host: "db1", Targets: map[string]config.Target{"a": {}, "b": {}}}
	run := &Run{ctx: context.Background(), cfg: cfg, job: "prune", database: "forge"}
	rep := Report{Err: errors.New("prune forge: 1 of 2 targets failed"), Targets: []TargetReport{
		{Target: "a", Kept: 7, Deleted: 2},
		{Target: "b", Err: errors.New("connection refused"), Failed: 1},
	}}
	got := run.summary(rep, run.outcomes(rep), false, 0)
	want := "pgarchive prune forge on db1: FAILED in 0s\nerror: prune forge: 1 of 2 targets failed\na: kept 7, deleted 2\nb: kept 0, deleted 0; failed: connection refused\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
