// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * vcard.h: what the files of liboia-vcard share. vcard.c says what the
 * module is; the files are
 *
 *   vcard.c    the module's globals, C_Initialize, C_Finalize, C_GetInfo,
 *              the unsupported functions and the function list
 *   state.c    the card directory: the state file, the lock, the card's
 *              key and certificate, refresh and injected faults
 *   slot.c     the slot, the token and the mechanisms
 *   session.c  sessions and login, with the PIN pad
 *   object.c   the certificate and key objects, their attributes, search
 *   sign.c     signing, and C_GenerateRandom
 *
 * Only the PKCS#11 functions (C_*) are exported; everything declared here
 * is hidden, so that the names cannot meet others in the loading process.
 */

#ifndef OIA_VCARD_H
#define OIA_VCARD_H

#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "pkcs11.h"

/* ---- constants ---------------------------------------------------------- */

#define SLOT_ID ((CK_SLOT_ID)0)
#define MAX_ATTEMPTS 3
#define MIN_PIN_LEN 4
#define MAX_PIN_LEN 8
#define MAX_SESSIONS 64
#define MAX_TEMPLATE 64       /* attributes in one FindObjectsInit template */
#define MAX_STATE_BYTES 16384 /* the state file is small; refuse anything big */
#define MAX_PEM_BYTES 65536
#define MAX_KV 64
#define MAX_KEY 32
#define MAX_VAL 256
#define MAX_KEY_ID 64
#define PINPAD_POLL_NS 10000000L /* 10 ms between looks at the state file */
#define DEFAULT_PINPAD_TIMEOUT_MS 30000L
#define MAX_MULTIPART 512 /* CKM_RSA_PKCS input gathered by SignUpdate */

#define OBJ_CERT 1
#define OBJ_PUB 2
#define OBJ_PRIV 3

#define OBJECT_LABEL "Authentication"
#define MANUFACTURER "OIA Virtual Card"
#define MODEL "NHS vcard"

/* ---- the state file as ordered key=value pairs, and the card state ------ */

struct kv {
	char key[MAX_KEY];
	char val[MAX_VAL];
};

struct kvs {
	int n;
	struct kv e[MAX_KV];
};

struct state {
	struct kvs kv;
	int exists; /* a state file was found; without one the reader is empty */
	int present;
	char passcode[MAX_PIN_LEN + 1];
	long attempts;
	int pinpad;
	long pinpad_timeout_ms;
	char serial[17];
	char label[33];
	unsigned long generation;
	int write_protected;
	unsigned char key_id[MAX_KEY_ID];
	size_t key_id_len;
	char fault_func[MAX_KEY];
	CK_RV fault_rv;
	int fault_remove;
	int fault_once;
	unsigned long pinpad_seq;
	unsigned long pinpad_waiting;
	unsigned long pinpad_pid; /* the process whose login waits */
	unsigned long pinpad_entry_seq;
	char pinpad_entry[MAX_PIN_LEN + 1];
	int pinpad_cancel;
};

/* ---- sessions and the loaded card --------------------------------------- */

struct session {
	CK_SESSION_HANDLE handle; /* 0: free */
	unsigned long generation; /* the card this session was opened on */
	CK_FLAGS flags;
	int find_active;
	CK_OBJECT_HANDLE found[3];
	int nfound, foundpos;
	int sign_active;
	int sign_multipart; /* SignUpdate was called */
	CK_MECHANISM_TYPE sign_mech;
	EVP_MD_CTX *md;
	unsigned char buf[MAX_MULTIPART];
	size_t buflen;
};

struct card {
	int loaded;
	unsigned long generation;
	EVP_PKEY *key;
	unsigned char *cert, *subject, *issuer, *serial, *modulus, *exponent;
	int cert_len, subject_len, issuer_len, serial_len, modulus_len, exponent_len;
	CK_ULONG modulus_bits;
};

#pragma GCC visibility push(hidden)

/* ---- module globals (vcard.c; all guarded by mu) ------------------------ */

extern pthread_mutex_t mu;
extern int initialized;
extern unsigned long init_epoch; /* changes at every C_Initialize */
extern char dir[PATH_MAX];
extern struct state st; /* as last read */
extern struct card card;
extern int logged_in;
extern unsigned long login_generation;
extern int pinpad_busy;
extern struct session sessions[MAX_SESSIONS];

/* Warnings are rate-limited: the host polls the slot every half second, and
 * a broken card directory must not flood its log. Each one is printed once,
 * until a state read succeeds again. */
enum { W_STATE = 1, W_CARD = 2, W_LOCK = 4, W_WRITE = 8 };
extern unsigned warned;

void warn_once(unsigned what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pad(CK_UTF8CHAR *dst, size_t n, const char *src);
int is_initialized(void);
CK_RV begin(const char *fn);

/* ---- state.c ------------------------------------------------------------ */

int lock_dir(int exclusive);
void unlock_dir(int fd);
CK_RV read_state(struct state *s);
CK_RV write_state(struct state *s);
void card_free(void);
CK_RV after_read(void);
CK_RV refresh(void);
CK_RV fault(const char *fn);

/* ---- slot.c ------------------------------------------------------------- */

CK_RV check_slot(CK_SLOT_ID slot);
int mechanism_ok(CK_MECHANISM_TYPE m);

/* ---- session.c ---------------------------------------------------------- */

void end_operations(struct session *s);
void free_session(struct session *s);
int is_logged_in(void);
CK_RV get_session(CK_SESSION_HANDLE h, struct session **out);
int count_sessions(int rw_only);

/* ---- object.c ----------------------------------------------------------- */

int object_index(CK_OBJECT_HANDLE h);

#pragma GCC visibility pop

/* ---- entry and exit of a call that touches the token -------------------- */

/* ENTER takes the module's mutex, refreshes the state and fires an injected
 * fault for fn; LEAVE (which ends the function) releases the mutex. In
 * between, rv is the result and "goto out" leaves. */
#define ENTER(fn)                       \
	pthread_mutex_lock(&mu);        \
	CK_RV rv = begin(fn);           \
	if (rv != CKR_OK)               \
		goto out;

#define LEAVE                           \
	out:                            \
	pthread_mutex_unlock(&mu);      \
	return rv;

#endif
