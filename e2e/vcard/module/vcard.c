// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * liboia-vcard: a virtual NHS smartcard in a virtual reader, as a PKCS#11
 * v2.40 module. It behaves like a real card behind OpenSC where the host can
 * tell the difference: the passcode locks after three wrong entries, the card
 * can be removed, inserted and swapped while the module is loaded, and a PIN
 * pad reader can be simulated. SoftHSM2 can do none of these.
 *
 * The card lives in a directory named by $OIA_VCARD_DIR, read at
 * C_Initialize, and is driven from outside by the `oia-vcard` command (Go
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
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

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

/* ---- the state file as ordered key=value pairs -------------------------- */

struct kv {
	char key[MAX_KEY];
	char val[MAX_VAL];
};

struct kvs {
	int n;
	struct kv e[MAX_KV];
};

static const char *kv_get(const struct kvs *s, const char *key)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->e[i].key, key) == 0)
			return s->e[i].val;
	return NULL;
}

static int kv_set(struct kvs *s, const char *key, const char *val)
{
	if (strlen(key) >= MAX_KEY || strlen(val) >= MAX_VAL)
		return -1;
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->e[i].key, key) == 0) {
			snprintf(s->e[i].val, MAX_VAL, "%s", val);
			return 0;
		}
	if (s->n == MAX_KV)
		return -1;
	snprintf(s->e[s->n].key, MAX_KEY, "%s", key);
	snprintf(s->e[s->n].val, MAX_VAL, "%s", val);
	s->n++;
	return 0;
}

static int kv_setu(struct kvs *s, const char *key, unsigned long v)
{
	char b[32];
	snprintf(b, sizeof b, "%lu", v);
	return kv_set(s, key, b);
}

/* kv_parse reads "key=value" lines; '#' lines and blank lines are skipped.
 * It returns -1 on any malformed line so that a torn or foreign file is
 * never half-understood. */
static int kv_parse(struct kvs *s, const char *buf, size_t len)
{
	s->n = 0;
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && buf[end] != '\n')
			end++;
		size_t l = end - i;
		const char *line = buf + i;
		i = end + 1;
		if (l == 0 || line[0] == '#')
			continue;
		const char *eq = memchr(line, '=', l);
		if (eq == NULL)
			return -1;
		size_t kl = (size_t)(eq - line), vl = l - kl - 1;
		if (kl == 0 || kl >= MAX_KEY || vl >= MAX_VAL || s->n == MAX_KV)
			return -1;
		for (size_t k = 0; k < kl; k++) {
			char c = line[k];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
				return -1;
		}
		memcpy(s->e[s->n].key, line, kl);
		s->e[s->n].key[kl] = 0;
		memcpy(s->e[s->n].val, eq + 1, vl);
		s->e[s->n].val[vl] = 0;
		if (strlen(s->e[s->n].val) != vl)
			return -1; /* NUL inside a value */
		s->n++;
	}
	return 0;
}

/* ---- the card state ----------------------------------------------------- */

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

static int parse_ulong(const char *s, unsigned long *out)
{
	if (s == NULL || *s == 0)
		return -1;
	errno = 0;
	char *end;
	unsigned long v = strtoul(s, &end, 0);
	if (errno != 0 || *end != 0 || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int get_ul(const struct kvs *kv, const char *key, unsigned long def, unsigned long *out)
{
	const char *v = kv_get(kv, key);
	if (v == NULL || *v == 0) {
		*out = def;
		return 0;
	}
	return parse_ulong(v, out);
}

static int get_str(const struct kvs *kv, const char *key, char *out, size_t cap)
{
	const char *v = kv_get(kv, key);
	if (v == NULL)
		v = "";
	if (strlen(v) >= cap)
		return -1;
	snprintf(out, cap, "%s", v);
	return 0;
}

/* state_decode fills the typed fields from st->kv; -1 if a field is bad. */
static int state_decode(struct state *st)
{
	const struct kvs *kv = &st->kv;
	unsigned long u;
	const char *v = kv_get(kv, "version");
	if (v == NULL || strcmp(v, "1") != 0)
		return -1;
	if (get_ul(kv, "present", 0, &u))
		return -1;
	st->present = u != 0;
	if (get_str(kv, "passcode", st->passcode, sizeof st->passcode))
		return -1;
	if (get_ul(kv, "attempts", MAX_ATTEMPTS, &u) || u > MAX_ATTEMPTS)
		return -1;
	st->attempts = (long)u;
	if (get_ul(kv, "pinpad", 0, &u))
		return -1;
	st->pinpad = u != 0;
	if (get_ul(kv, "pinpad_timeout_ms", DEFAULT_PINPAD_TIMEOUT_MS, &u) || u > 3600000UL)
		return -1;
	st->pinpad_timeout_ms = (long)u;
	if (get_str(kv, "serial", st->serial, sizeof st->serial))
		return -1;
	if (get_str(kv, "label", st->label, sizeof st->label))
		return -1;
	if (get_ul(kv, "generation", 1, &st->generation))
		return -1;
	if (get_ul(kv, "write_protected", 0, &u))
		return -1;
	st->write_protected = u != 0;
	v = kv_get(kv, "key_id");
	if (v == NULL)
		v = "01";
	size_t hl = strlen(v);
	if (hl == 0 || hl % 2 != 0 || hl / 2 > MAX_KEY_ID)
		return -1;
	for (size_t i = 0; i < hl / 2; i++) {
		int a = hexval(v[2 * i]), b = hexval(v[2 * i + 1]);
		if (a < 0 || b < 0)
			return -1;
		st->key_id[i] = (unsigned char)(a << 4 | b);
	}
	st->key_id_len = hl / 2;
	if (get_str(kv, "fault_func", st->fault_func, sizeof st->fault_func))
		return -1;
	if (get_ul(kv, "fault_rv", 0, &u))
		return -1;
	st->fault_rv = (CK_RV)u;
	if (get_ul(kv, "fault_remove", 0, &u))
		return -1;
	st->fault_remove = u != 0;
	if (get_ul(kv, "fault_once", 0, &u))
		return -1;
	st->fault_once = u != 0;
	if (get_ul(kv, "pinpad_seq", 0, &st->pinpad_seq) ||
	    get_ul(kv, "pinpad_waiting", 0, &st->pinpad_waiting) ||
	    get_ul(kv, "pinpad_pid", 0, &st->pinpad_pid) ||
	    get_ul(kv, "pinpad_entry_seq", 0, &st->pinpad_entry_seq))
		return -1;
	if (get_str(kv, "pinpad_entry", st->pinpad_entry, sizeof st->pinpad_entry))
		return -1;
	if (get_ul(kv, "pinpad_cancel", 0, &u))
		return -1;
	st->pinpad_cancel = u != 0;
	return 0;
}

/* state_encode writes the fields the module changes back into st->kv,
 * keeping every other line as it was. */
static int state_encode(struct state *st)
{
	struct kvs *kv = &st->kv;
	int r = 0;
	r |= kv_setu(kv, "present", (unsigned long)st->present);
	r |= kv_setu(kv, "attempts", (unsigned long)st->attempts);
	r |= kv_setu(kv, "generation", st->generation);
	r |= kv_set(kv, "fault_func", st->fault_func);
	char b[32];
	snprintf(b, sizeof b, "0x%lx", (unsigned long)st->fault_rv);
	r |= kv_set(kv, "fault_rv", b);
	r |= kv_setu(kv, "fault_remove", (unsigned long)st->fault_remove);
	r |= kv_setu(kv, "fault_once", (unsigned long)st->fault_once);
	r |= kv_setu(kv, "pinpad_seq", st->pinpad_seq);
	r |= kv_setu(kv, "pinpad_waiting", st->pinpad_waiting);
	r |= kv_setu(kv, "pinpad_pid", st->pinpad_pid);
	r |= kv_setu(kv, "pinpad_entry_seq", st->pinpad_entry_seq);
	r |= kv_set(kv, "pinpad_entry", st->pinpad_entry);
	r |= kv_setu(kv, "pinpad_cancel", (unsigned long)st->pinpad_cancel);
	return r ? -1 : 0;
}

/* ---- module globals (all guarded by mu) --------------------------------- */

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

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int initialized;
static unsigned long init_epoch; /* changes at every C_Initialize */
static char dir[PATH_MAX];
static struct state st; /* as last read */
static struct card card;
static int logged_in;
static unsigned long login_generation;
static int pinpad_busy;
static struct session sessions[MAX_SESSIONS];
static CK_SESSION_HANDLE next_handle = 1;

/* Warnings are rate-limited: the host polls the slot every half second, and
 * a broken card directory must not flood its log. Each one is printed once,
 * until a state read succeeds again. */
enum { W_STATE = 1, W_CARD = 2, W_LOCK = 4, W_WRITE = 8 };
static unsigned warned;

static void warn_once(unsigned what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn_once(unsigned what, const char *fmt, ...)
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

static void pad(CK_UTF8CHAR *dst, size_t n, const char *src)
{
	memset(dst, ' ', n);
	size_t l = strlen(src);
	memcpy(dst, src, l < n ? l : n);
}

/* ---- files -------------------------------------------------------------- */

static int path_of(char *out, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* lock_dir takes the directory lock, shared or exclusive; -1 on failure. */
static int lock_dir(int exclusive)
{
	char p[PATH_MAX];
	if (path_of(p, "lock"))
		return -1;
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void unlock_dir(int fd)
{
	if (fd >= 0)
		close(fd); /* closing drops the flock */
}

/* read_file reads at most max bytes; -1 if missing, unreadable or too big,
 * with errno ENOENT when the file does not exist. */
static int read_file(const char *name, char **out, size_t *len, size_t max)
{
	char p[PATH_MAX];
	if (path_of(p, name))
		return -1;
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char *buf = malloc(max + 1);
	if (buf == NULL) {
		close(fd);
		return -1;
	}
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			close(fd);
			errno = EFBIG;
			return -1;
		}
	}
	close(fd);
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

/* read_state reads the state file (caller holds the directory lock). */
static CK_RV read_state(struct state *s)
{
	memset(s, 0, sizeof *s);
	char *buf;
	size_t len;
	if (read_file("state", &buf, &len, MAX_STATE_BYTES) != 0) {
		if (errno == ENOENT)
			return CKR_OK; /* an empty reader */
		warn_once(W_STATE, "cannot read %s/state: %s", dir, strerror(errno));
		return CKR_DEVICE_ERROR;
	}
	int bad = kv_parse(&s->kv, buf, len) || state_decode(s);
	free(buf);
	if (bad) {
		warn_once(W_STATE, "%s/state is malformed; run 'oia-vcard init --force' again", dir);
		memset(s, 0, sizeof *s);
		return CKR_DEVICE_ERROR;
	}
	s->exists = 1;
	return CKR_OK;
}

/* write_state replaces the state file atomically (caller holds the
 * exclusive directory lock). */
static CK_RV write_state(struct state *s)
{
	if (state_encode(s))
		return CKR_DEVICE_ERROR;
	char p[PATH_MAX], tmp[PATH_MAX];
	if (path_of(p, "state"))
		return CKR_DEVICE_ERROR;
	int n = snprintf(tmp, sizeof tmp, "%s.%ld.tmp", p, (long)getpid());
	if (n < 0 || n >= (int)sizeof tmp)
		return CKR_DEVICE_ERROR;
	FILE *f = fopen(tmp, "we");
	if (f == NULL) {
		warn_once(W_WRITE, "cannot write %s: %s", tmp, strerror(errno));
		return CKR_DEVICE_ERROR;
	}
	fchmod(fileno(f), 0600);
	fputs("# oia-vcard state; change it with oia-vcard (docs/vcard.md)\n", f);
	for (int i = 0; i < s->kv.n; i++)
		fprintf(f, "%s=%s\n", s->kv.e[i].key, s->kv.e[i].val);
	int bad = ferror(f);
	if (fclose(f) != 0 || bad || rename(tmp, p) != 0) {
		warn_once(W_WRITE, "cannot replace %s: %s", p, strerror(errno));
		unlink(tmp);
		return CKR_DEVICE_ERROR;
	}
	return CKR_OK;
}

/* ---- the card's key and certificate ------------------------------------- */

static void card_free(void)
{
	EVP_PKEY_free(card.key);
	OPENSSL_free(card.cert);
	OPENSSL_free(card.subject);
	OPENSSL_free(card.issuer);
	OPENSSL_free(card.serial);
	free(card.modulus);
	free(card.exponent);
	memset(&card, 0, sizeof card);
}

static int bn_bytes(EVP_PKEY *k, const char *name, unsigned char **out, int *len)
{
	BIGNUM *bn = NULL;
	if (!EVP_PKEY_get_bn_param(k, name, &bn))
		return -1;
	int n = BN_num_bytes(bn);
	*out = malloc(n > 0 ? (size_t)n : 1);
	if (*out == NULL) {
		BN_free(bn);
		return -1;
	}
	*len = BN_bn2bin(bn, *out);
	BN_free(bn);
	return 0;
}

/* card_load reads card.key and card.pem for the current generation (caller
 * holds the directory lock). */
static CK_RV card_load(void)
{
	card_free();
	char *kb = NULL, *cb = NULL;
	size_t kl, cl;
	BIO *kbio = NULL, *cbio = NULL;
	X509 *x = NULL;
	CK_RV rv = CKR_DEVICE_ERROR;
	if (read_file("card.key", &kb, &kl, MAX_PEM_BYTES) || read_file("card.pem", &cb, &cl, MAX_PEM_BYTES)) {
		warn_once(W_CARD, "cannot read the card's key and certificate in %s: %s", dir, strerror(errno));
		goto out;
	}
	kbio = BIO_new_mem_buf(kb, (int)kl);
	cbio = BIO_new_mem_buf(cb, (int)cl);
	if (kbio == NULL || cbio == NULL)
		goto out;
	card.key = PEM_read_bio_PrivateKey(kbio, NULL, NULL, NULL);
	x = PEM_read_bio_X509(cbio, NULL, NULL, NULL);
	if (card.key == NULL || x == NULL || !EVP_PKEY_is_a(card.key, "RSA")) {
		warn_once(W_CARD, "%s: card.key must be an RSA PKCS#8 PEM key and card.pem a PEM certificate", dir);
		goto out;
	}
	if (X509_check_private_key(x, card.key) != 1) {
		warn_once(W_CARD, "%s: card.key does not match card.pem", dir);
		goto out;
	}
	card.cert_len = i2d_X509(x, &card.cert);
	card.subject_len = i2d_X509_NAME(X509_get_subject_name(x), &card.subject);
	card.issuer_len = i2d_X509_NAME(X509_get_issuer_name(x), &card.issuer);
	card.serial_len = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &card.serial);
	if (card.cert_len <= 0 || card.subject_len <= 0 || card.issuer_len <= 0 || card.serial_len <= 0)
		goto out;
	if (bn_bytes(card.key, OSSL_PKEY_PARAM_RSA_N, &card.modulus, &card.modulus_len) ||
	    bn_bytes(card.key, OSSL_PKEY_PARAM_RSA_E, &card.exponent, &card.exponent_len))
		goto out;
	card.modulus_bits = (CK_ULONG)EVP_PKEY_get_bits(card.key);
	card.loaded = 1;
	card.generation = st.generation;
	rv = CKR_OK;
out:
	if (rv != CKR_OK)
		card_free();
	X509_free(x);
	BIO_free(kbio);
	BIO_free(cbio);
	if (kb) {
		OPENSSL_cleanse(kb, kl);
		free(kb);
	}
	free(cb);
	return rv;
}

/* ---- refresh and faults ------------------------------------------------- */

static void end_operations(struct session *s)
{
	s->find_active = 0;
	s->sign_active = 0;
	s->sign_multipart = 0;
	s->buflen = 0;
	EVP_MD_CTX_free(s->md);
	s->md = NULL;
}

static void free_session(struct session *s)
{
	end_operations(s);
	memset(s, 0, sizeof *s);
}

static int is_logged_in(void)
{
	return logged_in && st.present && login_generation == st.generation;
}

/* after_read applies what a freshly read state means for the module: a new
 * card generation drops the login and (re)loads the card. Caller holds the
 * directory lock, shared or exclusive. */
static CK_RV after_read(void)
{
	if (logged_in && (!st.present || login_generation != st.generation))
		logged_in = 0;
	if (st.present && (!card.loaded || card.generation != st.generation))
		return card_load();
	return CKR_OK;
}

/* refresh re-reads the state; every call that touches the token starts here. */
static CK_RV refresh(void)
{
	int fd = lock_dir(0);
	if (fd < 0) {
		warn_once(W_LOCK, "cannot lock %s/lock: %s", dir, strerror(errno));
		return CKR_DEVICE_ERROR;
	}
	CK_RV rv = read_state(&st);
	if (rv == CKR_OK)
		rv = after_read();
	unlock_dir(fd);
	if (rv == CKR_OK)
		warned = 0; /* the card directory works again */
	return rv;
}

/* fault fires the injected fault for fn, if one is set: it returns the
 * configured CK_RV, or removes the card and returns CKR_DEVICE_REMOVED. A
 * one-shot fault is cleared in the state file as it fires. */
static CK_RV fault(const char *fn)
{
	if (st.fault_func[0] == 0 || strcmp(st.fault_func, fn) != 0)
		return CKR_OK;
	if (!st.fault_once && !st.fault_remove)
		return st.fault_rv;
	int fd = lock_dir(1);
	if (fd < 0)
		return CKR_DEVICE_ERROR;
	struct state s;
	CK_RV rv = read_state(&s);
	if (rv != CKR_OK || strcmp(s.fault_func, fn) != 0) {
		unlock_dir(fd);
		return rv; /* changed under us: the fault was cleared meanwhile */
	}
	rv = s.fault_remove ? CKR_DEVICE_REMOVED : s.fault_rv;
	if (s.fault_remove && s.present) {
		s.present = 0;
		s.generation++;
	}
	if (s.fault_once) {
		s.fault_func[0] = 0;
		s.fault_rv = 0;
		s.fault_remove = 0;
		s.fault_once = 0;
	}
	CK_RV wr = write_state(&s);
	if (wr == CKR_OK) {
		st = s;
		wr = after_read();
	}
	unlock_dir(fd);
	return wr != CKR_OK ? wr : rv;
}

/* begin is the common prologue of every call that touches the token. */
static CK_RV begin(const char *fn)
{
	if (!initialized)
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	CK_RV rv = refresh();
	if (rv != CKR_OK)
		return rv;
	return fault(fn);
}

/* get_session finds a live session. A session opened on a card that has
 * since been removed (or swapped) answers CKR_DEVICE_REMOVED until it is
 * closed; an unknown handle is CKR_SESSION_HANDLE_INVALID. */
static CK_RV get_session(CK_SESSION_HANDLE h, struct session **out)
{
	if (h == 0)
		return CKR_SESSION_HANDLE_INVALID;
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (sessions[i].handle == h) {
			if (!st.present || sessions[i].generation != st.generation) {
				end_operations(&sessions[i]);
				return CKR_DEVICE_REMOVED;
			}
			*out = &sessions[i];
			return CKR_OK;
		}
	return CKR_SESSION_HANDLE_INVALID;
}

static CK_RV check_slot(CK_SLOT_ID slot)
{
	return slot == SLOT_ID ? CKR_OK : CKR_SLOT_ID_INVALID;
}

static int count_sessions(int rw_only)
{
	int n = 0;
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (sessions[i].handle != 0 && sessions[i].generation == st.generation &&
		    (!rw_only || (sessions[i].flags & CKF_RW_SESSION)))
			n++;
	return n;
}

#define ENTER(fn)                       \
	pthread_mutex_lock(&mu);        \
	CK_RV rv = begin(fn);           \
	if (rv != CKR_OK)               \
		goto out;

/* ENTER_SIGN is ENTER for the calls that end a sign operation when they fail
 * (PKCS#11 v2.40 §5.12): an injected fault ends it too. */
#define ENTER_SIGN(fn, h)                                   \
	pthread_mutex_lock(&mu);                            \
	CK_RV rv = initialized ? refresh() : CKR_CRYPTOKI_NOT_INITIALIZED; \
	if (rv != CKR_OK)                                   \
		goto out;                                   \
	if ((rv = fault(fn)) != CKR_OK) {                   \
		struct session *fs;                         \
		if (get_session(h, &fs) == CKR_OK)          \
			end_operations(fs);                 \
		goto out;                                   \
	}

#define LEAVE                           \
	out:                            \
	pthread_mutex_unlock(&mu);      \
	return rv;

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
	pthread_mutex_lock(&mu);
	int ok = initialized;
	pthread_mutex_unlock(&mu);
	if (!ok)
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

/* ---- slots and tokens --------------------------------------------------- */

CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
	ENTER("C_GetSlotList");
	if (pulCount == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	CK_ULONG n = (tokenPresent && !st.present) ? 0 : 1;
	if (pSlotList == NULL) {
		*pulCount = n;
		goto out;
	}
	if (*pulCount < n) {
		*pulCount = n;
		rv = CKR_BUFFER_TOO_SMALL;
		goto out;
	}
	if (n == 1)
		pSlotList[0] = SLOT_ID;
	*pulCount = n;
	LEAVE
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	ENTER("C_GetSlotInfo");
	if ((rv = check_slot(slotID)) != CKR_OK)
		goto out;
	if (pInfo == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	memset(pInfo, 0, sizeof *pInfo);
	pad(pInfo->slotDescription, sizeof pInfo->slotDescription, "OIA Virtual Reader 00 00");
	pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, MANUFACTURER);
	pInfo->flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT | (st.present ? CKF_TOKEN_PRESENT : 0);
	pInfo->hardwareVersion.major = 1;
	pInfo->firmwareVersion.major = 1;
	LEAVE
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	ENTER("C_GetTokenInfo");
	if ((rv = check_slot(slotID)) != CKR_OK)
		goto out;
	if (pInfo == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!st.present) {
		rv = CKR_TOKEN_NOT_PRESENT;
		goto out;
	}
	memset(pInfo, 0, sizeof *pInfo);
	pad(pInfo->label, sizeof pInfo->label, st.label);
	pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, MANUFACTURER);
	pad(pInfo->model, sizeof pInfo->model, MODEL);
	pad(pInfo->serialNumber, sizeof pInfo->serialNumber, st.serial);
	CK_FLAGS f = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;
	/* As OpenSC reports a real card: one of the three, never together. */
	if (st.attempts == 0)
		f |= CKF_USER_PIN_LOCKED;
	else if (st.attempts == 1)
		f |= CKF_USER_PIN_FINAL_TRY;
	else if (st.attempts < MAX_ATTEMPTS)
		f |= CKF_USER_PIN_COUNT_LOW;
	if (st.pinpad)
		f |= CKF_PROTECTED_AUTHENTICATION_PATH;
	if (st.write_protected)
		f |= CKF_WRITE_PROTECTED;
	pInfo->flags = f;
	pInfo->ulMaxSessionCount = MAX_SESSIONS;
	pInfo->ulSessionCount = (CK_ULONG)count_sessions(0);
	pInfo->ulMaxRwSessionCount = MAX_SESSIONS;
	pInfo->ulRwSessionCount = (CK_ULONG)count_sessions(1);
	pInfo->ulMaxPinLen = MAX_PIN_LEN;
	pInfo->ulMinPinLen = MIN_PIN_LEN;
	pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->hardwareVersion.major = 1;
	pInfo->firmwareVersion.major = 1;
	memset(pInfo->utcTime, ' ', sizeof pInfo->utcTime);
	LEAVE
}

static const CK_MECHANISM_TYPE mechanisms[] = {CKM_RSA_PKCS, CKM_SHA1_RSA_PKCS, CKM_SHA256_RSA_PKCS};
#define NMECH (sizeof mechanisms / sizeof mechanisms[0])

static int mechanism_ok(CK_MECHANISM_TYPE m)
{
	for (size_t i = 0; i < NMECH; i++)
		if (mechanisms[i] == m)
			return 1;
	return 0;
}

CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList, CK_ULONG_PTR pulCount)
{
	ENTER("C_GetMechanismList");
	if ((rv = check_slot(slotID)) != CKR_OK)
		goto out;
	if (pulCount == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!st.present) {
		rv = CKR_TOKEN_NOT_PRESENT;
		goto out;
	}
	if (pMechanismList == NULL) {
		*pulCount = NMECH;
		goto out;
	}
	if (*pulCount < NMECH) {
		*pulCount = NMECH;
		rv = CKR_BUFFER_TOO_SMALL;
		goto out;
	}
	memcpy(pMechanismList, mechanisms, sizeof mechanisms);
	*pulCount = NMECH;
	LEAVE
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
	ENTER("C_GetMechanismInfo");
	if ((rv = check_slot(slotID)) != CKR_OK)
		goto out;
	if (pInfo == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!st.present) {
		rv = CKR_TOKEN_NOT_PRESENT;
		goto out;
	}
	if (!mechanism_ok(type)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	pInfo->ulMinKeySize = 1024;
	pInfo->ulMaxKeySize = 4096;
	pInfo->flags = CKF_HW | CKF_SIGN;
	LEAVE
}

CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
	(void)pSlot;
	if (pReserved != NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&mu);
	int ok = initialized;
	pthread_mutex_unlock(&mu);
	if (!ok)
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	/* As SoftHSM2 and p11-kit: no events; the host polls the slot. */
	return (flags & CKF_DONT_BLOCK) ? CKR_NO_EVENT : CKR_FUNCTION_NOT_SUPPORTED;
}

/* ---- sessions ----------------------------------------------------------- */

CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
		    CK_SESSION_HANDLE_PTR phSession)
{
	(void)pApplication;
	(void)Notify;
	ENTER("C_OpenSession");
	if ((rv = check_slot(slotID)) != CKR_OK)
		goto out;
	if (phSession == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!(flags & CKF_SERIAL_SESSION)) {
		rv = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
		goto out;
	}
	if (!st.present) {
		rv = CKR_TOKEN_NOT_PRESENT;
		goto out;
	}
	if ((flags & CKF_RW_SESSION) && st.write_protected) {
		rv = CKR_TOKEN_WRITE_PROTECTED;
		goto out;
	}
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (sessions[i].handle == 0) {
			memset(&sessions[i], 0, sizeof sessions[i]);
			sessions[i].handle = next_handle++;
			sessions[i].generation = st.generation;
			sessions[i].flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
			*phSession = sessions[i].handle;
			goto out;
		}
	rv = CKR_SESSION_COUNT;
	LEAVE
}

/* Closing the application's last session on the card logs it out. */
static void logout_if_no_sessions(void)
{
	if (count_sessions(0) == 0)
		logged_in = 0;
}

CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
	pthread_mutex_lock(&mu);
	CK_RV rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	if (!initialized)
		goto out;
	rv = refresh();
	if (rv == CKR_OK)
		rv = fault("C_CloseSession");
	if (rv != CKR_OK)
		goto out;
	rv = CKR_SESSION_HANDLE_INVALID;
	for (int i = 0; hSession != 0 && i < MAX_SESSIONS; i++)
		if (sessions[i].handle == hSession) {
			free_session(&sessions[i]);
			logout_if_no_sessions();
			rv = CKR_OK;
			break;
		}
	LEAVE
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
	ENTER("C_CloseAllSessions");
	if ((rv = check_slot(slotID)) != CKR_OK)
		goto out;
	for (int i = 0; i < MAX_SESSIONS; i++)
		free_session(&sessions[i]);
	logged_in = 0;
	LEAVE
}

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	ENTER("C_GetSessionInfo");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if (pInfo == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	int rw = (s->flags & CKF_RW_SESSION) != 0;
	pInfo->slotID = SLOT_ID;
	if (is_logged_in())
		pInfo->state = rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
	else
		pInfo->state = rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
	pInfo->flags = s->flags;
	pInfo->ulDeviceError = 0;
	LEAVE
}

/* ---- login -------------------------------------------------------------- */

/* verify checks a passcode against the card and counts the attempt, in s,
 * which the caller read under the exclusive lock and will write back. */
static CK_RV verify(struct state *s, const unsigned char *pin, size_t len)
{
	if (s->attempts == 0)
		return CKR_PIN_LOCKED;
	size_t want = strlen(s->passcode);
	if (len == want && CRYPTO_memcmp(pin, s->passcode, len) == 0) {
		s->attempts = MAX_ATTEMPTS;
		return CKR_OK;
	}
	s->attempts--;
	return CKR_PIN_INCORRECT;
}

static int pin_len_ok(CK_ULONG len)
{
	return len >= MIN_PIN_LEN && len <= MAX_PIN_LEN;
}

static void sleep_poll(void)
{
	struct timespec ts = {0, PINPAD_POLL_NS};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pinpad_login waits for an entry on the (virtual) PIN pad. It is called
 * with mu held and the session valid; it releases mu while it waits, so
 * other threads can use the module, and re-checks everything after. */
static CK_RV pinpad_login(CK_SESSION_HANDLE h)
{
	int fd = lock_dir(1);
	if (fd < 0)
		return CKR_DEVICE_ERROR;
	struct state s;
	CK_RV rv = read_state(&s);
	if (rv != CKR_OK) {
		unlock_dir(fd);
		return rv;
	}
	unsigned long seq = ++s.pinpad_seq, gen = s.generation, epoch = init_epoch;
	s.pinpad_waiting = seq;
	s.pinpad_pid = (unsigned long)getpid();
	s.pinpad_entry_seq = 0;
	s.pinpad_entry[0] = 0;
	s.pinpad_cancel = 0;
	long long deadline = now_ms() + s.pinpad_timeout_ms;
	rv = write_state(&s);
	unlock_dir(fd);
	if (rv != CKR_OK)
		return rv;
	pinpad_busy = 1;
	for (;;) {
		pthread_mutex_unlock(&mu);
		sleep_poll();
		pthread_mutex_lock(&mu);
		if (!initialized || epoch != init_epoch) {
			/* Finalized meanwhile: withdraw the prompt, then give up. */
			if ((fd = lock_dir(1)) >= 0) {
				if (read_state(&s) == CKR_OK && s.exists && s.pinpad_waiting == seq) {
					s.pinpad_waiting = 0;
					write_state(&s);
				}
				unlock_dir(fd);
			}
			OPENSSL_cleanse(&s, sizeof s);
			return CKR_CRYPTOKI_NOT_INITIALIZED;
		}
		if ((fd = lock_dir(1)) < 0) {
			rv = CKR_DEVICE_ERROR;
			break;
		}
		if ((rv = read_state(&s)) != CKR_OK) {
			unlock_dir(fd);
			break;
		}
		int done = 1;
		struct session *sess;
		st = s;
		CK_RV srv = after_read();
		if (srv == CKR_OK)
			srv = get_session(h, &sess);
		if (srv != CKR_OK)
			rv = srv; /* card removed, or the session closed, meanwhile */
		else if (s.pinpad_entry_seq == seq && s.pinpad_cancel)
			rv = CKR_FUNCTION_CANCELED;
		else if (s.pinpad_entry_seq == seq)
			rv = verify(&s, (const unsigned char *)s.pinpad_entry, strlen(s.pinpad_entry));
		else if (now_ms() >= deadline)
			rv = CKR_FUNCTION_CANCELED; /* the reader's own timeout */
		else if (s.pinpad_waiting != seq)
			rv = CKR_FUNCTION_CANCELED; /* another prompt took over */
		else
			done = 0;
		if (done) {
			if (s.pinpad_waiting == seq)
				s.pinpad_waiting = 0;
			if (s.pinpad_entry_seq == seq) {
				s.pinpad_entry_seq = 0;
				OPENSSL_cleanse(s.pinpad_entry, sizeof s.pinpad_entry);
				s.pinpad_cancel = 0;
			}
			CK_RV wr = write_state(&s);
			st = s;
			unlock_dir(fd);
			if (wr != CKR_OK)
				rv = wr;
			break;
		}
		unlock_dir(fd);
	}
	pinpad_busy = 0;
	if (rv == CKR_OK) {
		logged_in = 1;
		login_generation = gen;
	}
	OPENSSL_cleanse(&s, sizeof s);
	return rv;
}

CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	ENTER("C_Login");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if (userType != CKU_USER) {
		rv = CKR_USER_TYPE_INVALID;
		goto out;
	}
	if (is_logged_in()) {
		rv = CKR_USER_ALREADY_LOGGED_IN;
		goto out;
	}
	if (pinpad_busy) {
		rv = CKR_OPERATION_ACTIVE; /* a PIN pad entry is already awaited */
		goto out;
	}
	if (st.attempts == 0) {
		rv = CKR_PIN_LOCKED;
		goto out;
	}
	if (st.pinpad) {
		/* The passcode is typed on the reader, never given to us. */
		rv = pPin != NULL ? CKR_ARGUMENTS_BAD : pinpad_login(hSession);
		goto out;
	}
	if (pPin == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!pin_len_ok(ulPinLen)) {
		rv = CKR_PIN_LEN_RANGE; /* like a card: refused before it counts */
		goto out;
	}
	int fd = lock_dir(1);
	if (fd < 0) {
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	struct state fresh;
	rv = read_state(&fresh);
	if (rv == CKR_OK && (!fresh.present || fresh.generation != s->generation))
		rv = CKR_DEVICE_REMOVED;
	if (rv == CKR_OK) {
		rv = verify(&fresh, pPin, ulPinLen);
		CK_RV wr = write_state(&fresh);
		if (wr != CKR_OK)
			rv = wr;
		else
			st = fresh;
	}
	unlock_dir(fd);
	OPENSSL_cleanse(&fresh, sizeof fresh);
	if (rv == CKR_OK) {
		logged_in = 1;
		login_generation = st.generation;
	}
	LEAVE
}

CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
	ENTER("C_Logout");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if (!is_logged_in()) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	logged_in = 0;
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (sessions[i].handle != 0)
			end_operations(&sessions[i]); /* they may involve the private key */
	LEAVE
}

/* ---- objects ------------------------------------------------------------ */

static CK_OBJECT_HANDLE object_handle(int idx)
{
	return (CK_OBJECT_HANDLE)(st.generation * 4 + (unsigned long)idx);
}

/* object_index maps a handle to OBJ_*; 0 if it is not an object the caller
 * may see on the current card. */
static int object_index(CK_OBJECT_HANDLE h)
{
	int idx = (int)(h % 4);
	if (h / 4 != st.generation || idx < OBJ_CERT || idx > OBJ_PRIV || !card.loaded)
		return 0;
	if (idx == OBJ_PRIV && !is_logged_in())
		return 0;
	return idx;
}

enum { ATTR_OK, ATTR_SENSITIVE, ATTR_INVALID };

struct scratch {
	CK_ULONG ul;
	CK_BBOOL b;
};

/* attribute gives the value of attribute t of object idx. */
static int attribute(int idx, CK_ATTRIBUTE_TYPE t, const void **val, CK_ULONG *len, struct scratch *sc)
{
#define UL(v)                      \
	do {                       \
		sc->ul = (v);      \
		*val = &sc->ul;    \
		*len = sizeof sc->ul; \
		return ATTR_OK;    \
	} while (0)
#define BOOL(v)                    \
	do {                       \
		sc->b = (v) ? CK_TRUE : CK_FALSE; \
		*val = &sc->b;     \
		*len = sizeof sc->b; \
		return ATTR_OK;    \
	} while (0)
#define BYTES(p, n)                \
	do {                       \
		*val = (p);        \
		*len = (CK_ULONG)(n); \
		return ATTR_OK;    \
	} while (0)
	/* Attributes every object has. */
	switch (t) {
	case CKA_CLASS:
		UL(idx == OBJ_CERT ? CKO_CERTIFICATE : idx == OBJ_PUB ? CKO_PUBLIC_KEY : CKO_PRIVATE_KEY);
	case CKA_TOKEN:
		BOOL(1);
	case CKA_PRIVATE:
		BOOL(idx == OBJ_PRIV);
	case CKA_MODIFIABLE:
		BOOL(0);
	case CKA_LABEL:
		BYTES(OBJECT_LABEL, strlen(OBJECT_LABEL));
	case CKA_ID:
		BYTES(st.key_id, st.key_id_len);
	case CKA_SUBJECT:
		BYTES(card.subject, card.subject_len);
	}
	if (idx == OBJ_CERT) {
		switch (t) {
		case CKA_CERTIFICATE_TYPE:
			UL(CKC_X_509);
		case CKA_TRUSTED:
			BOOL(0);
		case CKA_CERTIFICATE_CATEGORY:
			UL(1); /* token user */
		case CKA_VALUE:
			BYTES(card.cert, card.cert_len);
		case CKA_ISSUER:
			BYTES(card.issuer, card.issuer_len);
		case CKA_SERIAL_NUMBER:
			BYTES(card.serial, card.serial_len);
		}
		return ATTR_INVALID;
	}
	/* Keys. */
	switch (t) {
	case CKA_KEY_TYPE:
		UL(CKK_RSA);
	case CKA_MODULUS:
		BYTES(card.modulus, card.modulus_len);
	case CKA_PUBLIC_EXPONENT:
		BYTES(card.exponent, card.exponent_len);
	case CKA_MODULUS_BITS:
		UL(card.modulus_bits);
	case CKA_LOCAL:
		BOOL(1);
	case CKA_DERIVE:
		BOOL(0);
	}
	if (idx == OBJ_PUB) {
		switch (t) {
		case CKA_VERIFY:
		case CKA_ENCRYPT:
			BOOL(1);
		case CKA_VERIFY_RECOVER:
		case CKA_WRAP:
		case CKA_TRUSTED:
			BOOL(0);
		}
		return ATTR_INVALID;
	}
	switch (t) {
	case CKA_SIGN:
	case CKA_DECRYPT: /* NHSbuntu selects the key on CKA_DECRYPT */
	case CKA_SENSITIVE:
	case CKA_ALWAYS_SENSITIVE:
	case CKA_NEVER_EXTRACTABLE:
		BOOL(1);
	case CKA_SIGN_RECOVER:
	case CKA_UNWRAP:
	case CKA_EXTRACTABLE:
	case CKA_ALWAYS_AUTHENTICATE:
	case CKA_WRAP_WITH_TRUSTED:
		BOOL(0);
	case CKA_PRIVATE_EXPONENT:
	case CKA_PRIME_1:
	case CKA_PRIME_2:
	case CKA_EXPONENT_1:
	case CKA_EXPONENT_2:
	case CKA_COEFFICIENT:
		return ATTR_SENSITIVE;
	}
	return ATTR_INVALID;
#undef UL
#undef BOOL
#undef BYTES
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
			  CK_ULONG ulCount)
{
	ENTER("C_GetAttributeValue");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if (pTemplate == NULL && ulCount > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	int idx = object_index(hObject);
	if (idx == 0) {
		rv = CKR_OBJECT_HANDLE_INVALID;
		goto out;
	}
	/* Every attribute is processed; the error reported is the last one
	 * met, as PKCS#11 v2.40 §5.7.5 allows. */
	for (CK_ULONG i = 0; i < ulCount; i++) {
		CK_ATTRIBUTE *a = &pTemplate[i];
		const void *v;
		CK_ULONG n;
		struct scratch sc;
		int r = attribute(idx, a->type, &v, &n, &sc);
		if (r == ATTR_SENSITIVE) {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_SENSITIVE;
		} else if (r == ATTR_INVALID) {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_TYPE_INVALID;
		} else if (a->pValue == NULL) {
			a->ulValueLen = n;
		} else if (a->ulValueLen < n) {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_BUFFER_TOO_SMALL;
		} else {
			memcpy(a->pValue, v, n);
			a->ulValueLen = n;
		}
	}
	LEAVE
}

static int matches(int idx, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	for (CK_ULONG i = 0; i < n; i++) {
		const void *v;
		CK_ULONG len;
		struct scratch sc;
		if (attribute(idx, tmpl[i].type, &v, &len, &sc) != ATTR_OK)
			return 0;
		if (tmpl[i].ulValueLen != len || (len > 0 && (tmpl[i].pValue == NULL || memcmp(v, tmpl[i].pValue, len) != 0)))
			return 0;
	}
	return 1;
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	ENTER("C_FindObjectsInit");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if ((pTemplate == NULL && ulCount > 0) || ulCount > MAX_TEMPLATE) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (s->find_active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	s->nfound = s->foundpos = 0;
	for (int idx = OBJ_CERT; idx <= OBJ_PRIV; idx++) {
		if (idx == OBJ_PRIV && !is_logged_in())
			continue; /* private objects are invisible until login */
		if (matches(idx, pTemplate, ulCount))
			s->found[s->nfound++] = object_handle(idx);
	}
	s->find_active = 1;
	LEAVE
}

CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject, CK_ULONG ulMaxObjectCount,
		    CK_ULONG_PTR pulObjectCount)
{
	ENTER("C_FindObjects");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if (phObject == NULL || pulObjectCount == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!s->find_active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	CK_ULONG n = 0;
	while (n < ulMaxObjectCount && s->foundpos < s->nfound)
		phObject[n++] = s->found[s->foundpos++];
	*pulObjectCount = n;
	LEAVE
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	ENTER("C_FindObjectsFinal");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if (!s->find_active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	s->find_active = 0;
	LEAVE
}

/* ---- signing ------------------------------------------------------------ */

static const unsigned char sha1_prefix[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
					    0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
static const unsigned char sha256_prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					      0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	ENTER("C_SignInit");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if (pMechanism == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (s->sign_active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if (!mechanism_ok(pMechanism->mechanism)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (pMechanism->pParameter != NULL || pMechanism->ulParameterLen != 0) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	if (!is_logged_in()) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	int idx = object_index(hKey);
	if (idx == OBJ_PUB) {
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
		goto out;
	}
	if (idx != OBJ_PRIV) {
		rv = CKR_KEY_HANDLE_INVALID;
		goto out;
	}
	end_operations(s);
	s->sign_active = 1;
	s->sign_mech = pMechanism->mechanism;
	if (s->sign_mech != CKM_RSA_PKCS) {
		s->md = EVP_MD_CTX_new();
		if (s->md == NULL ||
		    !EVP_DigestInit_ex(s->md, s->sign_mech == CKM_SHA1_RSA_PKCS ? EVP_sha1() : EVP_sha256(), NULL)) {
			end_operations(s);
			rv = CKR_HOST_MEMORY;
		}
	}
	LEAVE
}

/* rsa_sign makes a PKCS#1 v1.5 signature over in (a DigestInfo, or raw data
 * for CKM_RSA_PKCS) into out, which holds the modulus length. */
static CK_RV rsa_sign(const unsigned char *in, size_t inlen, unsigned char *out, CK_ULONG_PTR outlen)
{
	size_t k = (size_t)card.modulus_len;
	if (k < 11 || inlen > k - 11)
		return CKR_DATA_LEN_RANGE;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(card.key, NULL);
	size_t n = k;
	CK_RV rv = CKR_FUNCTION_FAILED;
	if (ctx != NULL && EVP_PKEY_sign_init(ctx) > 0 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
	    EVP_PKEY_sign(ctx, out, &n, in, inlen) > 0) {
		*outlen = (CK_ULONG)n;
		rv = CKR_OK;
	}
	EVP_PKEY_CTX_free(ctx);
	return rv;
}

/* sign_finish ends a sign operation whose input is complete: for the hash
 * mechanisms s->md holds the digest state, for CKM_RSA_PKCS the input is
 * data. It implements the two-call size query. */
static CK_RV sign_finish(struct session *s, const unsigned char *data, size_t len, CK_BYTE_PTR sig,
			 CK_ULONG_PTR siglen)
{
	CK_ULONG k = (CK_ULONG)card.modulus_len;
	if (sig == NULL) {
		*siglen = k;
		return CKR_OK; /* the operation stays active */
	}
	if (*siglen < k) {
		*siglen = k;
		return CKR_BUFFER_TOO_SMALL; /* the operation stays active */
	}
	CK_RV rv;
	if (s->sign_mech == CKM_RSA_PKCS) {
		rv = rsa_sign(data, len, sig, siglen);
	} else {
		unsigned char di[19 + EVP_MAX_MD_SIZE];
		unsigned int dl = 0;
		const unsigned char *prefix = s->sign_mech == CKM_SHA1_RSA_PKCS ? sha1_prefix : sha256_prefix;
		size_t pl = s->sign_mech == CKM_SHA1_RSA_PKCS ? sizeof sha1_prefix : sizeof sha256_prefix;
		memcpy(di, prefix, pl);
		rv = CKR_FUNCTION_FAILED;
		if ((len == 0 || EVP_DigestUpdate(s->md, data, len)) && EVP_DigestFinal_ex(s->md, di + pl, &dl))
			rv = rsa_sign(di, pl + dl, sig, siglen);
	}
	end_operations(s);
	return rv;
}

static CK_RV sign_state(CK_SESSION_HANDLE h, struct session **out)
{
	CK_RV rv = get_session(h, out);
	if (rv != CKR_OK)
		return rv;
	if (!(*out)->sign_active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (!is_logged_in()) {
		end_operations(*out);
		return CKR_USER_NOT_LOGGED_IN;
	}
	return CKR_OK;
}

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
	     CK_ULONG_PTR pulSignatureLen)
{
	ENTER_SIGN("C_Sign", hSession);
	struct session *s;
	if ((rv = sign_state(hSession, &s)) != CKR_OK)
		goto out;
	if (pulSignatureLen == NULL || (pData == NULL && ulDataLen > 0)) {
		end_operations(s);
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (s->sign_multipart) {
		end_operations(s);
		rv = CKR_OPERATION_ACTIVE; /* C_Sign after C_SignUpdate */
		goto out;
	}
	rv = sign_finish(s, pData, ulDataLen, pSignature, pulSignatureLen);
	LEAVE
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	ENTER_SIGN("C_SignUpdate", hSession);
	struct session *s;
	if ((rv = sign_state(hSession, &s)) != CKR_OK)
		goto out;
	if (pPart == NULL && ulPartLen > 0) {
		end_operations(s);
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	s->sign_multipart = 1;
	if (s->sign_mech == CKM_RSA_PKCS) {
		if (ulPartLen > MAX_MULTIPART - s->buflen) {
			end_operations(s);
			rv = CKR_DATA_LEN_RANGE;
			goto out;
		}
		memcpy(s->buf + s->buflen, pPart, ulPartLen);
		s->buflen += ulPartLen;
	} else if (ulPartLen > 0 && !EVP_DigestUpdate(s->md, pPart, ulPartLen)) {
		end_operations(s);
		rv = CKR_FUNCTION_FAILED;
	}
	LEAVE
}

CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	ENTER_SIGN("C_SignFinal", hSession);
	struct session *s;
	if ((rv = sign_state(hSession, &s)) != CKR_OK)
		goto out;
	if (pulSignatureLen == NULL) {
		end_operations(s);
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (s->sign_mech == CKM_RSA_PKCS)
		rv = sign_finish(s, s->buf, s->buflen, pSignature, pulSignatureLen);
	else
		rv = sign_finish(s, NULL, 0, pSignature, pulSignatureLen);
	LEAVE
}

CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen)
{
	ENTER("C_GenerateRandom");
	struct session *s;
	if ((rv = get_session(hSession, &s)) != CKR_OK)
		goto out;
	if (RandomData == NULL && ulRandomLen > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (ulRandomLen > INT_MAX || (ulRandomLen > 0 && RAND_bytes(RandomData, (int)ulRandomLen) != 1))
		rv = CKR_FUNCTION_FAILED;
	LEAVE
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
