package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// decodeError turns an error from the TOML decoder into an *Error naming
// the key. The decoder knows the key but says it in two ways: a
// toml.ParseError (syntax, non-UTF-8 bytes, out-of-range numbers, a value
// our own types refuse) carries it as LastKey, while a type mismatch is a
// plain error whose text holds `(last key "…")`; that text is the only
// place the library gives it.
func decodeError(err error) error {
	var perr toml.ParseError
	if errors.As(err, &perr) {
		return &Error{Key: perr.LastKey, Msg: fmt.Sprintf("line %d: %s", perr.Position.Line, oneLine(perr.Message))}
	}
	m := mismatchRe.FindStringSubmatch(err.Error())
	if m == nil {
		return &Error{Msg: oneLine(err.Error())}
	}
	key, uerr := strconv.Unquote(m[2])
	if uerr != nil {
		return &Error{Msg: oneLine(err.Error())}
	}
	msg := oneLine(m[3])
	if t := incompatibleRe.FindStringSubmatch(msg); t != nil {
		msg = fmt.Sprintf("must be %s, not %s", goalName(t[2]), tomlTypeName(t[1]))
	} else if t := tableRe.FindStringSubmatch(msg); t != nil {
		msg = fmt.Sprintf("must be a table, not %s", tomlTypeName(t[1]))
	}
	if m[1] != "" {
		msg = "line " + m[1] + ": " + msg
	}
	return &Error{Key: key, Msg: msg}
}

var (
	mismatchRe     = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key ("(?:[^"\\]|\\.)*")\): (.*)$`)
	incompatibleRe = regexp.MustCompile(`^incompatible types: TOML value has type (.+); destination has type (.+)$`)
	tableRe        = regexp.MustCompile(`^type mismatch for .+: expected table but found (.+)$`)
)

// tomlTypeName names the Go type the decoder found as the TOML type the
// user wrote.
func tomlTypeName(goType string) string {
	switch goType {
	case "string":
		return "a string"
	case "int64":
		return "an integer"
	case "float64":
		return "a float"
	case "bool":
		return "a boolean"
	case "[]any", "[]interface {}":
		return "an array"
	case "map[string]any", "map[string]interface {}":
		return "a table"
	case "[]map[string]any", "[]map[string]interface {}":
		return "an array of tables"
	case "time.Time", "toml.LocalDate", "toml.LocalTime", "toml.LocalDatetime":
		return "a date or time"
	}
	return goType
}

// goalName names the decoder's destination kind as a TOML type.
func goalName(dst string) string {
	switch dst {
	case "integer":
		return "an integer"
	case "string", "primitive (string-like)":
		return "a string"
	case "boolean":
		return "a boolean (true or false)"
	case "float":
		return "a number"
	case "slice":
		return "an array"
	case "map":
		return "a table"
	}
	return dst
}

// oneLine keeps an error to the one line check-config promises, without
// the trailing period some of the library's messages end with.
func oneLine(s string) string { return strings.TrimSuffix(lineBreaks.Replace(s), ".") }

var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")
