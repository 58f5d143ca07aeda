// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * ticketapi.c: the legacy Ticket API (ticket_api.h) over the agent's local
 * endpoint (docs/ticket-api.md, the agent endpoint spec).
 *
 * Design:
 *   - An instance is a slot in a fixed table: its handle, its last error and
 *     a detail message for that error. The table is the only shared state,
 *     and one lock guards it; the lock is never held during I/O.
 *   - Every call that needs the agent opens its own connection, attaches,
 *     sends one request, reads the result and closes. Calls on one instance
 *     from several threads therefore never wait for one another (a
 *     getTicket that waits minutes for a passcode blocks nobody else), no
 *     descriptor stays open in the host process between calls, and an agent
 *     that restarted is simply found again.
 *   - Frames from the agent are bounded (TA_MAX_FRAME); every buffer that may
 *     hold a ticket is cleared before it is freed, and nothing is logged.
 */

#include "ticket_api.h"

#include "json.h"
#include "transport.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef OIA_VERSION
#define OIA_VERSION "0.0.0"
#endif

#if defined(_WIN32)
#define TA_EXPORT
#else
#define TA_EXPORT __attribute__((visibility("default")))
#endif

/* TA_MAX_FRAME bounds what the library accepts from the agent. */
#define TA_MAX_FRAME (64 * 1024)
/* TA_MAX_INSTANCES bounds the instance table. */
#define TA_MAX_INSTANCES 1024

/* Deadlines: connecting and the hello are quick; a login waits for the user
 * (the agent ends a login that nobody finishes well before this). */
#define TA_CONNECT_MS 5000
#define TA_HELLO_MS 10000
#define TA_QUICK_MS 30000
#define TA_LOGIN_MS (15 * 60 * 1000)

struct instance {
	TCK_API_INSTANCE handle; /* 0: the slot is free */
	uint32_t last_error;
	char detail[TA_DETAIL_MAX];
};

static struct instance table[TA_MAX_INSTANCES];
static TCK_API_INSTANCE next_handle = 1;
/* The last error of calls made without a valid instance. */
static uint32_t noinst_error;
static char noinst_detail[TA_DETAIL_MAX];

void ta_detail(char *detail, const char *fmt, ...)
{
	va_list ap;
	if (!detail)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, TA_DETAIL_MAX, fmt, ap);
	va_end(ap);
}

void ta_zero(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

/* find returns the slot of handle h, with the lock held; NULL if none. */
static struct instance *find(TCK_API_INSTANCE h)
{
	if (h == 0)
		return NULL;
	for (int i = 0; i < TA_MAX_INSTANCES; i++)
		if (table[i].handle == h)
			return &table[i];
	return NULL;
}

/* valid reports whether h is a live instance. */
static int valid(TCK_API_INSTANCE h)
{
	ta_lock();
	int ok = find(h) != NULL;
	ta_unlock();
	return ok;
}

/* record stores code and detail as h's last error (or as the no-instance
 * error when h is not live) and returns code. */
static uint32_t record(TCK_API_INSTANCE h, uint32_t code, const char *detail)
{
	ta_lock();
	struct instance *in = find(h);
	uint32_t *e = in ? &in->last_error : &noinst_error;
	char *d = in ? in->detail : noinst_detail;
	*e = code;
	if (code == TCK_API_SUCCESS || !detail)
		d[0] = '\0';
	else
		snprintf(d, TA_DETAIL_MAX, "%s", detail);
	ta_unlock();
	return code;
}

TA_EXPORT TCK_API_INSTANCE TcktApi_Initialize(void)
{
	TCK_API_INSTANCE h = 0;
	ta_lock();
	for (int i = 0; i < TA_MAX_INSTANCES; i++) {
		if (table[i].handle != 0)
			continue;
		/* Handles count up and skip any still in use, so that a stale
		 * handle is not soon valid again. */
		do {
			h = next_handle;
			next_handle = next_handle >= 0x7FFFFFFF ? 1 : next_handle + 1;
		} while (find(h) != NULL);
		table[i].handle = h;
		table[i].last_error = TCK_API_SUCCESS;
		table[i].detail[0] = '\0';
		break;
	}
	if (h == 0) {
		noinst_error = TCK_API_ERR_RESOURCE_ALLOCATION_FAILED;
		snprintf(noinst_detail, TA_DETAIL_MAX,
			"more than %d ticket api instances are open: call TcktApi_Finalize for those no longer used",
			TA_MAX_INSTANCES);
	} else {
		noinst_error = TCK_API_SUCCESS;
		noinst_detail[0] = '\0';
	}
	ta_unlock();
	return h;
}

TA_EXPORT void TcktApi_Finalize(TCK_API_INSTANCE instance)
{
	ta_lock();
	struct instance *in = find(instance);
	if (in)
		memset(in, 0, sizeof *in);
	ta_unlock();
}

/* version_number encodes "major.minor.patch" as major<<24|minor<<16|patch. */
static uint32_t version_number(const char *s)
{
	unsigned long part[3] = {0, 0, 0};
	int i = 0;
	for (; *s && i < 3; s++) {
		if (*s >= '0' && *s <= '9') {
			part[i] = part[i] * 10 + (unsigned long)(*s - '0');
			if (part[i] > 0xFFFF)
				return 0;
		} else if (*s == '.') {
			i++;
		} else {
			break;
		}
	}
	if (part[0] > 0xFF || part[1] > 0xFF)
		return 0;
	return (uint32_t)(part[0] << 24 | part[1] << 16 | part[2]);
}

/* legacy_of turns an agent error object into a TCK_API_ERR_* code: its
 * legacyCode when it has one, else by its string code. */
static uint32_t legacy_of(const js_val *err)
{
	static const struct {
		const char *code;
		uint32_t legacy;
	} known[] = {
		{"TICKET_NOT_AVAILABLE", TCK_API_ERR_TICKET_NOT_AVAILABLE},
		{"AGENT_UNAVAILABLE", TCK_API_ERR_NO_SERVERFOUND},
		{"AGENT_VERSION_MISMATCH", TCK_API_ERR_VERSION_CONFLICT},
		{"TICKET_API_DISABLED", TCK_API_ERR_NOT_INSTALLED},
		{"PROMPT_UNAVAILABLE", TCK_API_ERR_AUTHENTICATION_NOT_POSSIBLE},
		{"USER_ABORT", TCK_API_ERR_USER_ABORT},
		{"BUSY", TCK_API_ERR_SERVER_BUSY},
		{"RATE_LIMITED", TCK_API_ERR_SERVER_BUSY},
	};
	js_val v;
	uint32_t n;
	if (js_member(err, "legacyCode", &v) == 1 && js_uint32(&v, &n) == 0 &&
	    (n & TCK_ERR_GRP_MASK) != 0)
		return n;
	if (js_member(err, "code", &v) == 1)
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			if (js_string_eq(&v, known[i].code))
				return known[i].legacy;
	return TCK_API_ERR_INTERNAL;
}

/* agent_error reads an agent error object into a code and a detail. */
static uint32_t agent_error(const js_val *err, char *detail)
{
	char code[64] = "", msg[160] = "";
	js_val v;
	if (err->kind != JS_OBJECT) {
		ta_detail(detail, "the agent sent an error without a code");
		return TCK_API_ERR_INTERNAL;
	}
	if (js_member(err, "code", &v) == 1)
		js_string(&v, code, sizeof code, NULL);
	if (js_member(err, "message", &v) == 1)
		js_string(&v, msg, sizeof msg, NULL);
	/* Keep the detail to printable ASCII: it may be shown anywhere. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7E)
			*p = '?';
	for (char *p = code; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7E)
			*p = '?';
	ta_detail(detail, "%s: %s", code[0] ? code : "ERROR", msg);
	return legacy_of(err);
}

/* A conversation with the agent: its connection and the last frame read. */
struct convo {
	ta_conn *conn;
	char *frame;
	size_t len;
	js_val root;
};

static void convo_free_frame(struct convo *c)
{
	if (c->frame) {
		ta_zero(c->frame, c->len);
		free(c->frame);
	}
	c->frame = NULL;
	c->len = 0;
}

static void convo_end(struct convo *c)
{
	convo_free_frame(c);
	ta_close(c->conn);
	c->conn = NULL;
}

static uint32_t send_frame(struct convo *c, const char *json, int64_t deadline, char *detail)
{
	size_t n = strlen(json);
	unsigned char hdr[4] = {(unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16),
		(unsigned char)(n >> 24)};
	uint32_t rc = ta_write(c->conn, hdr, 4, deadline, detail);
	if (rc == TCK_API_SUCCESS)
		rc = ta_write(c->conn, json, n, deadline, detail);
	return rc;
}

/* read_frame reads one frame, checks it is a JSON object, and keeps it in
 * c->frame / c->root. */
static uint32_t read_frame(struct convo *c, int64_t deadline, char *detail)
{
	unsigned char hdr[4];
	convo_free_frame(c);
	uint32_t rc = ta_read(c->conn, hdr, 4, deadline, detail);
	if (rc != TCK_API_SUCCESS)
		return rc;
	uint32_t n = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
	if (n == 0 || n > TA_MAX_FRAME) {
		ta_detail(detail, "the agent sent a frame of %lu bytes (the limit is %d): update open identity agent",
			(unsigned long)n, TA_MAX_FRAME);
		return TCK_API_ERR_SERVER_COMM_FAILED;
	}
	c->frame = malloc(n);
	if (!c->frame) {
		ta_detail(detail, "out of memory");
		return TCK_API_ERR_RESOURCE_ALLOCATION_FAILED;
	}
	c->len = n;
	rc = ta_read(c->conn, c->frame, n, deadline, detail);
	if (rc != TCK_API_SUCCESS)
		return rc;
	if (js_parse(c->frame, n, &c->root) != 0 || c->root.kind != JS_OBJECT) {
		ta_detail(detail, "the agent sent a frame that is not a json object");
		return TCK_API_ERR_SERVER_COMM_FAILED;
	}
	return TCK_API_SUCCESS;
}

/* attach connects and exchanges attach/hello; on success c is open and
 * c->root is the hello. */
static uint32_t attach(struct convo *c, char *detail)
{
	static const char msg[] = "{\"type\":\"attach\",\"protocol\":\"1.0\",\"client\":\"ticketapi\","
				  "\"version\":\"" OIA_VERSION "\",\"events\":false}";
	int64_t deadline = ta_now_ms() + TA_HELLO_MS;
	js_val v, err;
	uint32_t rc = ta_connect(&c->conn, TA_CONNECT_MS, detail);
	if (rc != TCK_API_SUCCESS)
		return rc;
	rc = send_frame(c, msg, deadline, detail);
	if (rc == TCK_API_SUCCESS)
		rc = read_frame(c, deadline, detail);
	if (rc != TCK_API_SUCCESS)
		return rc;
	if (js_member(&c->root, "type", &v) != 1) {
		ta_detail(detail, "the agent's answer to attach has no type");
		return TCK_API_ERR_SERVER_COMM_FAILED;
	}
	if (js_string_eq(&v, "event")) {
		if (js_member(&c->root, "error", &err) == 1)
			return agent_error(&err, detail);
		ta_detail(detail, "the agent refused the connection");
		return TCK_API_ERR_SERVER_COMM_FAILED;
	}
	if (!js_string_eq(&v, "hello")) {
		ta_detail(detail, "the agent's answer to attach is not a hello");
		return TCK_API_ERR_SERVER_COMM_FAILED;
	}
	char proto[16] = "";
	if (js_member(&c->root, "protocol", &v) != 1 || js_string(&v, proto, sizeof proto, NULL) != 0 ||
	    proto[0] != '1' || (proto[1] != '.' && proto[1] != '\0')) {
		for (char *p = proto; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7E)
				*p = '?';
		ta_detail(detail, "the agent speaks protocol %s, this library 1.x: install matching versions of open identity agent",
			proto[0] ? proto : "(none)");
		return TCK_API_ERR_VERSION_CONFLICT;
	}
	return TCK_API_SUCCESS;
}

/* request runs one request of the given type. On success with want_ticket,
 * *ticket is a malloc'd NUL-terminated copy of the ticket (clear and free
 * it with drop_ticket). */
static uint32_t request(const char *type, int64_t timeout_ms, int want_ticket, char **ticket,
	size_t *ticket_len, char *detail)
{
	struct convo c = {0};
	char msg[96];
	js_val v, res;
	uint32_t rc = attach(&c, detail);
	if (rc != TCK_API_SUCCESS)
		goto out;
	snprintf(msg, sizeof msg, "{\"id\":\"1\",\"type\":\"%s\"}", type);
	int64_t deadline = ta_now_ms() + timeout_ms;
	rc = send_frame(&c, msg, deadline, detail);
	if (rc != TCK_API_SUCCESS)
		goto out;
	for (;;) {
		rc = read_frame(&c, deadline, detail);
		if (rc != TCK_API_SUCCESS)
			goto out;
		if (js_member(&c.root, "type", &v) != 1)
			continue;
		if (js_string_eq(&v, "event")) {
			/* Only an error event matters (the agent closing on us). */
			js_val ev, err;
			if (js_member(&c.root, "event", &ev) == 1 && js_string_eq(&ev, "error") &&
			    js_member(&c.root, "error", &err) == 1) {
				rc = agent_error(&err, detail);
				goto out;
			}
			continue;
		}
		if (!js_string_eq(&v, "result"))
			continue;
		if (js_member(&c.root, "id", &v) != 1 || !js_string_eq(&v, "1"))
			continue;
		break;
	}
	res = c.root;
	if (js_member(&res, "ok", &v) != 1 || (v.kind != JS_TRUE && v.kind != JS_FALSE)) {
		ta_detail(detail, "the agent's result has no ok field");
		rc = TCK_API_ERR_SERVER_COMM_FAILED;
		goto out;
	}
	if (v.kind == JS_FALSE) {
		js_val err;
		if (js_member(&res, "error", &err) == 1)
			rc = agent_error(&err, detail);
		else {
			ta_detail(detail, "the agent's result has no error");
			rc = TCK_API_ERR_INTERNAL;
		}
		goto out;
	}
	if (want_ticket) {
		if (js_member(&res, "ticket", &v) != 1 || v.kind != JS_STRING || v.n <= 2) {
			ta_detail(detail, "the agent's result has no ticket");
			rc = TCK_API_ERR_TICKET_NOT_AVAILABLE;
			goto out;
		}
		/* The decoded string is never longer than its JSON form. */
		char *t = malloc(v.n);
		if (!t) {
			ta_detail(detail, "out of memory");
			rc = TCK_API_ERR_RESOURCE_ALLOCATION_FAILED;
			goto out;
		}
		size_t n;
		if (js_string(&v, t, v.n, &n) != 0) {
			ta_zero(t, v.n);
			free(t);
			ta_detail(detail, "the agent's ticket is not a valid string");
			rc = TCK_API_ERR_SERVER_COMM_FAILED;
			goto out;
		}
		*ticket = t;
		*ticket_len = n;
	}
	rc = TCK_API_SUCCESS;
out:
	convo_end(&c);
	return rc;
}

static void drop_ticket(char *t, size_t n)
{
	if (t) {
		ta_zero(t, n + 1);
		free(t);
	}
}

/* copy_out applies the (buffer, size, &used) contract: the whole string
 * and its NUL, or nothing. */
static uint32_t copy_out(const char *s, size_t n, char *buf, unsigned int size, unsigned int *used,
	char *detail)
{
	if ((size_t)size < n + 1) {
		ta_detail(detail, "the buffer of %u bytes is too small: %lu are needed", size, (unsigned long)(n + 1));
		return TCK_API_ERR_BUFFER_TOO_SMALL;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (used)
		*used = (unsigned int)n;
	return TCK_API_SUCCESS;
}

static int ticket_call(TCK_API_INSTANCE instance, const char *type, int64_t timeout_ms, char *buf,
	unsigned int size, unsigned int *used)
{
	char detail[TA_DETAIL_MAX] = "";
	char *t = NULL;
	size_t n = 0;
	uint32_t rc;
	if (!valid(instance)) {
		ta_detail(detail, "the instance handle is not valid: call TcktApi_Initialize first");
		return (int)record(instance, TCK_API_ERR_INVALID_INSTANCE_HANDLE, detail);
	}
	if (!buf) {
		ta_detail(detail, "the ticket buffer is NULL");
		return (int)record(instance, TCK_API_ERR_INVALID_PARAMETER, detail);
	}
	rc = request(type, timeout_ms, 1, &t, &n, detail);
	if (rc == TCK_API_SUCCESS)
		rc = copy_out(t, n, buf, size, used, detail);
	drop_ticket(t, n);
	return (int)record(instance, rc, detail);
}

TA_EXPORT int TcktApi_getTicket(TCK_API_INSTANCE instance, char *pszTicketBuffer,
	unsigned int TicketBufferSize, unsigned int *piUsedTicketSize)
{
	return ticket_call(instance, "getTicket", TA_LOGIN_MS, pszTicketBuffer, TicketBufferSize,
		piUsedTicketSize);
}

TA_EXPORT int TcktApi_getTicketNoAuth(TCK_API_INSTANCE instance, char *pszTicketBuffer,
	unsigned int TicketBufferSize, unsigned int *piUsedTicketSize)
{
	return ticket_call(instance, "getTicketNoAuth", TA_QUICK_MS, pszTicketBuffer, TicketBufferSize,
		piUsedTicketSize);
}

TA_EXPORT int TcktApi_getNewTicket(TCK_API_INSTANCE instance, char *pszTicketBuffer,
	unsigned int TicketBufferSize, unsigned int *piUsedTicketSize)
{
	return ticket_call(instance, "getNewTicket", TA_LOGIN_MS, pszTicketBuffer, TicketBufferSize,
		piUsedTicketSize);
}

TA_EXPORT int TcktApi_destroyTicket(TCK_API_INSTANCE instance)
{
	char detail[TA_DETAIL_MAX] = "";
	if (!valid(instance)) {
		ta_detail(detail, "the instance handle is not valid: call TcktApi_Initialize first");
		return (int)record(instance, TCK_API_ERR_INVALID_INSTANCE_HANDLE, detail);
	}
	uint32_t rc = request("destroyTicket", TA_QUICK_MS, 0, NULL, NULL, detail);
	return (int)record(instance, rc, detail);
}

TA_EXPORT TCK_API_DWORD TcktApi_GetGAVersion(TCK_API_INSTANCE instance, int iComponentType)
{
	char detail[TA_DETAIL_MAX] = "";
	if (iComponentType == GATICKET_VERSION_API) {
		record(instance, TCK_API_SUCCESS, NULL);
		return version_number(OIA_VERSION);
	}
	if (iComponentType != GATICKET_VERSION_ENGINE) {
		ta_detail(detail, "the component type %d is neither 1 (api) nor 2 (engine)", iComponentType);
		record(instance, TCK_API_ERR_INVALID_PARAMETER, detail);
		return 0;
	}
	if (!valid(instance)) {
		ta_detail(detail, "the instance handle is not valid: call TcktApi_Initialize first");
		record(instance, TCK_API_ERR_INVALID_INSTANCE_HANDLE, detail);
		return 0;
	}
	struct convo c = {0};
	uint32_t version = 0;
	uint32_t rc = attach(&c, detail);
	if (rc == TCK_API_SUCCESS) {
		js_val v;
		char s[32];
		if (js_member(&c.root, "version", &v) == 1 && js_string(&v, s, sizeof s, NULL) == 0)
			version = version_number(s);
		if (version == 0) {
			ta_detail(detail, "the agent's hello has no version");
			rc = TCK_API_ERR_SERVER_COMM_FAILED;
		}
	}
	convo_end(&c);
	record(instance, rc, detail);
	return rc == TCK_API_SUCCESS ? version : 0;
}

TA_EXPORT TCK_API_DWORD TcktApi_getLastError(TCK_API_INSTANCE instance)
{
	uint32_t e;
	ta_lock();
	struct instance *in = find(instance);
	if (in)
		e = in->last_error;
	else if (instance == 0)
		e = noinst_error;
	else
		e = TCK_API_ERR_INVALID_INSTANCE_HANDLE;
	ta_unlock();
	return e;
}

/* describe returns the fixed description of code, or NULL. */
static const char *describe(uint32_t code)
{
	switch (code) {
	case TCK_API_SUCCESS: return "success";
	case TCK_API_ERR_INTERNAL: return "internal error in open identity agent";
	case TCK_API_ERR_NOT_INITIALIZED: return "the ticket api is not initialised";
	case TCK_API_ERR_INVALID_PARAMETER: return "a parameter is invalid";
	case TCK_API_ERR_BUFFER_TOO_SMALL: return "the buffer is too small";
	case TCK_API_ERR_INVALID_INSTANCE_HANDLE: return "the instance handle is not valid";
	case TCK_API_ERR_SERVER_BUSY: return "open identity agent is busy: try again shortly";
	case TCK_API_ERR_SERVER_COMM_FAILED: return "communication failed (with the agent or the spine security broker)";
	case TCK_API_ERR_RESOURCE_ALLOCATION_FAILED: return "out of resources";
	case TCK_API_ERR_TICKET_NOT_AVAILABLE: return "nobody is logged in with a smartcard";
	case TCK_API_ERR_INTERNAL_ERROR: return "internal error";
	case TCK_API_ERR_NOT_IMPLEMENTED: return "not implemented";
	case TCK_API_ERR_VERSION_CONFLICT: return "the library and the agent are of different versions: update open identity agent";
	case TCK_API_ERR_NOT_INSTALLED: return "ticket api access is turned off in the system configuration (ticketApiEnabled), or this application is not allowed";
	case TCK_API_ERR_NO_SERVERFOUND: return "open identity agent is not running for this user: start it, or run 'oia doctor'";
	case TCK_API_ERR_LOAD_RES_FAILED: return "a resource could not be loaded";
	case TCK_API_ERR_AUTHMETHOD_NOT_AVAILABLE: return "the authentication method is not available";
	case TCK_API_ERR_AUTHMETHOD_NOT_POSSIBLE: return "the authentication method is not possible";
	case TCK_API_ERR_RESOURCE_NOT_AVAILABLE: return "a resource is not available";
	case TCK_API_ERR_SMARTCARD_NOT_SUPPORTED: return "the smartcard or its middleware is not supported";
	case TCK_API_ERR_READER_NOT_AVAILABLE: return "no smartcard reader is available";
	case TCK_API_ERR_SMARTCARD_NOT_VALID: return "the smartcard is not valid";
	case TCK_API_ERR_PIN_BLOCKED: return "the smartcard is locked after three wrong passcodes";
	case TCK_API_ERR_CARD_TRANSACTION_FAILED: return "the smartcard or reader failed";
	case TCK_API_ERR_NO_CERT_FOUND: return "the smartcard holds no authentication certificate";
	case TCK_API_ERR_NO_KEY_FOUND: return "the smartcard holds no key for its certificate";
	case TCK_API_ERR_USER_ABORT: return "the login was cancelled";
	case TCK_API_ERR_AUTHENTICATION_FAILED: return "the login failed";
	case TCK_API_ERR_AUTHENTICATION_NOT_POSSIBLE: return "a login is needed but no passcode prompt can be shown: open a browser with the open identity agent extension";
	case TCK_API_ERR_USER_NOT_VALID: return "the user is not valid";
	case TCK_API_ERR_AUTHSERVER_NOT_AVAILABLE: return "the spine security broker is not available";
	case TCK_API_ERR_AUTHDATA_SYNTAX_ERROR: return "the passcode has the wrong form";
	case TCK_API_ERR_AUTH_NOT_VALID: return "the authentication is not valid";
	case TCK_API_ERR_AUTHMETHOD_NOT_SUPPORTED: return "the authentication method is not supported";
	}
	return NULL;
}

TA_EXPORT int TcktApi_getErrorDescription(TCK_API_INSTANCE instance, TCK_API_DWORD dwError,
	char *pszDescrBuffer, unsigned int DescrBufferSize, unsigned int *piUsedDescrSize)
{
	char text[TA_DETAIL_MAX + 160];
	const char *base = describe((uint32_t)dwError);
	char mine[TA_DETAIL_MAX] = "";
	if (!pszDescrBuffer)
		return (int)TCK_API_ERR_INVALID_PARAMETER;
	/* The detail of the instance's own last error, when that is dwError. */
	ta_lock();
	struct instance *in = find(instance);
	uint32_t last = in ? in->last_error : noinst_error;
	const char *d = in ? in->detail : noinst_detail;
	if ((instance == 0 || in) && last == (uint32_t)dwError && d[0])
		snprintf(mine, sizeof mine, "%s", d);
	ta_unlock();
	if (base && mine[0])
		snprintf(text, sizeof text, "%s (%s)", base, mine);
	else if (base)
		snprintf(text, sizeof text, "%s", base);
	else
		snprintf(text, sizeof text, "unknown error 0x%08lX", (unsigned long)dwError);
	/* This call does not change the last error: it is asked about it. */
	return (int)copy_out(text, strlen(text), pszDescrBuffer, DescrBufferSize, piUsedDescrSize, NULL);
}

TA_EXPORT int TcktApi_isTerminalServiceSession(TCK_API_INSTANCE instance)
{
	(void)instance;
	return ta_remote_session();
}

TA_EXPORT TCK_API_DWORD GetDllVersion(void)
{
	return version_number(OIA_VERSION);
}
