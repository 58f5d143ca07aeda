// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The Open Identity Agent authors

/*
 * transport_posix.c: the agent endpoint over a Unix stream socket (Linux,
 * macOS, the BSDs). The socket is $OIA_AGENT_ENDPOINT, else
 * $XDG_RUNTIME_DIR/oia/agent.sock, else ${TMPDIR:-/tmp}/oia-<uid>/agent.sock.
 * Before connecting, the directory holding it must be a real directory (not
 * a symlink) owned by the calling user with no access for group or others,
 * and the socket must be the user's; after connecting, the peer must run as
 * the user too (SO_PEERCRED, or getpeereid).
 */

#if !defined(_WIN32)

#if defined(__linux__)
#define _GNU_SOURCE /* struct ucred */
#endif

#include "ticket_api.h"
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct ta_conn {
	int fd;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

void ta_lock(void) { pthread_mutex_lock(&table_lock); }
void ta_unlock(void) { pthread_mutex_unlock(&table_lock); }

int64_t ta_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ta_remote_session(void)
{
	/* No portable notion of a terminal services session here. */
	return 0;
}

/* endpoint_path writes the socket path into out; -1 when it does not fit. */
static int endpoint_path(char *out, size_t cap)
{
	const char *e = getenv("OIA_AGENT_ENDPOINT");
	int n;
	if (e && e[0])
		n = snprintf(out, cap, "%s", e);
	else if ((e = getenv("XDG_RUNTIME_DIR")) && e[0] == '/')
		n = snprintf(out, cap, "%s/oia/agent.sock", e);
	else {
		const char *tmp = getenv("TMPDIR");
		if (!tmp || tmp[0] != '/')
			tmp = "/tmp";
		size_t tl = strlen(tmp);
		while (tl > 1 && tmp[tl - 1] == '/')
			tl--;
		n = snprintf(out, cap, "%.*s/oia-%lu/agent.sock", (int)tl, tmp, (unsigned long)geteuid());
	}
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* check_owner checks the endpoint's directory and the socket itself. */
static uint32_t check_owner(const char *path, char *detail)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	uid_t me = geteuid();
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (lstat(dir, &st) != 0) {
		ta_detail(detail, "no agent endpoint directory %s: start open identity agent", dir);
		return TCK_API_ERR_NO_SERVERFOUND;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != me || (st.st_mode & 077) != 0) {
		ta_detail(detail, "the agent endpoint directory %s is not a directory of this user with mode 0700: refusing it (remove it and restart open identity agent)", dir);
		return TCK_API_ERR_NO_SERVERFOUND;
	}
	if (lstat(path, &st) != 0) {
		ta_detail(detail, "no agent endpoint at %s: start open identity agent", path);
		return TCK_API_ERR_NO_SERVERFOUND;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != me) {
		ta_detail(detail, "%s is not a socket of this user: refusing it", path);
		return TCK_API_ERR_NO_SERVERFOUND;
	}
	return TCK_API_SUCCESS;
}

/* check_peer checks the process listening on fd runs as the calling user. */
static uint32_t check_peer(int fd, char *detail)
{
	uid_t peer;
#if defined(__linux__)
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || len != sizeof cr) {
		ta_detail(detail, "cannot read the agent's credentials: %s", strerror(errno));
		return TCK_API_ERR_NO_SERVERFOUND;
	}
	peer = cr.uid;
#else
	gid_t g;
	if (getpeereid(fd, &peer, &g) != 0) {
		ta_detail(detail, "cannot read the agent's credentials: %s", strerror(errno));
		return TCK_API_ERR_NO_SERVERFOUND;
	}
#endif
	if (peer != geteuid()) {
		ta_detail(detail, "the agent endpoint is served by uid %lu, not this user: refusing it",
			(unsigned long)peer);
		return TCK_API_ERR_NO_SERVERFOUND;
	}
	return TCK_API_SUCCESS;
}

/* wait_fd polls fd for events until the deadline; 0 ready, -1 timeout or
 * error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - ta_now_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

uint32_t ta_connect(ta_conn **out, long timeout_ms, char *detail)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (endpoint_path(sa.sun_path, sizeof sa.sun_path) != 0) {
		ta_detail(detail, "the agent endpoint path is too long for a unix socket");
		return TCK_API_ERR_NO_SERVERFOUND;
	}
	uint32_t rc = check_owner(sa.sun_path, detail);
	if (rc != TCK_API_SUCCESS)
		return rc;
#if defined(SOCK_CLOEXEC) && defined(SOCK_NONBLOCK)
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
#else
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd >= 0) {
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	}
#endif
	if (fd < 0) {
		ta_detail(detail, "cannot make a socket: %s", strerror(errno));
		return TCK_API_ERR_RESOURCE_ALLOCATION_FAILED;
	}
#if defined(SO_NOSIGPIPE)
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
	int64_t deadline = ta_now_ms() + timeout_ms;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS) {
			int err = 0;
			socklen_t len = sizeof err;
			if (wait_fd(fd, POLLOUT, deadline) != 0 ||
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
				close(fd);
				ta_detail(detail, "cannot connect to the agent at %s", sa.sun_path);
				return TCK_API_ERR_NO_SERVERFOUND;
			}
			break;
		}
		if (errno == EAGAIN) {
			/* Linux: the listen backlog is full. */
			if (ta_now_ms() >= deadline) {
				close(fd);
				ta_detail(detail, "the agent at %s accepts no connection", sa.sun_path);
				return TCK_API_ERR_SERVER_BUSY;
			}
			struct timespec ts = {0, 10 * 1000000};
			nanosleep(&ts, NULL);
			continue;
		}
		int e = errno;
		close(fd);
		ta_detail(detail, "no agent at %s (%s): start open identity agent", sa.sun_path, strerror(e));
		return TCK_API_ERR_NO_SERVERFOUND;
	}
	rc = check_peer(fd, detail);
	if (rc != TCK_API_SUCCESS) {
		close(fd);
		return rc;
	}
	ta_conn *c = malloc(sizeof *c);
	if (!c) {
		close(fd);
		ta_detail(detail, "out of memory");
		return TCK_API_ERR_RESOURCE_ALLOCATION_FAILED;
	}
	c->fd = fd;
	*out = c;
	return TCK_API_SUCCESS;
}

uint32_t ta_write(ta_conn *c, const void *p, size_t n, int64_t deadline_ms, char *detail)
{
	const char *b = p;
#if defined(MSG_NOSIGNAL)
	const int flags = MSG_NOSIGNAL; /* never SIGPIPE the host process */
#else
	const int flags = 0; /* SO_NOSIGPIPE is set instead */
#endif
	while (n > 0) {
		ssize_t w = send(c->fd, b, n, flags);
		if (w > 0) {
			b += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(c->fd, POLLOUT, deadline_ms) != 0) {
				ta_detail(detail, "the agent did not read the request in time");
				return TCK_API_ERR_SERVER_COMM_FAILED;
			}
			continue;
		}
		ta_detail(detail, "the connection to the agent failed: %s", w < 0 ? strerror(errno) : "closed");
		return TCK_API_ERR_SERVER_COMM_FAILED;
	}
	return TCK_API_SUCCESS;
}

uint32_t ta_read(ta_conn *c, void *p, size_t n, int64_t deadline_ms, char *detail)
{
	char *b = p;
	while (n > 0) {
		ssize_t r = recv(c->fd, b, n, 0);
		if (r > 0) {
			b += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0) {
			ta_detail(detail, "the agent closed the connection");
			return TCK_API_ERR_SERVER_COMM_FAILED;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(c->fd, POLLIN, deadline_ms) != 0) {
				ta_detail(detail, "the agent did not answer in time");
				return TCK_API_ERR_SERVER_COMM_FAILED;
			}
			continue;
		}
		ta_detail(detail, "the connection to the agent failed: %s", strerror(errno));
		return TCK_API_ERR_SERVER_COMM_FAILED;
	}
	return TCK_API_SUCCESS;
}

void ta_close(ta_conn *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int ta_transport_posix_unused;
#endif /* !_WIN32 */
