// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build cgo && unix

package vcard_test

import (
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/openidentityagent/oia/e2e/vcard"
	"github.com/openidentityagent/oia/e2e/vcard/internal/rawp11"
)

// rawModule loads the module without miekg/pkcs11, for the CK_RVs and
// two-call details that miekg hides.
func rawModule(t *testing.T, card *vcard.Card) *rawp11.Module {
	t.Helper()
	t.Setenv(vcard.EnvDir, card.Dir())
	m, err := rawp11.Open(vcard.ModulePath(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func wantCKR(t *testing.T, what string, got, want uint) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v; want %v", what, pkcs11.Error(got), pkcs11.Error(want))
	}
}

func TestRaw_Initialize(t *testing.T) {
	m := rawModule(t, newCard(t, vcard.InitOptions{}))
	wantCKR(t, "C_GetFunctionList(NULL)", m.GetFunctionListNull(), pkcs11.CKR_ARGUMENTS_BAD)
	wantCKR(t, "C_Finalize before C_Initialize", m.Finalize(), pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED)
	for _, tc := range []struct {
		name  string
		kind  int
		flags uint
		rv    uint
	}{
		// pReserved must be NULL.
		{"reserved", rawp11.ArgsReserved, 0, pkcs11.CKR_ARGUMENTS_BAD},
		// Mutex functions come all four or none.
		{"one mutex function", rawp11.ArgsOneMutex, pkcs11.CKF_OS_LOCKING_OK, pkcs11.CKR_ARGUMENTS_BAD},
		// Application mutexes only: the module locks with pthreads, so it
		// cannot honour that.
		{"application locking only", rawp11.ArgsMutexes, 0, pkcs11.CKR_CANT_LOCK},
		// Application mutexes, OS locking allowed: OS locking it is.
		{"mutexes with OS locking", rawp11.ArgsMutexes, pkcs11.CKF_OS_LOCKING_OK, pkcs11.CKR_OK},
		// No arguments at all (pkcs11-tool, many applications).
		{"NULL", rawp11.ArgsNull, 0, pkcs11.CKR_OK},
		// No mutexes, no OS locking flag: single-threaded application.
		{"flags only", rawp11.ArgsFlags, 0, pkcs11.CKR_OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCKR(t, "C_Initialize", m.Initialize(tc.kind, tc.flags), tc.rv)
			if tc.rv == pkcs11.CKR_OK {
				wantCKR(t, "C_Initialize again", m.Initialize(rawp11.ArgsNull, 0), pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)
				wantCKR(t, "C_Finalize", m.Finalize(), pkcs11.CKR_OK)
			}
		})
	}
}

func TestRaw_TwoCallsAndEvents(t *testing.T) {
	card := newCard(t, vcard.InitOptions{})
	m := rawModule(t, card)
	wantCKR(t, "C_Initialize", m.Initialize(rawp11.ArgsNull, 0), pkcs11.CKR_OK)
	t.Cleanup(func() { m.Finalize() })

	// As SoftHSM2: no event without blocking, no blocking at all. miekg
	// turns both into a SlotEvent, so only a raw call can see them.
	wantCKR(t, "C_WaitForSlotEvent(CKF_DONT_BLOCK)", m.WaitForSlotEvent(pkcs11.CKF_DONT_BLOCK), pkcs11.CKR_NO_EVENT)
	wantCKR(t, "C_WaitForSlotEvent(0)", m.WaitForSlotEvent(0), pkcs11.CKR_FUNCTION_NOT_SUPPORTED)

	rv, n := m.GetSlotList(true, -1)
	if wantCKR(t, "C_GetSlotList(NULL)", rv, pkcs11.CKR_OK); n != 1 {
		t.Fatalf("slot count = %d; want 1", n)
	}
	rv, n = m.GetSlotList(true, 0)
	if wantCKR(t, "C_GetSlotList into 0 slots", rv, pkcs11.CKR_BUFFER_TOO_SMALL); n != 1 {
		t.Fatalf("slot count after BUFFER_TOO_SMALL = %d; want 1", n)
	}

	rv, sh := m.OpenSession()
	wantCKR(t, "C_OpenSession", rv, pkcs11.CKR_OK)
	wantCKR(t, "C_EncryptInit", m.EncryptInit(sh), pkcs11.CKR_FUNCTION_NOT_SUPPORTED)
	rv, cert := m.FindFirst(sh, pkcs11.CKO_CERTIFICATE)
	wantCKR(t, "find the certificate", rv, pkcs11.CKR_OK)
	der := uint(len(certOf(t, card).Raw))
	// Each case: the buffer given for CKA_VALUE (-1: NULL), and what
	// PKCS#11 v2.40 §5.7.5 says comes back.
	const unavailable = ^uint(0) // CK_UNAVAILABLE_INFORMATION
	for _, tc := range []struct {
		name     string
		typ      uint
		capacity int
		rv, len  uint
	}{
		{"size query", pkcs11.CKA_VALUE, -1, pkcs11.CKR_OK, der},
		{"short buffer", pkcs11.CKA_VALUE, 10, pkcs11.CKR_BUFFER_TOO_SMALL, unavailable},
		{"exact buffer", pkcs11.CKA_VALUE, int(der), pkcs11.CKR_OK, der},
		{"no such attribute", pkcs11.CKA_MODULUS, -1, pkcs11.CKR_ATTRIBUTE_TYPE_INVALID, unavailable},
	} {
		rv, n := m.GetAttribute(sh, cert, tc.typ, tc.capacity)
		if rv != tc.rv || n != tc.len {
			t.Errorf("%s: %v, ulValueLen %d; want %v, %d", tc.name, pkcs11.Error(rv), n, pkcs11.Error(tc.rv), tc.len)
		}
	}

	wantCKR(t, "C_Login", m.Login(sh, testPIN), pkcs11.CKR_OK)
	rv, key := m.FindFirst(sh, pkcs11.CKO_PRIVATE_KEY)
	wantCKR(t, "find the private key", rv, pkcs11.CKR_OK)
	rv, n = m.GetAttribute(sh, key, pkcs11.CKA_PRIVATE_EXPONENT, 512)
	if wantCKR(t, "CKA_PRIVATE_EXPONENT", rv, pkcs11.CKR_ATTRIBUTE_SENSITIVE); n != unavailable {
		t.Fatalf("ulValueLen of a sensitive attribute = %d; want CK_UNAVAILABLE_INFORMATION", n)
	}
	// The size query and a short buffer leave the operation active; the
	// real call ends it.
	wantCKR(t, "C_SignInit", m.SignInit(sh, pkcs11.CKM_SHA256_RSA_PKCS, key), pkcs11.CKR_OK)
	for _, tc := range []struct {
		name     string
		capacity int
		rv, len  uint
	}{
		{"size query", -1, pkcs11.CKR_OK, 256},
		{"short buffer", 100, pkcs11.CKR_BUFFER_TOO_SMALL, 256},
		{"signature", 1024, pkcs11.CKR_OK, 256},
		{"operation ended", 1024, pkcs11.CKR_OPERATION_NOT_INITIALIZED, 1024},
	} {
		rv, n := m.Sign(sh, []byte("data"), tc.capacity)
		if rv != tc.rv || n != tc.len {
			t.Errorf("C_Sign %s: %v, length %d; want %v, %d", tc.name, pkcs11.Error(rv), n, pkcs11.Error(tc.rv), tc.len)
		}
	}
	wantCKR(t, "C_SignInit", m.SignInit(sh, pkcs11.CKM_SHA256_RSA_PKCS, key), pkcs11.CKR_OK)
	wantCKR(t, "second C_SignInit", m.SignInit(sh, pkcs11.CKM_SHA256_RSA_PKCS, key), pkcs11.CKR_OPERATION_ACTIVE)
}
