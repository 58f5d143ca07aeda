// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * exports_underscore.c: the legacy export names with a leading underscore
 * (_TcktApi_getTicket, ...), under which legacy callers look the functions
 * up, for the Unix builds. On Windows TicketApiDll.def exports both
 * spellings of the same functions instead, and this file compiles to
 * nothing.
 *
 * This file must not include ticket_api.h: there the underscore names are
 * the function types, as in the legacy header.
 */

#if !defined(_WIN32)

typedef long inst_t;
typedef unsigned int dword_t;

#define TA_EXPORT __attribute__((visibility("default")))

inst_t TcktApi_Initialize(void);
void TcktApi_Finalize(inst_t);
dword_t TcktApi_GetGAVersion(inst_t, int);
int TcktApi_getTicket(inst_t, char *, unsigned int, unsigned int *);
int TcktApi_getTicketNoAuth(inst_t, char *, unsigned int, unsigned int *);
int TcktApi_getNewTicket(inst_t, char *, unsigned int, unsigned int *);
int TcktApi_destroyTicket(inst_t);
dword_t TcktApi_getLastError(inst_t);
int TcktApi_getErrorDescription(inst_t, dword_t, char *, unsigned int, unsigned int *);
int TcktApi_isTerminalServiceSession(inst_t);

TA_EXPORT inst_t _TcktApi_Initialize(void) { return TcktApi_Initialize(); }
TA_EXPORT void _TcktApi_Finalize(inst_t i) { TcktApi_Finalize(i); }
TA_EXPORT dword_t _TcktApi_GetGAVersion(inst_t i, int c) { return TcktApi_GetGAVersion(i, c); }
TA_EXPORT int _TcktApi_getTicket(inst_t i, char *b, unsigned int n, unsigned int *u)
{
	return TcktApi_getTicket(i, b, n, u);
}
TA_EXPORT int _TcktApi_getTicketNoAuth(inst_t i, char *b, unsigned int n, unsigned int *u)
{
	return TcktApi_getTicketNoAuth(i, b, n, u);
}
TA_EXPORT int _TcktApi_getNewTicket(inst_t i, char *b, unsigned int n, unsigned int *u)
{
	return TcktApi_getNewTicket(i, b, n, u);
}
TA_EXPORT int _TcktApi_destroyTicket(inst_t i) { return TcktApi_destroyTicket(i); }
TA_EXPORT dword_t _TcktApi_getLastError(inst_t i) { return TcktApi_getLastError(i); }
TA_EXPORT int _TcktApi_getErrorDescription(inst_t i, dword_t e, char *b, unsigned int n, unsigned int *u)
{
	return TcktApi_getErrorDescription(i, e, b, n, u);
}
TA_EXPORT int _TcktApi_isTerminalServiceSession(inst_t i) { return TcktApi_isTerminalServiceSession(i); }

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int ta_exports_underscore_unused;
#endif
