/* case_tcp_many.c - the TCP cases of many clients (SPEC T9): many connections open at once, 2000 of them
 * with the server's descriptor limit raised for the case, and a burst of connection attempts against the
 * listen backlog. */
#include "case.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "client.h"
#include "recording.h"
#include "resources.h"
#include "util.h"

static const struct net_addr *tcp(struct case_context *c)
{
	return &c->target->tcp;
}

static int many(struct case_context *c, size_t n, size_t len)
{
	struct client_connection *k = calloc(n, sizeof *k);
	struct client_flow *f = calloc(n, sizeof *f);
	unsigned char *b = malloc(n * len);
	size_t opened = 0;
	int rc = -1;
	if (k == NULL || f == NULL || b == NULL) {
		case_fail(c, "out of memory for %zu connections", n);
		goto out;
	}
	case_pattern(b, n * len, 31);
	for (; opened < n; opened++) {
		if (client_tcp_connect(c, tcp(c), &k[opened]) < 0)
			goto out;
		int h = snprintf((char *)b + opened * len, len, "client %zu of %zu: ", opened + 1, n);
		b[opened * len + (size_t)h] = 'z';
		/* its first byte is answered before the next client connects: all are open at once, but this
		 * is not a burst of connection attempts (that is tcp/many/burst, where the backlog shows) */
		if (client_exchange(c, &k[opened], b + opened * len, 1, CLIENT_KEEP_OPEN) < 0) {
			char why[CASE_MESSAGE_MAX];
			int timed_out = case_take_failure(c, why, sizeof why);
			const char *fmt = "with %zu connections open, client %zu of %zu was not served: %s";
			if (timed_out)
				case_timeout(c, fmt, opened, opened + 1, n, why);
			else
				case_fail(c, fmt, opened, opened + 1, n, why);
			opened++;
			goto out;
		}
		f[opened].connection = &k[opened];
		f[opened].out = b + opened * len + 1;
		f[opened].out_len = len - 1;
		f[opened].close = CLIENT_HALF_CLOSE;
	}
	rc = client_flows_run(c, f, n, 0);
out:
	for (size_t i = 0; i < opened; i++)
		client_tcp_close(c, &k[i]);
	free(k);
	free(f);
	free(b);
	return rc;
}

int case_tcp_concurrent(struct case_context *c)
{
	return many(c, 100, 2000);
}

/* Lowers the server's soft descriptor limit to --nofile again once it has closed the many connections
 * (a poll() server given more descriptors than its limit fails with EINVAL); left raised when it still
 * holds them after 3 s. */
static void lower_again(struct case_context *c, const struct resources_scope *scope, long raised)
{
	struct resources_sample now;
	char err[256];
	int lowered = 0;
	for (int waited = 0; waited < 3000; waited += 20) {
		if (resources_sample(scope, &now, err, sizeof err) < 0)
			break;
		if (now.descriptors + 16 < c->server_nofile) {
			lowered = resources_set_nofile(scope, c->server_nofile, err, sizeof err) > 0;
			break;
		}
		util_sleep_ms(20);
	}
	snprintf(c->result->note, sizeof c->result->note,
	         "the server's soft descriptor limit was %ld during this case (%s)", raised,
	         lowered ? "then --nofile again" : "left so: it still held its connections 3 s after");
}

/* 2000 connections open at once (SPEC T9). A server conform started has its soft descriptor limit raised
 * to its hard one (--nofile-many) for this case and lowered again after it; the case skips only when
 * conform itself cannot hold the connections. */
int case_tcp_many_2000(struct case_context *c)
{
	enum { N = 2000 };
	const long need = N + 64;
	struct rlimit rl;
	char err[256];
	if (util_raise_nofile(need) < need && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		return case_skip(
		    c,
		    "conform's own descriptor limit (%llu, hard %llu) is below the %ld it needs for "
		    "%d connections (raise ulimit -n)",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, need, N);
	const struct resources_scope scope = {c->tcp_server_group, 0};
	long raised = 0;
	if (scope.group > 0 && c->server_many_nofile > 0 &&
	    (raised = resources_set_nofile(&scope, c->server_many_nofile, err, sizeof err)) < 0)
		return case_fail(c, "could not raise the server's descriptor limit: %s", err);
	int rc = many(c, N, 200);
	if (raised > 0)
		lower_again(c, &scope, raised);
	return rc;
}

/* All connection attempts at once: each must be accepted well before a dropped SYN is sent again (1 s),
 * which is what a listen backlog smaller than the burst does. */
int case_tcp_burst(struct case_context *c)
{
	enum { N = 128, LEN = 64 };
	const int connect_ms = 900;
	struct client_connection k[N];
	struct client_flow f[N];
	unsigned char b[N * LEN];
	struct pollfd pf[N];
	size_t opened = 0, connected = 0;
	int rc = -1;
	char name[NET_ADDRSTRLEN];

	memset(f, 0, sizeof f);
	case_pattern(b, sizeof b, 37);
	uint64_t end = util_now_ns() + (uint64_t)connect_ms * 1000000u;
	for (; opened < N; opened++) {
		int fd = socket(tcp(c)->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			case_fail(c, "socket: %s", strerror(errno));
			goto out;
		}
		k[opened].fd = fd;
		k[opened].id = ++c->connections;
		if (connect(fd, (const struct sockaddr *)&tcp(c)->ss, tcp(c)->len) < 0 &&
		    errno != EINPROGRESS) {
			case_fail(c, "connection attempt %zu of %d to %s: %s", opened + 1, N,
			          net_format((const struct sockaddr *)&tcp(c)->ss, name, sizeof name),
			          strerror(errno));
			opened++;
			goto out;
		}
		pf[opened].fd = fd;
		pf[opened].events = POLLOUT;
	}
	while (connected < N) {
		int ms = util_ms_left(end);
		if (ms == 0) {
			case_fail(
			    c,
			    "%zu of %d simultaneous connection attempts were not accepted within %d ms (a "
			    "dropped SYN is sent again after 1 s: listen backlog smaller than the burst?)",
			    N - connected, N, connect_ms);
			goto out;
		}
		int pr = poll(pf, N, ms);
		if (pr < 0 && errno != EINTR) {
			case_fail(c, "poll: %s", strerror(errno));
			goto out;
		}
		for (size_t i = 0; i < N; i++) {
			if (pf[i].fd < 0 || pf[i].revents == 0)
				continue;
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			getsockopt(pf[i].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			if (soerr != 0) {
				case_fail(c, "connection attempt %zu of %d: %s", i + 1, N, strerror(soerr));
				goto out;
			}
			pf[i].fd = -1;
			connected++;
		}
	}
	if (c->recording != NULL)
		for (size_t i = 0; i < N; i++) {
			struct net_addr l;
			if (net_local(k[i].fd, &l) == 0)
				recording_add(c->recording, RECORDING_TCP_OPEN, k[i].id, NULL, 0, &l, tcp(c));
		}
	for (size_t i = 0; i < N; i++) {
		f[i].connection = &k[i];
		f[i].out = b + i * LEN;
		f[i].out_len = LEN;
		f[i].close = CLIENT_HALF_CLOSE;
	}
	rc = client_flows_run(c, f, N, 0);
out:
	for (size_t i = 0; i < opened; i++)
		client_tcp_close(c, &k[i]);
	return rc;
}
