package config

import (
	"net/url"
	"strings"
)

// hasPassword reports whether a libpq connection string or URI carries a
// password. The config file is world-readable on NixOS (it is in the Nix
// store), so a password there is a leak; libpq's passfile keeps it out.
//
// Only the keywords are looked at, with libpq's quoting rules, so a value
// that merely mentions "password=" (an application_name, say) is not
// mistaken for one. Whether the string is otherwise well formed is for the
// drill to say when it parses it.
func hasPassword(conn string) bool {
	if rest, ok := cutURIScheme(conn); ok {
		return uriHasPassword(rest)
	}
	return keywordsHavePassword(conn)
}

func cutURIScheme(s string) (string, bool) {
	for _, scheme := range []string{"postgresql://", "postgres://"} {
		if rest, ok := strings.CutPrefix(s, scheme); ok {
			return rest, true
		}
	}
	return "", false
}

// uriHasPassword looks for "user:password@" and "?password=" in what
// follows the scheme of postgresql://[user[:password]@][netloc][/db][?k=v&...].
func uriHasPassword(rest string) bool {
	rest, query, _ := strings.Cut(rest, "?")
	netloc, _, _ := strings.Cut(rest, "/")
	if at := strings.LastIndexByte(netloc, '@'); at >= 0 && strings.Contains(netloc[:at], ":") {
		return true
	}
	for _, kv := range strings.Split(query, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if u, err := url.QueryUnescape(k); err == nil {
			k = u
		}
		if k == "password" {
			return true
		}
	}
	return false
}

// keywordsHavePassword scans libpq's keyword = value form: pairs separated
// by whitespace, spaces allowed around "=", a value in single quotes, a
// backslash escaping the next character.
func keywordsHavePassword(s string) bool {
	i := 0
	skipSpace := func() {
		for i < len(s) && isConnSpace(s[i]) {
			i++
		}
	}
	for {
		skipSpace()
		if i >= len(s) {
			return false
		}
		start := i
		for i < len(s) && s[i] != '=' && !isConnSpace(s[i]) {
			i++
		}
		keyword := s[start:i]
		skipSpace()
		if i >= len(s) || s[i] != '=' {
			// Malformed, and the drill will say so; a password further
			// on must still be found.
			continue
		}
		if keyword == "password" {
			return true
		}
		i++
		skipSpace()
		i = skipConnValue(s, i)
	}
}

// skipConnValue returns the index just past the value that starts at i.
func skipConnValue(s string, i int) int {
	quoted := i < len(s) && s[i] == '\''
	if quoted {
		i++
	}
	for i < len(s) {
		switch c := s[i]; {
		case c == '\\':
			i += 2
		case quoted && c == '\'':
			return i + 1
		case !quoted && isConnSpace(c):
			return i
		default:
			i++
		}
	}
	return len(s)
}

func isConnSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
