/* udpload.c - the load engine's UDP mode: a window of outstanding datagrams over sendmmsg/recvmmsg, each
 * reply matched to its datagram by its sequence number and verified. */
#include "udpload.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "meter.h"
#include "oracle.h"
#include "upper.h"
#include "util.h"

#define NSLOT 65536u /* outstanding-datagram records */
#define UDP_BATCH 64
#define UDP_TIMEOUT_NS 200000000ull /* a datagram unanswered this long frees its window place */
#define UDP_HDR 16                  /* sequence number: 16 uppercase hex digits, unchanged by X1 */

enum { SL_FREE = 0, SL_OUT, SL_ANSWERED, SL_LOST };

struct slot {
	uint64_t seq;
	uint64_t t;
	int state;
};

static size_t udp_off(uint64_t seq)
{
	return (size_t)((seq * 7919u) % PAYLOAD_PERIOD);
}

static void udp_request(unsigned char *buf, uint64_t seq, size_t size, const struct payload *pt)
{
	static const char hex[] = "0123456789ABCDEF";

	for (int i = 0; i < UDP_HDR; i++)
		buf[i] = (unsigned char)hex[(seq >> (4 * (UDP_HDR - 1 - i))) & 15];
	memcpy(buf + UDP_HDR, pt->p + udp_off(seq), size - UDP_HDR);
}

/* Parses the sequence header of a reply; returns -1 if it is not one. */
static int udp_seq(const unsigned char *b, size_t n, uint64_t *seq)
{
	uint64_t v = 0;

	if (n < UDP_HDR)
		return -1;
	for (int i = 0; i < UDP_HDR; i++) {
		unsigned char ch = b[i];
		if (ch >= '0' && ch <= '9')
			v = v << 4 | (uint64_t)(ch - '0');
		else if (ch >= 'A' && ch <= 'F')
			v = v << 4 | (uint64_t)(ch - 'A' + 10);
		else
			return -1;
	}
	*seq = v;
	return 0;
}

struct udprun {
	const struct load_cfg *c;
	const struct payload *pt;
	struct slot *sl;
	unsigned char *req; /* scratch for reporting */
	uint64_t next, outstanding, replies, late;
	uint64_t oldest; /* the first datagram that may still be outstanding */
	int fd;
	size_t rsize; /* receive buffer per datagram */
	unsigned char *sbuf, *rbuf;
	struct mmsghdr sm[UDP_BATCH], rm[UDP_BATCH];
	struct iovec siov[UDP_BATCH], riov[UDP_BATCH];
	char name[NET_ADDRSTRLEN];
};

static int udp_reply(struct udprun *u, const unsigned char *b, size_t n, char *err, size_t errlen)
{
	size_t size = u->c->size;
	uint64_t seq;
	char why[160];

	if (udp_seq(b, n, &seq) < 0 || seq >= u->next) {
		snprintf(err, errlen,
		         "wrong reply: a %zu-byte datagram that answers no datagram sent (U1/U2)", n);
		return LOAD_WRONG;
	}
	if (n != size || memcmp(b + UDP_HDR, u->pt->x + udp_off(seq), size - UDP_HDR) != 0) {
		udp_request(u->req, seq, size, u->pt);
		if (u->pt->ex == LOAD_UPPER) {
			oracle_udp_check(u->req, size, b, n, why, sizeof why);
		} else {
			size_t at = 0;
			while (at < n && at < size && b[at] == u->req[at])
				at++;
			snprintf(why, sizeof why,
			         "echo: %zu bytes back for %zu, first difference at byte %zu", n, size, at);
		}
		snprintf(err, errlen, "wrong reply to datagram %llu: %s", (unsigned long long)seq, why);
		return LOAD_WRONG;
	}
	struct slot *s = &u->sl[seq % NSLOT];
	if (s->seq == seq && s->state == SL_ANSWERED) {
		snprintf(err, errlen, "wrong reply: datagram %llu answered twice (U1)",
		         (unsigned long long)seq);
		return LOAD_WRONG;
	}
	if (s->seq == seq && s->state == SL_OUT) {
		u->outstanding--;
	} else {
		u->late++; /* declared lost, or its record already reused: a verified reply all the same */
	}
	if (s->seq == seq)
		s->state = SL_ANSWERED;
	u->replies++;
	return LOAD_OK;
}

/* Allocates u's buffers and opens its socket to the server, with a batch of send and receive headers.
 * Returns LOAD_OK, or LOAD_ERR with a reason in err (what is open stays for udp_close()). */
static int udp_open(struct udprun *u, char *err, size_t errlen)
{
	const struct load_cfg *c = u->c;
	size_t size = c->size;
	int bufsz = 4 << 20;

	net_format((const struct sockaddr *)&c->addr.ss, u->name, sizeof u->name);
	unsigned maxsize = c->addr.ss.ss_family == AF_INET6 ? UPPER_UDP_MAX6 : UPPER_UDP_MAX4;
	if (size < UDP_HDR || size > maxsize || c->window < 1) {
		snprintf(err, errlen, "UDP: datagram size %zu out of range %d..%u, or window %d < 1", size,
		         UDP_HDR, maxsize, c->window);
		return LOAD_ERR;
	}
	u->rsize = size + 64;
	u->sl = calloc(NSLOT, sizeof *u->sl);
	u->req = malloc(size);
	u->sbuf = malloc(size * UDP_BATCH);
	u->rbuf = malloc(u->rsize * UDP_BATCH);
	if (u->sl == NULL || u->req == NULL || u->sbuf == NULL || u->rbuf == NULL) {
		snprintf(err, errlen, "out of memory");
		return LOAD_ERR;
	}
	u->fd = socket(c->addr.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0 || connect(u->fd, (const struct sockaddr *)&c->addr.ss, c->addr.len) < 0) {
		snprintf(err, errlen, "UDP socket to %s: %s", u->name, strerror(errno));
		return LOAD_ERR;
	}
	setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
	setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
	memset(u->sm, 0, sizeof u->sm);
	memset(u->rm, 0, sizeof u->rm);
	for (int i = 0; i < UDP_BATCH; i++) {
		u->siov[i].iov_base = u->sbuf + (size_t)i * size;
		u->siov[i].iov_len = size;
		u->sm[i].msg_hdr.msg_iov = &u->siov[i];
		u->sm[i].msg_hdr.msg_iovlen = 1;
		u->riov[i].iov_base = u->rbuf + (size_t)i * u->rsize;
		u->riov[i].iov_len = u->rsize;
		u->rm[i].msg_hdr.msg_iov = &u->riov[i];
		u->rm[i].msg_hdr.msg_iovlen = 1;
	}
	return LOAD_OK;
}

static void udp_close(struct udprun *u)
{
	if (u->fd >= 0)
		close(u->fd);
	free(u->sl);
	free(u->req);
	free(u->sbuf);
	free(u->rbuf);
}

/* Declares lost the datagrams unanswered for UDP_TIMEOUT_NS at time tm: they free their window place. */
static void udp_expire(struct udprun *u, uint64_t tm)
{
	while (u->oldest < u->next) {
		struct slot *s = &u->sl[u->oldest % NSLOT];
		if (s->state == SL_OUT && tm - s->t > UDP_TIMEOUT_NS) {
			s->state = SL_LOST;
			u->outstanding--;
		} else if (s->state == SL_OUT) {
			break;
		}
		u->oldest++;
	}
}

/* Sends one batch, as much as the window and the slot records allow, at time tm. *blocked tells
 * whether the socket took none (a full buffer). Returns LOAD_OK or LOAD_ERR with a reason in err. */
static int udp_send(struct udprun *u, uint64_t tm, int *blocked, char *err, size_t errlen)
{
	size_t size = u->c->size;
	uint64_t room = (uint64_t)u->c->window - u->outstanding;

	*blocked = 0;
	if (room > NSLOT - (u->next - u->oldest))
		room = NSLOT - (u->next - u->oldest);
	if (room > UDP_BATCH)
		room = UDP_BATCH;
	if (room == 0)
		return LOAD_OK;
	for (uint64_t i = 0; i < room; i++)
		udp_request(u->sbuf + i * size, u->next + i, size, u->pt);
	int m = sendmmsg(u->fd, u->sm, (unsigned)room, 0);
	if (m < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EINTR) {
		snprintf(err, errlen, "UDP send to %s: %s", u->name, strerror(errno));
		return LOAD_ERR;
	}
	*blocked = m < 0;
	for (int i = 0; i < m; i++) {
		struct slot *s = &u->sl[u->next % NSLOT];
		s->seq = u->next++;
		s->t = tm;
		s->state = SL_OUT;
		u->outstanding++;
	}
	return LOAD_OK;
}

/* Receives and checks the replies waiting, one batch at most; *got says how many (0: none waiting).
 * Returns LOAD_OK, or LOAD_ERR / LOAD_WRONG with a reason in err. */
static int udp_receive(struct udprun *u, int *got, char *err, size_t errlen)
{
	int m = recvmmsg(u->fd, u->rm, UDP_BATCH, MSG_DONTWAIT, NULL);

	*got = m > 0 ? m : 0;
	if (m < 0 && errno != EAGAIN && errno != EINTR) {
		snprintf(err, errlen, "UDP receive from %s: %s", u->name, strerror(errno));
		return LOAD_ERR;
	}
	for (int i = 0; i < m; i++) {
		int rc = udp_reply(u, u->rbuf + (size_t)i * u->rsize, u->rm[i].msg_len, err, errlen);
		if (rc != LOAD_OK)
			return rc;
	}
	return LOAD_OK;
}

enum load_status udpload_run(const struct load_cfg *c, const struct payload *pt, struct load_result *r,
                             char *err, size_t errlen)
{
	struct udprun u = {.c = c, .pt = pt, .fd = -1};
	uint64_t t0, end, stop, tm, counted = 0;
	int rc, ended = 0;
	struct meter m;

	rc = udp_open(&u, err, errlen);
	if (rc != LOAD_OK)
		goto out;
	meter_start(&m, c->pid);
	t0 = tm = util_now_ns();
	end = t0 + (uint64_t)(c->seconds * 1e9);
	stop = end + UDP_TIMEOUT_NS; /* after end: no more sends, wait for the stragglers */
	while (tm < stop) {
		int sending = tm < end, blocked = 0, got;
		udp_expire(&u, tm);
		if (sending && (rc = udp_send(&u, tm, &blocked, err, errlen)) != LOAD_OK)
			goto out;
		if ((rc = udp_receive(&u, &got, err, errlen)) != LOAD_OK)
			goto out;
		tm = util_now_ns();
		if (tm < end)
			counted = u.replies;
		else if (!ended) {
			meter_end(&m, &r->server_cpu_s, &r->client_cpu_s);
			ended = 1;
		}
		if (!sending && u.outstanding == 0)
			break;
		if (got == 0 && (blocked || !sending || u.outstanding >= (uint64_t)c->window)) {
			struct pollfd pf = {.fd = u.fd, .events = POLLIN | (blocked ? POLLOUT : 0)};
			poll(&pf, 1, 1);
			tm = util_now_ns();
		}
	}
	r->seconds = (double)(end - t0) / 1e9;
	r->ops = counted;
	r->bytes = counted * c->size;
	r->sent = u.next;
	r->lost = u.next - u.replies;
	r->late = u.late;
	r->value = (double)r->ops / r->seconds;
	r->unit = "replies/s";
	if (u.replies == 0) {
		snprintf(err, errlen, "UDP: no reply from %s to %llu datagrams", u.name,
		         (unsigned long long)u.next);
		rc = LOAD_ERR;
	}
out:
	udp_close(&u);
	return rc;
}
