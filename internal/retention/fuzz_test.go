package retention

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// fuzzBase is the earliest time a fuzzed archive can have.
var fuzzBase = at("20240101T000000Z")

// fuzzArchives decodes 3 bytes per archive. The first two give the time
// since the previous archive (the first counts from fuzzBase): the low 14
// bits in the unit the top 2 bits pick (second, minute, hour or day), so a
// listing can be dense (several per hour, the same timestamp twice) or span
// decades. The third holds flags: bit 0 complete, bits 1-2 the name's
// suffix, so archives sharing a timestamp may differ in name or not at all.
func fuzzArchives(data []byte) []Archive {
	units := []time.Duration{time.Second, time.Minute, time.Hour, 24 * time.Hour}
	suffixes := []string{".sql.gz.age", ".sql.zstd.age", ".sql.age", ".sql.gz.age"}
	var as []Archive
	t := fuzzBase
	for len(data) >= 3 && len(as) < 64 {
		step := int(data[0])<<8 | int(data[1])
		t = t.Add(time.Duration(step&0x3fff) * units[step>>14])
		as = append(as, Archive{
			Name:     "db_" + t.Format(stampLayout) + suffixes[data[2]>>1&3],
			Time:     t,
			Complete: data[2]&1 == 1,
		})
		data = data[3:]
	}
	return as
}

// FuzzPlan checks what must hold for any listing, policy and time: one
// decision per archive, newest first; every decision has a reason; the
// newest complete archive, future-dated archives and young incomplete ones
// are kept, old incomplete ones deleted; the policy keeps at least its floor
// of complete archives; input order does not matter; and planning again over
// what was kept deletes nothing.
func FuzzPlan(f *testing.F) {
	day, hour, minute := uint16(3<<14), uint16(2<<14), uint16(1<<14)
	// 40 days of daily archives, one failed upload, a week without runs.
	f.Add(slices.Concat(fuzzSeed(30, day|1, 1), fuzzSeed(1, day|1, 0), fuzzSeed(9, day|1, 1)),
		uint8(0), uint8(0), uint8(7), uint8(4), uint8(6), uint8(0), uint16(47*24), uint16(0))
	// Every 20 minutes for a day, some incomplete, the clock between them.
	f.Add(fuzzSeed(72, minute|20, 1, 1, 0, 1, 3, 5),
		uint8(2), uint8(3), uint8(1), uint8(0), uint8(0), uint8(0), uint16(12), uint16(60))
	// The same timestamp again and again, under names that differ or not.
	f.Add(fuzzSeed(8, 0, 1, 3, 5, 7, 1, 0),
		uint8(1), uint8(1), uint8(0), uint8(0), uint8(0), uint8(0), uint16(1), uint16(0))
	// Yearly archives reaching far past now; an all-zero policy.
	f.Add(fuzzSeed(20, day|365, 1, 1, 0), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0), uint16(3*365*24), uint16(30))
	f.Add(fuzzSeed(30, hour|7, 1), uint8(0), uint8(0), uint8(0), uint8(0), uint8(2), uint8(3), uint16(100), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, keepLast, hourly, daily, weekly, monthly, yearly uint8, nowHours, graceMinutes uint16) {
		archives := fuzzArchives(data)
		p := Policy{int(keepLast), int(hourly), int(daily), int(weekly), int(monthly), int(yearly)}
		now := fuzzBase.Add(time.Duration(nowHours) * time.Hour)
		grace := time.Duration(graceMinutes) * time.Minute
		effectiveGrace := grace
		if grace <= 0 {
			effectiveGrace = DefaultGrace
		}

		ds := Plan(archives, p, now, grace)
		if len(ds) != len(archives) {
			t.Fatalf("got %d decisions for %d archives", len(ds), len(archives))
		}
		if !sameArchives(ds, archives) {
			t.Fatalf("decisions are not about the archives passed in")
		}

		var newest *Decision  // newest complete archive, whatever its time
		var counted []Archive // complete archives up to now
		keptCounted := 0
		for i := range ds {
			d := &ds[i]
			a := d.Archive
			if i > 0 && newestFirst(ds[i-1].Archive, a) > 0 {
				t.Fatalf("decision %d (%s) is out of order", i, a.Name)
			}
			if len(d.Reasons) == 0 {
				t.Fatalf("%s (keep %v) has no reason", a.Name, d.Keep)
			}
			unkept := slices.Contains(d.Reasons, reasonUnkept) || slices.Contains(d.Reasons, reasonPastGrace)
			if d.Keep == unkept {
				t.Fatalf("%s: keep %v with reasons %q", a.Name, d.Keep, d.Reasons)
			}
			future := a.Time.After(now)
			switch {
			case future && !d.Keep:
				t.Fatalf("future-dated %s deleted", a.Name)
			case !future && !a.Complete && d.Keep != (now.Sub(a.Time) <= effectiveGrace):
				t.Fatalf("incomplete %s, %v old with grace %v: keep %v", a.Name, now.Sub(a.Time), effectiveGrace, d.Keep)
			}
			if a.Complete && newest == nil {
				newest = d
			}
			if a.Complete && !future {
				counted = append(counted, a)
				if d.Keep {
					keptCounted++
				}
			}
		}
		if newest != nil && !newest.Keep {
			t.Fatalf("newest complete archive %s deleted", newest.Archive.Name)
		}
		if len(counted) > 0 && !slices.Contains(keptDecision(ds, counted[0]).Reasons, reasonNewest) {
			t.Fatalf("newest complete archive up to now %s not marked %q", counted[0].Name, reasonNewest)
		}
		if floor := fuzzFloor(counted, p); keptCounted < floor {
			t.Fatalf("kept %d of %d complete archives, policy floor is %d", keptCounted, len(counted), floor)
		}

		// The plan does not depend on the input's order.
		reversed := slices.Clone(archives)
		slices.Reverse(reversed)
		if again := Plan(reversed, p, now, grace); !reflect.DeepEqual(again, ds) {
			t.Fatalf("reversed input gave a different plan")
		}

		// Pruning is idempotent: planning again over what was kept
		// deletes nothing more.
		var kept []Archive
		for _, d := range ds {
			if d.Keep {
				kept = append(kept, d.Archive)
			}
		}
		for _, d := range Plan(kept, p, now, grace) {
			if !d.Keep {
				t.Fatalf("second prune deletes %s: %q", d.Archive.Name, d.Reasons)
			}
		}
	})
}

// fuzzSeed encodes n archives for fuzzArchives, each step after the last,
// with flags taken in turn from flags.
func fuzzSeed(n int, step uint16, flags ...byte) []byte {
	var b []byte
	for i := range n {
		b = append(b, byte(step>>8), byte(step), flags[i%len(flags)])
	}
	return b
}

// fuzzFloor is the fewest complete archives the policy must keep out of
// counted: at least one, KeepLast of them, and one per period for as many
// periods of each kind as the policy asks for and counted spans.
func fuzzFloor(counted []Archive, p Policy) int {
	if len(counted) == 0 {
		return 0
	}
	distinct := func(layout func(time.Time) string) int {
		seen := map[string]bool{}
		for _, a := range counted {
			seen[layout(a.Time.UTC())] = true
		}
		return len(seen)
	}
	week := func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprint(y, w) }
	format := func(layout string) func(time.Time) string {
		return func(t time.Time) string { return t.Format(layout) }
	}
	return max(1,
		min(p.KeepLast, len(counted)),
		min(p.Hourly, distinct(format("2006010215"))),
		min(p.Daily, distinct(format("20060102"))),
		min(p.Weekly, distinct(week)),
		min(p.Monthly, distinct(format("200601"))),
		min(p.Yearly, distinct(format("2006"))),
	)
}

func keptDecision(ds []Decision, a Archive) Decision {
	for _, d := range ds {
		if d.Archive == a {
			return d
		}
	}
	return Decision{}
}

// sameArchives reports whether ds holds exactly archives, as a multiset.
func sameArchives(ds []Decision, archives []Archive) bool {
	n := map[Archive]int{}
	for _, a := range archives {
		n[a]++
	}
	for _, d := range ds {
		n[d.Archive]--
	}
	for _, c := range n {
		if c != 0 {
			return false
		}
	}
	return true
}
