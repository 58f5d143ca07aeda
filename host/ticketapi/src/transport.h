// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * transport.h: the connection to the agent's local endpoint, one per call.
 * transport_posix.c implements it over a Unix stream socket, and
 * transport_windows.c over a named pipe; each file compiles to nothing on
 * the other family of systems.
 *
 * Every function returns TCK_API_SUCCESS or a TCK_API_ERR_* code, and on
 * error writes a short reason (never a ticket) into detail.
 */

#ifndef OIA_TICKETAPI_TRANSPORT_H
#define OIA_TICKETAPI_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

/* TA_DETAIL_MAX is the size of an error detail, NUL included. */
#define TA_DETAIL_MAX 256

/* ta_conn is an open connection. */
typedef struct ta_conn ta_conn;

/* ta_connect finds the endpoint, checks that it belongs to the calling
 * user, connects, and checks the peer is the user's too. It waits at most
 * timeout_ms for a busy endpoint. */
uint32_t ta_connect(ta_conn **out, long timeout_ms, char *detail);

/* ta_write writes all n bytes before the deadline (ta_now_ms clock). */
uint32_t ta_write(ta_conn *c, const void *p, size_t n, int64_t deadline_ms, char *detail);

/* ta_read reads exactly n bytes before the deadline. */
uint32_t ta_read(ta_conn *c, void *p, size_t n, int64_t deadline_ms, char *detail);

/* ta_close closes c (NULL is allowed). */
void ta_close(ta_conn *c);

/* ta_now_ms returns a monotonic clock in milliseconds. */
int64_t ta_now_ms(void);

/* ta_zero clears n bytes at p in a way the compiler keeps. */
void ta_zero(void *p, size_t n);

/* ta_remote_session returns 1 when the process runs in a remote desktop
 * session. */
int ta_remote_session(void);

/* The lock that guards the instance table. */
void ta_lock(void);
void ta_unlock(void);

/* ta_detail formats a detail message (truncated to TA_DETAIL_MAX). */
void ta_detail(char *detail, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

#endif /* OIA_TICKETAPI_TRANSPORT_H */
