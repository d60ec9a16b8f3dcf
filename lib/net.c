/* net.c - socket helpers: address parsing and formatting, listening and connecting sockets, free ports
 * and probes of loopback servers. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int net_parse(const char *s, struct net_addr *a, char *err, size_t errlen)
{
	char host[256];
	const char *colon, *port;
	size_t hlen;
	char *end;
	unsigned long p;

	memset(a, 0, sizeof *a);
	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty address (expected ADDR:PORT)");
		return -1;
	}
	if (*s == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':') {
			snprintf(err, errlen, "'%s': expected [IPV6]:PORT", s);
			return -1;
		}
		hlen = (size_t)(rb - s - 1);
		if (hlen >= sizeof host) {
			snprintf(err, errlen, "'%s': address too long", s);
			return -1;
		}
		memcpy(host, s + 1, hlen);
		port = rb + 2;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			snprintf(err, errlen, "'%s': expected ADDR:PORT", s);
			return -1;
		}
		hlen = (size_t)(colon - s);
		if (hlen >= sizeof host) {
			snprintf(err, errlen, "'%s': address too long", s);
			return -1;
		}
		memcpy(host, s, hlen);
		port = colon + 1;
	}
	host[hlen] = '\0';
	errno = 0;
	p = strtoul(port, &end, 10);
	if (*port == '\0' || *end != '\0' || p > 65535 || errno != 0 || *port == '-' || *port == '+') {
		snprintf(err, errlen, "'%s': port '%s' is not a number from 0 to 65535", s, port);
		return -1;
	}

	struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((unsigned short)p);
		a->len = sizeof *in4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)p);
		a->len = sizeof *in6;
		return 0;
	}
	if (hlen == 0) {
		snprintf(err, errlen, "'%s': missing address before the port", s);
		return -1;
	}

	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, errlen, "'%s': cannot resolve '%s': %s", s, host, gai_strerror(rc));
		return -1;
	}
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int net_parse_listen(const char *s, struct net_addr *a, char *err, size_t errlen)
{
	char full[80];

	if (s != NULL && *s != '\0' && strlen(s) < 16 && strspn(s, "0123456789") == strlen(s)) {
		snprintf(full, sizeof full, "127.0.0.1:%s", s);
		s = full;
	} else if (s != NULL && s[0] == ':' && s[1] != '\0' && strlen(s) < 16) {
		snprintf(full, sizeof full, "0.0.0.0%s", s);
		s = full;
	}
	return net_parse(s, a, err, errlen);
}

char *net_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char h[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &in4->sin_addr, h, sizeof h);
		snprintf(buf, len, "%s:%u", h, ntohs(in4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, h, sizeof h);
		snprintf(buf, len, "[%s]:%u", h, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "(family %d)", sa->sa_family);
	}
	return buf;
}

unsigned net_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	return 0;
}

void net_set_port(struct net_addr *a, unsigned port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons((unsigned short)port);
	else if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons((unsigned short)port);
}

int net_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

int net_local(int fd, struct net_addr *a)
{
	memset(a, 0, sizeof *a);
	a->len = sizeof a->ss;
	return getsockname(fd, (struct sockaddr *)&a->ss, &a->len);
}

int net_listen(const struct net_addr *a, int type, int reuseport, int backlog, struct net_addr *bound,
               char *err, size_t errlen)
{
	char name[NET_ADDRSTRLEN];
	int one = 1, fd, save;

	net_format((const struct sockaddr *)&a->ss, name, sizeof name);
	fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket for %s: %s", name, strerror(errno));
		return -1;
	}
	/* Not for datagrams: there SO_REUSEADDR lets a second server share a bound port silently. */
	if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		goto fail;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
		goto fail;
	if (a->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		save = errno;
		snprintf(err, errlen, "bind %s: %s", name, strerror(save));
		goto out;
	}
	if (type == SOCK_STREAM && listen(fd, backlog) < 0)
		goto fail;
	if (bound != NULL && net_local(fd, bound) < 0)
		goto fail;
	return fd;
fail:
	save = errno;
	snprintf(err, errlen, "listen on %s: %s", name, strerror(save));
out:
	close(fd);
	errno = save;
	return -1;
}

int net_check_free(const struct net_addr *a, int type, char *err, size_t errlen)
{
	char name[NET_ADDRSTRLEN];
	int one = 1, fd, r, save;

	if (net_port((const struct sockaddr *)&a->ss) == 0)
		return 0;
	fd = socket(a->ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0; /* net_listen will report why no socket can be had */
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (a->ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	r = bind(fd, (const struct sockaddr *)&a->ss, a->len);
	save = errno;
	if (r == 0 && type == SOCK_STREAM) {
		r = listen(fd, 1); /* a listener bound with SO_REUSEPORT only collides here */
		save = errno;
	}
	close(fd);
	if (r < 0 && save == EADDRINUSE) {
		snprintf(err, errlen, "bind %s: %s",
		         net_format((const struct sockaddr *)&a->ss, name, sizeof name), strerror(save));
		return -1;
	}
	return 0;
}

int net_connect(const struct net_addr *a, int type, int timeout_ms, char *err, size_t errlen)
{
	char name[NET_ADDRSTRLEN];
	int fd, save, soerr = 0;
	socklen_t sl = sizeof soerr;

	net_format((const struct sockaddr *)&a->ss, name, sizeof name);
	fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket for %s: %s", name, strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		if (errno != EINPROGRESS) {
			save = errno;
			goto fail;
		}
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int n = poll(&p, 1, timeout_ms);
		if (n == 0) {
			save = ETIMEDOUT;
			goto fail;
		}
		if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
			save = errno;
			goto fail;
		}
		if (soerr != 0) {
			save = soerr;
			goto fail;
		}
	}
	if (net_nonblock(fd, 0) < 0) {
		save = errno;
		goto fail;
	}
	return fd;
fail:
	snprintf(err, errlen, "connect to %s: %s", name, strerror(save));
	close(fd);
	errno = save;
	return -1;
}

unsigned net_free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a;
		socklen_t l = sizeof a;
		int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (t < 0)
			return 0;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(t, (struct sockaddr *)&a, sizeof a) < 0 ||
		    getsockname(t, (struct sockaddr *)&a, &l) < 0) {
			close(t);
			return 0;
		}
		int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int ok = u >= 0 && bind(u, (struct sockaddr *)&a, sizeof a) == 0;
		if (u >= 0)
			close(u);
		close(t);
		if (ok)
			return ntohs(a.sin_port);
	}
	return 0;
}

int net_tcp_listening(const struct net_addr *a, int timeout_ms)
{
	char err[256];
	int fd = net_connect(a, SOCK_STREAM, timeout_ms, err, sizeof err);
	if (fd >= 0)
		close(fd);
	return fd >= 0 || errno == ECONNRESET;
}

int net_udp_bound(const struct net_addr *a, int timeout_ms)
{
	int fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), bound = 0;
	if (fd < 0)
		return 0;
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0 && send(fd, "probe", 5, 0) == 5) {
		struct pollfd p = {fd, POLLIN, 0};
		char b[16];
		int n = poll(&p, 1, timeout_ms);
		bound =
		    n == 0 || (n == 1 && (recv(fd, b, sizeof b, MSG_DONTWAIT) >= 0 || errno != ECONNREFUSED));
	}
	close(fd);
	return bound;
}

int net_probe(const struct net_addr *a, int type, int timeout_ms, char *err, size_t errlen)
{
	char name[NET_ADDRSTRLEN];
	if (type == SOCK_STREAM) {
		int fd = net_connect(a, SOCK_STREAM, timeout_ms, err, errlen);
		if (fd < 0)
			return -1;
		close(fd);
		return 0;
	}
	int fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), e = 0;
	ssize_t got = -1;
	if (fd < 0 || connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
	    send(fd, "probe", 5, 0) != 5) {
		e = errno;
	} else {
		struct pollfd p = {fd, POLLIN, 0};
		char b[16];
		if (poll(&p, 1, timeout_ms) == 1 && (got = recv(fd, b, sizeof b, MSG_DONTWAIT)) < 0)
			e = errno;
	}
	if (fd >= 0)
		close(fd);
	if (got >= 0)
		return 0;
	net_format((const struct sockaddr *)&a->ss, name, sizeof name);
	if (e != 0)
		snprintf(err, errlen, "udp %s: probe datagram: %s", name, strerror(e));
	else
		snprintf(err, errlen, "udp %s: no answer to a probe datagram within %d ms", name, timeout_ms);
	return -1;
}

int net_loopback(struct net_addr *a, char *err, size_t errlen)
{
	char name[NET_ADDRSTRLEN];
	if (a->ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
		if (in->sin_addr.s_addr == htonl(INADDR_ANY))
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((ntohl(in->sin_addr.s_addr) >> 24) == 127)
			return 0;
	} else if (a->ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return 0;
	}
	snprintf(err, errlen, "%s is not a loopback address: not probed",
	         net_format((const struct sockaddr *)&a->ss, name, sizeof name));
	return -1;
}
