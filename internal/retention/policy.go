package retention

import (
	"errors"
	"fmt"
)

// Policy says how many archives of each kind to keep. The keys in the
// configuration file, used in Validate's errors, are keep_last, hourly,
// daily, weekly, monthly and yearly.
type Policy struct {
	// KeepLast keeps the newest KeepLast archives.
	KeepLast int `toml:"keep_last"`
	// Hourly keeps the newest archive of each of the last Hourly hours
	// that hold one.
	Hourly int `toml:"hourly"`
	// Daily keeps the newest archive of each of the last Daily days that
	// hold one.
	Daily int `toml:"daily"`
	// Weekly keeps the newest archive of each of the last Weekly ISO weeks
	// that hold one.
	Weekly int `toml:"weekly"`
	// Monthly keeps the newest archive of each of the last Monthly months
	// that hold one.
	Monthly int `toml:"monthly"`
	// Yearly keeps the newest archive of each of the last Yearly years
	// that hold one.
	Yearly int `toml:"yearly"`
}

// ErrEmptyPolicy is returned by Validate for a policy whose counts are all
// zero. Plan would still keep the newest complete archive, but a policy
// that deletes every other archive is far more likely a mistake (a missing
// or misspelt section) than a wish, so it is refused.
var ErrEmptyPolicy = errors.New("retention policy keeps nothing: with every count zero, prune would delete all but the newest complete archive")

// Validate reports a negative count, naming its key, or a policy whose
// counts are all zero (ErrEmptyPolicy).
func (p Policy) Validate() error {
	var errs []error
	for _, c := range p.counts() {
		if c.n < 0 {
			errs = append(errs, fmt.Errorf("retention %s is %d, must be zero or more", c.key, c.n))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if p == (Policy{}) {
		return ErrEmptyPolicy
	}
	return nil
}

type count struct {
	key string
	n   int
}

func (p Policy) counts() []count {
	return []count{
		{"keep_last", p.KeepLast},
		{"hourly", p.Hourly},
		{"daily", p.Daily},
		{"weekly", p.Weekly},
		{"monthly", p.Monthly},
		{"yearly", p.Yearly},
	}
}
