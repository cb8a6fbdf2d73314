package units

import (
	"regexp"
	"strings"
)

// instance stands for %i while a command line is built and quoted, so
// that the quoting doubles every other '%' and leaves this one alone. No
// path can hold it: checkPaths refuses NUL.
const instance = "\x00I\x00"

// bare is a word that needs no quoting, neither by systemd nor by a shell.
var bare = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// escapeSpecifiers doubles '%' so that systemd does not read a specifier,
// and puts %i back where instance stands.
func escapeSpecifiers(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "%", "%%"), instance, "%i")
}

// word quotes s as one word of a setting that systemd splits into words
// (ReadWritePaths=, Environment=): bare if it can be, else in double
// quotes with C escapes.
func word(s string) string {
	if bare.MatchString(strings.ReplaceAll(s, instance, "x")) {
		return escapeSpecifiers(s)
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + escapeSpecifiers(r.Replace(s)) + `"`
}

// execWord quotes s as one word of an Exec*= command line, where systemd
// also expands $VAR: '$' is doubled as well.
func execWord(s string) string {
	return strings.ReplaceAll(word(s), "$", "$$")
}

// execLine joins words into an Exec*= command line.
func execLine(words ...string) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = execWord(w)
	}
	return strings.Join(out, " ")
}

// execScript quotes a shell script as one word of an Exec*= command line,
// in single quotes, so the shell's own double quotes stay readable.
// systemd still reads C escapes there, expands specifiers and $VAR: '\',
// '\”, '%' and '$' are escaped.
func execScript(script string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "%", "%%", "$", "$$")
	return "'" + r.Replace(script) + "'"
}

// shDouble quotes s for a POSIX shell inside double quotes, where '$1'
// in the script around it still expands.
func shDouble(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`")
	return r.Replace(s)
}
