// Package unitlog reads what a failed systemd unit left behind: how it
// ended, and the journal lines of its last run. pgarchive notify turns that
// into the message that pages someone.
//
// It runs the systemctl and journalctl found in PATH, as an operator would,
// rather than linking libsystemd (no cgo) or talking D-Bus:
//
//	systemctl show --property=Id,Result,... UNIT
//	journalctl _SYSTEMD_INVOCATION_ID=<id> + INVOCATION_ID=<id> -o json -n 40
//
// The invocation ID selects exactly the lines of the run that failed (its
// processes' and systemd's own about it), not those of earlier runs or of
// the notifier itself. The lines pgarchive
// logged carry PGARCHIVE_TARGET, so FailedTargets can name the targets
// that failed without parsing messages.
package unitlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Unit is how a unit's last run ended, as systemctl show reports it.
type Unit struct {
	Name         string // the unit's full name, e.g. postgresqlBackup-db1.service
	Result       string // success, exit-code, signal, timeout, core-dump...
	ActiveState  string // failed, inactive, active...
	InvocationID string // the last run's ID; empty if it never ran
	// ExecMainCode and ExecMainStatus are how the main process (ExecStart)
	// ended: code "exited" with an exit status, or "killed" with a signal.
	ExecMainCode   string
	ExecMainStatus string
	// Failed is the first command of the run that did not succeed
	// ("ExecStartPost /bin/pgarchive exited with status 1"), if known.
	Failed string
}

// properties systemctl show is asked for.
var properties = []string{
	"Id", "Result", "ActiveState", "InvocationID", "ExecMainCode", "ExecMainStatus",
	"ExecStartPre", "ExecStart", "ExecStartPost", "ExecStopPost",
}

// Show asks systemctl how unit's last run ended.
func Show(ctx context.Context, unit string) (Unit, error) {
	cmd := exec.CommandContext(ctx, "systemctl", "show", "--no-pager", "--property="+strings.Join(properties, ","), "--", unit)
	cmd.Env = append(cmd.Environ(), "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=")
	out, err := output(cmd)
	if err != nil {
		return Unit{Name: unit}, err
	}
	return parseShow(unit, out), nil
}

// execStatus picks the path, code and status out of an Exec* property:
// { path=/bin/sh ; argv[]=... ; ... ; pid=12 ; code=exited ; status=1 }
var (
	execPath   = regexp.MustCompile(`^\{ path=(\S+) ;`)
	execStatus = regexp.MustCompile(`; code=(\S+) ; status=(\S+) \}$`)
)

// execCodeNames are ExecMainCode numbers as systemctl prints them (CLD_*).
var execCodeNames = map[string]string{"0": "", "1": "exited", "2": "killed", "3": "dumped"}

func parseShow(unit string, out []byte) Unit {
	u := Unit{Name: unit}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch k {
		case "Id":
			if v != "" {
				u.Name = v
			}
		case "Result":
			u.Result = v
		case "ActiveState":
			u.ActiveState = v
		case "InvocationID":
			u.InvocationID = v
		case "ExecMainCode":
			if name, ok := execCodeNames[v]; ok {
				v = name
			}
			u.ExecMainCode = v
		case "ExecMainStatus":
			u.ExecMainStatus = v
		case "ExecStartPre", "ExecStart", "ExecStartPost", "ExecStopPost":
			if u.Failed != "" {
				continue
			}
			m := execStatus.FindStringSubmatch(v)
			if m == nil {
				continue
			}
			code, status := m[1], m[2]
			if code == "exited" && (status == "0" || strings.HasPrefix(status, "0/")) {
				continue
			}
			path := "?"
			if p := execPath.FindStringSubmatch(v); p != nil {
				path = p[1]
			}
			switch code {
			case "exited":
				u.Failed = fmt.Sprintf("%s %s exited with status %s", k, path, status)
			default:
				u.Failed = fmt.Sprintf("%s %s %s (%s)", k, path, code, status)
			}
		}
	}
	return u
}

// Entry is one journal line.
type Entry struct {
	Time       time.Time
	Priority   int    // syslog priority: 3 error, 4 warning, 6 info, 7 debug
	Identifier string // SYSLOG_IDENTIFIER, e.g. pgarchive or systemd
	Message    string
	// Fields holds the PGARCHIVE_* fields the line carries.
	Fields map[string]string
}

// Journal returns up to lines journal entries of u's last run, oldest
// first: by invocation ID when there is one, else the unit's last lines.
func Journal(ctx context.Context, u Unit, lines int) ([]Entry, error) {
	args := []string{"--no-pager", "-o", "json", "-n", strconv.Itoa(lines)}
	if u.InvocationID != "" {
		// The run's own processes, and systemd's lines about the run
		// ("Control process exited, code=exited, status=1/FAILURE").
		args = append(args, "_SYSTEMD_INVOCATION_ID="+u.InvocationID, "+", "INVOCATION_ID="+u.InvocationID)
	} else {
		args = append(args, "-u", u.Name)
	}
	cmd := exec.CommandContext(ctx, "journalctl", args...)
	cmd.Env = append(cmd.Environ(), "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=")
	out, err := output(cmd)
	if err != nil {
		return nil, err
	}
	return ParseJSON(out)
}

// ParseJSON parses journalctl -o json output: one object per line, each
// field a string, or an array of bytes (a value that is not text), or an
// array of those (a field given more than once; the last is kept).
func ParseJSON(data []byte) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			return out, fmt.Errorf("journalctl output: %w", err)
		}
		e := Entry{Priority: 6, Fields: map[string]string{}}
		for k, v := range raw {
			s := fieldString(v)
			switch {
			case k == "MESSAGE":
				e.Message = s
			case k == "PRIORITY":
				if p, err := strconv.Atoi(s); err == nil {
					e.Priority = p
				}
			case k == "SYSLOG_IDENTIFIER":
				e.Identifier = s
			case k == "__REALTIME_TIMESTAMP":
				if us, err := strconv.ParseInt(s, 10, 64); err == nil {
					e.Time = time.UnixMicro(us)
				}
			case strings.HasPrefix(k, "PGARCHIVE_"):
				e.Fields[k] = s
			}
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

func fieldString(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var b []byte
	var ints []int
	if json.Unmarshal(v, &ints) == nil {
		for _, i := range ints {
			b = append(b, byte(i))
		}
		return strings.ToValidUTF8(string(b), "?")
	}
	var many []json.RawMessage
	if json.Unmarshal(v, &many) == nil && len(many) > 0 {
		return fieldString(many[len(many)-1])
	}
	return ""
}

// targetInText finds "target=NAME" in a message, for lines that reached
// the journal as plain stderr text rather than with fields.
var targetInText = regexp.MustCompile(`(?:^|\s)target=([A-Za-z0-9][A-Za-z0-9._-]*)`)

// FailedTargets returns, in order of first appearance, the targets named
// by error lines: PGARCHIVE_TARGET of entries at priority error or worse,
// or target=NAME in pgarchive's own error lines written as plain text.
func FailedTargets(entries []Entry) []string {
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, e := range entries {
		if e.Priority > 3 {
			if strings.HasPrefix(e.Message, "pgarchive: error: ") {
				if m := targetInText.FindStringSubmatch(e.Message); m != nil {
					add(m[1])
				}
			}
			continue
		}
		if t := e.Fields["PGARCHIVE_TARGET"]; t != "" {
			add(t)
		} else if m := targetInText.FindStringSubmatch(e.Message); m != nil {
			add(m[1])
		}
	}
	return out
}

// Lines formats entries as "15:04:05 identifier: message", in local time.
func Lines(entries []Entry) []string {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		var b strings.Builder
		if !e.Time.IsZero() {
			b.WriteString(e.Time.Local().Format("15:04:05 "))
		}
		msg := strings.TrimRight(e.Message, "\n")
		// pgarchive's plain stderr lines already start with "pgarchive: ".
		if e.Identifier != "" && !strings.HasPrefix(msg, e.Identifier+": ") {
			b.WriteString(e.Identifier + ": ")
		}
		b.WriteString(msg)
		out = append(out, b.String())
	}
	return out
}

// output runs cmd and returns its stdout; a failure carries the first line
// of stderr, which is where systemctl and journalctl say what went wrong.
func output(cmd *exec.Cmd) ([]byte, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		name := cmd.Args[0]
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
			if msg == "" {
				msg = exitErr.String()
			}
			return nil, fmt.Errorf("%s: %s", name, msg)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
