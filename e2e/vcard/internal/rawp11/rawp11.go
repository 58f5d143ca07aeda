// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build cgo && unix

// Package rawp11 calls a PKCS#11 module's functions directly and returns
// their CK_RV and raw outputs, for tests of the details that
// github.com/miekg/pkcs11 hides: it drops C_WaitForSlotEvent's result,
// always passes CKF_OS_LOCKING_OK, and does the two-call size queries
// itself. It is for tests only; nothing here is safe against a hostile
// module.
package rawp11

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include "../../module/pkcs11.h"

static CK_RV mutex_op(void *m) { (void)m; return CKR_OK; }
static CK_RV mutex_new(void **m) { *m = NULL; return CKR_OK; }

static void *load(const char *path, CK_FUNCTION_LIST_PTR *fl, CK_RV *rv) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) return NULL;
	CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	if (get == NULL) { dlclose(h); return NULL; }
	*rv = get(fl);
	return h;
}

static CK_RV get_function_list_null(void *h) {
	CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	return get(NULL);
}

// init_args: kind 0 NULL args, 1 flags only, 2 all four mutex functions,
// 3 only one of them, 4 pReserved set.
static CK_RV initialize(CK_FUNCTION_LIST_PTR fl, int kind, CK_FLAGS flags) {
	if (kind == 0) return fl->C_Initialize(NULL);
	CK_C_INITIALIZE_ARGS a;
	memset(&a, 0, sizeof a);
	a.flags = flags;
	if (kind == 2 || kind == 3) a.CreateMutex = mutex_new;
	if (kind == 2) { a.DestroyMutex = mutex_op; a.LockMutex = mutex_op; a.UnlockMutex = mutex_op; }
	if (kind == 4) a.pReserved = &a;
	return fl->C_Initialize(&a);
}

static CK_RV finalize(CK_FUNCTION_LIST_PTR fl) { return fl->C_Finalize(NULL); }

static CK_RV wait_event(CK_FUNCTION_LIST_PTR fl, CK_FLAGS flags, CK_SLOT_ID *slot) {
	return fl->C_WaitForSlotEvent(flags, slot, NULL);
}

static CK_RV slot_list(CK_FUNCTION_LIST_PTR fl, CK_BBOOL present, int cap, CK_ULONG *count) {
	CK_SLOT_ID buf[8];
	*count = cap < 0 ? 0 : (CK_ULONG)cap;
	return fl->C_GetSlotList(present, cap < 0 ? NULL : buf, count);
}

static CK_RV open_session(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE *h) {
	return fl->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, h);
}

static CK_RV login(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE h, char *pin, CK_ULONG len) {
	return fl->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)pin, len);
}

static CK_RV find_first(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *o) {
	CK_ATTRIBUTE t = {CKA_CLASS, &cls, sizeof cls};
	CK_ULONG n = 0;
	CK_RV rv = fl->C_FindObjectsInit(h, &t, 1);
	if (rv != CKR_OK) return rv;
	rv = fl->C_FindObjects(h, o, 1, &n);
	fl->C_FindObjectsFinal(h);
	return rv == CKR_OK && n != 1 ? CKR_OBJECT_HANDLE_INVALID : rv;
}

static CK_RV get_attr(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t,
		      int cap, CK_ULONG *len) {
	unsigned char buf[4096];
	CK_ATTRIBUTE a = {t, cap < 0 ? NULL : buf, cap < 0 ? 0 : (CK_ULONG)cap};
	CK_RV rv = fl->C_GetAttributeValue(h, o, &a, 1);
	*len = a.ulValueLen;
	return rv;
}

static CK_RV sign_init(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE h, CK_MECHANISM_TYPE m, CK_OBJECT_HANDLE k) {
	CK_MECHANISM mech = {m, NULL, 0};
	return fl->C_SignInit(h, &mech, k);
}

static CK_RV sign(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE h, unsigned char *data, CK_ULONG n, int cap, CK_ULONG *len) {
	unsigned char buf[1024];
	*len = cap < 0 ? 0 : (CK_ULONG)cap;
	return fl->C_Sign(h, data, n, cap < 0 ? NULL : buf, len);
}

static CK_RV encrypt_init(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE h) {
	CK_MECHANISM mech = {CKM_RSA_PKCS, NULL, 0};
	return fl->C_EncryptInit(h, &mech, 0);
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Module is a loaded PKCS#11 module.
type Module struct {
	h  unsafe.Pointer
	fl C.CK_FUNCTION_LIST_PTR
}

// Init argument kinds for [Module.Initialize].
const (
	ArgsNull     = 0 // C_Initialize(NULL)
	ArgsFlags    = 1 // flags only, no mutex functions
	ArgsMutexes  = 2 // all four mutex functions
	ArgsOneMutex = 3 // only CreateMutex: inconsistent
	ArgsReserved = 4 // pReserved set: invalid
)

// Open loads the module at path and gets its function list.
func Open(path string) (*Module, error) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	var fl C.CK_FUNCTION_LIST_PTR
	var rv C.CK_RV
	h := C.load(cp, &fl, &rv)
	if h == nil {
		return nil, fmt.Errorf("cannot load %s as a PKCS#11 module", path)
	}
	if rv != C.CKR_OK {
		C.dlclose(h)
		return nil, fmt.Errorf("C_GetFunctionList: 0x%x", uint(rv))
	}
	return &Module{h: h, fl: fl}, nil
}

// Close unloads the module.
func (m *Module) Close() { C.dlclose(m.h) }

// GetFunctionListNull calls C_GetFunctionList(NULL).
func (m *Module) GetFunctionListNull() uint { return uint(C.get_function_list_null(m.h)) }

// Initialize calls C_Initialize with arguments of the given kind.
func (m *Module) Initialize(kind int, flags uint) uint {
	return uint(C.initialize(m.fl, C.int(kind), C.CK_FLAGS(flags)))
}

// Finalize calls C_Finalize(NULL).
func (m *Module) Finalize() uint { return uint(C.finalize(m.fl)) }

// WaitForSlotEvent calls C_WaitForSlotEvent and returns its CK_RV.
func (m *Module) WaitForSlotEvent(flags uint) uint {
	var slot C.CK_SLOT_ID
	return uint(C.wait_event(m.fl, C.CK_FLAGS(flags), &slot))
}

// GetSlotList calls C_GetSlotList with a buffer of capacity slots (-1:
// NULL) and returns the CK_RV and the count it reports.
func (m *Module) GetSlotList(present bool, capacity int) (uint, uint) {
	var n C.CK_ULONG
	p := C.CK_BBOOL(C.CK_FALSE)
	if present {
		p = C.CK_TRUE
	}
	rv := C.slot_list(m.fl, p, C.int(capacity), &n)
	return uint(rv), uint(n)
}

// OpenSession opens a read-only session on slot 0.
func (m *Module) OpenSession() (uint, uint) {
	var h C.CK_SESSION_HANDLE
	rv := C.open_session(m.fl, &h)
	return uint(rv), uint(h)
}

// Login logs the user in.
func (m *Module) Login(session uint, pin string) uint {
	cp := C.CString(pin)
	defer C.free(unsafe.Pointer(cp))
	return uint(C.login(m.fl, C.CK_SESSION_HANDLE(session), cp, C.CK_ULONG(len(pin))))
}

// FindFirst finds the one object of a class.
func (m *Module) FindFirst(session, class uint) (uint, uint) {
	var o C.CK_OBJECT_HANDLE
	rv := C.find_first(m.fl, C.CK_SESSION_HANDLE(session), C.CK_OBJECT_CLASS(class), &o)
	return uint(rv), uint(o)
}

// GetAttribute reads one attribute into a buffer of capacity bytes (-1:
// NULL, up to 4096) and returns the CK_RV and the ulValueLen it reports.
func (m *Module) GetAttribute(session, object, typ uint, capacity int) (uint, uint) {
	var n C.CK_ULONG
	rv := C.get_attr(m.fl, C.CK_SESSION_HANDLE(session), C.CK_OBJECT_HANDLE(object), C.CK_ATTRIBUTE_TYPE(typ), C.int(capacity), &n)
	return uint(rv), uint(n)
}

// SignInit starts a signature with mechanism mech and key.
func (m *Module) SignInit(session, mech, key uint) uint {
	return uint(C.sign_init(m.fl, C.CK_SESSION_HANDLE(session), C.CK_MECHANISM_TYPE(mech), C.CK_OBJECT_HANDLE(key)))
}

// Sign calls C_Sign with a buffer of capacity bytes (-1: NULL, up to 1024)
// and returns the CK_RV and the length it reports.
func (m *Module) Sign(session uint, data []byte, capacity int) (uint, uint) {
	var n C.CK_ULONG
	cd := C.CBytes(data)
	defer C.free(cd)
	rv := C.sign(m.fl, C.CK_SESSION_HANDLE(session), (*C.uchar)(cd), C.CK_ULONG(len(data)), C.int(capacity), &n)
	return uint(rv), uint(n)
}

// EncryptInit calls C_EncryptInit, which a signing card need not support.
func (m *Module) EncryptInit(session uint) uint {
	return uint(C.encrypt_init(m.fl, C.CK_SESSION_HANDLE(session)))
}
