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

#define OIA_NO_LIBRARY 0x80000000UL
#define OIA_NO_SYMBOL 0x80000001UL

#ifdef _WIN32
#include <windows.h>
static unsigned long oia_initialize_null(const char *path) {
	HMODULE h = LoadLibraryA(path);
	if (h == NULL)
		return OIA_NO_LIBRARY;
	oia_get_function_list get = (oia_get_function_list)GetProcAddress(h, "C_GetFunctionList");
	oia_function_list *fl = NULL;
	unsigned long rv = OIA_NO_SYMBOL;
	if (get != NULL && (rv = get(&fl)) == 0)
		rv = fl->C_Initialize(NULL);
	FreeLibrary(h);
	return rv;
}
#else
#include <dlfcn.h>
static unsigned long oia_initialize_null(const char *path) {
	// The module is loaded already (by miekg/pkcs11): this returns the
	// same handle, and dlclose only drops the count this took.
	void *h = dlopen(path, RTLD_LAZY);
	if (h == NULL)
		return OIA_NO_LIBRARY;
	oia_get_function_list get = (oia_get_function_list)dlsym(h, "C_GetFunctionList");
	oia_function_list *fl = NULL;
	unsigned long rv = OIA_NO_SYMBOL;
	if (get != NULL && (rv = get(&fl)) == 0)
		rv = fl->C_Initialize(NULL);
	dlclose(h);
	return rv;
}
#endif
*/
import "C"

import (
	"errors"
	"unsafe"

	"github.com/miekg/pkcs11"
)

// initializeNull calls C_Initialize(NULL_PTR) on the module at path, which
// miekg/pkcs11 has loaded: "the application will not be accessing Cryptoki
// from multiple threads simultaneously" (PKCS#11 v2.40 §5.4), so the module
// takes no locks of its own and its caller must serialise every call.
// miekg/pkcs11 always passes a CK_C_INITIALIZE_ARGS, hence this.
func initializeNull(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	switch rv := C.oia_initialize_null(cpath); rv {
	case C.OIA_NO_LIBRARY:
		return errors.New("the module could not be loaded again to initialise it without locking")
	case C.OIA_NO_SYMBOL:
		return errors.New("the module exports no C_GetFunctionList")
	case 0:
		return nil
	default:
		return pkcs11.Error(rv)
	}
}
