package verify

import (
	"fmt"
	"strings"
)

// NoMatch is the error of a verify whose selection held nothing to check:
// a run that checked nothing has proved nothing, and a mistyped --host or
// --database must not read as success. Its message says what was asked for
// and, where the caller could find out, what is there instead.
type NoMatch struct {
	Host     string
	Database string // "" for every database
	Target   string // "" for every target
	// Incomplete counts the objects found without a manifest: uploads that
	// died or are still running, which verify does not check.
	Incomplete int
	// Databases are the databases Host has archives of, when Database
	// matched none; nil when not looked up.
	Databases []string
	// Hosts are the hosts with archives on the targets, when Host matched
	// none; nil when not looked up.
	Hosts []string
}

func (m NoMatch) Error() string {
	where := "on any target"
	if m.Target != "" {
		where = fmt.Sprintf("on target %q", m.Target)
	}
	of := fmt.Sprintf("of host %q", m.Host)
	if m.Database != "" {
		of = fmt.Sprintf("of database %q of host %q", m.Database, m.Host)
	}
	if m.Incomplete > 0 {
		return fmt.Sprintf("no complete archive %s %s, only %d incomplete (uploads that died or are still running)", of, where, m.Incomplete)
	}
	msg := fmt.Sprintf("no archives %s %s", of, where)
	switch {
	case m.Database != "" && len(m.Databases) > 0:
		return fmt.Sprintf("%s (host %q has databases: %s)", msg, m.Host, strings.Join(m.Databases, ", "))
	case len(m.Hosts) > 0:
		return fmt.Sprintf("%s (targets hold hosts: %s)", msg, strings.Join(m.Hosts, ", "))
	case m.Hosts != nil:
		return msg + " (the targets hold no archives at all)"
	}
	return msg + " (nothing matched --host, --database and --target)"
}
