// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * transport_windows.c: the agent endpoint over a named pipe,
 * \\.\pipe\org.openidentityagent.agent.<user SID>.<session id>, or
 * %OIA_AGENT_ENDPOINT% (a full pipe path). After connecting, the process
 * serving the pipe must run as the calling user in the calling session
 * (GetNamedPipeServerProcessId), which defeats a pipe squatted by another
 * user; the server may only identify, never impersonate, the caller.
 */

#if defined(_WIN32)

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0600 /* Vista: GetNamedPipeServerProcessId */
#endif
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <sddl.h>

#include "ticket_api.h"
#include "transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ta_conn {
	HANDLE pipe;
	HANDLE event;
};

static SRWLOCK table_lock = SRWLOCK_INIT;

void ta_lock(void) { AcquireSRWLockExclusive(&table_lock); }
void ta_unlock(void) { ReleaseSRWLockExclusive(&table_lock); }

int64_t ta_now_ms(void)
{
	return (int64_t)GetTickCount64();
}

int ta_remote_session(void)
{
	/* A process outside the physical console's session runs in a remote
	 * (terminal services) session; kernel32 only, no user32. */
	DWORD mine = 0;
	if (!ProcessIdToSessionId(GetCurrentProcessId(), &mine))
		return 0;
	return mine != WTSGetActiveConsoleSessionId();
}

/* token_user returns the TOKEN_USER of process p (free with free()). */
static TOKEN_USER *token_user(HANDLE process)
{
	HANDLE tok = NULL;
	DWORD n = 0;
	TOKEN_USER *tu = NULL;
	if (!OpenProcessToken(process, TOKEN_QUERY, &tok))
		return NULL;
	GetTokenInformation(tok, TokenUser, NULL, 0, &n);
	if (n > 0 && n < 4096 && (tu = malloc(n)) != NULL && !GetTokenInformation(tok, TokenUser, tu, n, &n)) {
		free(tu);
		tu = NULL;
	}
	CloseHandle(tok);
	return tu;
}

/* pipe_path writes the endpoint's pipe path into out. */
static uint32_t pipe_path(char *out, DWORD cap, char *detail)
{
	DWORD n = GetEnvironmentVariableA("OIA_AGENT_ENDPOINT", out, cap);
	if (n > 0 && n < cap)
		return TCK_API_SUCCESS;
	if (n >= cap) {
		ta_detail(detail, "OIA_AGENT_ENDPOINT is longer than %lu characters", (unsigned long)cap - 1);
		return TCK_API_ERR_NO_SERVERFOUND;
	}
	TOKEN_USER *tu = token_user(GetCurrentProcess());
	char *sid = NULL;
	DWORD session = 0;
	if (!tu || !ConvertSidToStringSidA(tu->User.Sid, &sid) ||
	    !ProcessIdToSessionId(GetCurrentProcessId(), &session)) {
		free(tu);
		ta_detail(detail, "cannot read this process's user or session (error %lu)", GetLastError());
		return TCK_API_ERR_INTERNAL;
	}
	int w = snprintf(out, cap, "\\\\.\\pipe\\org.openidentityagent.agent.%s.%lu", sid, (unsigned long)session);
	LocalFree(sid);
	free(tu);
	if (w <= 0 || (DWORD)w >= cap) {
		ta_detail(detail, "the agent pipe name is too long");
		return TCK_API_ERR_INTERNAL;
	}
	return TCK_API_SUCCESS;
}

/* check_server checks the pipe's server runs as this user in this session. */
static uint32_t check_server(HANDLE pipe, char *detail)
{
	ULONG pid = 0;
	DWORD srv_session = 0, my_session = 0;
	uint32_t rc = TCK_API_ERR_NO_SERVERFOUND;
	if (!GetNamedPipeServerProcessId(pipe, &pid)) {
		ta_detail(detail, "cannot identify the agent's process (error %lu)", GetLastError());
		return rc;
	}
	HANDLE proc = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
	if (!proc) {
		ta_detail(detail, "the agent's process %lu cannot be inspected: refusing it", (unsigned long)pid);
		return rc;
	}
	TOKEN_USER *them = token_user(proc);
	TOKEN_USER *me = token_user(GetCurrentProcess());
	CloseHandle(proc);
	if (!them || !me || !EqualSid(them->User.Sid, me->User.Sid)) {
		ta_detail(detail, "the agent pipe is served by another user's process %lu: refusing it", (unsigned long)pid);
	} else if (!ProcessIdToSessionId(pid, &srv_session) ||
		   !ProcessIdToSessionId(GetCurrentProcessId(), &my_session) || srv_session != my_session) {
		ta_detail(detail, "the agent pipe is served from another session: refusing it");
	} else {
		rc = TCK_API_SUCCESS;
	}
	free(them);
	free(me);
	return rc;
}

uint32_t ta_connect(ta_conn **out, long timeout_ms, char *detail)
{
	char path[512];
	uint32_t rc = pipe_path(path, sizeof path, detail);
	if (rc != TCK_API_SUCCESS)
		return rc;
	int64_t deadline = ta_now_ms() + timeout_ms;
	HANDLE h;
	for (;;) {
		h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
			FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
		if (h != INVALID_HANDLE_VALUE)
			break;
		DWORD e = GetLastError();
		if (e != ERROR_PIPE_BUSY) {
			ta_detail(detail, "no agent at %s (error %lu): start open identity agent", path, e);
			return TCK_API_ERR_NO_SERVERFOUND;
		}
		int64_t left = deadline - ta_now_ms();
		if (left <= 0 || !WaitNamedPipeA(path, (DWORD)left)) {
			if (GetLastError() == ERROR_FILE_NOT_FOUND) {
				ta_detail(detail, "no agent at %s: start open identity agent", path);
				return TCK_API_ERR_NO_SERVERFOUND;
			}
			if (ta_now_ms() >= deadline) {
				ta_detail(detail, "the agent at %s accepts no connection", path);
				return TCK_API_ERR_SERVER_BUSY;
			}
			Sleep(10);
		}
	}
	rc = check_server(h, detail);
	if (rc != TCK_API_SUCCESS) {
		CloseHandle(h);
		return rc;
	}
	ta_conn *c = malloc(sizeof *c);
	HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
	if (!c || !ev) {
		free(c);
		if (ev)
			CloseHandle(ev);
		CloseHandle(h);
		ta_detail(detail, "out of resources");
		return TCK_API_ERR_RESOURCE_ALLOCATION_FAILED;
	}
	c->pipe = h;
	c->event = ev;
	*out = c;
	return TCK_API_SUCCESS;
}

/* io runs one overlapped ReadFile or WriteFile until the deadline. */
static uint32_t io(ta_conn *c, int writing, void *p, DWORD n, DWORD *done, int64_t deadline, char *detail)
{
	OVERLAPPED ov;
	memset(&ov, 0, sizeof ov);
	ov.hEvent = c->event;
	ResetEvent(c->event);
	BOOL ok = writing ? WriteFile(c->pipe, p, n, NULL, &ov) : ReadFile(c->pipe, p, n, NULL, &ov);
	if (!ok && GetLastError() != ERROR_IO_PENDING) {
		DWORD e = GetLastError();
		if (e == ERROR_MORE_DATA) /* a message-mode pipe: the rest follows */
			ok = TRUE;
		else {
			ta_detail(detail, "the connection to the agent failed (error %lu)", e);
			return TCK_API_ERR_SERVER_COMM_FAILED;
		}
	}
	int64_t left = deadline - ta_now_ms();
	if (left < 0)
		left = 0;
	if (WaitForSingleObject(c->event, (DWORD)(left > 0x7FFFFFFF ? 0x7FFFFFFF : left)) != WAIT_OBJECT_0) {
		CancelIo(c->pipe);
		GetOverlappedResult(c->pipe, &ov, done, TRUE);
		ta_detail(detail, writing ? "the agent did not read the request in time" : "the agent did not answer in time");
		return TCK_API_ERR_SERVER_COMM_FAILED;
	}
	if (!GetOverlappedResult(c->pipe, &ov, done, FALSE) && GetLastError() != ERROR_MORE_DATA) {
		ta_detail(detail, "the connection to the agent failed (error %lu)", GetLastError());
		return TCK_API_ERR_SERVER_COMM_FAILED;
	}
	if (*done == 0) {
		ta_detail(detail, "the agent closed the connection");
		return TCK_API_ERR_SERVER_COMM_FAILED;
	}
	return TCK_API_SUCCESS;
}

uint32_t ta_write(ta_conn *c, const void *p, size_t n, int64_t deadline_ms, char *detail)
{
	const char *b = p;
	while (n > 0) {
		DWORD done = 0;
		uint32_t rc = io(c, 1, (void *)b, (DWORD)n, &done, deadline_ms, detail);
		if (rc != TCK_API_SUCCESS)
			return rc;
		b += done;
		n -= done;
	}
	return TCK_API_SUCCESS;
}

uint32_t ta_read(ta_conn *c, void *p, size_t n, int64_t deadline_ms, char *detail)
{
	char *b = p;
	while (n > 0) {
		DWORD done = 0;
		uint32_t rc = io(c, 0, b, (DWORD)n, &done, deadline_ms, detail);
		if (rc != TCK_API_SUCCESS)
			return rc;
		b += done;
		n -= done;
	}
	return TCK_API_SUCCESS;
}

void ta_close(ta_conn *c)
{
	if (!c)
		return;
	CloseHandle(c->pipe);
	CloseHandle(c->event);
	free(c);
}

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int ta_transport_windows_unused;
#endif /* _WIN32 */
