// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

//go:build linux && cgo

package pcsc

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

// pcsc-lite's types on Linux (PCSC/wintypes.h, PCSC/pcsclite.h): DWORD and
// LONG are C longs. Declared here so that building needs no
// libpcsclite-dev; the library is loaded at run time.
typedef long oia_LONG;
typedef unsigned long oia_DWORD;
typedef oia_LONG oia_SCARDCONTEXT;
typedef struct {
	const char *szReader;
	void *pvUserData;
	oia_DWORD dwCurrentState;
	oia_DWORD dwEventState;
	oia_DWORD cbAtr;
	unsigned char rgbAtr[33];
} oia_READERSTATE;

static oia_LONG (*p_establish)(oia_DWORD, const void *, const void *, oia_SCARDCONTEXT *);
static oia_LONG (*p_release)(oia_SCARDCONTEXT);
static oia_LONG (*p_list)(oia_SCARDCONTEXT, const char *, char *, oia_DWORD *);
static oia_LONG (*p_status)(oia_SCARDCONTEXT, oia_DWORD, oia_READERSTATE *, oia_DWORD);
static oia_LONG (*p_cancel)(oia_SCARDCONTEXT);

// oia_load opens libpcsclite and finds the five calls used; 0 on success.
static int oia_load(const char *name) {
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h) return 1;
	p_establish = dlsym(h, "SCardEstablishContext");
	p_release = dlsym(h, "SCardReleaseContext");
	p_list = dlsym(h, "SCardListReaders");
	p_status = dlsym(h, "SCardGetStatusChange");
	p_cancel = dlsym(h, "SCardCancel");
	if (!p_establish || !p_release || !p_list || !p_status || !p_cancel) return 2;
	return 0;
}

static unsigned int oia_establish(oia_SCARDCONTEXT *c) {
	return (unsigned int)p_establish(2, NULL, NULL, c); // SCARD_SCOPE_SYSTEM
}
static unsigned int oia_release(oia_SCARDCONTEXT c) { return (unsigned int)p_release(c); }
static unsigned int oia_cancel(oia_SCARDCONTEXT c) { return (unsigned int)p_cancel(c); }
static unsigned int oia_list(oia_SCARDCONTEXT c, char *buf, oia_DWORD *n) {
	return (unsigned int)p_list(c, NULL, buf, n);
}
static unsigned int oia_status(oia_SCARDCONTEXT c, oia_DWORD timeout, oia_READERSTATE *rs, oia_DWORD n) {
	return (unsigned int)p_status(c, timeout, rs, n);
}
static oia_READERSTATE *oia_states(size_t n) { return calloc(n, sizeof(oia_READERSTATE)); }
static void oia_set(oia_READERSTATE *rs, size_t i, const char *name, oia_DWORD cur) {
	rs[i].szReader = name;
	rs[i].dwCurrentState = cur;
}
static oia_DWORD oia_event(oia_READERSTATE *rs, size_t i) { return rs[i].dwEventState; }
*/
import "C"

import (
	"fmt"
	"sync"
	"time"
	"unsafe"
)

// libraries are the names tried, in order: the runtime library of every
// distribution, then the development link.
// maxReadersLen bounds the reader list accepted from the library: pcscd
// serves at most PCSCLITE_MAX_READERS_CONTEXTS (16) readers of at most
// MAX_READERNAME (128) bytes, so a longer list is not pcsc-lite's.
const maxReadersLen = 1 << 16

var libraries = []string{"libpcsclite.so.1", "libpcsclite.so"}

var loaded = sync.OnceValue(func() error {
	for _, name := range libraries {
		cs := C.CString(name)
		r := C.oia_load(cs)
		C.free(unsafe.Pointer(cs))
		if r == 0 {
			return nil
		}
	}
	return fmt.Errorf("%w: libpcsclite.so.1 cannot be loaded: install pcsc-lite (Debian: libpcsclite1 pcscd)", ErrUnavailable)
})

// Context is a PC/SC resource manager context. pcsc-lite serialises the
// calls on one context (src/winscard_clnt.c takes the context's lock), so
// its methods must be called from one goroutine at a time; only
// [Context.Cancel] may be called alongside a [Context.GetStatusChange]
// in progress, which it ends. A Cancel made while no wait is blocked does
// nothing: pcsc-lite does not remember it for the next wait.
type Context struct {
	h C.oia_SCARDCONTEXT
}

// Establish connects to the PC/SC resource manager. It fails with an error
// wrapping [ErrUnavailable] when there is none (no library, no pcscd).
func Establish() (*Context, error) {
	if err := loaded(); err != nil {
		return nil, err
	}
	var h C.oia_SCARDCONTEXT
	if err := errorOf("SCardEstablishContext", uint32(C.oia_establish(&h))); err != nil {
		return nil, err
	}
	return &Context{h: h}, nil
}

// Readers lists the readers attached (none is not an error).
func (c *Context) Readers() ([]string, error) {
	for range 3 { // a reader attached between the two calls changes the size
		var n C.oia_DWORD
		rv := uint32(C.oia_list(c.h, nil, &n))
		if rv == codeNoReaders {
			return nil, nil
		}
		if err := errorOf("SCardListReaders", rv); err != nil {
			return nil, err
		}
		if n == 0 { // success with no list: no reader
			return nil, nil
		}
		if n > maxReadersLen {
			return nil, fmt.Errorf("pcsc: SCardListReaders: a list of %d bytes (more than %d): is pcscd sane? see 'oia doctor'", n, maxReadersLen)
		}
		buf := make([]byte, n)
		rv = uint32(C.oia_list(c.h, (*C.char)(unsafe.Pointer(&buf[0])), &n))
		if rv == codeNoReaders {
			return nil, nil
		}
		if rv == codeInsufficientBuffer {
			continue
		}
		if err := errorOf("SCardListReaders", rv); err != nil {
			return nil, err
		}
		if int(n) > len(buf) { // a library that wrote past the buffer it was given would have said so
			continue
		}
		return splitMulti(buf[:n]), nil
	}
	return nil, &Error{Op: "SCardListReaders", Code: codeInsufficientBuffer}
}

// GetStatusChange waits until one of rs's readers is in a state other than
// its Current, or timeout passes (a negative timeout waits for ever), and
// sets every Event. It returns [ErrTimeout], [ErrCanceled] (Cancel was
// called) or [ErrUnknownReader] (a reader left) without a change.
func (c *Context) GetStatusChange(rs []ReaderState, timeout time.Duration) error {
	if len(rs) == 0 {
		return nil
	}
	cs := C.oia_states(C.size_t(len(rs)))
	if cs == nil {
		return fmt.Errorf("pcsc: out of memory")
	}
	defer C.free(unsafe.Pointer(cs))
	names := make([]*C.char, len(rs))
	for i, r := range rs {
		names[i] = C.CString(r.Reader)
		C.oia_set(cs, C.size_t(i), names[i], C.oia_DWORD(r.Current))
	}
	defer func() {
		for _, n := range names {
			C.free(unsafe.Pointer(n))
		}
	}()
	ms := C.oia_DWORD(0xFFFFFFFF) // INFINITE
	if timeout >= 0 {
		ms = C.oia_DWORD(timeout / time.Millisecond)
	}
	if err := errorOf("SCardGetStatusChange", uint32(C.oia_status(c.h, ms, cs, C.oia_DWORD(len(rs))))); err != nil {
		return err
	}
	for i := range rs {
		rs[i].Event = State(C.oia_event(cs, C.size_t(i)))
	}
	return nil
}

// Cancel ends a GetStatusChange in progress on c, from another goroutine.
// It does nothing when no wait is blocked in pcscd yet (pcsc-lite's
// SCardCancel), so a caller that must end a wait calls it until the wait
// has returned.
func (c *Context) Cancel() error {
	return errorOf("SCardCancel", uint32(C.oia_cancel(c.h)))
}

// Release closes the context. No call may be in progress.
func (c *Context) Release() error {
	return errorOf("SCardReleaseContext", uint32(C.oia_release(c.h)))
}
