package main

import (
	"encoding/json"
	"io"
	"sort"
	"strings"
	"time"
)

// jsonSchema is the version of the --json output docs/json.md describes.
// Every --json document is one object carrying it as "schema"; a change
// that removes or renames a field, or changes its meaning, bumps it.
const jsonSchema = 1

// unreadableTarget is a target that could not be opened or listed, as
// every --json document reports it, under "unreadable".
type unreadableTarget struct {
	Target string `json:"target"`
	Error  string `json:"error"`
}

// unreadableOf returns the listings that failed, never nil.
func unreadableOf(ls []targetListing) []unreadableTarget {
	out := []unreadableTarget{}
	for _, l := range ls {
		if l.err != nil {
			// listTargets puts "target NAME: " before an opening error;
			// the field names the target already, as list's and
			// status's do.
			out = append(out, unreadableTarget{Target: l.name, Error: strings.TrimPrefix(l.err.Error(), "target "+l.name+": ")})
		}
	}
	return out
}

// writeJSON prints v indented, as every --json does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// nonNil returns s, or an empty slice for nil: arrays in --json are never
// null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// rowKey is what every table sorts by: host, database, target, then time,
// newest first.
type rowKey struct {
	host, database, target string
	time                   time.Time
}

func (a rowKey) less(b rowKey) bool {
	switch {
	case a.host != b.host:
		return a.host < b.host
	case a.database != b.database:
		return a.database < b.database
	case a.target != b.target:
		return a.target < b.target
	}
	return a.time.After(b.time)
}

// sortRows sorts rows stably by key.
func sortRows[T any](rows []T, key func(T) rowKey) {
	sort.SliceStable(rows, func(i, j int) bool { return key(rows[i]).less(key(rows[j])) })
}
