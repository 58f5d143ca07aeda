// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * tatest: a Ticket API client for the tests in host/ticketapi, compiled
 * against ticket_api.h and linked with libTicketApi.so. Each run does one
 * scenario and prints key=value lines that the Go test reads; it exits 1
 * when a check of its own fails (a changed buffer after an error, say).
 *
 *   tatest ticket get|noauth|new SIZE   one call with a SIZE-byte buffer
 *   tatest destroy                      destroyTicket
 *   tatest versions                     GetGAVersion(API, ENGINE), GetDllVersion
 *   tatest threads N get|noauth         N threads, one instance each, at once
 *   tatest shared N get|noauth          N threads sharing one instance
 *   tatest invalid                      calls with bad handles and buffers
 *   tatest names                        dlsym every exported name
 *   tatest describe CODE                getErrorDescription(0, CODE)
 *
 * Tickets are printed only because these are test tickets from a fake agent.
 */

#define _POSIX_C_SOURCE 200809L

#include "ticket_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILL 0xAB
#define UNUSED_MARK 0xDEADBEEFu

static int failed;

static void check(int ok, const char *what)
{
	if (!ok) {
		printf("check_failed=%s\n", what);
		failed = 1;
	}
}

typedef int ticket_fn(TCK_API_INSTANCE, char *, unsigned int, unsigned int *);

static ticket_fn *pick(const char *kind)
{
	if (strcmp(kind, "get") == 0)
		return TcktApi_getTicket;
	if (strcmp(kind, "noauth") == 0)
		return TcktApi_getTicketNoAuth;
	if (strcmp(kind, "new") == 0)
		return TcktApi_getNewTicket;
	fprintf(stderr, "tatest: unknown kind %s\n", kind);
	exit(2);
}

/* one_call calls f with an exactly sized heap buffer (so ASan sees any
 * overrun) and checks the contract; it prints with prefix. */
static int one_call(TCK_API_INSTANCE h, ticket_fn *f, unsigned int size, const char *prefix, char *ticket_out,
	size_t cap)
{
	unsigned char *buf = malloc(size ? size : 1);
	unsigned int used = UNUSED_MARK;
	memset(buf, FILL, size ? size : 1);
	int rc = f(h, (char *)buf, size, &used);
	printf("%src=0x%08X\n", prefix, (unsigned)rc);
	if (rc == TCK_API_SUCCESS) {
		check(used < size && buf[used] == '\0' && strlen((char *)buf) == used, "ticket length");
		printf("%sused=%u\n%sticket=%s\n", prefix, used, prefix, (char *)buf);
		if (ticket_out)
			snprintf(ticket_out, cap, "%s", (char *)buf);
	} else {
		int same = used == UNUSED_MARK;
		for (unsigned int i = 0; i < size; i++)
			same &= buf[i] == FILL;
		printf("%suntouched=%d\n", prefix, same);
		check(same, "parameters unchanged on error");
	}
	free(buf);
	return rc;
}

static void print_last(TCK_API_INSTANCE h)
{
	char d[512];
	unsigned int n = 0;
	TCK_API_DWORD e = TcktApi_getLastError(h);
	printf("last=0x%08lX\n", (unsigned long)e);
	if (TcktApi_getErrorDescription(h, e, d, sizeof d, &n) == TCK_API_SUCCESS)
		printf("desc=%s\n", d);
}

struct job {
	TCK_API_INSTANCE h; /* 0: the thread makes its own */
	ticket_fn *f;
	int rc;
	char ticket[512];
};

static void *run_job(void *arg)
{
	struct job *j = arg;
	TCK_API_INSTANCE h = j->h ? j->h : TcktApi_Initialize();
	unsigned int used = 0;
	j->rc = j->f(h, j->ticket, sizeof j->ticket, &used);
	if (!j->h)
		TcktApi_Finalize(h);
	return NULL;
}

static int threads(int n, const char *kind, int shared)
{
	struct job jobs[64];
	pthread_t t[64];
	TCK_API_INSTANCE h = shared ? TcktApi_Initialize() : 0;
	if (n < 1 || n > 64)
		return 2;
	for (int i = 0; i < n; i++) {
		memset(&jobs[i], 0, sizeof jobs[i]);
		jobs[i].h = h;
		jobs[i].f = pick(kind);
		pthread_create(&t[i], NULL, run_job, &jobs[i]);
	}
	int ok = 0, distinct = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		printf("thread%d_rc=0x%08X\n", i, (unsigned)jobs[i].rc);
		if (jobs[i].rc == TCK_API_SUCCESS) {
			ok++;
			int seen = 0;
			for (int k = 0; k < i; k++)
				seen |= jobs[k].rc == TCK_API_SUCCESS && strcmp(jobs[k].ticket, jobs[i].ticket) == 0;
			distinct += !seen;
			printf("thread%d_ticket=%s\n", i, jobs[i].ticket);
		}
	}
	if (shared)
		TcktApi_Finalize(h);
	printf("ok=%d\ndistinct=%d\n", ok, distinct);
	return 0;
}

static int invalid(void)
{
	char buf[64];
	unsigned int used = UNUSED_MARK;
	memset(buf, FILL, sizeof buf);
	int rc = TcktApi_getTicketNoAuth(0, buf, sizeof buf, &used);
	printf("zero_rc=0x%08X\n", (unsigned)rc);
	printf("zero_last=0x%08lX\n", (unsigned long)TcktApi_getLastError(0));
	TCK_API_INSTANCE h = TcktApi_Initialize();
	check(h != 0, "initialize");
	TcktApi_Finalize(h);
	rc = TcktApi_getTicketNoAuth(h, buf, sizeof buf, &used);
	printf("stale_rc=0x%08X\n", (unsigned)rc);
	printf("stale_last=0x%08lX\n", (unsigned long)TcktApi_getLastError(h));
	rc = TcktApi_destroyTicket(h);
	printf("stale_destroy=0x%08X\n", (unsigned)rc);
	check(used == UNUSED_MARK && (unsigned char)buf[0] == FILL, "untouched");
	h = TcktApi_Initialize();
	rc = TcktApi_getTicketNoAuth(h, NULL, 64, &used);
	printf("null_rc=0x%08X\n", (unsigned)rc);
	printf("bad_component=%lu\n", (unsigned long)TcktApi_GetGAVersion(h, 3));
	printf("bad_component_last=0x%08lX\n", (unsigned long)TcktApi_getLastError(h));
	/* A Finalize of a handle twice, or of 0, is harmless. */
	TcktApi_Finalize(h);
	TcktApi_Finalize(h);
	TcktApi_Finalize(0);
	/* Many instances: handles are distinct and nonzero. */
	TCK_API_INSTANCE hs[100];
	int distinct = 1;
	for (int i = 0; i < 100; i++) {
		hs[i] = TcktApi_Initialize();
		for (int k = 0; k < i; k++)
			distinct &= hs[i] != 0 && hs[i] != hs[k];
	}
	for (int i = 0; i < 100; i++)
		TcktApi_Finalize(hs[i]);
	printf("distinct_handles=%d\n", distinct);
	return 0;
}

static int names(void)
{
	static const char *want[] = {"TcktApi_Initialize", "TcktApi_Finalize", "TcktApi_GetGAVersion",
		"TcktApi_getTicket", "TcktApi_getTicketNoAuth", "TcktApi_getNewTicket", "TcktApi_destroyTicket",
		"TcktApi_getLastError", "TcktApi_getErrorDescription", "TcktApi_isTerminalServiceSession",
		"GetDllVersion", "_TcktApi_Initialize", "_TcktApi_Finalize", "_TcktApi_GetGAVersion",
		"_TcktApi_getTicket", "_TcktApi_getTicketNoAuth", "_TcktApi_getNewTicket", "_TcktApi_destroyTicket",
		"_TcktApi_getLastError", "_TcktApi_getErrorDescription", "_TcktApi_isTerminalServiceSession"};
	void *lib = dlopen("libTicketApi.so", RTLD_NOW | RTLD_NOLOAD);
	int found = 0, n = (int)(sizeof want / sizeof want[0]);
	for (int i = 0; i < n; i++) {
		void *p = lib ? dlsym(lib, want[i]) : NULL;
		printf("%s=%d\n", want[i], p != NULL);
		found += p != NULL;
	}
	/* Through the legacy function types, as GetProcAddress callers do. */
	_TcktApi_Initialize *init = NULL;
	_TcktApi_Finalize *fin = NULL;
	void *pi = lib ? dlsym(lib, "_TcktApi_Initialize") : NULL, *pf = lib ? dlsym(lib, "_TcktApi_Finalize") : NULL;
	/* POSIX: a dlsym result converts to a function pointer through memcpy. */
	memcpy(&init, &pi, sizeof pi);
	memcpy(&fin, &pf, sizeof pf);
	if (init && fin) {
		TCK_API_INSTANCE h = init();
		printf("via_underscore=%d\n", h != 0);
		fin(h);
	}
	printf("found=%d of %d\n", found, n);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: tatest ticket|destroy|versions|threads|shared|invalid|names|describe ...\n");
		return 2;
	}
	const char *op = argv[1];
	if (strcmp(op, "ticket") == 0 && argc == 4) {
		TCK_API_INSTANCE h = TcktApi_Initialize();
		check(h != 0, "initialize");
		one_call(h, pick(argv[2]), (unsigned int)strtoul(argv[3], NULL, 10), "", NULL, 0);
		print_last(h);
		TcktApi_Finalize(h);
	} else if (strcmp(op, "destroy") == 0) {
		TCK_API_INSTANCE h = TcktApi_Initialize();
		printf("rc=0x%08X\n", (unsigned)TcktApi_destroyTicket(h));
		print_last(h);
		TcktApi_Finalize(h);
	} else if (strcmp(op, "versions") == 0) {
		printf("api=0x%08lX\n", (unsigned long)TcktApi_GetGAVersion(0, GATICKET_VERSION_API));
		TCK_API_INSTANCE h = TcktApi_Initialize();
		printf("engine=0x%08lX\n", (unsigned long)TcktApi_GetGAVersion(h, GATICKET_VERSION_ENGINE));
		print_last(h);
		printf("dll=0x%08lX\n", (unsigned long)GetDllVersion());
		printf("remote=%d\n", TcktApi_isTerminalServiceSession(h));
		TcktApi_Finalize(h);
	} else if ((strcmp(op, "threads") == 0 || strcmp(op, "shared") == 0) && argc == 4) {
		threads(atoi(argv[2]), argv[3], strcmp(op, "shared") == 0);
	} else if (strcmp(op, "invalid") == 0) {
		invalid();
	} else if (strcmp(op, "names") == 0) {
		names();
	} else if (strcmp(op, "describe") == 0 && argc == 4) {
		unsigned int size = (unsigned int)strtoul(argv[3], NULL, 10);
		char *buf = malloc(size ? size : 1);
		unsigned int used = UNUSED_MARK;
		memset(buf, FILL, size ? size : 1);
		int rc = TcktApi_getErrorDescription(0, (TCK_API_DWORD)strtoul(argv[2], NULL, 0), buf, size, &used);
		printf("rc=0x%08X\n", (unsigned)rc);
		if (rc == TCK_API_SUCCESS)
			printf("used=%u\ndesc=%s\n", used, buf);
		else
			printf("untouched=%d\n", used == UNUSED_MARK && (unsigned char)buf[0] == FILL);
		free(buf);
	} else {
		fprintf(stderr, "tatest: bad arguments\n");
		return 2;
	}
	return failed;
}
