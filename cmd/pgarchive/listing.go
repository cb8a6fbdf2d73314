package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"filippo.io/age"
	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/config"
	"github.com/pgarchive/pgarchive/internal/crypt"
	"github.com/pgarchive/pgarchive/internal/job"
	"github.com/pgarchive/pgarchive/internal/target"
)

// targetListing is what one target holds of a host's archives, or why it
// could not be read. prune, verify and drill all start from these.
type targetListing struct {
	name    string
	target  *target.Target // nil when the target could not be opened
	entries []archive.Entry
	err     error // opening or listing failed: entries is empty, not partial
}

// listTargets lists host's archives of database ("" for every database)
// on each target (or only the one named), in config order. The caller
// closes the targets once done with the listings.
func listTargets(ctx context.Context, cfg *config.Config, only, host, database string) ([]targetListing, *job.Targets) {
	ts := job.OpenTargets(ctx, cfg, only)
	var out []targetListing
	for _, f := range ts.Failed {
		out = append(out, targetListing{name: f.Target, err: fmt.Errorf("target %s: %w", f.Target, f.Err)})
	}
	for _, t := range ts.Open {
		entries, err := archive.List(ctx, t, host, database)
		out = append(out, targetListing{name: t.Name, target: t, entries: entries, err: err})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name }) // TargetNames order
	return out, ts
}

// databasesIn returns the databases with archives in the listings, sorted;
// with want set, just want. When nothing is found it returns one "": the
// run is still reported to observers (as database ""), so a dead-man check
// hears of a run on a fresh host, or of one whose targets all failed.
// A database of which only manifests without objects remain is left out:
// there is nothing of it to prune or drill.
func databasesIn(ls []targetListing, want string) []string {
	return databaseNames(ls, want, false)
}

// databaseNames is databasesIn, counting Missing entries too when
// withMissing is set.
func databaseNames(ls []targetListing, want string, withMissing bool) []string {
	if want != "" {
		return []string{want}
	}
	seen := map[string]bool{}
	var out []string
	for _, l := range ls {
		for _, e := range l.entries {
			if (withMissing || !e.Missing) && !seen[e.Name.Database] {
				seen[e.Name.Database] = true
				out = append(out, e.Name.Database)
			}
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return []string{""}
	}
	return out
}

// entriesOf returns l's archives of database db: objects, complete or not.
// Manifests whose object is gone are left out (see missingOf), so that
// retention and drill go on seeing only what exists.
func (l targetListing) entriesOf(db string) []archive.Entry {
	var out []archive.Entry
	for _, e := range l.entries {
		if e.Name.Database == db && !e.Missing {
			out = append(out, e)
		}
	}
	return out
}

// missingOf returns l's manifests of database db whose object is gone.
func (l targetListing) missingOf(db string) []archive.Entry {
	var out []archive.Entry
	for _, e := range l.entries {
		if e.Name.Database == db && e.Missing {
			out = append(out, e)
		}
	}
	return out
}

// inFuture counts the complete archives stamped in the future at now
// (archive.Entry.InFuture), copies on several targets once, and returns
// the newest of them.
func inFuture(entries []archive.Entry, now time.Time) (n int, newest archive.Entry) {
	seen := map[string]bool{}
	for _, e := range entries {
		if !e.Complete || !e.InFuture(now) || seen[e.Name.Object()] {
			continue
		}
		seen[e.Name.Object()] = true
		if n == 0 || e.Name.Time.After(newest.Name.Time) {
			newest = e
		}
		n++
	}
	return n, newest
}

// resolveHost is --host, else the config's host.
func resolveHost(cfg *config.Config, flag string) string {
	if flag != "" {
		return flag
	}
	return cfg.Host
}

// checkSelection validates --target and --database.
func checkSelection(cfg *config.Config, targetName, database string) error {
	if err := selectTarget(cfg, targetName); err != nil {
		return err
	}
	if database != "" {
		if err := archive.CheckDatabaseName(database); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// drillIdentities loads the key verify and drill decrypt with: the
// --identity or --passphrase-file flags, else [drill] identity_file or
// passphrase_file. ok is false when none is given anywhere.
func drillIdentities(cfg *config.Config, identityFlag, passphraseFlag string) (ids []age.Identity, ok bool, err error) {
	switch {
	case identityFlag != "" || passphraseFlag != "":
		ids, err = crypt.LoadIdentities(identityFlag, passphraseFlag)
		if err != nil {
			return nil, false, usageError{err}
		}
	case cfg.Drill.IdentityFile != "":
		ids, err = crypt.LoadIdentities(cfg.Drill.IdentityFile, "")
		if err != nil {
			return nil, false, &config.Error{Key: "drill.identity_file", Msg: err.Error()}
		}
	case cfg.Drill.PassphraseFile != "":
		ids, err = crypt.LoadIdentities("", cfg.Drill.PassphraseFile)
		if err != nil {
			return nil, false, &config.Error{Key: "drill.passphrase_file", Msg: err.Error()}
		}
	default:
		return nil, false, nil
	}
	return ids, true, nil
}

// selectionFlags are the --database, --target and --host flags of the
// commands that work on every database found unless told otherwise.
func selectionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "database", Aliases: []string{"d"}, Usage: "only this database `NAME` (default: every database found)"},
		&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "only archives on this target `NAME`"},
		&cli.StringFlag{Name: "host", Usage: "archives of this `HOST` (default: the config's host)"},
	}
}

// loadConfigAndClock is loadConfig plus the clock the job runs by.
func loadConfigAndClock(c *cli.Context) (*config.Config, time.Time, error) {
	cfg, err := loadConfig(c)
	if err != nil {
		return nil, time.Time{}, err
	}
	now, err := clockNow()
	return cfg, now, err
}
