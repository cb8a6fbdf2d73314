package retention

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

func TestPlanClockJump(t *testing.T) {
	runPlanCases(t, []planCase{
		{
			name:     "future-dated archive is kept and uses no slot",
			archives: join(daily("20261124", "20261130"), complete("20270301T020000Z")),
			policy:   Policy{Daily: 3},
			now:      "20261130T120000Z",
			keep: []string{
				"20270301T020000Z future timestamp",
				"20261130T020000Z daily 2026-11-30, newest complete",
				"20261129T020000Z daily 2026-11-29",
				"20261128T020000Z daily 2026-11-28",
			},
		},
		{
			name:     "clock set back three days",
			archives: daily("20261124", "20261130"),
			policy:   Policy{Daily: 3},
			now:      "20261127T120000Z",
			keep: []string{
				"20261130T020000Z future timestamp",
				"20261129T020000Z future timestamp",
				"20261128T020000Z future timestamp",
				"20261127T020000Z daily 2026-11-27, newest complete",
				"20261126T020000Z daily 2026-11-26",
				"20261125T020000Z daily 2026-11-25",
			},
		},
		{
			name:     "future-dated incomplete archive is kept",
			archives: join(daily("20261128", "20261130"), incomplete("20261201T020000Z")),
			policy:   Policy{Daily: 1},
			now:      "20261130T120000Z",
			keep: []string{
				"20261201T020000Z future timestamp",
				"20261130T020000Z daily 2026-11-30, newest complete",
			},
		},
		{
			name:     "every archive in the future",
			archives: daily("20261128", "20261130"),
			policy:   Policy{Daily: 1},
			now:      "20261101T000000Z",
			keep: []string{
				"20261130T020000Z future timestamp",
				"20261129T020000Z future timestamp",
				"20261128T020000Z future timestamp",
			},
		},
		{
			name:     "an archive dated exactly now is not in the future",
			archives: complete("20261130T120000Z", "20261129T120000Z"),
			policy:   Policy{Daily: 1},
			now:      "20261130T120000Z",
			keep:     []string{"20261130T120000Z daily 2026-11-30, newest complete"},
		},
	})
}

func TestPlanSameHour(t *testing.T) {
	threeInTwoHours := complete("20261130T140500Z", "20261130T144500Z", "20261130T131000Z")
	twins := []Archive{
		{Name: "db_20261130T140500Z.sql.gz.age", Time: at("20261130T140500Z"), Complete: true},
		{Name: "db_20261130T140500Z.sql.zstd.age", Time: at("20261130T140500Z"), Complete: true},
	}
	runPlanCases(t, []planCase{
		{
			name:     "hourly keeps the newer of two in the same hour",
			archives: threeInTwoHours,
			policy:   Policy{Hourly: 1},
			now:      "20261130T150000Z",
			keep:     []string{"20261130T144500Z hourly 2026-11-30T14, newest complete"},
		},
		{
			name:     "two hours, three archives",
			archives: threeInTwoHours,
			policy:   Policy{Hourly: 2},
			now:      "20261130T150000Z",
			keep: []string{
				"20261130T144500Z hourly 2026-11-30T14, newest complete",
				"20261130T131000Z hourly 2026-11-30T13",
			},
		},
		{
			name:     "same timestamp: the greater name wins",
			archives: twins,
			policy:   Policy{Hourly: 1},
			now:      "20261130T150000Z",
			keep:     []string{"20261130T140500Z.sql.zstd.age hourly 2026-11-30T14, newest complete"},
		},
		{
			name:     "same timestamp listed the other way round",
			archives: []Archive{twins[1], twins[0]},
			policy:   Policy{Hourly: 1},
			now:      "20261130T150000Z",
			keep:     []string{"20261130T140500Z.sql.zstd.age hourly 2026-11-30T14, newest complete"},
		},
		{
			name:     "same timestamp: keep last 2 keeps both",
			archives: twins,
			policy:   Policy{KeepLast: 2},
			now:      "20261130T150000Z",
			keep: []string{
				"20261130T140500Z.sql.zstd.age last 2, newest complete",
				"20261130T140500Z last 2",
			},
		},
	})
}

func TestPlanIncomplete(t *testing.T) {
	runPlanCases(t, []planCase{
		{
			name: "only incomplete archives and one complete",
			archives: join(
				complete("20261120T020000Z"),
				incomplete("20261128T020000Z", "20261129T020000Z", "20261130T020000Z"),
			),
			policy: Policy{Daily: 7},
			now:    "20261130T120000Z",
			keep: []string{
				"20261130T020000Z incomplete, within grace",
				"20261120T020000Z daily 2026-11-20, newest complete",
			},
		},
		{
			name: "only incomplete archives and one complete, all-zero policy",
			archives: join(
				complete("20261120T020000Z"),
				incomplete("20261128T020000Z", "20261129T020000Z", "20261130T020000Z"),
			),
			policy: Policy{},
			now:    "20261130T120000Z",
			keep: []string{
				"20261130T020000Z incomplete, within grace",
				"20261120T020000Z newest complete",
			},
		},
		{
			name:     "only incomplete archives",
			archives: incomplete("20261128T020000Z", "20261130T020000Z"),
			policy:   Policy{Daily: 7},
			now:      "20261130T120000Z",
			keep:     []string{"20261130T020000Z incomplete, within grace"},
		},
		{
			name: "default grace boundaries",
			archives: join(
				complete("20261101T020000Z"),
				incomplete(
					"20261130T110000Z", // 1h old
					"20261129T120001Z", // 23h59m59s
					"20261129T120000Z", // exactly 24h: not older than grace
					"20261129T115959Z", // 24h0m1s
					"20261127T120000Z", // 72h
				),
			),
			policy: Policy{Daily: 1},
			now:    "20261130T120000Z",
			grace:  DefaultGrace,
			keep: []string{
				"20261130T110000Z incomplete, within grace",
				"20261129T120001Z incomplete, within grace",
				"20261129T120000Z incomplete, within grace",
				"20261101T020000Z daily 2026-11-01, newest complete",
			},
		},
		{
			name:     "two-hour grace",
			archives: join(complete("20261101T020000Z"), incomplete("20261130T110000Z", "20261130T095959Z")),
			policy:   Policy{Daily: 1},
			now:      "20261130T120000Z",
			grace:    2 * time.Hour,
			keep: []string{
				"20261130T110000Z incomplete, within grace",
				"20261101T020000Z daily 2026-11-01, newest complete",
			},
		},
		{
			name:     "zero grace means the default",
			archives: join(complete("20261101T020000Z"), incomplete("20261129T130000Z", "20261129T110000Z")),
			policy:   Policy{Daily: 1},
			now:      "20261130T120000Z",
			grace:    0,
			keep: []string{
				"20261129T130000Z incomplete, within grace",
				"20261101T020000Z daily 2026-11-01, newest complete",
			},
		},
		{
			name:     "an incomplete archive takes no slot",
			archives: join(complete("20261128T020000Z", "20261129T020000Z"), incomplete("20261130T110000Z")),
			policy:   Policy{KeepLast: 1, Daily: 1},
			now:      "20261130T120000Z",
			keep: []string{
				"20261130T110000Z incomplete, within grace",
				"20261129T020000Z last 1, daily 2026-11-29, newest complete",
			},
		},
	})
}

// TestPlanInputOrder shuffles one mixed listing many ways: complete,
// incomplete young and old, future-dated, and archives sharing a timestamp.
func TestPlanInputOrder(t *testing.T) {
	archives := join(
		daily("20261002", "20261130"),
		complete("20261130T021500Z", "20270101T000000Z"),
		incomplete("20261130T110000Z", "20261128T020000Z", "20261130T021500Z", "20261201T000000Z"),
		[]Archive{{Name: "db_20261130T020000Z.sql.zstd.age", Time: at("20261130T020000Z"), Complete: true}},
	)
	p := Policy{KeepLast: 2, Hourly: 3, Daily: 7, Weekly: 4, Monthly: 6, Yearly: 2}
	now := at("20261130T120000Z")
	want := Plan(archives, p, now, DefaultGrace)

	r := rand.New(rand.NewPCG(1, 2))
	shuffled := append([]Archive(nil), archives...)
	for i := range 200 {
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := Plan(shuffled, p, now, DefaultGrace); !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffle %d: plan differs from the plan of the listing in order", i)
		}
	}
}

// TestPlanUsesUTC gives Plan a time in another zone: periods are still UTC
// ones, and the Archive comes back exactly as given.
func TestPlanUsesUTC(t *testing.T) {
	east := time.FixedZone("UTC+2", 2*60*60)
	late := Archive{Name: "db_20261130T233000Z.sql.gz.age", Time: at("20261130T233000Z").In(east), Complete: true}
	earlier := complete("20261130T020000Z")[0]
	ds := Plan([]Archive{earlier, late}, Policy{Daily: 1}, at("20261201T120000Z"), DefaultGrace)
	checkPlan(t, []Archive{earlier, late}, ds, []string{"20261130T233000Z daily 2026-11-30, newest complete"})
	if got := ds[0].Archive.Time.Location(); got != east {
		t.Errorf("archive time came back in %v, want %v", got, east)
	}
}
