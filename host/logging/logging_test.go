// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package logging

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/openidentityagent/oia/host/cms"
	"github.com/sirupsen/logrus"
)

// readLines returns the lines of path, failing the test on a line that is
// not one JSON object.
func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: line %d is not JSON (%v): %q", path, len(out)+1, err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// leaks reports whether content holds secret, or any 16-character piece of
// it for long secrets (a blob cut in two still leaks).
func leaks(content, secret string) bool {
	if len(secret) <= 16 {
		return strings.Contains(content, secret)
	}
	for i := 0; i+16 <= len(secret); i++ {
		if strings.Contains(content, secret[i:i+16]) {
			return true
		}
	}
	return false
}

func randomB64(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestNew_SecretsNeverReachTheFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state", "oia", "host.log")
	log, closer, err := New(Options{Path: path, Level: "debug", Component: "oia-host"})
	if err != nil {
		t.Fatal(err)
	}
	der := make([]byte, 1230) // 1640 base64 characters: 21 lines of 76 and one of 44
	_, _ = rand.Read(der)
	wrapped := cms.WrapResponse(der)
	inner, _ := base64.StdEncoding.DecodeString(wrapped)
	challenge := randomB64(t, 48)
	signature := randomB64(t, 256)
	ticket := "AQIC5wM2LY4Sfcz" + strings.ReplaceAll(randomB64(t, 24), "/", "*") + "@AAJTSQACMDE=#"
	const passcode, passcode2, passcode3 = "k4Tz9mW", "Qp7vR2x", "Hn3wY8c"

	// Each secret with the ordinary words logged around it.
	log.WithField("passcode", passcode).Info("alpha passcode field")
	log.Infof("bravo login attempt pin=%s slot=1", passcode2)
	log.WithField("sso_ticket", ticket).Info("charlie ticket field")
	log.WithError(fmt.Errorf("broker refused ticket %s: expired", ticket)).Warn("delta logout failed")
	log.WithField("nonce", challenge).Debugf("echo got challenge %s from broker", challenge)
	log.WithField("sig", signature).Debug("foxtrot signed")
	log.WithField("authvalidate", wrapped).Debug("golf response wrapped")
	log.Debugf("hotel smime part %s end", inner)
	log.Debugf(`india broker answered <gpPARAM name="sso_ticket">%s</gpPARAM><gpPARAM name="sso_domain">.nis.nhs.uk</gpPARAM>`, ticket)
	log.WithField("body", fmt.Sprintf(`{"type":"login","pin":%q,"role":"R8000"}`, passcode3)).Debug("juliet request")
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}

	lines := readLines(t, path)
	if len(lines) != 10 {
		t.Fatalf("got %d lines, want 10", len(lines))
	}
	b, _ := os.ReadFile(path)
	// The raw file, and its lines decoded (JSON escapes quotes).
	content := string(b) + fmt.Sprint(lines)
	secrets := map[string]string{
		"passcode field": passcode, "pin= in message": passcode2, "JSON pin": passcode3,
		"ticket": ticket, "challenge": challenge, "signature": signature, "wrapped CMS": wrapped,
	}
	for i, l := range strings.Split(strings.TrimSpace(string(inner)), "\r\n")[5:] {
		secrets[fmt.Sprintf("S/MIME line %d", i)] = l
	}
	for what, s := range secrets {
		if leaks(content, s) {
			t.Errorf("the %s leaked into the log", what)
		}
	}
	for _, word := range []string{"alpha passcode field", "bravo login attempt", "slot=1", "charlie ticket field",
		"broker refused ticket", ": expired", "delta logout failed", "echo got challenge", "from broker",
		"foxtrot signed", "golf response wrapped", "hotel smime part", " end", "india broker answered",
		`<gpPARAM name="sso_domain">.nis.nhs.uk`, `"role":"R8000"`, "juliet request"} {
		if !strings.Contains(content, word) {
			t.Errorf("the log lost the ordinary text %q", word)
		}
	}
	for i, l := range lines {
		if l["component"] != "oia-host" || l["time"] == nil || l["level"] == nil {
			t.Errorf("line %d lacks component, time or level: %v", i+1, l)
		}
	}
}

func TestNew_FileAndFolderModes(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix modes")
	}
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "host.log")
	log, closer, err := New(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("x")
	_ = closer.Close()
	for p, want := range map[string]fs.FileMode{path: 0o600, dir: 0o700 | fs.ModeDir} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode(), want)
		}
	}
}

func TestNew_Levels(t *testing.T) {
	t.Parallel()
	cases := []struct {
		level   string
		want    logrus.Level
		wantErr bool
	}{
		{"", logrus.InfoLevel, false},       // unset means info
		{"error", logrus.ErrorLevel, false}, // each documented level
		{"warn", logrus.WarnLevel, false},
		{"info", logrus.InfoLevel, false},
		{"debug", logrus.DebugLevel, false},
		{"trace", 0, true},   // trace would log raw protocol detail: not offered
		{"warning", 0, true}, // only the configuration's spelling
		{"DEBUG", 0, true},   // the configuration is case-sensitive too
	}
	for _, c := range cases {
		t.Run(c.level, func(t *testing.T) {
			t.Parallel()
			log, closer, err := New(Options{Path: filepath.Join(t.TempDir(), "host.log"), Level: c.level})
			if c.wantErr {
				if err == nil || !strings.Contains(err.Error(), "use error, warn, info or debug") {
					t.Fatalf("New(Level %q) error = %v, want a hint", c.level, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer closer.Close()
			if log.GetLevel() != c.want {
				t.Errorf("level %q gave %v, want %v", c.level, log.GetLevel(), c.want)
			}
		})
	}
}

func TestNew_BadOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts Options
		hint string
	}{
		// A relative path would depend on the browser's working folder.
		{"relative path", Options{Path: "host.log"}, "not absolute"},
		{"negative size", Options{MaxSize: -1}, "negative"},
		{"negative backups", Options{Backups: -1}, "out of range"},
		// Bounded so a typo cannot fill the disk with backups.
		{"too many backups", Options{Backups: MaxBackups + 1}, "out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, _, err := New(c.opts); err == nil || !strings.Contains(err.Error(), c.hint) {
				t.Errorf("New(%+v) error = %v, want one saying %q", c.opts, err, c.hint)
			}
		})
	}
}

// syncBuffer is a stderr that tests can read while the logger writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// checkFallback checks that stderr has one notice naming why, then the
// entries, all JSON and scrubbed.
func checkFallback(t *testing.T, stderr string, why string, entries ...string) {
	t.Helper()
	if n := strings.Count(stderr, "logging to stderr"); n != 1 {
		t.Errorf("the fallback was announced %d times, want once:\n%s", n, stderr)
	}
	if !strings.Contains(stderr, why) {
		t.Errorf("the notice does not say %q:\n%s", why, stderr)
	}
	for _, e := range entries {
		if !strings.Contains(stderr, e) {
			t.Errorf("stderr lacks the entry %q:\n%s", e, stderr)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !json.Valid([]byte(l)) {
			t.Errorf("stderr line is not JSON: %q", l)
		}
	}
	if strings.Contains(stderr, "k4Tz9mW") {
		t.Errorf("a passcode reached stderr:\n%s", stderr)
	}
}

func TestNew_FallsBackToStderrWhenTheFileCannotBeOpened(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(t *testing.T) (path string, open opener)
		why   string
	}{
		// A folder the user may not write (skipped as root, who may).
		{"read-only folder", func(t *testing.T) (string, opener) {
			if os.Geteuid() == 0 || runtime.GOOS == "windows" {
				t.Skip("root ignores folder permissions; the read-only file system case covers the path")
			}
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
			return filepath.Join(dir, "host.log"), openAppend
		}, "permission denied"},
		// A read-only mount refuses even root.
		{"read-only file system", func(t *testing.T) (string, opener) {
			return filepath.Join(t.TempDir(), "host.log"), func(p string) (logFile, error) {
				return nil, &os.PathError{Op: "open", Path: p, Err: syscall.EROFS}
			}
		}, "read-only file system"},
		// The file cannot be created: its folder is a regular file.
		{"folder is a file", func(t *testing.T) (string, opener) {
			f := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(f, "host.log"), openAppend
		}, "cannot create the log folder"},
		// The file cannot be created: a folder has its name.
		{"path is a folder", func(t *testing.T) (string, opener) {
			return t.TempDir(), openAppend
		}, "cannot open the log file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path, open := c.setup(t)
			var stderr syncBuffer
			log, closer, err := newLogger(Options{Path: path, Stderr: &stderr, Component: "oia-host"}, open)
			if err != nil {
				t.Fatalf("New failed (%v): it must fall back, not fail", err)
			}
			log.WithField("pin", "k4Tz9mW").Info("first entry")
			log.Warn("second entry")
			if err := closer.Close(); err != nil {
				t.Errorf("Close after a fallback: %v", err)
			}
			checkFallback(t, stderr.String(), c.why, "first entry", "second entry", `"component":"oia-host"`)
		})
	}
}

// failingFile is a real file whose writes fail with err after ok writes.
type failingFile struct {
	*os.File
	mu  sync.Mutex
	ok  int
	err error
}

func (f *failingFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ok == 0 {
		return 0, &os.PathError{Op: "write", Path: f.Name(), Err: f.err}
	}
	f.ok--
	return f.File.Write(p)
}

var _ logFile = (*failingFile)(nil)

func TestNew_FallsBackToStderrWhenTheDiskIsFull(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "host.log")
	open := func(p string) (logFile, error) {
		f, err := openAppend(p)
		if err != nil {
			return nil, err
		}
		return &failingFile{File: f.(*os.File), ok: 2, err: syscall.ENOSPC}, nil
	}
	var stderr syncBuffer
	log, closer, err := newLogger(Options{Path: path, Stderr: &stderr}, open)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("one")
	log.Info("two")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { log.WithField("pin", "k4Tz9mW").Infof("late %d", i) })
	}
	wg.Wait()
	_ = closer.Close()
	log.Info("after close")

	file := readLines(t, path)
	if len(file) != 2 || file[0]["msg"] != "one" || file[1]["msg"] != "two" {
		t.Errorf("the file holds %v, want the two entries written before the disk filled", file)
	}
	checkFallback(t, stderr.String(), "no space left on device", "late 0", "late 7", "after close")
}

// brokenWriter is a stderr that is gone.
type brokenWriter struct{ calls int }

func (b *brokenWriter) Write([]byte) (int, error) {
	b.calls++
	return 0, errors.New("bad file descriptor")
}

func TestNew_NothingLeftToWriteTo(t *testing.T) {
	t.Parallel()
	stderr := &brokenWriter{}
	log, closer, err := newLogger(Options{Path: t.TempDir(), Stderr: stderr}, openAppend)
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		log.Error("nowhere")
	}
	_ = closer.Close()
	if stderr.calls != 1 {
		t.Errorf("a failing stderr was written %d times, want 1 and then left alone", stderr.calls)
	}
}

// TestNew_NeverWritesStdout swaps os.Stdout, so it does not run in
// parallel.
func TestNew_NeverWritesStdout(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	func() {
		defer func() { os.Stdout = saved }()
		for _, path := range []string{filepath.Join(t.TempDir(), "host.log"), t.TempDir()} { // a file, and a fallback
			log, closer, err := newLogger(Options{Path: path, Stderr: io.Discard, Level: "debug"}, openAppend)
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("d")
			log.Error("e")
			_ = closer.Close()
		}
		Discard().Error("discarded")
	}()
	_ = w.Close()
	out, _ := io.ReadAll(r)
	if len(out) != 0 {
		t.Errorf("the logger wrote %q to stdout, the protocol channel", out)
	}
}

func TestDiscard(t *testing.T) {
	t.Parallel()
	log := Discard()
	if !log.IsLevelEnabled(logrus.DebugLevel) {
		t.Error("Discard must run debug entries through the hooks too")
	}
	log.WithField("pin", "k4Tz9mW").WithError(errors.New("x")).Debug(testTicket)
}
