package units

import (
	"fmt"
	"path"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/pgarchive/pgarchive/internal/config"
)

// Programs the units run besides pgarchive, at the paths every
// distribution keeps them (Debian and Ubuntu, merged /usr or not, Fedora,
// Arch). pg_dump, pg_dumpall, gzip and zstd are found in the PATH systemd
// gives services, as Debian's pg_wrapper and other distributions'
// packages put them there.
const (
	bash    = "/bin/bash"
	mv      = "/bin/mv"
	install = "/usr/bin/install"
)

// compressCommands are services.postgresqlBackup's compressors.
var compressCommands = map[string]string{
	"gzip": fmt.Sprintf("gzip -c -%d --rsyncable", CompressionLevel),
	"zstd": fmt.Sprintf("zstd -c -%d --rsyncable", CompressionLevel),
	"none": "",
}

// dumpService is pgarchive-dump@.service: the dump as
// services.postgresqlBackup makes it, then the push.
func (g generator) dumpService() []*unit.UnitOption {
	c := g.cfg
	suffix, _ := config.DumpSuffix(c.Compression)
	dir := path.Clean(c.DumpDir)
	// In the shell scripts the database is $1, an argument of its own: an
	// instance name is never read as shell text.
	file := func(infix, suffix string) string {
		return `"` + shDouble(dir) + `/$1` + infix + `.sql` + suffix + `"`
	}
	var prevs []string
	for _, s := range []string{"", ".gz", ".zstd"} {
		prevs = append(prevs, file(".prev", s))
	}
	rotate := fmt.Sprintf("if [ -e %s ]; then rm -f -- %s && mv -- %s %s; fi",
		file("", suffix), strings.Join(prevs, " "), file("", suffix), file(".prev", suffix))

	dumpArgs := []string{"pg_dump"}
	for _, w := range strings.Fields(g.PgDumpOptions) {
		dumpArgs = append(dumpArgs, shWord(w))
	}
	dumpArgs = append(dumpArgs, `"$1"`)
	pipeline := fmt.Sprintf(`if [ "$1" = all ]; then pg_dumpall; else %s; fi`, strings.Join(dumpArgs, " "))
	if cmd := compressCommands[c.Compression]; cmd != "" {
		pipeline += " | " + cmd
	}
	dump := "set -o pipefail; umask 0077; " + pipeline + " > " + file(".in-progress", suffix)

	script := func(s string) string {
		return execWord(bash) + " -c " + execScript(s) + " pgarchive-dump %i"
	}
	inProgress := dir + "/" + instance + ".in-progress.sql" + suffix
	current := dir + "/" + instance + ".sql" + suffix

	opts := []*unit.UnitOption{
		unitOpt("Description", "pgarchive: dump PostgreSQL database %i and push it to every target"),
		unitOpt("Wants", "network-online.target postgresql.service"),
		unitOpt("After", "network-online.target postgresql.service"),
		unitOpt("OnFailure", "pgarchive-notify@%n.service"),
		service("Type", "oneshot"),
		service("User", g.User),
		service("Environment", word("PGARCHIVE_CONFIG="+g.ConfigPath)),
		// services.postgresqlBackup's tmpfiles rule: the directory,
		// postgres's alone. '+': as root, the one step that needs it.
		service("ExecStartPre", "+"+execLine(install, "-d", "-m", "0700", "-o", g.User, dir)),
		// The previous dump becomes <db>.prev.sql<suffix>.
		service("ExecStartPre", script(rotate)),
		// pg_dump (pg_dumpall for "all") into <db>.in-progress.sql<suffix>,
		// then the rename: a dump file is always whole.
		service("ExecStart", script(dump)),
		service("ExecStart", execLine(mv, "--", inProgress, current)),
		service("ExecStartPost", execLine(g.Binary, "push", "--database", instance)),
	}
	opts = append(opts, credentials(c, secretsTargets|secretsEncrypt)...)
	opts = append(opts,
		service("TimeoutStartSec", g.TimeoutStart),
		// push reports its progress (STATUS=) for `systemctl status`; it
		// is not the unit's main process.
		service("NotifyAccess", "all"),
		// A user namespace is no mount namespace: the push keeps its
		// credentials.
		service("PrivateUsers", "yes"),
	)
	return append(opts, processHardening(networkFamilies...)...)
}

// notifyService is the template OnFailure=pgarchive-notify@%n.service
// starts with the failed unit's name as its instance.
func (g generator) notifyService() []*unit.UnitOption {
	c := g.cfg
	args := []string{g.Binary, "notify", "--unit"}
	sends := c.Notify.URLsFile != ""
	line := execLine(args...) + " %i"
	if !sends {
		// Nowhere to send: the notice goes to the journal, as an error.
		line += " --dry-run"
	}
	opts := []*unit.UnitOption{
		unitOpt("Description", "pgarchive: tell someone that %i failed"),
	}
	if sends {
		opts = append(opts,
			unitOpt("Wants", "network-online.target"),
			unitOpt("After", "network-online.target"))
	}
	opts = append(opts,
		service("Type", "oneshot"),
		service("User", g.NotifyUser),
		// Reads the failed unit's journal lines; grants nothing else.
		service("SupplementaryGroups", "systemd-journal"),
		service("Environment", word("PGARCHIVE_CONFIG="+g.ConfigPath)),
		service("ExecStart", line),
	)
	opts = append(opts, credentials(c, secretsNotify)...)
	opts = append(opts,
		service("TimeoutStartSec", notifyTimeout),
		service("SyslogLevel", "err"),
		// A user of its own, owning nothing: its IPC may go.
		service("RemoveIPC", "yes"),
	)
	families := []string{"AF_UNIX"}
	if sends {
		families = networkFamilies
		opts = append(opts, service("PrivateUsers", "yes"))
	} else {
		// Not with PrivateUsers=: in a user namespace systemd cannot set
		// up the loopback device of the private network, and says so in
		// the notice's journal.
		opts = append(opts, service("PrivateNetwork", "yes"), service("IPAddressDeny", "any"))
	}
	opts = append(opts, processHardening(families...)...)
	return append(opts, fileHardening(nil)...)
}

// jobService is prune, verify or drill, run as the dump user: one user
// for every job keeps the files they share (metrics, local targets)
// writable by all.
func (g generator) jobService(j job) []*unit.UnitOption {
	c := g.cfg
	after := "network-online.target"
	if j.database {
		after += " postgresql.service"
	}
	opts := []*unit.UnitOption{
		unitOpt("Description", j.description),
		unitOpt("Wants", after),
		unitOpt("After", after),
		unitOpt("OnFailure", "pgarchive-notify@%n.service"),
		service("Type", "oneshot"),
		service("User", g.User),
		service("Environment", word("PGARCHIVE_CONFIG="+g.ConfigPath)),
		service("ExecStart", execLine(append([]string{g.Binary}, j.args...)...)),
	}
	opts = append(opts, credentials(c, j.secrets)...)
	opts = append(opts, service("TimeoutStartSec", g.TimeoutStart))
	if j.state {
		opts = append(opts, service("StateDirectory", "pgarchive"), service("StateDirectoryMode", "0700"))
	}
	readWrite := j.readWrite
	if c.Metrics.Textfile != "" {
		// The textfile is replaced by a rename, with its state and lock
		// files beside it: the directory must be writable.
		readWrite = append(readWrite, path.Dir(c.Metrics.Textfile))
	}
	opts = append(opts, service("PrivateUsers", "yes"))
	opts = append(opts, processHardening(networkFamilies...)...)
	return append(opts, fileHardening(readWrite)...)
}

// shWord quotes one word of pg_dump's options for the shell: bare when it
// can be, else in double quotes.
func shWord(w string) string {
	if bare.MatchString(w) {
		return w
	}
	return `"` + shDouble(w) + `"`
}
