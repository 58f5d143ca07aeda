// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * ticket_api.h: the legacy NHS Identity Agent Ticket API, as served by
 * Open Identity Agent's TicketApiDll.dll (Windows) and libTicketApi.so
 * (Linux). Written from the documented facts of the legacy API (see
 * docs/ticket-api.md): the function signatures, the (buffer, size, &used)
 * contract and the TCK_API_ERR_* numbers are those existing callers use.
 *
 * Two ways to call it:
 *   - link against the library and call TcktApi_getTicket(...) directly;
 *   - load it at run time and look the functions up by name, as the legacy
 *     callers do: GetProcAddress(h, "_TcktApi_getTicket") cast to a
 *     pointer to the function type _TcktApi_getTicket declared below.
 * Both spellings, with and without the leading underscore, are exported.
 *
 * No calling convention is given, as in the legacy header: the compiler's
 * default (cdecl on 32-bit Windows).
 */

#ifndef OIA_TICKET_API_H
#define OIA_TICKET_API_H

#ifdef __cplusplus
extern "C" {
#endif

/* TCK_API_INSTANCE is the handle Initialize returns: a long, 32 bits on
 * Windows (x86 and x64 alike), 0 meaning "no instance". */
typedef long TCK_API_INSTANCE;

/* TCK_API_DWORD is the 32-bit unsigned type of error codes and versions:
 * the Windows DWORD (unsigned long) on Windows, unsigned int elsewhere. */
#ifdef _WIN32
typedef unsigned long TCK_API_DWORD;
#else
typedef unsigned int TCK_API_DWORD;
#endif

/* The components TcktApi_GetGAVersion reports the version of. */
#define GATICKET_VERSION_API    1
#define GATICKET_VERSION_ENGINE 2

/* Success, and the error groups that every error code is OR'd with. */
#define TCK_API_SUCCESS            0x00000000
#define TCK_ERR_GRP_MASK           0x80000000
#define TCK_ERR_GRP_GENERIC        0x80100000
#define TCK_ERR_GRP_CARD_DEVICE    0x80200000
#define TCK_ERR_GRP_AUTHENTICATION 0x80400000
#define TCK_ERR_GRP_CONFIG         0x80800000
#define TCK_ERR_GRP_WINDOWS        0x81000000

/* Every error has the 0x80000000 bit, so these test the whole group mask
 * (the legacy header's tested any bit of it, which every error matches). */
#define IsError(Err)           ((Err) != TCK_API_SUCCESS)
#define IsGenericError(Err)    (((Err) & TCK_ERR_GRP_GENERIC) == TCK_ERR_GRP_GENERIC)
#define IsCardDeviceError(Err) (((Err) & TCK_ERR_GRP_CARD_DEVICE) == TCK_ERR_GRP_CARD_DEVICE)
#define IsAuthError(Err)       (((Err) & TCK_ERR_GRP_AUTHENTICATION) == TCK_ERR_GRP_AUTHENTICATION)
#define IsConfigError(Err)     (((Err) & TCK_ERR_GRP_CONFIG) == TCK_ERR_GRP_CONFIG)
#define IsWindowsError(Err)    (((Err) & TCK_ERR_GRP_WINDOWS) == TCK_ERR_GRP_WINDOWS)

/* Generic errors. */
#define TCK_API_ERR_INTERNAL                   (TCK_ERR_GRP_GENERIC | 0x01)
#define TCK_API_ERR_NOT_INITIALIZED            (TCK_ERR_GRP_GENERIC | 0x02)
#define TCK_API_ERR_INVALID_PARAMETER          (TCK_ERR_GRP_GENERIC | 0x03)
#define TCK_API_ERR_BUFFER_TOO_SMALL           (TCK_ERR_GRP_GENERIC | 0x04)
#define TCK_API_ERR_INVALID_INSTANCE_HANDLE    (TCK_ERR_GRP_GENERIC | 0x05)
#define TCK_API_ERR_SERVER_BUSY                (TCK_ERR_GRP_GENERIC | 0x06)
#define TCK_API_ERR_SERVER_COMM_FAILED         (TCK_ERR_GRP_GENERIC | 0x07)
#define TCK_API_ERR_RESOURCE_ALLOCATION_FAILED (TCK_ERR_GRP_GENERIC | 0x08)
#define TCK_API_ERR_TICKET_NOT_AVAILABLE       (TCK_ERR_GRP_GENERIC | 0x09)
#define TCK_API_ERR_INTERNAL_ERROR             (TCK_ERR_GRP_GENERIC | 0x0A)
#define TCK_API_ERR_NOT_IMPLEMENTED            (TCK_ERR_GRP_GENERIC | 0x0B)

/* Configuration errors. */
#define TCK_API_ERR_VERSION_CONFLICT           (TCK_ERR_GRP_CONFIG | 0x01)
#define TCK_API_ERR_NOT_INSTALLED              (TCK_ERR_GRP_CONFIG | 0x02)
#define TCK_API_ERR_NO_SERVERFOUND             (TCK_ERR_GRP_CONFIG | 0x03)
#define TCK_API_ERR_LOAD_RES_FAILED            (TCK_ERR_GRP_CONFIG | 0x04)
#define TCK_API_ERR_AUTHMETHOD_NOT_AVAILABLE   (TCK_ERR_GRP_CONFIG | 0x05)
#define TCK_API_ERR_AUTHMETHOD_NOT_POSSIBLE    (TCK_ERR_GRP_CONFIG | 0x06)
#define TCK_API_ERR_RESOURCE_NOT_AVAILABLE     (TCK_ERR_GRP_CONFIG | 0x07)

/* Card or device errors. */
#define TCK_API_ERR_SMARTCARD_NOT_SUPPORTED    (TCK_ERR_GRP_CARD_DEVICE | 0x01)
#define TCK_API_ERR_READER_NOT_AVAILABLE       (TCK_ERR_GRP_CARD_DEVICE | 0x02)
#define TCK_API_ERR_SMARTCARD_NOT_VALID        (TCK_ERR_GRP_CARD_DEVICE | 0x03)
#define TCK_API_ERR_PIN_BLOCKED                (TCK_ERR_GRP_CARD_DEVICE | 0x04)
#define TCK_API_ERR_CARD_TRANSACTION_FAILED    (TCK_ERR_GRP_CARD_DEVICE | 0x05)
#define TCK_API_ERR_NO_CERT_FOUND              (TCK_ERR_GRP_CARD_DEVICE | 0x06)
#define TCK_API_ERR_NO_KEY_FOUND               (TCK_ERR_GRP_CARD_DEVICE | 0x07)

/* Authentication errors. */
#define TCK_API_ERR_USER_ABORT                 (TCK_ERR_GRP_AUTHENTICATION | 0x01)
#define TCK_API_ERR_AUTHENTICATION_FAILED      (TCK_ERR_GRP_AUTHENTICATION | 0x02)
#define TCK_API_ERR_AUTHENTICATION_NOT_POSSIBLE (TCK_ERR_GRP_AUTHENTICATION | 0x03)
#define TCK_API_ERR_USER_NOT_VALID             (TCK_ERR_GRP_AUTHENTICATION | 0x04)
#define TCK_API_ERR_AUTHSERVER_NOT_AVAILABLE   (TCK_ERR_GRP_AUTHENTICATION | 0x05)
#define TCK_API_ERR_AUTHDATA_SYNTAX_ERROR      (TCK_ERR_GRP_AUTHENTICATION | 0x06)
#define TCK_API_ERR_AUTH_NOT_VALID             (TCK_ERR_GRP_AUTHENTICATION | 0x07)
#define TCK_API_ERR_AUTHMETHOD_NOT_SUPPORTED   (TCK_ERR_GRP_AUTHENTICATION | 0x08)

/*
 * The function types, under the names legacy callers cast GetProcAddress's
 * result to. Every function that fills a buffer follows one contract:
 * on success it writes the string and a terminating NUL into the buffer
 * (size bytes long) and, when used is not NULL, the string's length in bytes
 * without the NUL into *used; on any error, TCK_API_ERR_BUFFER_TOO_SMALL
 * included, it changes neither the buffer nor *used.
 */

/* Returns a new instance handle, or 0 (then getLastError(0) says why). It
 * does not contact the agent. */
typedef TCK_API_INSTANCE _TcktApi_Initialize(void);

/* Ends an instance; the handle is invalid afterwards. */
typedef void _TcktApi_Finalize(TCK_API_INSTANCE instance);

/* Returns the version of this library (GATICKET_VERSION_API; the instance
 * may be 0) or of the agent (GATICKET_VERSION_ENGINE), encoded as
 * major << 24 | minor << 16 | patch; 0 on error. */
typedef TCK_API_DWORD _TcktApi_GetGAVersion(TCK_API_INSTANCE instance, int iComponentType);

/* Returns the session's ticket; with no session the agent logs the user in
 * (a passcode prompt), which may take minutes. */
typedef int _TcktApi_getTicket(TCK_API_INSTANCE instance, char *pszTicketBuffer,
	unsigned int TicketBufferSize, unsigned int *piUsedTicketSize);

/* Returns the session's ticket, or TCK_API_ERR_TICKET_NOT_AVAILABLE when
 * nobody is logged in; it never prompts. */
typedef int _TcktApi_getTicketNoAuth(TCK_API_INSTANCE instance, char *pszTicketBuffer,
	unsigned int TicketBufferSize, unsigned int *piUsedTicketSize);

/* Ends any session and logs in again, returning the new ticket. */
typedef int _TcktApi_getNewTicket(TCK_API_INSTANCE instance, char *pszTicketBuffer,
	unsigned int TicketBufferSize, unsigned int *piUsedTicketSize);

/* Ends the session, as removing the card does. */
typedef int _TcktApi_destroyTicket(TCK_API_INSTANCE instance);

/* Returns the code of the instance's last call (0 after a success); with
 * instance 0, that of the last call made without a valid instance. */
typedef TCK_API_DWORD _TcktApi_getLastError(TCK_API_INSTANCE instance);

/* Writes a description of dwError; when dwError is the instance's last
 * error, the description says what exactly failed. */
typedef int _TcktApi_getErrorDescription(TCK_API_INSTANCE instance, TCK_API_DWORD dwError,
	char *pszDescrBuffer, unsigned int DescrBufferSize, unsigned int *piUsedDescrSize);

/* Returns nonzero when the process runs in a remote (terminal services)
 * session. */
typedef int _TcktApi_isTerminalServiceSession(TCK_API_INSTANCE instance);

/* Returns this library's version, encoded as in GetGAVersion. */
typedef TCK_API_DWORD _GetDllVersion(void);

/* Prototypes for callers that link against the library. */
_TcktApi_Initialize TcktApi_Initialize;
_TcktApi_Finalize TcktApi_Finalize;
_TcktApi_GetGAVersion TcktApi_GetGAVersion;
_TcktApi_getTicket TcktApi_getTicket;
_TcktApi_getTicketNoAuth TcktApi_getTicketNoAuth;
_TcktApi_getNewTicket TcktApi_getNewTicket;
_TcktApi_destroyTicket TcktApi_destroyTicket;
_TcktApi_getLastError TcktApi_getLastError;
_TcktApi_getErrorDescription TcktApi_getErrorDescription;
_TcktApi_isTerminalServiceSession TcktApi_isTerminalServiceSession;
_GetDllVersion GetDllVersion;

#ifdef __cplusplus
}
#endif

#endif /* OIA_TICKET_API_H */
