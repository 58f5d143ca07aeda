// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/openidentityagent/oia/host/protocol"
)

func TestCode(t *testing.T) {
	for _, tc := range []struct {
		op   string
		rv   pkcs11.Error
		want protocol.Code
		why  string
	}{
		{opLogin, pkcs11.CKR_OK, "", "success"},
		{opLogin, pkcs11.CKR_USER_ALREADY_LOGGED_IN, "", "login state is per token: another session already logged in"},
		{opLogin, pkcs11.CKR_PIN_INCORRECT, protocol.CodePINIncorrect, "wrong passcode"},
		{opLogin, pkcs11.CKR_PIN_LOCKED, protocol.CodePINLocked, "third wrong passcode, or already locked"},
		{opLogin, pkcs11.CKR_PIN_EXPIRED, protocol.CodePINExpired, "the card wants a new passcode"},
		{opLogin, pkcs11.CKR_PIN_LEN_RANGE, protocol.CodePINInvalid, "too short or long for the card"},
		{opLogin, pkcs11.CKR_PIN_INVALID, protocol.CodePINInvalid, "characters the card does not take"},
		{opLogin, pkcs11.CKR_FUNCTION_CANCELED, protocol.CodeUserAbort, "cancel pressed on the PIN pad"},
		{opLogin, pkcs11.CKR_DEVICE_REMOVED, protocol.CodeCardRemoved, "the standard removal code"},
		{opSign, pkcs11.CKR_TOKEN_NOT_PRESENT, protocol.CodeCardRemoved, "OpenSC after the card left"},
		{opGetTokenInfo, pkcs11.CKR_TOKEN_NOT_RECOGNIZED, protocol.CodeCardRemoved, "a card the middleware cannot read took its place"},
		{opSign, pkcs11.CKR_SESSION_HANDLE_INVALID, protocol.CodeCardRemoved, "sessions die with the card"},
		{opSign, pkcs11.CKR_SESSION_CLOSED, protocol.CodeCardRemoved, "sessions die with the card"},
		{opGetSlotList, pkcs11.CKR_DEVICE_ERROR, protocol.CodeCardRemoved, "p11-kit-client after its server went away"},
		{opSignInit, pkcs11.CKR_OBJECT_HANDLE_INVALID, protocol.CodeCardRemoved, "SoftHSM: cached key handle after the token went"},
		{opSignInit, pkcs11.CKR_KEY_HANDLE_INVALID, protocol.CodeCardRemoved, "the spec's code for a stale key handle"},
		{opOpenSession, pkcs11.CKR_SLOT_ID_INVALID, protocol.CodeCardRemoved, "the reader was unplugged with the card"},
		{opLogin, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED, protocol.CodeCardRemoved, "the module was re-initialised under the session"},
		{opGetTokenInfo, pkcs11.CKR_GENERAL_ERROR, protocol.CodeCardRemoved, "SoftHSM: token deleted underneath"},
		{opSign, pkcs11.CKR_GENERAL_ERROR, protocol.CodeCardError, "elsewhere a general error is just a failure"},
		{opSign, pkcs11.CKR_FUNCTION_FAILED, protocol.CodeCardError, "the card failed"},
		{opSignInit, pkcs11.CKR_MECHANISM_INVALID, protocol.CodeCardError, "the card cannot do what we asked"},
		{opLogin, pkcs11.CKR_USER_PIN_NOT_INITIALIZED, protocol.CodeCardError, "a blank card: not a passcode problem the user can fix"},
	} {
		if got := Code(tc.op, tc.rv); got != tc.want {
			t.Errorf("Code(%s, %v) = %q, want %q: %s", tc.op, tc.rv, got, tc.want, tc.why)
		}
	}
}

// TestWrapKeepsRV checks that the CK_RV stays in the cause for the log.
func TestWrapKeepsRV(t *testing.T) {
	err := wrap(opLogin, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT))
	if rvOf(err) != pkcs11.CKR_PIN_INCORRECT || !strings.Contains(err.Error(), "CKR_PIN_INCORRECT") {
		t.Errorf("%v lost its CK_RV", err)
	}
	if wrap(opLogin, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)) != nil {
		t.Errorf("already logged in is not an error")
	}
}

// elfHeader is a minimal 64-bit little-endian ELF header of type and
// machine: enough for debug/elf, not for the loader.
func elfHeader(typ elfType, machine uint16) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1 // 64-bit, little-endian, version 1
	binary.LittleEndian.PutUint16(h[16:], uint16(typ))
	binary.LittleEndian.PutUint16(h[18:], machine)
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint16(h[52:], 64) // e_ehsize
	return h
}

type elfType uint16

const (
	etExec elfType = 2
	etDyn  elfType = 3
)

func TestOpen_LoadFailures(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	otherArch := uint16(183) // EM_AARCH64
	if runtime.GOARCH == "arm64" {
		otherArch = 62 // EM_X86_64
	}
	cases := []struct {
		name string
		path string
		want string // the cause must say this
	}{
		// The configured middleware is not installed.
		{"missing", filepath.Join(dir, "nope.so"), "does not exist"},
		// A directory given by mistake.
		{"directory", dir, "directory"},
		// A text file (a wrapper script, a README).
		{"not a library", write("readme.so", []byte("this is not a library\n")), "not a shared library"},
		// An empty file (a failed download).
		{"empty", write("empty.so", nil), "too short"},
		// The 32/64-bit or ARM/Intel mix-up.
		{"wrong architecture", write("arm.so", elfHeader(etDyn, otherArch)), "built for"},
	}
	if runtime.GOOS == "linux" {
		// A Windows DLL copied to a Linux machine.
		cases = append(cases, struct{ name, path, want string }{"windows dll", write("module.dll", append([]byte("MZ"), make([]byte, 62)...)), "not one for"})
		// An executable, not a library.
		cases = append(cases, struct{ name, path, want string }{"executable", write("exec.so", elfHeader(etExec, elfMachine())), "not a shared library"})
		// A real library that is not PKCS#11.
		if libm := findLib("libm.so.6"); libm != "" {
			cases = append(cases, struct{ name, path, want string }{"not pkcs11", libm, "C_GetFunctionList"})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Open(tc.path)
			if err == nil {
				m.Close()
				t.Fatalf("Open(%s) succeeded", tc.path)
			}
			if protocol.CodeOf(err) != protocol.CodeModuleLoadFailed {
				t.Fatalf("code %s (%v), want MODULE_LOAD_FAILED", protocol.CodeOf(err), err)
			}
			abs, _ := filepath.Abs(tc.path)
			if !strings.Contains(err.Error(), abs) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: want the path and %q", err, tc.want)
			}
			if msg := protocol.BodyOf(err).Message; strings.Contains(msg, dir) {
				t.Errorf("page message %q names a path", msg)
			}
		})
	}
}

func elfMachine() uint16 {
	if runtime.GOARCH == "arm64" {
		return 183
	}
	return 62
}

func findLib(name string) string {
	for _, d := range []string{"/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64"} {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return filepath.Join(d, name)
		}
	}
	return ""
}
