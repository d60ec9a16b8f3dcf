/* udp_flood.c - the UDP flood: senders that each throw a burst of datagrams of random sizes from 0 to
 * 65507 bytes and vanish at once (their replies meet a closed port), while a steady client checks
 * every reply it gets. Loss is allowed (UDP under a flood); a wrong reply is not. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "oracle.h"
#include "soak.h"
#include "upper.h"
#include "util.h"

#define BURST 16

static uint32_t next_random(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/* One vanishing sender: a burst of datagrams, then close. */
static void vanish(const struct net_addr *a, unsigned char *buf, uint32_t *rnd, long *sent)
{
	char err[256];
	int fd = net_connect(a, SOCK_DGRAM, 1000, err, sizeof err);

	if (fd < 0)
		return;
	for (int i = 0; i < BURST; i++) {
		size_t n = next_random(rnd) % (UPPER_UDP_MAX4 + 1u);
		if (i == 0)
			n = (*sent / BURST) % 2 ? UPPER_UDP_MAX4 : 0; /* the edges, every time */
		soak_stream(buf, n, *rnd, 0);
		*sent += send(fd, buf, n, MSG_DONTWAIT) >= 0;
	}
	close(fd);
}

/* The steady client's exchange: one datagram of n bytes, its reply checked. Returns 1 when answered
 * right, 0 when lost, -1 when wrong (reason in why). */
static int steady_datagram(int fd, size_t n, unsigned char *out, unsigned char *in, char *why, size_t whylen)
{
	soak_stream(out, n, 7, n);
	if (send(fd, out, n, 0) < 0)
		return 0;
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	if (poll(&pf, 1, 500) <= 0)
		return 0;
	ssize_t k = recv(fd, in, UPPER_UDP_MAX4 + 1u, MSG_DONTWAIT);
	if (k < 0)
		return 0;
	return oracle_udp_check(out, n, in, (size_t)k, why, whylen) == ORACLE_UDP_OK ? 1 : -1;
}

int soak_udp_flood(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f)
{
	unsigned char *buf = malloc(UPPER_UDP_MAX4 + 1u), *in = malloc(UPPER_UDP_MAX4 + 1u);
	uint64_t start = util_now_ns(), deadline = start + (uint64_t)(p->seconds * 1e9);
	uint32_t rnd = 2463534242u;
	long flood = 0, wrong = 0;
	char err[256], why[256] = "";
	int fd = net_connect(&s->addrs.udp, SOCK_DGRAM, 1000, err, sizeof err);

	if (buf == NULL || in == NULL || fd < 0 || soak_sample(s, f, 1) < 0) {
		snprintf(f->note, sizeof f->note, "set-up failed");
		free(buf);
		free(in);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (util_ms_left(deadline) > 0) {
		for (int i = 0; i < 8; i++)
			vanish(&s->addrs.udp, buf, &rnd, &flood);
		/* The steady client cycles through a random size, 0 bytes and the largest datagram. */
		size_t n = f->offered % 3 == 0   ? next_random(&rnd) % (UPPER_UDP_MAX4 + 1u)
		           : f->offered % 3 == 1 ? 0
		                                 : UPPER_UDP_MAX4;
		int r = steady_datagram(fd, n, buf, in, why, sizeof why);
		f->offered++;
		f->load += r == 1;
		f->bytes_verified += r == 1 ? n : 0;
		wrong += r < 0;
		(void)soak_sample(s, f, 0);
	}
	close(fd);
	uint64_t end = util_now_ns();
	soak_settle(s, f, end, p->small ? 2500 : 5000);
	f->ok = wrong == 0 && f->load > 0 && f->recover_ms >= 0;
	snprintf(f->note, sizeof f->note,
	         "%ld flood datagrams from vanishing senders; %ld steady replies lost%s%s", flood,
	         f->offered - f->load - wrong, wrong ? "; wrong reply: " : "", wrong ? why : "");
	f->secs = (double)(end - start) / 1e9;
	free(buf);
	free(in);
	return 0;
}
