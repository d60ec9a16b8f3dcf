/* case_udp.c - the UDP cases: the transform, datagram sizes, boundaries in a burst, many senders and
 * vanished ones, amplification, and IPv6. */
#include "case.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "host.h"
#include "oracle.h"
#include "upper.h"
#include "util.h"

static const struct net_addr *udp(struct case_context *c)
{
	return &c->target->udp;
}

int case_udp_all_bytes(struct case_context *c)
{
	unsigned char b[256];
	for (int i = 0; i < 256; i++)
		b[i] = (unsigned char)i;
	return client_udp_roundtrip(c, udp(c), b, sizeof b, 30);
}

int case_udp_invalid_utf8(struct case_context *c)
{
	if (client_udp_roundtrip(c, udp(c), case_invalid_utf8, case_invalid_utf8_len, 30) < 0)
		return -1;
	if (client_udp_roundtrip(c, udp(c), "\xff", 1, 0) < 0)
		return -1;
	return client_udp_roundtrip(c, udp(c), "still there after invalid UTF-8?", 32, 0);
}

/* Each line as one datagram; a wrong reply is named by the oracle, with the hint when it looks like
 * text uppercased as Unicode. */
static int udp_text_lines(struct case_context *c, const char *const *lines, size_t n)
{
	unsigned char got[2048];
	char why[256];
	int rc = 0;
	int fd = client_udp_socket(c, udp(c));
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const unsigned char *line = (const unsigned char *)lines[i];
		size_t len = strlen(lines[i]), got_len;
		unsigned id = ++c->connections;
		struct host_drops drops;
		host_drops_read(c->target, &drops);
		char counter[256];
		if (client_udp_send(c, fd, id, udp(c), line, len) < 0) {
			rc = -1;
			break;
		}
		enum client_receive received =
		    client_udp_receive(c, fd, id, got, sizeof got, c->timeout_ms, &got_len);
		if (received == CLIENT_RECEIVE_FAILED)
			rc = -1;
		else if (received == CLIENT_NOTHING &&
		         !host_excuse_loss(c, &drops, 1, "a line of UTF-8 text", counter, sizeof counter))
			rc = case_timeout(c,
			                  "no reply within %d ms to a datagram of %zu bytes of UTF-8 text%s",
			                  c->timeout_ms, len, counter);
		else if (received == CLIENT_NOTHING)
			continue;
		else if (oracle_udp_check(line, len, got, got_len, why, sizeof why) != ORACLE_UDP_OK) {
			case_note_difference(c, line, len, got, got_len, 0);
			rc = case_fail(c, "%s", why);
			case_hint_unicode(c, lines[i], len, got, got_len);
		}
	}
	close(fd);
	return rc;
}

int case_udp_utf8_letters(struct case_context *c)
{
	return udp_text_lines(c, case_utf8_letters, case_utf8_letters_count);
}

int case_udp_utf8_mixed(struct case_context *c)
{
	return udp_text_lines(c, case_utf8_mixed, case_utf8_mixed_count);
}

static int udp_size(struct case_context *c, size_t n)
{
	static unsigned char b[65536];
	case_pattern(b, sizeof b, (uint32_t)n + 3u);
	return client_udp_roundtrip(c, udp(c), b, n, 50);
}

int case_udp_size_0(struct case_context *c)
{
	return udp_size(c, 0);
}
int case_udp_size_1(struct case_context *c)
{
	return udp_size(c, 1);
}
int case_udp_size_512(struct case_context *c)
{
	return udp_size(c, 512);
}
int case_udp_size_1472(struct case_context *c)
{
	return udp_size(c, 1472);
}
int case_udp_size_8193(struct case_context *c)
{
	return udp_size(c, 8193);
}
int case_udp_size_max(struct case_context *c)
{
	return udp_size(c, udp(c)->ss.ss_family == AF_INET6 ? UPPER_UDP_MAX6 : UPPER_UDP_MAX4);
}

/* Sends n datagrams of distinct lengths back to back from one socket; each reply must be exactly one
 * request's answer (lengths identify them). */
static int udp_burst_n(struct case_context *c, size_t n, size_t step, int check_amplify_only)
{
	static unsigned char b[65536], got[65536 + 1];
	char why[256];
	unsigned char answered[256] = {0};
	size_t replies = 0, reply_bytes = 0, sent_bytes = 0;
	int rc = -1;
	case_pattern(b, sizeof b, 43);
	int fd = client_udp_socket(c, udp(c));
	if (fd < 0)
		return -1;
	unsigned id = ++c->connections;
	const unsigned char *datagram[256];
	size_t datagram_len[256];
	for (size_t i = 0; i < n; i++) {
		datagram[i] = b;
		datagram_len[i] = i * step + (step > 1 ? 1 : 0);
		sent_bytes += datagram_len[i];
	}
	/* In one burst, and with a server conform started paused meanwhile (SIGSTOP), so that the
	 * datagrams are queued at the server whatever the scheduler does: a server that merges what is
	 * queued (a stream-minded port) is then caught every time. */
	struct host_drops drops;
	host_drops_read(c->target, &drops);
	if (c->udp_server_group > 0)
		kill(-c->udp_server_group, SIGSTOP);
	int sent = client_udp_send_burst(c, fd, id, udp(c), datagram, datagram_len, n);
	if (c->udp_server_group > 0)
		kill(-c->udp_server_group, SIGCONT);
	if (sent < 0)
		goto out;
	for (;;) {
		size_t len;
		enum client_receive received =
		    client_udp_receive(c, fd, id, got, sizeof got, replies < n ? c->timeout_ms : 100, &len);
		if (received == CLIENT_RECEIVE_FAILED)
			goto out;
		if (received == CLIENT_NOTHING)
			break;
		replies++;
		reply_bytes += len;
		if (check_amplify_only)
			continue;
		size_t i = step > 1 ? (len >= 1 && (len - 1) % step == 0 ? (len - 1) / step : n) : len;
		if (i >= n) {
			case_fail(c,
			          "a reply of %zu bytes matches no request (lengths sent: %zu distinct, step "
			          "%zu): datagrams merged or split",
			          len, n, step);
			goto out;
		}
		if (answered[i]) {
			case_fail(c, "a second reply of %zu bytes: the %zu-byte request was answered twice",
			          len, len);
			goto out;
		}
		answered[i] = 1;
		if (oracle_udp_check(b, len, got, len, why, sizeof why) != ORACLE_UDP_OK) {
			case_note_difference(c, b, len, got, len, 0);
			case_fail(c, "reply to the %zu-byte request: %s", len, why);
			goto out;
		}
	}
	if (check_amplify_only) {
		if (replies > n || reply_bytes > sent_bytes)
			case_fail(
			    c, "%zu requests of %zu bytes in all got %zu replies of %zu bytes: amplification",
			    n, sent_bytes, replies, reply_bytes);
		else if (replies == 0)
			case_timeout(c, "no reply to any of %zu datagrams", n);
		else
			rc = 0;
		goto out;
	}
	if (replies < n) {
		size_t miss = 0;
		char counter[256], what[64];
		while (miss < n && answered[miss])
			miss++;
		snprintf(what, sizeof what, "a burst of %zu datagrams", n);
		if (host_excuse_loss(c, &drops, n - replies, what, counter, sizeof counter)) {
			rc = 0;
			goto out;
		}
		case_timeout(c,
		             "%zu of %zu datagrams sent back to back got no reply within %d ms (first: the "
		             "%zu-byte one)%s",
		             n - replies, n, c->timeout_ms, miss * step + (step > 1 ? 1 : 0), counter);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int case_udp_burst(struct case_context *c)
{
	return udp_burst_n(c, 40, 37, 0);
}

int case_udp_amplification(struct case_context *c)
{
	return udp_burst_n(c, 16, 1, 1);
}

int case_udp_many_senders(struct case_context *c)
{
	enum { N = 64 };
	int fd[N];
	unsigned id[N];
	unsigned char req[N][80], got[128];
	size_t len[N];
	char why[256];
	int rc = -1;
	size_t opened = 0;
	for (; opened < N; opened++) {
		fd[opened] = client_udp_socket(c, udp(c));
		if (fd[opened] < 0)
			goto out;
		id[opened] = ++c->connections;
		len[opened] = (size_t)snprintf((char *)req[opened], sizeof req[opened],
		                               "sender %zu of %d, my own words: %.*s", opened + 1, N,
		                               (int)(opened % 20), "abcdefghijklmnopqrstuvwxyz");
	}
	struct host_drops drops;
	host_drops_read(c->target, &drops);
	size_t missing = 0, first_missing = 0;
	for (size_t i = 0; i < N; i++)
		if (client_udp_send(c, fd[i], id[i], udp(c), req[i], len[i]) < 0)
			goto out;
	for (size_t i = 0; i < N; i++) {
		size_t got_len;
		/* once one sender waited out the timeout, the others' replies are there already */
		enum client_receive received = client_udp_receive(c, fd[i], id[i], got, sizeof got,
		                                                  missing ? 10 : c->timeout_ms, &got_len);
		if (received == CLIENT_RECEIVE_FAILED)
			goto out;
		if (received == CLIENT_NOTHING) {
			first_missing = missing++ ? first_missing : i;
			continue;
		}
		if (oracle_udp_check(req[i], len[i], got, got_len, why, sizeof why) != ORACLE_UDP_OK) {
			case_note_difference(c, req[i], len[i], got, got_len, 0);
			case_fail(
			    c, "sender %zu of %d got a reply that is not the answer to its own datagram: %s",
			    i + 1, N, why);
			goto out;
		}
	}
	if (missing > 0) {
		char counter[256];
		if (!host_excuse_loss(c, &drops, missing, "64 senders at once", counter, sizeof counter)) {
			case_timeout(c, "%zu of %d senders got no reply within %d ms (first: sender %zu)%s",
			             missing, N, c->timeout_ms, first_missing + 1, counter);
			goto out;
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < opened; i++)
		close(fd[i]);
	return rc;
}

int case_udp_gone(struct case_context *c)
{
	static unsigned char b[4000];
	case_pattern(b, sizeof b, 47);
	for (int i = 0; i < 20; i++) {
		int fd = client_udp_socket(c, udp(c));
		if (fd < 0)
			return -1;
		if (client_udp_send(c, fd, ++c->connections, udp(c), b, (size_t)(100 + 190 * i)) < 0) {
			close(fd);
			return -1;
		}
		close(fd); /* gone before the reply: the server gets ICMP port unreachable */
	}
	util_sleep_ms(50);
	if (client_udp_roundtrip(c, udp(c), "are you still there after 20 senders left?", 42, 0) < 0)
		return -1;
	return 0;
}

int case_udp_ipv6(struct case_context *c)
{
	struct net_addr a;
	char name[NET_ADDRSTRLEN];
	if (!util_have_ipv6_loopback(SOCK_DGRAM))
		return case_skip(c, "this host has no IPv6 loopback");
	if (case_v6_of(&c->target->udp, c->target->has_udp6, &c->target->udp6, &a) < 0)
		return case_skip(c, "no IPv6 address known for the target (give --udp [::1]:PORT)");
	if (!c->target->has_udp6 && c->target->udp.ss.ss_family != AF_INET6) {
		/* a guessed address: a connected socket hears ICMP port unreachable when nothing is there */
		int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), none = 0;
		if (fd >= 0 && connect(fd, (const struct sockaddr *)&a.ss, a.len) == 0 &&
		    send(fd, "conform probe", 13, 0) == 13) {
			struct pollfd p = {fd, POLLIN, 0};
			char b[64];
			if (poll(&p, 1, c->timeout_ms) == 1 && recv(fd, b, sizeof b, MSG_DONTWAIT) < 0 &&
			    errno == ECONNREFUSED)
				none = 1;
		}
		if (fd >= 0)
			close(fd);
		if (none)
			return case_skip(
			    c, "the target has no IPv6 listener at %s (give --udp [::1]:PORT to test it)",
			    net_format((const struct sockaddr *)&a.ss, name, sizeof name));
	}
	return client_udp_roundtrip(c, &a, "ipv6 works too: abcxyz", 22, 30);
}
