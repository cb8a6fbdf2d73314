package harness

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SFTP is an OpenSSH server on 127.0.0.1 accepting the current user (root)
// with a generated ed25519 key and serving SFTP through internal-sftp.
type SFTP struct {
	// Host is "127.0.0.1".
	Host string
	// Port is the TCP port sshd listens on.
	Port int
	// User is the login name, the user running the test ("root").
	User string
	// KeyFile is the client's unencrypted ed25519 private key.
	KeyFile string
	// KnownHostsFile lists the server's host key for [Host]:Port, for
	// clients that check host keys (ssh -o UserKnownHostsFile=…, rclone's
	// known_hosts_file).
	KnownHostsFile string
	// Root is an empty absolute directory the test may use as the SFTP path.
	Root string
	// Dir holds the configuration, keys, pid file and log.
	Dir string
	// LogFile receives sshd's output (-e).
	LogFile string

	proc     *process
	stopOnce sync.Once
}

// StartSSHD starts /usr/sbin/sshd -D -e with its own configuration on a free
// loopback port and waits until it greets connections. It is stopped, with
// any open sessions, when the test ends.
func StartSSHD(t testing.TB) *SFTP {
	t.Helper()
	start := time.Now()
	sshd := "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		t.Fatalf("harness: %s missing (install Debian package \"openssh-server\", or run tests/setup.sh): %v", sshd, err)
	}
	keygen := LookTool(t, "ssh-keygen", "openssh-client")
	u, err := user.Current()
	if err != nil {
		t.Fatalf("harness: current user: %v", err)
	}

	dir := t.TempDir()
	s := &SFTP{
		Host:           "127.0.0.1",
		Port:           FreePort(t),
		User:           u.Username,
		KeyFile:        filepath.Join(dir, "id_ed25519"),
		KnownHostsFile: filepath.Join(dir, "known_hosts"),
		Root:           filepath.Join(dir, "root"),
		Dir:            dir,
		LogFile:        filepath.Join(dir, "sshd.log"),
	}
	if err := os.Mkdir(s.Root, 0o755); err != nil {
		t.Fatalf("harness: %v", err)
	}
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	for _, k := range []string{hostKey, s.KeyFile} {
		out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "pgarchive-test", "-f", k).CombinedOutput()
		if err != nil {
			t.Fatalf("harness: ssh-keygen %s: %v\n%s", k, err, out)
		}
	}
	clientPub, err := os.ReadFile(s.KeyFile + ".pub")
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	authorizedKeys := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorizedKeys, clientPub, 0o600); err != nil {
		t.Fatalf("harness: writing authorized_keys: %v", err)
	}
	hostPub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	fields := strings.Fields(string(hostPub))
	if len(fields) < 2 {
		t.Fatalf("harness: unexpected host public key %q", hostPub)
	}
	knownHosts := fmt.Sprintf("[%s]:%d %s %s\n", s.Host, s.Port, fields[0], fields[1])
	if err := os.WriteFile(s.KnownHostsFile, []byte(knownHosts), 0o600); err != nil {
		t.Fatalf("harness: writing known_hosts: %v", err)
	}

	config := fmt.Sprintf(`# written by pgarchive's test harness
ListenAddress %s:%d
HostKey %s
PidFile %s
AuthorizedKeysFile %s
AllowUsers %s
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
UsePAM no
UseDNS no
PrintMotd no
X11Forwarding no
AllowTcpForwarding no
MaxStartups 100
MaxSessions 50
LogLevel VERBOSE
Subsystem sftp internal-sftp
`, s.Host, s.Port, hostKey, filepath.Join(dir, "sshd.pid"), authorizedKeys, s.User)
	configFile := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatalf("harness: writing sshd_config: %v", err)
	}

	// sshd insists on its privilege separation directory, which Debian's
	// service unit creates at boot.
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("harness: creating /run/sshd: %v", err)
		}
	}
	if out, err := exec.Command(sshd, "-t", "-f", configFile).CombinedOutput(); err != nil {
		t.Fatalf("harness: sshd rejects its configuration %s: %v\n%s", configFile, err, out)
	}

	cmd := exec.Command(sshd, "-D", "-e", "-f", configFile)
	cmd.Dir = dir
	s.proc, err = startProcess(cmd, s.LogFile, syscall.SIGTERM)
	if err != nil {
		t.Fatalf("harness: sshd: %v", err)
	}
	t.Cleanup(s.Stop)
	logOnFailure(t, "sshd", s.LogFile)

	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	err = waitFor(30*time.Second, 50*time.Millisecond, s.proc, func() error {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		greeting, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			return fmt.Errorf("reading greeting: %w", err)
		}
		if !strings.HasPrefix(greeting, "SSH-2.0-") {
			return fmt.Errorf("unexpected greeting %q", greeting)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("harness: sshd on %s: %v\nlog:\n%s", addr, err, tail(s.LogFile, 40))
	}
	t.Logf("harness: sshd ready on %s in %v", addr, time.Since(start).Round(time.Millisecond))
	return s
}

// Stop stops sshd and every session it started, so the target is down:
// connections to Port are refused afterwards. It is safe to call more than
// once; StartSSHD registers it as a cleanup.
func (s *SFTP) Stop() {
	s.stopOnce.Do(func() {
		if s.proc != nil {
			s.proc.stop(syscall.SIGTERM, 5*time.Second)
		}
	})
}

// SSHOptions returns the options that let sftp or scp (which spell the port
// -P, unlike ssh) log in to the server non-interactively with KeyFile and
// KnownHostsFile:
//
//	sftp <SSHOptions...> -b batch root@127.0.0.1
func (s *SFTP) SSHOptions() []string {
	return []string{
		"-i", s.KeyFile,
		"-P", strconv.Itoa(s.Port),
		"-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + s.KnownHostsFile,
		"-o", "GlobalKnownHostsFile=/dev/null",
	}
}

// RcloneEnv returns the process environment plus RCLONE_CONFIG_* variables
// defining an rclone remote called remote for this server, ready to be used
// as exec.Cmd.Env for Debian's rclone:
//
//	cmd := exec.Command("rclone", "lsf", "-R", "sftp:"+s.Root)
//	cmd.Env = s.RcloneEnv("sftp")
func (s *SFTP) RcloneEnv(remote string) []string {
	p := "RCLONE_CONFIG_" + strings.ToUpper(remote) + "_"
	env := dropEnv(os.Environ(), func(k string) bool { return strings.HasPrefix(k, p) })
	return append(env,
		p+"TYPE=sftp",
		p+"HOST="+s.Host,
		p+"PORT="+strconv.Itoa(s.Port),
		p+"USER="+s.User,
		p+"KEY_FILE="+s.KeyFile,
		p+"KNOWN_HOSTS_FILE="+s.KnownHostsFile,
	)
}
