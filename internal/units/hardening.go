package units

import (
	"path"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"
)

// Hardening, in two layers.
//
// processHardening needs no mount namespace: capabilities, system calls,
// address families, namespaces, personality, W^X memory, the clock and
// the host name. Every unit gets it, the dump unit only it: with a mount
// namespace (ProtectSystem=, ProtectHome=, PrivateTmp=, PrivateDevices=,
// ProtectKernel*=, ProtectControlGroups=, ProtectProc=, ReadWritePaths=
// and the like), systemd 252 does not let ExecStartPost= read the unit's
// credentials, and `pgarchive push` is the dump unit's ExecStartPost
// (tests/systemd_credentials_test.go shows it on a real systemd 252).
//
// fileHardening is the mount namespace the other units run in: the file
// system read-only but for what the job writes, /home hidden, /tmp and
// /dev private, the kernel's knobs, logs and modules out of reach, and
// other users' processes invisible.
//
// Not set, on purpose, for the units that run as the dump user:
// RemoveIPC= (it would remove the System V shared memory of the postgres
// user, that is of the running server, when a job ends), PrivateNetwork=
// and IPAddressDeny= (the targets may be anywhere). MemoryDenyWriteExecute=
// is set: neither Go, pg_dump, psql, pg_restore, bash nor gzip and zstd map
// writable code. PrivateUsers= is set by each unit: it makes a user
// namespace, not a mount namespace, so the dump unit has it too.
func processHardening(families ...string) []*unit.UnitOption {
	return []*unit.UnitOption{
		service("NoNewPrivileges", "yes"),
		service("CapabilityBoundingSet", ""),
		service("AmbientCapabilities", ""),
		service("RestrictAddressFamilies", strings.Join(families, " ")),
		service("RestrictNamespaces", "yes"),
		service("RestrictRealtime", "yes"),
		service("RestrictSUIDSGID", "yes"),
		service("LockPersonality", "yes"),
		service("MemoryDenyWriteExecute", "yes"),
		service("ProtectClock", "yes"),
		service("ProtectHostname", "yes"),
		service("SystemCallArchitectures", "native"),
		service("SystemCallFilter", "@system-service"),
		service("SystemCallFilter", "~@privileged @resources"),
		// A call outside the filter fails instead of killing the process:
		// the Go runtime, for one, tries to raise its file limit and goes
		// on without.
		service("SystemCallErrorNumber", "EPERM"),
		service("DevicePolicy", "closed"),
		service("KeyringMode", "private"),
	}
}

// fileHardening returns the mount-namespace options for a unit that
// writes only under readWrite (each prefixed '-': a directory that is
// missing, an unmounted disk say, does not stop the unit from starting).
func fileHardening(readWrite []string) []*unit.UnitOption {
	home := "yes"
	for _, p := range readWrite {
		if underHome(p) {
			// ReadWritePaths= cannot reopen what ProtectHome=yes hides.
			home = "read-only"
		}
	}
	opts := []*unit.UnitOption{
		service("ProtectSystem", "strict"),
		service("ProtectHome", home),
		service("PrivateTmp", "yes"),
		service("PrivateDevices", "yes"),
		service("PrivateMounts", "yes"),
		service("ProtectKernelTunables", "yes"),
		service("ProtectKernelModules", "yes"),
		service("ProtectKernelLogs", "yes"),
		service("ProtectControlGroups", "yes"),
		service("ProtectProc", "invisible"),
		service("ProcSubset", "pid"),
	}
	if len(readWrite) > 0 {
		paths := make([]string, 0, len(readWrite))
		for _, p := range uniqueSorted(readWrite) {
			paths = append(paths, word("-"+p))
		}
		opts = append(opts, service("ReadWritePaths", strings.Join(paths, " ")))
	}
	return opts
}

func underHome(p string) bool {
	p = path.Clean(p)
	for _, h := range []string{"/home", "/root", "/run/user"} {
		if p == h || strings.HasPrefix(p, h+"/") {
			return true
		}
	}
	return false
}

// networkFamilies are what a job reaching targets and PostgreSQL uses:
// Unix sockets (the server, journald, sd_notify) and IP.
var networkFamilies = []string{"AF_UNIX", "AF_INET", "AF_INET6"}
