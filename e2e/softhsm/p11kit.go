// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package softhsm

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Client module paths to try, the Debian one first.
var clientPaths = []string{
	"/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so",
	"/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so",
	"/usr/lib/pkcs11/p11-kit-client.so",
}

// ClientModulePath returns the installed p11-kit-client module, or "".
func ClientModulePath() string {
	for _, p := range clientPaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Server is a `p11-kit server` exporting one SoftHSM token over a Unix
// socket. A process using p11-kit-client.so with [Server.Env] sees the token
// as a card; [Server.Remove] makes it vanish the way a pulled card does
// (every call fails with CKR_DEVICE_ERROR) and [Server.Insert] brings it
// back (seen after the client module is re-initialised).
type Server struct {
	dir    *Dir
	label  string
	socket string
	cmd    *exec.Cmd
}

// StartServer exports the token labelled label of d, skipping the test when
// p11-kit is not installed. The server is stopped when the test ends.
func StartServer(t testing.TB, d *Dir, label string) *Server {
	t.Helper()
	if _, err := exec.LookPath("p11-kit"); err != nil || ClientModulePath() == "" {
		t.Skip("p11-kit is not installed: apt-get install p11-kit p11-kit-modules (scripts/deps.sh)")
	}
	s := &Server{dir: d, label: label, socket: filepath.Join(filepath.Dir(d.Conf), "p11kit-"+label+".sock")}
	t.Cleanup(func() { s.Remove() })
	if err := s.Insert(); err != nil {
		t.Fatal(err)
	}
	return s
}

// Env returns the environment entry that points p11-kit-client at s.
func (s *Server) Env() string { return "P11_KIT_SERVER_ADDRESS=unix:path=" + s.socket }

// Setenv points this process's p11-kit-client at s for the rest of the
// test; call it before the client module is first initialised.
func (s *Server) Setenv(t testing.TB) {
	t.Helper()
	t.Setenv("P11_KIT_SERVER_ADDRESS", "unix:path="+s.socket)
}

// Insert starts the server (again), and returns once it listens.
func (s *Server) Insert() error {
	if s.cmd != nil {
		return errors.New("softhsm: the p11-kit server is already running")
	}
	_ = os.Remove(s.socket)
	cmd := exec.Command("p11-kit", "server", "-f", "-s", "-n", s.socket, "--provider", ModulePath(), "pkcs11:token="+s.label)
	cmd.Env = append(os.Environ(), s.dir.Env())
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("softhsm: start p11-kit server: %w", err)
	}
	s.cmd = cmd
	// It prints P11_KIT_SERVER_ADDRESS=… once the socket is listening.
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "P11_KIT_SERVER_ADDRESS=") {
			go func() { // drain the rest so the server never blocks on stdout
				for sc.Scan() {
				}
			}()
			return nil
		}
	}
	s.Remove()
	return errors.New("softhsm: p11-kit server exited before listening; see its messages above")
}

// Remove stops the server and the per-connection p11-kit-remote children
// it forked, so that connected clients see a dead device.
func (s *Server) Remove() {
	if s.cmd == nil {
		return
	}
	killChildren(s.cmd.Process.Pid)
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}
