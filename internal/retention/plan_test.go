package retention

import (
	"slices"
	"testing"
	"time"
)

// The expected sets below were worked out by hand from a calendar of late
// 2026, where 2026-11-30 is a Monday: ISO week 2026-W49 starts that day,
// W48 runs 11-23..11-29, W47 11-16..11-22, W46 11-09..11-15, W45
// 11-02..11-08, W44 10-26..11-01, W43 10-19..10-25, W42 10-12..10-18.

func TestPlanGFS(t *testing.T) {
	gfs := Policy{Daily: 7, Weekly: 4, Monthly: 6}
	lastWeekOfNovember := []string{
		"20261130T020000Z daily 2026-11-30, weekly 2026-W49, monthly 2026-11, newest complete",
		"20261129T020000Z daily 2026-11-29, weekly 2026-W48",
		"20261128T020000Z daily 2026-11-28",
		"20261127T020000Z daily 2026-11-27",
		"20261126T020000Z daily 2026-11-26",
		"20261125T020000Z daily 2026-11-25",
		"20261124T020000Z daily 2026-11-24",
		"20261122T020000Z weekly 2026-W47",
		"20261115T020000Z weekly 2026-W46",
	}
	sixtyDays := daily("20261002", "20261130")
	gaps := complete(
		"20261020T020000Z", "20261028T020000Z",
		"20261102T020000Z", "20261103T020000Z", "20261104T020000Z",
		"20261112T020000Z", "20261113T020000Z",
		// nothing from 11-14 to 11-26: all of W47 is empty
		"20261127T020000Z", "20261130T020000Z",
	)
	var months []Archive
	for m := range 35 {
		t := time.Date(2024, time.January+time.Month(m), 1, 2, 0, 0, 0, time.UTC)
		months = append(months, complete(t.Format(stampLayout))...)
	}
	var halfHours []Archive
	for i := range 12 {
		t := at("20261130T080000Z").Add(time.Duration(i) * 30 * time.Minute)
		halfHours = append(halfHours, complete(t.Format(stampLayout))...)
	}

	runPlanCases(t, []planCase{
		{
			name:     "30 days under 7 daily 4 weekly 6 monthly",
			archives: daily("20261101", "20261130"),
			policy:   gfs,
			now:      "20261130T120000Z",
			keep:     lastWeekOfNovember,
		},
		{
			name:     "60 days under 7 daily 4 weekly 6 monthly",
			archives: sixtyDays,
			policy:   gfs,
			now:      "20261130T120000Z",
			keep:     append(slices.Clip(lastWeekOfNovember), "20261031T020000Z monthly 2026-10"),
		},
		{
			name:     "60 days under 14 daily 8 weekly",
			archives: sixtyDays,
			policy:   Policy{Daily: 14, Weekly: 8},
			now:      "20261130T120000Z",
			keep: []string{
				"20261130T020000Z daily 2026-11-30, weekly 2026-W49, newest complete",
				"20261129T020000Z daily 2026-11-29, weekly 2026-W48",
				"20261128T020000Z daily 2026-11-28",
				"20261127T020000Z daily 2026-11-27",
				"20261126T020000Z daily 2026-11-26",
				"20261125T020000Z daily 2026-11-25",
				"20261124T020000Z daily 2026-11-24",
				"20261123T020000Z daily 2026-11-23",
				"20261122T020000Z daily 2026-11-22, weekly 2026-W47",
				"20261121T020000Z daily 2026-11-21",
				"20261120T020000Z daily 2026-11-20",
				"20261119T020000Z daily 2026-11-19",
				"20261118T020000Z daily 2026-11-18",
				"20261117T020000Z daily 2026-11-17",
				"20261115T020000Z weekly 2026-W46",
				"20261108T020000Z weekly 2026-W45",
				"20261101T020000Z weekly 2026-W44",
				"20261025T020000Z weekly 2026-W43",
				"20261018T020000Z weekly 2026-W42",
			},
		},
		{
			name:     "35 months under 6 monthly 3 yearly",
			archives: months,
			policy:   Policy{Monthly: 6, Yearly: 3},
			now:      "20261115T120000Z",
			keep: []string{
				"20261101T020000Z monthly 2026-11, yearly 2026, newest complete",
				"20261001T020000Z monthly 2026-10",
				"20260901T020000Z monthly 2026-09",
				"20260801T020000Z monthly 2026-08",
				"20260701T020000Z monthly 2026-07",
				"20260601T020000Z monthly 2026-06",
				"20251201T020000Z yearly 2025",
				"20241201T020000Z yearly 2024",
			},
		},
		{
			name:     "gaps of several days under 7 daily 4 weekly 6 monthly",
			archives: gaps,
			policy:   gfs,
			now:      "20261130T120000Z",
			keep: []string{
				"20261130T020000Z daily 2026-11-30, weekly 2026-W49, monthly 2026-11, newest complete",
				"20261127T020000Z daily 2026-11-27, weekly 2026-W48",
				"20261113T020000Z daily 2026-11-13, weekly 2026-W46",
				"20261112T020000Z daily 2026-11-12",
				"20261104T020000Z daily 2026-11-04, weekly 2026-W45",
				"20261103T020000Z daily 2026-11-03",
				"20261102T020000Z daily 2026-11-02",
				"20261028T020000Z monthly 2026-10",
			},
		},
		{
			name:     "an empty week uses no weekly slot",
			archives: gaps,
			policy:   Policy{Weekly: 4},
			now:      "20261130T120000Z",
			keep: []string{
				"20261130T020000Z weekly 2026-W49, newest complete",
				"20261127T020000Z weekly 2026-W48",
				"20261113T020000Z weekly 2026-W46",
				"20261104T020000Z weekly 2026-W45",
			},
		},
		{
			name:     "half-hourly under keep last 3 and 4 hourly",
			archives: halfHours,
			policy:   Policy{KeepLast: 3, Hourly: 4},
			now:      "20261130T140000Z",
			keep: []string{
				"20261130T133000Z last 3, hourly 2026-11-30T13, newest complete",
				"20261130T130000Z last 3",
				"20261130T123000Z last 3, hourly 2026-11-30T12",
				"20261130T113000Z hourly 2026-11-30T11",
				"20261130T103000Z hourly 2026-11-30T10",
			},
		},
		{
			name:     "a week of failed runs prunes nothing more",
			archives: sixtyDays,
			policy:   gfs,
			now:      "20261207T120000Z",
			keep:     append(slices.Clip(lastWeekOfNovember), "20261031T020000Z monthly 2026-10"),
		},
		{
			name:     "a month of failed runs still keeps 7 daily",
			archives: sixtyDays,
			policy:   Policy{Daily: 7},
			now:      "20261230T120000Z",
			keep: []string{
				"20261130T020000Z daily 2026-11-30, newest complete",
				"20261129T020000Z daily 2026-11-29",
				"20261128T020000Z daily 2026-11-28",
				"20261127T020000Z daily 2026-11-27",
				"20261126T020000Z daily 2026-11-26",
				"20261125T020000Z daily 2026-11-25",
				"20261124T020000Z daily 2026-11-24",
			},
		},
		{
			name:     "all-zero policy keeps the newest complete",
			archives: daily("20261124", "20261130"),
			policy:   Policy{},
			now:      "20261130T120000Z",
			keep:     []string{"20261130T020000Z newest complete"},
		},
		{
			name:     "negative counts count as zero",
			archives: daily("20261124", "20261130"),
			policy:   Policy{KeepLast: -1, Daily: -7},
			now:      "20261130T120000Z",
			keep:     []string{"20261130T020000Z newest complete"},
		},
		{
			name:     "keep last more than there are",
			archives: daily("20261128", "20261130"),
			policy:   Policy{KeepLast: 10},
			now:      "20261130T120000Z",
			keep: []string{
				"20261130T020000Z last 10, newest complete",
				"20261129T020000Z last 10",
				"20261128T020000Z last 10",
			},
		},
		{
			name:   "empty listing",
			policy: gfs,
			now:    "20261130T120000Z",
		},
	})
}

// TestPlanFailedRunsKeepFloor checks that while no new archive arrives, the
// passing days change nothing: gaps consume no slot, so the kept set never
// drops below what the policy kept on the day of the last good run.
func TestPlanFailedRunsKeepFloor(t *testing.T) {
	archives := daily("20261002", "20261130")
	for _, p := range []Policy{
		{Daily: 7, Weekly: 4, Monthly: 6},
		{Daily: 14, Weekly: 8},
		{KeepLast: 5, Hourly: 24},
	} {
		first := keptNames(Plan(archives, p, at("20261130T120000Z"), DefaultGrace))
		floor := max(p.KeepLast, p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly)
		if len(first) < floor {
			t.Errorf("%+v: kept %d on the last good day, want at least %d", p, len(first), floor)
		}
		for day := 1; day <= 400; day++ {
			now := at("20261130T120000Z").AddDate(0, 0, day)
			got := keptNames(Plan(archives, p, now, DefaultGrace))
			if !slices.Equal(got, first) {
				t.Fatalf("%+v: after %d days without a run, kept %q, want %q", p, day, got, first)
			}
		}
	}
}

func keptNames(ds []Decision) []string {
	var names []string
	for _, d := range ds {
		if d.Keep {
			names = append(names, d.Archive.Name)
		}
	}
	return names
}
