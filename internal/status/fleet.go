package status

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/pgarchive/pgarchive/internal/atomicfile"
)

// Fleet judges every host the listings hold, each as Compute judges one,
// from the store's side: a host that stopped pushing (died, lost its
// network, had its timer disabled) shows as stale there, whatever its own
// reports said. listings hold every host's entries (archive.List with
// host ""). The reports are sorted by host; none means the store holds no
// archive at all, which the caller should treat as a failure.
func Fleet(listings []Listing, now time.Time, maxAge time.Duration) []*Report {
	hosts := map[string]bool{}
	for _, l := range listings {
		for _, e := range l.Entries {
			hosts[e.Name.Host] = true
		}
	}
	names := make([]string, 0, len(hosts))
	for h := range hosts {
		names = append(names, h)
	}
	sort.Strings(names)
	reps := make([]*Report, 0, len(names))
	for _, h := range names {
		own := make([]Listing, len(listings))
		for i, l := range listings {
			own[i] = Listing{Target: l.Target, Err: l.Err}
			for _, e := range l.Entries {
				if e.Name.Host == h {
					own[i].Entries = append(own[i].Entries, e)
				}
			}
		}
		reps = append(reps, Compute(h, own, now, maxAge))
	}
	return reps
}

// WriteTextfile writes the fleet's state for node_exporter's textfile
// collector, replacing path atomically: per host, database and target the
// newest complete archive's time and age, and whether status had nothing
// to warn about there (pgarchive_store_ok). Alert on
// pgarchive_store_ok == 0, or on time() - pgarchive_store_newest_timestamp_seconds.
func WriteTextfile(path string, reps []*Report, now time.Time) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		return writeSeries(w, reps, now)
	})
}

func writeSeries(w io.Writer, reps []*Report, now time.Time) error {
	var b strings.Builder
	b.WriteString("# HELP pgarchive_store_newest_timestamp_seconds Time of the newest complete archive on the target, as the store holds it.\n")
	b.WriteString("# TYPE pgarchive_store_newest_timestamp_seconds gauge\n")
	b.WriteString("# HELP pgarchive_store_ok 1 when status has no warning for this host, database and target.\n")
	b.WriteString("# TYPE pgarchive_store_ok gauge\n")
	b.WriteString("# HELP pgarchive_store_checked_timestamp_seconds When the store was last judged.\n")
	b.WriteString("# TYPE pgarchive_store_checked_timestamp_seconds gauge\n")
	for _, r := range reps {
		for _, d := range r.Databases {
			for _, t := range d.Targets {
				labels := fmt.Sprintf(`host=%q,database=%q,target=%q`, r.Host, d.Database, t.Target)
				if t.Newest != nil {
					fmt.Fprintf(&b, "pgarchive_store_newest_timestamp_seconds{%s} %d\n", labels, t.Newest.Unix())
				}
				ok := 0
				if len(t.Warnings) == 0 {
					ok = 1
				}
				fmt.Fprintf(&b, "pgarchive_store_ok{%s} %d\n", labels, ok)
			}
		}
	}
	fmt.Fprintf(&b, "pgarchive_store_checked_timestamp_seconds %d\n", now.Unix())
	_, err := io.WriteString(w, b.String())
	return err
}
