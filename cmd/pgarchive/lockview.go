package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgarchive/pgarchive/internal/archive"
	"github.com/pgarchive/pgarchive/internal/human"
	"github.com/pgarchive/pgarchive/internal/lock"
	"github.com/pgarchive/pgarchive/internal/status"
	"github.com/pgarchive/pgarchive/internal/target"
)

// What list, status and restore show of object lock (see package lock),
// kept here so that each command carries only the call.

// asOfFlag is --as-of for list and restore.
func asOfFlag() cli.Flag {
	return &cli.StringFlag{Name: "as-of", Usage: "read s3 targets as they were at `TIME` (forms as --at): archives deleted since are back, newer ones absent"}
}

// asOfContext is the command's context, reading s3 targets as of --as-of
// when given (target.WithAsOf).
func asOfContext(c *cli.Context) (context.Context, error) {
	s := c.String("as-of")
	if s == "" {
		return c.Context, nil
	}
	at, err := archive.ParseTime(s)
	if err != nil {
		return nil, usagef("--as-of: %v", err)
	}
	if at.After(time.Now()) {
		return nil, usagef("--as-of %q is in the future", s)
	}
	return target.WithAsOf(c.Context, at), nil
}

// lockRows gives the rows of target t their archives' locks, and adds a
// row (status "deleted") for each archive hidden there behind a delete
// marker. Not as of a time: then nothing is hidden.
func lockRows(ctx context.Context, t *target.Target, host, database string, entries []archive.Entry, rows []listRow) ([]listRow, error) {
	if !t.Locking() {
		return rows, nil
	}
	locks := lock.Of(ctx, t, entries)
	for i, r := range rows {
		if l, ok := locks[r.Object]; ok && r.Target == t.Name {
			rows[i].Lock = &l
		}
	}
	if _, asOf := target.AsOf(ctx); asOf {
		return rows, nil
	}
	hidden, err := lock.Hidden(ctx, t, host, database)
	if err != nil {
		return rows, err
	}
	for _, h := range hidden {
		r := listRow{archiveRef: refOf(t.Name, h.Name, h.Size), Status: "deleted", Deleted: &h.Deleted}
		if !h.Lock.IsZero() {
			l := h.Lock
			r.Lock = &l
		}
		if until := h.RecoverableUntil(); !until.IsZero() {
			r.RecoverableUntil = &until
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// deletedStatus is a deleted row's status in list's table.
func deletedStatus(r listRow) string {
	s := "deleted"
	if r.Deleted != nil {
		s += " " + human.Time(*r.Deleted)
	}
	if r.RecoverableUntil != nil {
		s += ", recoverable until " + human.Time(*r.RecoverableUntil)
	}
	return s
}

// lockStatus adds to rep what object lock tells on the targets that lock:
// the lock of each target's newest archive, and a warning (status exits
// 1) for each archive hidden behind a delete marker, which someone with
// the host's keys has deleted and which can still be brought back.
func lockStatus(ctx context.Context, rep *status.Report, targets []*target.Target, host string) {
	for _, t := range targets {
		if !t.Locking() {
			continue
		}
		for i := range rep.Databases {
			d := &rep.Databases[i]
			for j := range d.Targets {
				st := &d.Targets[j]
				if st.Target != t.Name || st.Object == "" {
					continue
				}
				if l, err := t.LockOf(ctx, st.Object); err == nil && !l.IsZero() {
					st.Lock = &l
				}
			}
		}
		hidden, err := lock.Hidden(ctx, t, host, "")
		if err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("target %s: deleted archives not looked for: %v", t.Name, err))
			continue
		}
		for _, h := range hidden {
			if !h.Manifest {
				// An object that never had a manifest is an upload that
				// failed and was removed: no archive was lost.
				continue
			}
			w := h.Warning()
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s on %s: %s", h.Name.Database, t.Name, w))
			for i := range rep.Databases {
				for j := range rep.Databases[i].Targets {
					st := &rep.Databases[i].Targets[j]
					if rep.Databases[i].Database == h.Name.Database && st.Target == t.Name {
						st.Warnings = append(st.Warnings, w)
					}
				}
			}
		}
	}
}

// objectLock is target.Lock, as list's rows carry it.
type objectLock = target.Lock

// lockNote is what status's table adds for the newest archive's lock.
func lockNote(t status.Target) string {
	if t.Lock == nil {
		return ""
	}
	return ", locked until " + human.Time(t.Lock.Until)
}
