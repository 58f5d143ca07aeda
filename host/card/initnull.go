// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

package card

/*
#cgo linux LDFLAGS: -ldl
#cgo darwin LDFLAGS: -ldl
#cgo freebsd LDFLAGS: -ldl
#include <stdlib.h>

// The start of CK_FUNCTION_LIST (PKCS#11 v2.40 pkcs11f.h): the version,
// then C_Initialize. Windows packs Cryptoki structures to one byte.
#ifdef _WIN32
#pragma pack(push, 1)
#endif
typedef struct {
	unsigned char major, minor;
	unsigned long (*C_Initialize)(void *);
} oia_function_list;
#ifdef _WIN32
#pragma pack(pop)
#endif
typedef unsigned long (*oia_get_function_list)(oia_function_list **);

// Where oia_initialize_null stopped, in *stage (apart from the CK_RV, so
// that no CK_RV, CKR_VENDOR_DEFINED's range included, is mistaken for
// one): the module could not be loaded again, or has no
// C_GetFunctionList; else the CK_RV is C_GetFunctionList's or
// C_Initialize's.
#define OIA_CALLED 0
#define OIA_NO_LIBRARY 1
#define OIA_NO_SYMBOL 2

#ifdef _WIN32
#include <windows.h>
// path is the module's path in UTF-16, NUL-terminated: LoadLibraryA would
// read it in the ANSI code page.
static unsigned long oia_initialize_null(const void *path, int *stage) {
	HMODULE h = LoadLibraryW((LPCWSTR)path);
	if (h == NULL) {
		*stage = OIA_NO_LIBRARY;
		return 0;
	}
	oia_get_function_list get = (oia_get_function_list)GetProcAddress(h, "C_GetFunctionList");
	oia_function_list *fl = NULL;
	unsigned long rv = 0;
	*stage = OIA_NO_SYMBOL;
	if (get != NULL) {
		*stage = OIA_CALLED;
		if ((rv = get(&fl)) == 0)
			rv = fl->C_Initialize(NULL);
	}
	FreeLibrary(h);
	return rv;
}
#else
#include <dlfcn.h>
// path is the module's path, NUL-terminated.
static unsigned long oia_initialize_null(const void *path, int *stage) {
	// The module is loaded already (by miekg/pkcs11): this returns the
	// same handle, and dlclose only drops the count this took.
	void *h = dlopen((const char *)path, RTLD_LAZY);
	if (h == NULL) {
		*stage = OIA_NO_LIBRARY;
		return 0;
	}
	oia_get_function_list get = (oia_get_function_list)dlsym(h, "C_GetFunctionList");
	oia_function_list *fl = NULL;
	unsigned long rv = 0;
	*stage = OIA_NO_SYMBOL;
	if (get != NULL) {
		*stage = OIA_CALLED;
		if ((rv = get(&fl)) == 0)
			rv = fl->C_Initialize(NULL);
	}
	dlclose(h);
	return rv;
}
#endif
*/
import "C"

import (
	"errors"
	"runtime"
	"unicode/utf16"

	"github.com/miekg/pkcs11"
)

// initializeNull calls C_Initialize(NULL_PTR) on the module at path, which
// miekg/pkcs11 has loaded: "the application will not be accessing Cryptoki
// from multiple threads simultaneously" (PKCS#11 v2.40 §5.4), so the module
// takes no locks of its own and its caller must serialise every call.
// miekg/pkcs11 always passes a CK_C_INITIALIZE_ARGS, hence this.
func initializeNull(path string) error {
	cpath := C.CBytes(nativePath(path))
	defer C.free(cpath)
	var stage C.int
	rv := C.oia_initialize_null(cpath, &stage)
	switch stage {
	case C.OIA_NO_LIBRARY:
		return errors.New("the module could not be loaded again to initialise it without locking")
	case C.OIA_NO_SYMBOL:
		return errors.New("the module exports no C_GetFunctionList")
	}
	if rv != 0 {
		return pkcs11.Error(rv)
	}
	return nil
}

// nativePath is path NUL-terminated as the system's loader takes it:
// UTF-16 for LoadLibraryW on Windows, the bytes themselves elsewhere.
func nativePath(path string) []byte {
	if runtime.GOOS != "windows" {
		return append([]byte(path), 0)
	}
	u := utf16.Encode([]rune(path))
	b := make([]byte, 0, 2*len(u)+2)
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return append(b, 0, 0)
}
