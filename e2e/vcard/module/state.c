// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/* The card directory: its state file (read and written under the directory
 * lock), the card's key and certificate, and refresh, which brings the
 * module's view of the card (st, card) up to date at every call; and the
 * injected faults, which the state file sets. */

#include "vcard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* ---- the state file as ordered key=value pairs -------------------------- */

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

/* ---- files -------------------------------------------------------------- */

static int path_of(char *out, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* lock_dir takes the directory lock, shared or exclusive; -1 on failure. */
int lock_dir(int exclusive)
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

void unlock_dir(int fd)
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
CK_RV read_state(struct state *s)
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
CK_RV write_state(struct state *s)
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

void card_free(void)
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

/* after_read applies what a freshly read state means for the module: a new
 * card generation drops the login and (re)loads the card. Caller holds the
 * directory lock, shared or exclusive. */
CK_RV after_read(void)
{
	if (logged_in && (!st.present || login_generation != st.generation))
		logged_in = 0;
	if (st.present && (!card.loaded || card.generation != st.generation))
		return card_load();
	return CKR_OK;
}

/* refresh re-reads the state; every call that touches the token starts here. */
CK_RV refresh(void)
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
CK_RV fault(const char *fn)
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
