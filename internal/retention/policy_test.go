package retention

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name    string
		policy  Policy
		wantErr string // substring; empty for no error
		empty   bool   // the error is ErrEmptyPolicy
	}{
		{name: "gfs", policy: Policy{Daily: 7, Weekly: 4, Monthly: 6}},
		{name: "daily and weekly", policy: Policy{Daily: 14, Weekly: 8}},
		{name: "keep last only", policy: Policy{KeepLast: 1}},
		{name: "yearly only", policy: Policy{Yearly: 1}},
		{name: "all zero", policy: Policy{}, wantErr: "would delete all but the newest complete archive", empty: true},
		{name: "negative daily", policy: Policy{Daily: -1, Weekly: 4}, wantErr: "retention daily is -1, must be zero or more"},
		{name: "negative keep_last", policy: Policy{KeepLast: -3}, wantErr: "retention keep_last is -3"},
		{name: "every negative named", policy: Policy{Hourly: -1, Yearly: -2}, wantErr: "retention hourly is -1, must be zero or more\nretention yearly is -2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.policy.Validate()
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, c.wantErr)
			}
			if got := errors.Is(err, ErrEmptyPolicy); got != c.empty {
				t.Errorf("errors.Is(err, ErrEmptyPolicy) = %v, want %v", got, c.empty)
			}
		})
	}
}
