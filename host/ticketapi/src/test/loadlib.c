// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * ticketapi-loadlib: loads TicketApiDll.dll the way legacy callers do
 * (LoadLibrary by name, then GetProcAddress of each function, cast to the
 * function types of ticket_api.h) and reports what it found. With no agent
 * running it also shows the clean failure: getTicketNoAuth gives
 * TCK_API_ERR_NO_SERVERFOUND (0x80800003).
 *
 *   ticketapi-loadlib [path\to\TicketApiDll.dll]
 *
 * Exit status: 0 when every name resolved, 1 otherwise.
 */

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include "ticket_api.h"

#include <stdio.h>
#include <string.h>

/* LOOKUP sets the function pointer var to the export name, as a legacy
 * caller's cast of GetProcAddress does (memcpy: GCC warns about the cast). */
#define LOOKUP(var, name)                               \
	do {                                            \
		FARPROC p_ = GetProcAddress(h, name);   \
		memcpy(&(var), &p_, sizeof(var));       \
	} while (0)

int main(int argc, char **argv)
{
	static const char *names[] = {"_TcktApi_Initialize", "_TcktApi_Finalize", "_TcktApi_GetGAVersion",
		"_TcktApi_getTicket", "_TcktApi_getTicketNoAuth", "_TcktApi_getNewTicket", "_TcktApi_destroyTicket",
		"_TcktApi_getLastError", "_TcktApi_getErrorDescription", "_TcktApi_isTerminalServiceSession",
		"TcktApi_Initialize", "TcktApi_Finalize", "TcktApi_GetGAVersion", "TcktApi_getTicket",
		"TcktApi_getTicketNoAuth", "TcktApi_getNewTicket", "TcktApi_destroyTicket", "TcktApi_getLastError",
		"TcktApi_getErrorDescription", "TcktApi_isTerminalServiceSession", "GetDllVersion"};
	const int n = (int)(sizeof names / sizeof names[0]);
	HMODULE h = LoadLibraryA(argc > 1 ? argv[1] : "TicketApiDll.dll");
	if (!h) {
		printf("LoadLibrary failed: error %lu\n", GetLastError());
		return 1;
	}
	int found = 0;
	for (int i = 0; i < n; i++) {
		FARPROC p = GetProcAddress(h, names[i]);
		printf("%s=%d\n", names[i], p != NULL);
		found += p != NULL;
	}
	printf("found=%d of %d\n", found, n);

	_TcktApi_Initialize *init;
	_TcktApi_Finalize *fin;
	_TcktApi_GetGAVersion *ver;
	_TcktApi_getTicketNoAuth *noauth;
	_TcktApi_getErrorDescription *desc;
	LOOKUP(init, "_TcktApi_Initialize");
	LOOKUP(fin, "_TcktApi_Finalize");
	LOOKUP(ver, "_TcktApi_GetGAVersion");
	LOOKUP(noauth, "_TcktApi_getTicketNoAuth");
	LOOKUP(desc, "_TcktApi_getErrorDescription");
	if (init && fin && ver && noauth && desc) {
		TCK_API_INSTANCE inst = init();
		char buf[256], d[512];
		unsigned int used = 0, dn = 0;
		printf("instance=%ld\n", (long)inst);
		printf("api=0x%08lX\n", (unsigned long)ver(inst, GATICKET_VERSION_API));
		int rc = noauth(inst, buf, sizeof buf, &used);
		printf("noauth_rc=0x%08X\n", (unsigned)rc);
		if (rc == TCK_API_SUCCESS)
			printf("noauth_used=%u\n", used); /* never the ticket itself */
		if (desc(inst, (TCK_API_DWORD)rc, d, sizeof d, &dn) == TCK_API_SUCCESS)
			printf("desc=%s\n", d);
		SecureZeroMemory(buf, sizeof buf);
		fin(inst);
	}
	FreeLibrary(h);
	return found == n ? 0 : 1;
}
