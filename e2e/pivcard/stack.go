// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package pivcard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Paths of the Debian packages the stack uses (scripts/deps.sh installs
// them).
var (
	PCSCD        = "/usr/sbin/pcscd"
	VPCDDriver   = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
	OpenSCModule = openSCModule()
	PKCS11Tool   = "/usr/bin/pkcs11-tool"
)

// openSCModule finds OpenSC's module in Debian's multiarch library folder
// (x86_64-linux-gnu, aarch64-linux-gnu, ...).
func openSCModule() string {
	if m, _ := filepath.Glob("/usr/lib/*-linux-gnu*/opensc-pkcs11.so"); len(m) > 0 {
		return m[0]
	}
	return "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so" // named in the hint when missing
}

// ErrUnavailable wraps every reason the stack cannot start on this
// machine (a package missing, no mount namespace); tests skip on it.
var ErrUnavailable = errors.New("pivcard: the PC/SC stack is not available")

// VPCDPort is where vpcd listens for the card (on all interfaces of
// pcscd's own network namespace, so only the relay can reach it).
const VPCDPort = 0x8C7B

// Stack is a private pcscd with one vpcd virtual reader, the Reader that
// plays the card, and an OpenSC configuration for it. Processes (or this
// one, after [Stack.Setenv]) that load OpenSC with [Stack.Env] talk to this
// pcscd only.
//
// Isolation: pcscd 1.9.9 always serves /run/pcscd/pcscd.comm (it does not
// read PCSCLITE_CSOCK_NAME; only the client library does), and vpcd binds
// its port on every interface (its "reversed" mode, which would connect
// out instead, crashes pcscd on reconnection in Debian's 0.8: vsmartcard virtualsmartcard/src/vpcd/vpcd.c
// vicc_connect tests server_sock against 0, not INVALID_SOCKET). So pcscd
// runs under unshare(1) in its own mount and network namespaces (and a
// user namespace when not root): a private directory is mounted over /run,
// an empty tmpfs over /usr/lib/pcsc/drivers (it loads no USB driver and
// leaves the machine's readers to the machine's pcscd), and vpcd's port
// exists only on that namespace's loopback. A relay process ([Relay], the
// command oia-pivcard) joins the namespace with nsenter(1) and links vpcd
// to the Reader's Unix socket. Clients find pcscd through
// PCSCLITE_CSOCK_NAME. Nothing is shared with another stack or a
// developer's pcscd, so stacks need no lock and may run in parallel.
type Stack struct {
	// Reader is the card side of the virtual reader: insert, remove and
	// swap cards there.
	Reader *Reader
	// Dir holds the configuration, the socket and pcscd's log.
	Dir string
	// Socket is the pcscd socket (PCSCLITE_CSOCK_NAME).
	Socket string
	// OpenSCConf is the OpenSC configuration file (OPENSC_CONF).
	OpenSCConf string
	// Module is OpenSC's PKCS#11 module.
	Module string

	cmd     *exec.Cmd
	relay   *exec.Cmd
	logFile *os.File
	done    chan struct{}
	once    sync.Once
}

// Available reports why the stack cannot run here, or nil.
func Available() error {
	for _, p := range []string{PCSCD, VPCDDriver, OpenSCModule} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w: %s is missing: run scripts/deps.sh (pcscd vsmartcard-vpcd opensc-pkcs11)", ErrUnavailable, p)
		}
	}
	for _, p := range []string{"unshare", "nsenter"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%w: %s(1) is missing (util-linux)", ErrUnavailable, p)
		}
	}
	if _, err := ipPath(); err != nil {
		return fmt.Errorf("%w: ip(8) is missing: run scripts/deps.sh (iproute2)", ErrUnavailable)
	}
	return nil
}

func ipPath() (string, error) {
	for _, p := range []string{"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath("ip")
}

// Start starts the reader and a pcscd for it, and waits until pcscd
// serves its socket. The reader starts empty. relay is the oia-pivcard
// command (e2e/rig.Binary finds it). Close stops everything.
func Start(ctx context.Context, relay string) (*Stack, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	// Short: a Unix socket path has at most 107 bytes.
	dir, err := os.MkdirTemp("", "oia-pcscd-")
	if err != nil {
		return nil, err
	}
	s := &Stack{Dir: dir, Module: OpenSCModule, done: make(chan struct{})}
	if err := s.start(ctx, relay); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Stack) start(ctx context.Context, relay string) error {
	r, err := Listen(filepath.Join(s.Dir, "card.sock"))
	if err != nil {
		return err
	}
	s.Reader = r
	run, conf, drv := filepath.Join(s.Dir, "run"), filepath.Join(s.Dir, "reader.conf.d"), filepath.Join(s.Dir, "drivers")
	for _, d := range []string{run, conf, drv} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// The driver is copied out of the directory that is hidden from pcscd.
	lib, err := os.ReadFile(VPCDDriver)
	if err != nil {
		return err
	}
	driver := filepath.Join(drv, "libifdvpcd.so")
	if err := os.WriteFile(driver, lib, 0o755); err != nil {
		return err
	}
	// Server mode, as Debian configures it (/etc/reader.conf.d/vpcd).
	readerConf := fmt.Sprintf("FRIENDLYNAME \"OIA Virtual PIV\"\nDEVICENAME /dev/null:0x%X\nLIBPATH %s\nCHANNELID 0x%X\n", VPCDPort, driver, VPCDPort)
	if err := os.WriteFile(filepath.Join(conf, "vpcd"), []byte(readerConf), 0o644); err != nil {
		return err
	}
	s.OpenSCConf = filepath.Join(s.Dir, "opensc.conf")
	if err := os.WriteFile(s.OpenSCConf, []byte(openSCConf(s.Dir)), 0o644); err != nil {
		return err
	}
	s.Socket = filepath.Join(run, "pcscd", "pcscd.comm")
	s.logFile, err = os.Create(filepath.Join(s.Dir, "pcscd.log"))
	if err != nil {
		return err
	}
	ip, _ := ipPath()
	script := fmt.Sprintf("%s link set lo up && mount --bind %q /run && mount -t tmpfs -o size=64k oia-empty /usr/lib/pcsc/drivers && exec %q --foreground --info --config %q",
		ip, run, PCSCD, conf)
	args := []string{"--mount", "--net", "--propagation", "private"}
	if os.Geteuid() != 0 {
		args = append(args, "--map-root-user")
	}
	s.cmd = exec.Command("unshare", append(args, "--", "sh", "-c", script)...)
	s.cmd.Stdout, s.cmd.Stderr = s.logFile, s.logFile
	s.cmd.Env = append(os.Environ(), "LANG=C")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("%w: start pcscd: %v", ErrUnavailable, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(s.Socket); err == nil {
			return s.startRelay(relay)
		}
		select {
		case <-s.done:
			return fmt.Errorf("%w: pcscd exited at start (no mount namespace here?):\n%s", ErrUnavailable, s.Log())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pivcard: pcscd did not open %s in 10 s:\n%s", s.Socket, s.Log())
		}
	}
}

// startRelay starts the relay in pcscd's namespaces.
func (s *Stack) startRelay(relay string) error {
	args := []string{"--target", fmt.Sprint(s.cmd.Process.Pid), "--net"}
	if os.Geteuid() != 0 {
		args = append(args, "--user", "--preserve-credentials")
	}
	args = append(args, "--", relay, "relay", "-card", s.Reader.Socket, "-vpcd", fmt.Sprintf("127.0.0.1:%d", VPCDPort))
	s.relay = exec.Command("nsenter", args...)
	s.relay.Stdout, s.relay.Stderr = s.logFile, s.logFile
	s.relay.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := s.relay.Start(); err != nil {
		return fmt.Errorf("%w: start the relay: %v", ErrUnavailable, err)
	}
	return nil
}

// openSCConf pins OpenSC to its PIV driver (no other driver probes the
// card, and detection takes no 14 s) and keeps its file cache out of the
// user's home.
func openSCConf(dir string) string {
	return fmt.Sprintf(`app default {
	debug = 0;
	card_drivers = PIV-II;
	card_atr %s {
		driver = "PIV-II";
	}
	framework pkcs15 {
		use_file_caching = no;
		file_cache_dir = %q;
	}
}
`, hexColon(ATR), filepath.Join(dir, "opensc-cache"))
}

func hexColon(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, ":")
}

// Env is the environment a process needs to use this stack through
// OpenSC: PCSCLITE_CSOCK_NAME and OPENSC_CONF.
func (s *Stack) Env() []string {
	return []string{"PCSCLITE_CSOCK_NAME=" + s.Socket, "OPENSC_CONF=" + s.OpenSCConf}
}

// Setenv sets [Stack.Env] in this process (before OpenSC is loaded: it
// reads them at C_Initialize).
func (s *Stack) Setenv() error {
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Log returns what pcscd printed so far.
func (s *Stack) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "pcscd.log"))
	return string(bytes.TrimSpace(b))
}

// Close stops pcscd and the reader and removes the directory.
func (s *Stack) Close() error {
	s.once.Do(func() {
		if s.relay != nil && s.relay.Process != nil {
			_ = s.relay.Process.Kill()
			_ = s.relay.Wait()
		}
		if s.cmd != nil && s.cmd.Process != nil {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(5 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.done
			}
		}
		if s.Reader != nil {
			s.Reader.Close()
		}
		if s.logFile != nil {
			s.logFile.Close()
		}
		os.RemoveAll(s.Dir)
	})
	return nil
}
