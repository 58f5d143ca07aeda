// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package vcard

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Files in a card directory. The module reads all of them; only the state
// file changes after [Init].
const (
	StateFile = "state"    // key=value lines, described in docs/vcard.md
	KeyFile   = "card.key" // the card's RSA private key, PKCS#8 PEM
	CertFile  = "card.pem" // the card's authentication certificate, PEM
	LockFile  = "lock"     // flock target: shared to read, exclusive to change
)

// maxStateBytes bounds the state file; the module refuses bigger ones too.
const maxStateBytes = 16 << 10

// Keys of the state file. The module (module/state.c) reads these names and
// writes back the ones it changes; keep the two in step.
const (
	kVersion         = "version"
	kPresent         = "present"
	kPasscode        = "passcode"
	kAttempts        = "attempts"
	kPINPad          = "pinpad"
	kPINPadTimeoutMS = "pinpad_timeout_ms"
	kSerial          = "serial"
	kLabel           = "label"
	kGeneration      = "generation"
	kWriteProtected  = "write_protected"
	kKeyID           = "key_id"
	kUID             = "uid"
	kName            = "name"
	kPKIDir          = "pki_dir"
	kFaultFunc       = "fault_func"
	kFaultRV         = "fault_rv"
	kFaultRemove     = "fault_remove"
	kFaultOnce       = "fault_once"
	kPINPadSeq       = "pinpad_seq"
	kPINPadWaiting   = "pinpad_waiting"
	kPINPadPID       = "pinpad_pid"
	kPINPadEntrySeq  = "pinpad_entry_seq"
	kPINPadEntry     = "pinpad_entry"
	kPINPadCancel    = "pinpad_cancel"
)

// errNoCard is returned when a directory holds no card state.
var errNoCard = errors.New("no virtual card here")

// state is the parsed state file: ordered key=value pairs, so that keys this
// version does not know survive a rewrite.
type state struct {
	keys []string
	vals map[string]string
}

func newState() *state { return &state{vals: map[string]string{}} }

func (s *state) get(k string) string { return s.vals[k] }

func (s *state) set(k, v string) {
	if _, ok := s.vals[k]; !ok {
		s.keys = append(s.keys, k)
	}
	s.vals[k] = v
}

func (s *state) setBool(k string, v bool) {
	if v {
		s.set(k, "1")
	} else {
		s.set(k, "0")
	}
}

func (s *state) setUint(k string, v uint64) { s.set(k, strconv.FormatUint(v, 10)) }

func (s *state) bool(k string) bool { return s.uint(k) != 0 }

// uint reads a number written by either side (decimal, or 0x hex as the
// module writes fault_rv); a bad value reads as 0 and is caught by check.
func (s *state) uint(k string) uint64 {
	v, _ := strconv.ParseUint(s.get(k), 0, 64)
	return v
}

// parseState reads the state file format; it is as strict as the module's
// parser so that both sides agree on what is valid.
func parseState(b []byte) (*state, error) {
	if len(b) > maxStateBytes {
		return nil, fmt.Errorf("state file is larger than %d bytes", maxStateBytes)
	}
	s := newState()
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !validKey(k) || len(v) >= 256 || strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("state file line %d is malformed", n)
		}
		s.set(k, v)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if s.get(kVersion) != "1" {
		return nil, fmt.Errorf("state file version %q is not 1; run 'oia-vcard init --force'", s.get(kVersion))
	}
	return s, nil
}

func validKey(k string) bool {
	if k == "" || len(k) >= 32 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func (s *state) encode() []byte {
	var b bytes.Buffer
	b.WriteString("# oia-vcard state; change it with oia-vcard (docs/vcard.md)\n")
	for _, k := range s.keys {
		fmt.Fprintf(&b, "%s=%s\n", k, s.vals[k])
	}
	return b.Bytes()
}

// readState reads dir's state file; the caller holds the lock.
func readState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w; make one with 'oia-vcard init'", dir, errNoCard)
	}
	if err != nil {
		return nil, err
	}
	s, err := parseState(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return s, nil
}

// writeState replaces dir's state file atomically; the caller holds the
// exclusive lock.
func writeState(dir string, s *state) error {
	return writeFileAtomic(filepath.Join(dir, StateFile), s.encode())
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// over path, so that a reader sees the old file or the new one, never half.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err = f.Write(data); err == nil {
		err = f.Chmod(0o600)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
