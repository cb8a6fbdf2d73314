package tests

import (
	"strings"
	"testing"
)

// One grammar: global flags after the command, help topics, suggestions on
// typos, EXIT STATUS at the end of every help, a missing config explained.
func TestCommandLineGrammar(t *testing.T) {
	cfg := configFile(t, t.TempDir(), "gzip", ageRecipients(recipientOf(t)), localTarget("local", t.TempDir()))

	t.Run("global flags after the command", func(t *testing.T) {
		r := mustRun(t, nil, "check-config", "--config", cfg, "--verbose")
		if !strings.HasPrefix(r.stdout, "config ok:") {
			t.Errorf("check-config --config after the command: %s", r)
		}
		r = mustRun(t, []string{"PGARCHIVE_CONFIG=/nonexistent"}, "check-config", "--config", cfg)
		if !strings.HasPrefix(r.stdout, "config ok:") {
			t.Errorf("--config after the command must win over PGARCHIVE_CONFIG: %s", r)
		}
		mustRun(t, []string{"PGARCHIVE_CONFIG=" + cfg}, "check-config")
		mustRun(t, nil, "--config", cfg, "check-config")
	})

	t.Run("help topics", func(t *testing.T) {
		for _, args := range [][]string{{"help", "restore"}, {"restore", "--help"}} {
			r := mustRun(t, nil, args...)
			if !strings.Contains(r.stdout, "pgarchive restore --database NAME (--identity FILE | --passphrase-file FILE) (--output PATH | --into DBNAME) [options]") {
				t.Errorf("%v: USAGE does not show the required flags:\n%s", args, r.stdout)
			}
		}
	})

	t.Run("exit status ends every help", func(t *testing.T) {
		for _, args := range [][]string{{"--help"}, {"push", "--help"}, {"list", "--help"}, {"restore", "--help"}, {"check-config", "--help"}} {
			out := mustRun(t, nil, args...).stdout
			exit := strings.LastIndex(out, "EXIT STATUS")
			if exit < 0 || exit < strings.LastIndex(out, "OPTIONS:") {
				t.Errorf("%v: EXIT STATUS is not after OPTIONS:\n%s", args, out)
			}
			if strings.Count(out, "EXIT STATUS") != 1 {
				t.Errorf("%v: EXIT STATUS appears %d times", args, strings.Count(out, "EXIT STATUS"))
			}
		}
	})

	t.Run("typos", func(t *testing.T) {
		cases := []struct {
			args []string
			want []string
		}{
			{[]string{"restor"}, []string{`unknown command "restor"`, `"restore"`}},
			{[]string{"list", "--dtabase", "x"}, []string{"unknown flag --dtabase", "--database"}},
			{[]string{"--confg", cfg, "list"}, []string{"unknown flag --confg", "--config"}},
		}
		for _, c := range cases {
			r := pgarchive(t, nil, c.args...)
			if r.code != 2 {
				t.Errorf("%v: exit %d, want 2: %s", c.args, r.code, r)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("%v: stderr lacks %q: %s", c.args, w, r)
				}
			}
		}
	})

	t.Run("default config path", func(t *testing.T) {
		r := pgarchive(t, []string{"PGARCHIVE_CONFIG="}, "check-config")
		if r.code != 2 || !strings.Contains(r.stderr, `"/etc/pgarchive/config.toml"`) {
			t.Errorf("without --config or PGARCHIVE_CONFIG the default path must be read: %s", r)
		}
	})

	t.Run("missing config", func(t *testing.T) {
		r := pgarchive(t, nil, "list", "--config", "/nonexistent/pgarchive.toml")
		if r.code != 2 || !strings.Contains(r.stderr, `no config file at "/nonexistent/pgarchive.toml"`) ||
			!strings.Contains(r.stderr, "--config FILE or PGARCHIVE_CONFIG") {
			t.Errorf("missing config: %s", r)
		}
	})
}
