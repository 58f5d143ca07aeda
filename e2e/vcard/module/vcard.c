// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * liboia-vcard: a virtual NHS smartcard in a virtual reader, as a PKCS#11
 * v2.40 module. It behaves like a real card behind OpenSC where the host can
 * tell the difference: the passcode locks after three wrong entries, the card
 * can be removed, inserted and swapped while the module is loaded, and a PIN
 * pad reader can be simulated. SoftHSM2 can do none of these.
 *
 * The card lives in a directory named by $OIA_VCARD_DIR, read at every
 * C_Initialize (so after C_Finalize a process can move to another card),
 * and is driven from outside by the `oia-vcard` command (Go
 * package github.com/openidentityagent/oia/e2e/vcard). Files in it:
 *
 *   state     key=value lines (see docs/vcard.md): presence, passcode,
 *             attempts left, serial, label, generation, PIN pad, faults
 *   card.key  the card's RSA private key, PKCS#8 PEM
 *   card.pem  the card's certificate, PEM
 *   lock      flock(2) target: shared to read, exclusive to change
 *
 * The state is re-read on every call that touches the token, so changes by
 * the command are seen at the next call; the module's own changes (attempts,
 * one-shot faults, PIN pad prompts) are read-modify-write under the
 * exclusive lock and replace the file atomically (temp file + rename).
 *
 * The module never writes to stdout: the process that loads it may speak
 * native messaging there. Errors go to stderr, sparingly.
 *
 * One mutex guards all module state; every entry point takes it, so the
 * module is safe to call from several threads (CKF_OS_LOCKING_OK). A PIN pad
 * login releases it while it waits for the entry.
 *
 * vcard.h lists the files the module is made of, one concern each.
 */

#include "vcard.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

/* ---- module globals (all guarded by mu) --------------------------------- */

pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
int initialized;
unsigned long init_epoch;
char dir[PATH_MAX];
struct state st;
struct card card;
int logged_in;
unsigned long login_generation;
int pinpad_busy;
struct session sessions[MAX_SESSIONS];
unsigned warned;

void warn_once(unsigned what, const char *fmt, ...)
{
	if (warned & what)
		return;
	warned |= what;
	va_list ap;
	va_start(ap, fmt);
	fputs("liboia-vcard: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("liboia-vcard: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void pad(CK_UTF8CHAR *dst, size_t n, const char *src)
{
	memset(dst, ' ', n);
	size_t l = strlen(src);
	memcpy(dst, src, l < n ? l : n);
}

/* is_initialized tells, under mu, whether C_Initialize has been called (for
 * the calls that need no refresh). */
int is_initialized(void)
{
	pthread_mutex_lock(&mu);
	int ok = initialized;
	pthread_mutex_unlock(&mu);
	return ok;
}

/* begin is the common prologue of every call that touches the token. */
CK_RV begin(const char *fn)
{
	if (!initialized)
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	CK_RV rv = refresh();
	if (rv != CKR_OK)
		return rv;
	return fault(fn);
}

/* ---- general purpose ---------------------------------------------------- */

CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
	if (pInitArgs != NULL) {
		CK_C_INITIALIZE_ARGS *a = pInitArgs;
		if (a->pReserved != NULL)
			return CKR_ARGUMENTS_BAD;
		int fns = (a->CreateMutex != NULL) + (a->DestroyMutex != NULL) + (a->LockMutex != NULL) +
			  (a->UnlockMutex != NULL);
		if (fns != 0 && fns != 4)
			return CKR_ARGUMENTS_BAD;
		/* Application-supplied mutexes only, without OS locking: we
		 * use pthreads, which such an application forbids. */
		if (fns == 4 && !(a->flags & CKF_OS_LOCKING_OK))
			return CKR_CANT_LOCK;
	}
	pthread_mutex_lock(&mu);
	CK_RV rv = CKR_OK;
	if (initialized) {
		rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
		goto out;
	}
	const char *d = getenv("OIA_VCARD_DIR");
	if (d == NULL || *d == 0) {
		warn("OIA_VCARD_DIR is not set; set it to a card made with 'oia-vcard init'");
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	if (strlen(d) >= sizeof dir - 16) {
		warn("OIA_VCARD_DIR is too long");
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	struct stat sb;
	if (stat(d, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		warn("OIA_VCARD_DIR %s is not a directory; make it with 'oia-vcard init'", d);
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	snprintf(dir, sizeof dir, "%s", d);
	memset(sessions, 0, sizeof sessions);
	memset(&st, 0, sizeof st);
	logged_in = 0;
	pinpad_busy = 0;
	warned = 0;
	init_epoch++;
	initialized = 1;
out:
	pthread_mutex_unlock(&mu);
	return rv;
}

CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
	if (pReserved != NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&mu);
	CK_RV rv = CKR_OK;
	if (!initialized) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto out;
	}
	for (int i = 0; i < MAX_SESSIONS; i++)
		free_session(&sessions[i]);
	card_free();
	OPENSSL_cleanse(&st, sizeof st);
	logged_in = 0;
	initialized = 0;
out:
	pthread_mutex_unlock(&mu);
	return rv;
}

CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!is_initialized())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	memset(pInfo, 0, sizeof *pInfo);
	pInfo->cryptokiVersion.major = 2;
	pInfo->cryptokiVersion.minor = 40;
	pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, MANUFACTURER);
	pad(pInfo->libraryDescription, sizeof pInfo->libraryDescription, "OIA virtual NHS smartcard");
	pInfo->libraryVersion.major = 1;
	pInfo->libraryVersion.minor = 0;
	return CKR_OK;
}

/* ---- not supported ------------------------------------------------------ */

/* NOT_SUPPORTED_n defines the PKCS#11 function fn, of n parameters of the
 * types given, as one that answers CKR_FUNCTION_NOT_SUPPORTED. pkcs11.h
 * declares every function, so the compiler checks the types against it. */
#define UNUSED __attribute__((unused))
#define NOT_SUPPORTED_1(fn, A) \
	CK_RV fn(A a UNUSED) { return CKR_FUNCTION_NOT_SUPPORTED; }
#define NOT_SUPPORTED_2(fn, A, B) \
	CK_RV fn(A a UNUSED, B b UNUSED) { return CKR_FUNCTION_NOT_SUPPORTED; }
#define NOT_SUPPORTED_3(fn, A, B, C) \
	CK_RV fn(A a UNUSED, B b UNUSED, C c UNUSED) { return CKR_FUNCTION_NOT_SUPPORTED; }
#define NOT_SUPPORTED_4(fn, A, B, C, D) \
	CK_RV fn(A a UNUSED, B b UNUSED, C c UNUSED, D d UNUSED) { return CKR_FUNCTION_NOT_SUPPORTED; }
#define NOT_SUPPORTED_5(fn, A, B, C, D, E)                                 \
	CK_RV fn(A a UNUSED, B b UNUSED, C c UNUSED, D d UNUSED, E e UNUSED) \
	{                                                                    \
		return CKR_FUNCTION_NOT_SUPPORTED;                           \
	}
#define NOT_SUPPORTED_6(fn, A, B, C, D, E, F)                                          \
	CK_RV fn(A a UNUSED, B b UNUSED, C c UNUSED, D d UNUSED, E e UNUSED, F f UNUSED) \
	{                                                                                \
		return CKR_FUNCTION_NOT_SUPPORTED;                                       \
	}
#define NOT_SUPPORTED_8(fn, A, B, C, D, E, F, G, H)                                    \
	CK_RV fn(A a UNUSED, B b UNUSED, C c UNUSED, D d UNUSED, E e UNUSED, F f UNUSED, \
		 G g UNUSED, H h UNUSED)                                                 \
	{                                                                                \
		return CKR_FUNCTION_NOT_SUPPORTED;                                       \
	}

/* In the order of the function list. */
NOT_SUPPORTED_4(C_InitToken, CK_SLOT_ID, CK_UTF8CHAR_PTR, CK_ULONG, CK_UTF8CHAR_PTR)
NOT_SUPPORTED_3(C_InitPIN, CK_SESSION_HANDLE, CK_UTF8CHAR_PTR, CK_ULONG)
NOT_SUPPORTED_5(C_SetPIN, CK_SESSION_HANDLE, CK_UTF8CHAR_PTR, CK_ULONG, CK_UTF8CHAR_PTR, CK_ULONG)
NOT_SUPPORTED_3(C_GetOperationState, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_5(C_SetOperationState, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_OBJECT_HANDLE, CK_OBJECT_HANDLE)
NOT_SUPPORTED_4(C_CreateObject, CK_SESSION_HANDLE, CK_ATTRIBUTE_PTR, CK_ULONG, CK_OBJECT_HANDLE_PTR)
NOT_SUPPORTED_5(C_CopyObject, CK_SESSION_HANDLE, CK_OBJECT_HANDLE, CK_ATTRIBUTE_PTR, CK_ULONG, CK_OBJECT_HANDLE_PTR)
NOT_SUPPORTED_2(C_DestroyObject, CK_SESSION_HANDLE, CK_OBJECT_HANDLE)
NOT_SUPPORTED_3(C_GetObjectSize, CK_SESSION_HANDLE, CK_OBJECT_HANDLE, CK_ULONG_PTR)
NOT_SUPPORTED_4(C_SetAttributeValue, CK_SESSION_HANDLE, CK_OBJECT_HANDLE, CK_ATTRIBUTE_PTR, CK_ULONG)
NOT_SUPPORTED_3(C_EncryptInit, CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE)
NOT_SUPPORTED_5(C_Encrypt, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_5(C_EncryptUpdate, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_3(C_EncryptFinal, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_3(C_DecryptInit, CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE)
NOT_SUPPORTED_5(C_Decrypt, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_5(C_DecryptUpdate, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_3(C_DecryptFinal, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_2(C_DigestInit, CK_SESSION_HANDLE, CK_MECHANISM_PTR)
NOT_SUPPORTED_5(C_Digest, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_3(C_DigestUpdate, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG)
NOT_SUPPORTED_2(C_DigestKey, CK_SESSION_HANDLE, CK_OBJECT_HANDLE)
NOT_SUPPORTED_3(C_DigestFinal, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_3(C_SignRecoverInit, CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE)
NOT_SUPPORTED_5(C_SignRecover, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_3(C_VerifyInit, CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE)
NOT_SUPPORTED_5(C_Verify, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG)
NOT_SUPPORTED_3(C_VerifyUpdate, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG)
NOT_SUPPORTED_3(C_VerifyFinal, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG)
NOT_SUPPORTED_3(C_VerifyRecoverInit, CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE)
NOT_SUPPORTED_5(C_VerifyRecover, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_5(C_DigestEncryptUpdate, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_5(C_DecryptDigestUpdate, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_5(C_SignEncryptUpdate, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_5(C_DecryptVerifyUpdate, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR)
NOT_SUPPORTED_5(C_GenerateKey, CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_ATTRIBUTE_PTR, CK_ULONG, CK_OBJECT_HANDLE_PTR)
NOT_SUPPORTED_8(C_GenerateKeyPair, CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_ATTRIBUTE_PTR, CK_ULONG, CK_ATTRIBUTE_PTR,
		CK_ULONG, CK_OBJECT_HANDLE_PTR, CK_OBJECT_HANDLE_PTR)
NOT_SUPPORTED_6(C_WrapKey, CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE, CK_OBJECT_HANDLE, CK_BYTE_PTR,
		CK_ULONG_PTR)
NOT_SUPPORTED_8(C_UnwrapKey, CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE, CK_BYTE_PTR, CK_ULONG,
		CK_ATTRIBUTE_PTR, CK_ULONG, CK_OBJECT_HANDLE_PTR)
NOT_SUPPORTED_6(C_DeriveKey, CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE, CK_ATTRIBUTE_PTR, CK_ULONG,
		CK_OBJECT_HANDLE_PTR)
NOT_SUPPORTED_3(C_SeedRandom, CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG)
NOT_SUPPORTED_1(C_GetFunctionStatus, CK_SESSION_HANDLE)
NOT_SUPPORTED_1(C_CancelFunction, CK_SESSION_HANDLE)

/* ---- function list ------------------------------------------------------ */

static CK_FUNCTION_LIST function_list = {
	{2, 40},
	C_Initialize,
	C_Finalize,
	C_GetInfo,
	C_GetFunctionList,
	C_GetSlotList,
	C_GetSlotInfo,
	C_GetTokenInfo,
	C_GetMechanismList,
	C_GetMechanismInfo,
	C_InitToken,
	C_InitPIN,
	C_SetPIN,
	C_OpenSession,
	C_CloseSession,
	C_CloseAllSessions,
	C_GetSessionInfo,
	C_GetOperationState,
	C_SetOperationState,
	C_Login,
	C_Logout,
	C_CreateObject,
	C_CopyObject,
	C_DestroyObject,
	C_GetObjectSize,
	C_GetAttributeValue,
	C_SetAttributeValue,
	C_FindObjectsInit,
	C_FindObjects,
	C_FindObjectsFinal,
	C_EncryptInit,
	C_Encrypt,
	C_EncryptUpdate,
	C_EncryptFinal,
	C_DecryptInit,
	C_Decrypt,
	C_DecryptUpdate,
	C_DecryptFinal,
	C_DigestInit,
	C_Digest,
	C_DigestUpdate,
	C_DigestKey,
	C_DigestFinal,
	C_SignInit,
	C_Sign,
	C_SignUpdate,
	C_SignFinal,
	C_SignRecoverInit,
	C_SignRecover,
	C_VerifyInit,
	C_Verify,
	C_VerifyUpdate,
	C_VerifyFinal,
	C_VerifyRecoverInit,
	C_VerifyRecover,
	C_DigestEncryptUpdate,
	C_DecryptDigestUpdate,
	C_SignEncryptUpdate,
	C_DecryptVerifyUpdate,
	C_GenerateKey,
	C_GenerateKeyPair,
	C_WrapKey,
	C_UnwrapKey,
	C_DeriveKey,
	C_SeedRandom,
	C_GenerateRandom,
	C_GetFunctionStatus,
	C_CancelFunction,
	C_WaitForSlotEvent,
};

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	if (ppFunctionList == NULL)
		return CKR_ARGUMENTS_BAD;
	*ppFunctionList = &function_list;
	return CKR_OK;
}
