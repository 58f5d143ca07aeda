// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package logging

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// logFile is the part of *os.File the rotating writer uses, so that tests
// can put a failing file in its place.
type logFile interface {
	io.WriteCloser
	Stat() (fs.FileInfo, error)
}

var _ logFile = (*os.File)(nil)

// opener opens path for appending, creating it with mode 0600.
type opener func(path string) (logFile, error)

// rotatingFile is the logger's output: a size-capped file with numbered
// backups, or standard error once the file has failed.
type rotatingFile struct {
	maxSize   int64
	backups   int
	open      opener
	stderr    io.Writer
	now       func() time.Time
	component string

	mu   sync.Mutex
	path string
	f    logFile // nil when writing to stderr
	// retryAt is the size below which a rotation that failed is not tried
	// again, so that a file another process keeps open on Windows does not
	// cost a failed rename on every line.
	retryAt       int64
	warnedRotate  bool
	closed        bool
	fellBack      bool
	stderrFailing bool
}

var _ io.WriteCloser = (*rotatingFile)(nil)

// start opens path, or falls back to stderr with the reason why not.
func (r *rotatingFile) start(path string, why error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.path = path
	if why != nil {
		r.fallBack(why)
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		r.fallBack(fmt.Errorf("cannot create the log folder, logging to stderr: %w (make the folder writable or set logFile in the configuration)", err))
		return
	}
	if !r.reopen() {
		return
	}
	if fi, err := r.f.Stat(); err == nil && fi.Size() >= r.maxSize {
		r.lockedRotate(0)
	}
}

// Write writes p, one log line, to the file, rotating first if p would take
// the file past the cap. It never fails: when the file fails, p and what
// follows go to stderr.
func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f != nil {
		r.rotateIfNeeded(int64(len(p)))
	}
	if r.f != nil {
		_, err := r.f.Write(p)
		if err == nil {
			return len(p), nil
		}
		_ = r.f.Close()
		r.f = nil
		r.fallBack(fmt.Errorf("cannot write the log file, logging to stderr: %w (free disk space or set logFile in the configuration)", err))
	}
	r.writeStderr(p)
	return len(p), nil
}

// Close closes the file. Later entries go to stderr.
func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

func (r *rotatingFile) rotateIfNeeded(n int64) {
	fi, err := r.f.Stat()
	if err != nil {
		return
	}
	if fi.Size() == 0 || fi.Size()+n <= r.maxSize || fi.Size() < r.retryAt {
		return
	}
	r.lockedRotate(n)
}

// lockedRotate rotates under the rotation lock, unless another host process
// rotated first: then it only reopens the path.
func (r *rotatingFile) lockedRotate(n int64) {
	unlock := r.lock()
	defer unlock()
	fi, err := r.f.Stat()
	if err != nil {
		return
	}
	// After another process's rotation, r.f is a backup and the path names
	// a new file.
	if cur, err := os.Stat(r.path); err == nil && !os.SameFile(cur, fi) {
		_ = r.f.Close()
		r.retryAt = 0
		if !r.reopen() {
			return
		}
		if fi, err = r.f.Stat(); err != nil || fi.Size() == 0 || fi.Size()+n <= r.maxSize {
			return
		}
	}
	r.rotate(fi.Size())
}

// lock takes the rotation lock, path.lock, shared by every process that
// logs to path, and returns its release. Without the lock file (a read-only
// folder) it rotates unlocked.
func (r *rotatingFile) lock() (unlock func()) {
	f, err := os.OpenFile(r.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return func() {}
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		return func() {}
	}
	return func() { _ = f.Close() }
}

// rotate shifts path.N-1 to path.N ... path to path.1 and opens a new path.
// If the last rename fails it keeps appending to the current file.
func (r *rotatingFile) rotate(size int64) {
	_ = r.f.Close()
	r.f = nil
	for i := r.backups - 1; i >= 1; i-- {
		err := os.Rename(r.backup(i), r.backup(i+1))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err := os.Rename(r.path, r.backup(1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.retryAt = size + max(r.maxSize/8, 1)
		if !r.warnedRotate {
			r.warnedRotate = true
			r.notice(fmt.Errorf("cannot rotate the log file, it will grow past its limit: %w (check the folder's permissions)", err))
		}
	} else {
		r.retryAt = 0
	}
	r.reopen()
}

func (r *rotatingFile) backup(i int) string { return r.path + "." + strconv.Itoa(i) }

// reopen opens r.path; on failure it falls back to stderr and reports false.
func (r *rotatingFile) reopen() bool {
	f, err := r.open(r.path)
	if err != nil {
		r.f = nil
		r.fallBack(fmt.Errorf("cannot open the log file, logging to stderr: %w (make the folder writable or set logFile in the configuration)", err))
		return false
	}
	r.f = f
	return true
}

// fallBack switches to stderr and says why, once.
func (r *rotatingFile) fallBack(why error) {
	if r.fellBack {
		return
	}
	r.fellBack = true
	r.notice(why)
}

// notice writes one warning line, in the logger's JSON form, to stderr.
func (r *rotatingFile) notice(why error) {
	line := map[string]string{
		"level": "warning",
		"msg":   Redact(why.Error()),
		"time":  r.now().Format(time.RFC3339Nano),
	}
	if r.component != "" {
		line[ComponentKey] = r.component
	}
	b, _ := json.Marshal(line) // a map of strings always marshals
	r.writeStderr(append(b, '\n'))
}

// writeStderr writes p to stderr, ignoring errors: there is nowhere left to
// report them.
func (r *rotatingFile) writeStderr(p []byte) {
	if r.stderrFailing {
		return
	}
	if _, err := r.stderr.Write(p); err != nil {
		// A closed or invalid stderr (a host started without one) fails
		// fast every time; stop trying.
		r.stderrFailing = true
	}
}
