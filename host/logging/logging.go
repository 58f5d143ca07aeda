// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package logging

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"
)

const (
	// DefaultMaxSize is the size at which the log file is rotated when
	// [Options.MaxSize] is zero.
	DefaultMaxSize int64 = 5 << 20
	// DefaultBackups is the number of rotated files kept when
	// [Options.Backups] is zero.
	DefaultBackups = 3
	// MaxBackups bounds [Options.Backups].
	MaxBackups = 100
	// ComponentKey is the field that carries [Options.Component].
	ComponentKey = "component"
)

// Options configures [New]. The zero value logs at info level to
// [DefaultPath] with the default size and backups.
type Options struct {
	// Path is the log file; empty means [DefaultPath]. It must be absolute.
	Path string
	// Level is error, warn, info or debug; empty means info.
	Level string
	// MaxSize is the size in bytes past which the file is rotated; zero
	// means [DefaultMaxSize].
	MaxSize int64
	// Backups is how many rotated files (Path.1 ... Path.N) are kept; zero
	// means [DefaultBackups].
	Backups int
	// Component, when not empty, is added to every entry as the field
	// [ComponentKey], e.g. "oia-host".
	Component string
	// Stderr receives the log when the file cannot be used; nil means
	// os.Stderr at the time of the call to [New].
	Stderr io.Writer
}

// New returns a logger that writes JSON lines to the log file, and the
// closer of that file. The error reports invalid options only: a file that
// cannot be opened makes the logger fall back to standard error, as the
// package documentation describes. Close the closer when the host exits;
// entries logged after that go to standard error.
func New(opts Options) (*logrus.Logger, io.Closer, error) {
	return newLogger(opts, openAppend)
}

func newLogger(opts Options, open opener) (*logrus.Logger, io.Closer, error) {
	level, err := ParseLevel(opts.Level)
	if err != nil {
		return nil, nil, err
	}
	maxSize, backups := opts.MaxSize, opts.Backups
	switch {
	case maxSize < 0:
		return nil, nil, fmt.Errorf("log file size limit %d is negative: use 0 for the default of %d bytes", maxSize, DefaultMaxSize)
	case maxSize == 0:
		maxSize = DefaultMaxSize
	}
	switch {
	case backups < 0 || backups > MaxBackups:
		return nil, nil, fmt.Errorf("log file backups %d is out of range: use 0..%d (0 keeps %d)", backups, MaxBackups, DefaultBackups)
	case backups == 0:
		backups = DefaultBackups
	}
	if opts.Path != "" && !filepath.IsAbs(opts.Path) {
		return nil, nil, fmt.Errorf("log file path %q is not absolute: give a full path", opts.Path)
	}
	stderr := opts.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	r := &rotatingFile{
		maxSize:   maxSize,
		backups:   backups,
		open:      open,
		stderr:    stderr,
		now:       time.Now,
		component: opts.Component,
	}
	path := opts.Path
	if path == "" {
		path, err = DefaultPath()
	}
	if err != nil {
		r.start("", fmt.Errorf("cannot find the per-user log folder, logging to stderr: %w (set logFile in the configuration)", err))
	} else {
		r.start(path, nil)
	}
	l := newJSONLogger(r, level, opts.Component)
	return l, r, nil
}

// Discard returns a logger for tests: it formats and scrubs every entry
// at debug level, like a real one, and throws the result away.
func Discard() *logrus.Logger {
	return newJSONLogger(io.Discard, logrus.DebugLevel, "")
}

// ParseLevel turns error, warn, info or debug into a logrus level; empty
// means info.
func ParseLevel(s string) (logrus.Level, error) {
	switch s {
	case "error":
		return logrus.ErrorLevel, nil
	case "warn":
		return logrus.WarnLevel, nil
	case "", "info":
		return logrus.InfoLevel, nil
	case "debug":
		return logrus.DebugLevel, nil
	}
	return 0, fmt.Errorf("unknown log level %q: use error, warn, info or debug", s)
}

func newJSONLogger(out io.Writer, level logrus.Level, component string) *logrus.Logger {
	l := logrus.New()
	l.SetOutput(out)
	l.SetFormatter(&logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano, DisableHTMLEscape: true})
	l.SetLevel(level)
	// Redaction first: hooks fire in registration order, and one that
	// formats or forwards the entry must only ever see it scrubbed.
	l.AddHook(redactHook{})
	if component != "" {
		l.AddHook(componentHook(component))
	}
	return l
}

// componentHook adds the component field unless the entry has one.
type componentHook string

var _ logrus.Hook = componentHook("")

func (componentHook) Levels() []logrus.Level { return logrus.AllLevels }

func (c componentHook) Fire(e *logrus.Entry) error {
	if _, ok := e.Data[ComponentKey]; !ok {
		e.Data[ComponentKey] = string(c)
	}
	return nil
}
