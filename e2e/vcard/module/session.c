// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/* Sessions, and login: by passcode, or on the (virtual) PIN pad. The login
 * is the application's, on the card it was made on; a new card generation
 * (removal, swap) ends it, and so does closing the last session. */

#include "vcard.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* ---- sessions ----------------------------------------------------------- */

static CK_SESSION_HANDLE next_handle = 1;

void end_operations(struct session *s)
{
	s->find_active = 0;
	s->sign_active = 0;
	s->sign_multipart = 0;
	s->buflen = 0;
	EVP_MD_CTX_free(s->md);
	s->md = NULL;
}

void free_session(struct session *s)
{
	end_operations(s);
	memset(s, 0, sizeof *s);
}

int is_logged_in(void)
{
	return logged_in && st.present && login_generation == st.generation;
}

/* get_session finds a live session. A session opened on a card that has
 * since been removed (or swapped) answers CKR_DEVICE_REMOVED until it is
 * closed; an unknown handle is CKR_SESSION_HANDLE_INVALID. */
CK_RV get_session(CK_SESSION_HANDLE h, struct session **out)
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

int count_sessions(int rw_only)
{
	int n = 0;
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (sessions[i].handle != 0 && sessions[i].generation == st.generation &&
		    (!rw_only || (sessions[i].flags & CKF_RW_SESSION)))
			n++;
	return n;
}

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
