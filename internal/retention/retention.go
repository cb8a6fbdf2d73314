// Package retention decides which archives prune keeps and which it deletes.
//
// It is pure logic. The caller lists one database's archives on one target,
// turns each object into an Archive (its UTC time read from the name,
// Complete when the manifest exists), and passes the listing to Plan with
// the database's Policy, the current time and the grace period for
// unfinished uploads. Plan returns one Decision per archive, newest first;
// the caller deletes exactly those whose Keep is false and may print the
// Reasons. Nothing here reads a clock, lists a target or deletes anything, so
// the same listing, policy and time always give the same plan.
//
// # Which archives are kept
//
// Only complete archives dated at or before now are counted by the policy:
//
//   - KeepLast N keeps the N newest ("last N").
//   - Hourly, Daily, Weekly, Monthly and Yearly N each keep the newest archive
//     of each of the N most recent hours, days, ISO weeks, months or years
//     that hold an archive, in UTC ("hourly 2026-11-20T14", "daily 2026-11-20",
//     "weekly 2026-W47", "monthly 2026-11", "yearly 2026"). A period without
//     an archive does not use up a slot, so runs that fail for a week prune
//     nothing that the policy would otherwise keep.
//   - The newest complete archive is always kept ("newest complete"), even
//     under a policy whose counts are all zero.
//
// An archive may be kept by several rules; its Reasons list them all, in the
// order above. A complete archive no rule keeps is deleted ("not kept by
// policy").
//
// # Archives the policy does not count
//
// An archive dated after now is kept ("future timestamp"), complete or not:
// the clock has jumped, and a timestamp that cannot be trusted is no reason
// to delete anything. Such archives use up no slot of any rule.
//
// An incomplete archive (an object without its manifest) may be an upload
// still running. It is kept while it is no older than the grace period
// ("incomplete, within grace") and deleted after ("incomplete, older than
// grace"). Incomplete archives never count toward any rule.
//
// # Ties
//
// Archives are ordered by time, newest first; archives with the same time are
// ordered by name, greatest first, and a complete archive before an
// incomplete one of the same name. The first archive of a period in that
// order is the one kept for it. The order of the input never matters.
package retention

import "time"

// DefaultGrace is how long an incomplete archive is left alone before Plan
// deletes it: long enough for any upload still running to finish.
const DefaultGrace = 24 * time.Hour

// Archive is one object in a listing, as the caller read it.
type Archive struct {
	// Name is the object's name; Plan uses it only to order archives with
	// the same Time.
	Name string
	// Time is the archive's UTC time, parsed from its name.
	Time time.Time
	// Complete reports whether the archive's manifest exists.
	Complete bool
}

// Decision is what Plan decided for one archive, and why.
type Decision struct {
	// Archive is the archive as passed to Plan.
	Archive Archive
	// Keep reports whether the archive stays; when false, prune deletes it.
	Keep bool
	// Reasons explains the decision in words fit for a log line. It is
	// never empty.
	Reasons []string
}
