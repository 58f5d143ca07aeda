// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build unix

package endpoint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// socketName and lockName are the files in the agent's directory.
const (
	socketName = "agent.sock"
	lockName   = "agent.lock"
)

func defaultAddress() (string, error) {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "oia", socketName), nil
	}
	tmp := os.Getenv("TMPDIR")
	if tmp == "" || !filepath.IsAbs(tmp) {
		tmp = "/tmp"
	}
	return filepath.Join(tmp, "oia-"+strconv.Itoa(os.Getuid()), socketName), nil
}

// privateDir makes dir (mode 0700) if it is missing and checks that it is
// a real directory of this user's, closed to everyone else.
func privateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("endpoint: cannot make the agent directory: %w", err)
	}
	return checkPrivate(dir, true)
}

// checkPrivate checks that path is this user's and that group and others
// have no access to it; isDir says what it must be.
func checkPrivate(path string, isDir bool) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	kind := st.Mode & unix.S_IFMT
	switch {
	case isDir && kind != unix.S_IFDIR:
		return fmt.Errorf("endpoint: %s is not a directory (a link or a file is in its place): remove it", path)
	case !isDir && kind != unix.S_IFSOCK:
		return fmt.Errorf("endpoint: %s is not a socket: remove it", path)
	case int(st.Uid) != os.Getuid():
		return &NotSameUserError{What: path, Got: "uid " + strconv.Itoa(int(st.Uid))}
	case isDir && st.Mode&0o077 != 0:
		return fmt.Errorf("endpoint: %s has mode %o; it must be 0700 (chmod 700 it, or remove it)", path, st.Mode&0o777)
	}
	return nil
}

func listen(addr string) (net.Listener, func() error, func() bool, error) {
	dir := filepath.Dir(addr)
	if err := privateDir(dir); err != nil {
		return nil, nil, nil, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("endpoint: cannot open the agent lock: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, nil, nil, ErrRunning
		}
		return nil, nil, nil, fmt.Errorf("endpoint: cannot lock the agent lock: %w", err)
	}
	// Holding the lock, whatever socket is there is a dead agent's.
	if err := os.Remove(addr); err != nil && !errors.Is(err, fs.ErrNotExist) {
		lock.Close()
		return nil, nil, nil, fmt.Errorf("endpoint: cannot remove the stale socket: %w", err)
	}
	old := unix.Umask(0o177)
	ln, err := net.Listen("unix", addr)
	unix.Umask(old)
	if err != nil {
		lock.Close()
		return nil, nil, nil, fmt.Errorf("endpoint: cannot listen: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false) // removed below, only while we hold the lock
	var st unix.Stat_t
	if err := unix.Stat(addr, &st); err != nil {
		ln.Close()
		lock.Close()
		return nil, nil, nil, fmt.Errorf("endpoint: cannot stat the socket: %w", err)
	}
	ino, dev := st.Ino, st.Dev
	held := func() bool {
		var now unix.Stat_t
		return unix.Stat(addr, &now) == nil && now.Ino == ino && now.Dev == dev
	}
	release := func() error {
		if held() {
			_ = os.Remove(addr)
		}
		return lock.Close()
	}
	return ln, release, held, nil
}

func dial(ctx context.Context, addr string) (net.Conn, error) {
	if err := checkPrivate(filepath.Dir(addr), true); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s is missing", ErrNoAgent, filepath.Dir(addr))
		}
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", addr)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ECONNREFUSED) {
			return nil, fmt.Errorf("%w at %s", ErrNoAgent, addr)
		}
		return nil, err
	}
	return c, nil
}

func sameUser(p Peer) bool { return p.UID >= 0 && p.UID == os.Getuid() }

// serverOf is the same question as peerOf, asked by the client.
func serverOf(c net.Conn) (Peer, error) { return peerOf(c) }

// rawFd runs f on the connection's file descriptor.
func rawFd(c net.Conn, f func(fd int) error) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return errors.New("endpoint: not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
