package notify

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// urlLike matches anything written as scheme://..., quoted or not: the
// services and net/http quote the URL they were talking to in their errors,
// sometimes rebuilt into another form than the one in the file.
var urlLike = regexp.MustCompile(`"?[A-Za-z][A-Za-z0-9+.-]*://[^\s"]*"?`)

// Redact removes from text every URL and every piece of secretURL (user,
// password, host, path segments, query values) at least three characters
// long, in plain and percent-decoded form, replacing each with "[redacted]".
// Use it on any message that may have seen the URL.
func Redact(text, secretURL string) string {
	text = urlLike.ReplaceAllString(text, "[redacted]")
	for _, f := range fragments(secretURL) {
		if len(f) >= wholeWordBelow {
			text = strings.ReplaceAll(text, f, "[redacted]")
			continue
		}
		// A short piece ("hook", a port) is hidden where it stands alone,
		// not inside longer words ("webhook").
		re := regexp.MustCompile(`(^|[^A-Za-z0-9])` + regexp.QuoteMeta(f) + `($|[^A-Za-z0-9])`)
		for i := 0; i < 10 && re.MatchString(text); i++ {
			text = re.ReplaceAllString(text, "${1}[redacted]${2}")
		}
	}
	return text
}

// wholeWordBelow is the length under which a URL piece is only removed as
// a whole word; longer pieces (tokens) are removed wherever they appear.
const wholeWordBelow = 8

// fragments returns the pieces of a URL worth hiding, longest first so a
// long token is removed whole before any shorter piece of it.
func fragments(raw string) []string {
	seen := map[string]bool{}
	scheme, rest, found := strings.Cut(raw, "://")
	if !found {
		rest = raw
	}
	schemeParts := map[string]bool{}
	if found {
		for _, p := range strings.Split(scheme, "+") {
			schemeParts[p] = true
		}
	}
	add := func(s string) {
		if len(s) >= 3 && !schemeParts[s] {
			seen[s] = true
		}
	}
	add(raw)
	add(rest)
	split := func(s string) {
		for _, p := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune("/:@?&=#,;", r) }) {
			add(p)
			if u, err := url.PathUnescape(p); err == nil {
				add(u)
			}
			if u, err := url.QueryUnescape(p); err == nil {
				add(u)
			}
		}
	}
	split(rest)
	if u, err := url.PathUnescape(rest); err == nil {
		split(u)
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}
