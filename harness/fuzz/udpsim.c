/* udpsim.c - udp-upper's batch loop over a simulated datagram kernel, checked reply by reply (udpsim.h). */
#include "udpsim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../servers/udp_loop.h"
#include "oracle.h"
#include "script.h"

#define REF_SLOT 65536u     /* one reference copy: holds SCRIPT_UDP_MAX6 bytes */
#define TRY_ORACLE_MAX 4096 /* the oracle's own check runs on a reply of at most this many bytes */
#define GUARD 0x5a          /* written past each datagram in its slot: a reply must not overrun it */
#define SEND_CALLS_PER_ROUND (8 * UDP_LOOP_BATCH + 16) /* more means the loop is stuck on its batch */

/* One datagram of the input. */
struct datagram {
	struct script_udp_dec at; /* the decoder just before it: its body is decoded when it is received */
	struct script_udp_meta m;
	size_t len;
	unsigned char recv_done, send_done; /* its events happened */
};

/* A datagram of the batch the loop received last. */
struct delivered {
	size_t index;              /* into dgrams */
	const unsigned char *slot; /* the loop's buffer it was received into */
	unsigned replies;          /* replies the kernel accepted for it */
	unsigned char may_drop;    /* the kernel refused its reply for good: the loop may count it lost */
	unsigned char truncated;   /* delivered with MSG_TRUNC: it must get no reply */
	unsigned char guarded;     /* the slot's byte past the datagram holds GUARD */
};

struct udpsim {
	struct udp_loop loop;
	unsigned char *ref; /* UDP_LOOP_BATCH reference copies of the batch's datagrams, REF_SLOT each */
	struct datagram *dgrams;
	size_t cap, count;
	size_t arrived, received; /* datagrams that arrived at the socket, and that the loop received */
	struct delivered batch[UDP_LOOP_BATCH];
	unsigned nbatch, logged;
	int icmp_pending;
	int oracle_tried;      /* the oracle itself was shown a wrong reply in this run */
	long full;             /* batch entry whose send buffer stays full, or -1 */
	int stop_in_wait;      /* the next wait for writability tells the loop to stop */
	long stop_at;          /* batch entry whose send the stop interrupts, or -1 */
	int stop_told, failed; /* the loop was told to stop; its wait was made to fail */
	unsigned send_calls;
	int breach;
	char why[256];
	struct udpsim_stats st;
};

static void breach(struct udpsim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void breach(struct udpsim *s, const char *fmt, ...)
{
	va_list ap;

	if (s->breach)
		return;
	s->breach = 1;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof s->why, fmt, ap);
	va_end(ap);
}

/* "IPv4 127.0.0.3:40002" for datagram d's sender. */
static const char *sender_text(const struct datagram *d, char *buf, size_t len)
{
	unsigned port = UDPSIM_PORT0 + d->m.sender;

	if (d->m.family == 6)
		snprintf(buf, len, "IPv6 [::1]:%u", port);
	else
		snprintf(buf, len, "IPv4 127.0.0.%u:%u", 1 + d->m.sender, port);
	return buf;
}

/* Writes datagram d's sender into name[0..*namelen) as the kernel does: cut to the room given, with
 * *namelen set to the address's whole length. */
static void write_sender(const struct datagram *d, void *name, socklen_t *namelen)
{
	struct sockaddr_storage a;
	socklen_t alen;

	memset(&a, 0, sizeof a);
	if (d->m.family == 6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)(UDPSIM_PORT0 + d->m.sender));
		a6->sin6_addr = in6addr_loopback;
		alen = sizeof *a6;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&a;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)(UDPSIM_PORT0 + d->m.sender));
		a4->sin_addr.s_addr = htonl(0x7f000001u + d->m.sender);
		alen = sizeof *a4;
	}
	if (name == NULL) {
		*namelen = 0;
		return;
	}
	memcpy(name, &a, *namelen < alen ? *namelen : alen);
	*namelen = alen;
}

/* Writes the address name[0..namelen) into buf as text. */
static void address_text(const void *name, socklen_t namelen, char *buf, size_t len)
{
	struct sockaddr_storage a;
	char text[INET6_ADDRSTRLEN];

	memset(&a, 0, sizeof a);
	if (name != NULL)
		memcpy(&a, name, namelen < sizeof a ? namelen : sizeof a);
	if (a.ss_family == AF_INET && namelen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a;
		inet_ntop(AF_INET, &a4->sin_addr, text, sizeof text);
		snprintf(buf, len, "IPv4 %s:%u", text, ntohs(a4->sin_port));
	} else if (a.ss_family == AF_INET6 && namelen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a;
		inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof text);
		snprintf(buf, len, "IPv6 [%s]:%u", text, ntohs(a6->sin6_port));
	} else {
		snprintf(buf, len, "an address of family %u and %u bytes", (unsigned)a.ss_family,
		         name == NULL ? 0u : (unsigned)namelen);
	}
}

/* Whether name[0..namelen) is datagram d's sender. */
static int is_sender(const struct datagram *d, const void *name, socklen_t namelen)
{
	struct sockaddr_storage want;
	socklen_t wlen = sizeof want;

	write_sender(d, &want, &wlen);
	return name != NULL && namelen >= wlen && memcmp(name, &want, wlen) == 0;
}

/* The batch's first n datagrams: each got a reply, or none because the kernel refused it for good or it
 * came truncated; any other is a reply withheld. Returns how many got none. */
static uint64_t unanswered(struct udpsim *s, unsigned n)
{
	uint64_t count = 0;
	char from[64];

	for (unsigned i = 0; i < n; i++) {
		const struct delivered *b = &s->batch[i];
		if (b->replies > 0)
			continue;
		count++;
		if (!b->may_drop && !b->truncated)
			breach(s,
			       "U1: datagram #%zu (%zu bytes from %s) got no reply, though the kernel took "
			       "every send",
			       b->index + 1, s->dgrams[b->index].len,
			       sender_text(&s->dgrams[b->index], from, sizeof from));
	}
	return count;
}

/* The batch's last round is over: each datagram got exactly one reply, or none as unanswered() allows,
 * and the loop counted exactly those. */
static void end_round(struct udpsim *s)
{
	s->st.dropped += (size_t)unanswered(s, s->nbatch);
	if (s->loop.dropped != s->st.dropped)
		breach(s, "U5: the loop counts %llu replies lost where %zu datagrams went unanswered",
		       (unsigned long long)s->loop.dropped, s->st.dropped);
	s->nbatch = 0;
	s->logged = 0;
	s->full = -1;
	s->stop_at = -1;
	s->send_calls = 0;
}

/* The queue's first datagrams (at most a batch): those the next receive may take. */
static size_t queue_front(const struct udpsim *s, unsigned vlen)
{
	size_t queued = s->arrived - s->received;

	if (vlen > UDP_LOOP_BATCH)
		vlen = UDP_LOOP_BATCH;
	return queued < vlen ? queued : vlen;
}

static enum udp_loop_wait sim_wait_readable(void *ctx)
{
	struct udpsim *s = ctx;

	end_round(s);
	if (s->breach) {
		s->stop_told = 1;
		return UDP_LOOP_WAIT_STOP;
	}
	if (s->received == s->arrived) {
		if (s->arrived == s->count) {
			s->stop_told = 1; /* the input is over: the server is told to stop */
			return UDP_LOOP_WAIT_STOP;
		}
		do
			s->arrived++;
		while (s->arrived < s->count && !s->dgrams[s->arrived].m.batch);
	}
	for (size_t i = 0, n = queue_front(s, UDP_LOOP_BATCH); i < n; i++) {
		struct datagram *d = &s->dgrams[s->received + i];
		if (d->recv_done || (d->m.recv != SCRIPT_UDP_WAIT_EINTR && d->m.recv != SCRIPT_UDP_WAIT_FAIL))
			continue;
		d->recv_done = 1;
		s->st.events++;
		s->failed = d->m.recv == SCRIPT_UDP_WAIT_FAIL;
		errno = s->failed ? ENOMEM : EINTR;
		return UDP_LOOP_WAIT_FAILED;
	}
	return UDP_LOOP_WAIT_READY;
}

/* A receive event of the datagrams the receive would take, as the errno the receive fails with; 0 if none. */
static int receive_error(struct udpsim *s, size_t take)
{
	static const int errnos[] = {[SCRIPT_UDP_RECV_EAGAIN] = EAGAIN,
	                             [SCRIPT_UDP_RECV_EINTR] = EINTR,
	                             [SCRIPT_UDP_ICMP_RECV] = ECONNREFUSED};

	if (s->icmp_pending) {
		s->icmp_pending = 0;
		return ECONNREFUSED;
	}
	for (size_t i = 0; i < take; i++) {
		struct datagram *d = &s->dgrams[s->received + i];
		if (d->recv_done || d->m.recv < SCRIPT_UDP_RECV_EAGAIN || d->m.recv > SCRIPT_UDP_ICMP_RECV)
			continue;
		d->recv_done = 1;
		s->st.events++;
		return errnos[d->m.recv];
	}
	return 0;
}

/* Delivers datagram number s->received into msg, as batch entry i. Returns 0, or -1 on a breach. */
static int deliver(struct udpsim *s, struct mmsghdr *msg, unsigned i)
{
	struct datagram *d = &s->dgrams[s->received];
	struct msghdr *h = &msg->msg_hdr;
	unsigned char *ref = s->ref + (size_t)i * REF_SLOT;
	struct script_udp_dec at = d->at;
	struct script_udp_meta m;
	size_t len;

	(void)script_udp_read(&at, ref, &len, &m);
	if (h->msg_iov == NULL || h->msg_iovlen != 1 || h->msg_iov->iov_base == NULL) {
		breach(s, "the loop offers datagram #%zu a message with %zu buffers (one expected)",
		       s->received + 1, h->msg_iov == NULL ? (size_t)0 : (size_t)h->msg_iovlen);
		return -1;
	}
	if (h->msg_iov->iov_len < len) {
		breach(s, "U4: datagram #%zu of %zu bytes is received into a slot of %zu bytes (truncated)",
		       s->received + 1, len, h->msg_iov->iov_len);
		return -1;
	}
	memcpy(h->msg_iov->iov_base, ref, len);
	msg->msg_len = (unsigned)len;
	h->msg_flags = 0;
	write_sender(d, h->msg_name, &h->msg_namelen);
	s->batch[i] = (struct delivered){.index = s->received, .slot = h->msg_iov->iov_base};
	if (h->msg_iov->iov_len > len) {
		((unsigned char *)h->msg_iov->iov_base)[len] = GUARD;
		s->batch[i].guarded = 1;
	}
	if (!d->recv_done && d->m.recv == SCRIPT_UDP_TRUNC) {
		h->msg_flags = MSG_TRUNC; /* it was longer than the slot: what it holds is its start */
		s->batch[i].truncated = 1;
		d->recv_done = 1;
		s->st.events++;
	}
	if (!d->recv_done && d->m.recv == SCRIPT_UDP_ICMP_SEND) {
		s->icmp_pending = 1; /* an error for an earlier reply arrives while the batch is answered */
		d->recv_done = 1;
		s->st.events++;
	}
	s->received++;
	return 0;
}

static int sim_receive(void *ctx, struct mmsghdr *msgs, unsigned vlen)
{
	struct udpsim *s = ctx;
	size_t take;
	int err;

	end_round(s);
	take = queue_front(s, vlen);
	err = receive_error(s, take);
	if (err == 0 && take == 0)
		err = EAGAIN;
	if (err != 0) {
		errno = err;
		return -1;
	}
	for (s->nbatch = 0; s->nbatch < take; s->nbatch++)
		if (deliver(s, &msgs[s->nbatch], s->nbatch) < 0)
			break;
	s->st.received += s->nbatch;
	return (int)s->nbatch;
}

/* The batch entry whose slot p is, or -1. */
static long entry_of(const struct udpsim *s, const void *p)
{
	for (unsigned i = 0; i < s->nbatch; i++)
		if (s->batch[i].slot == p)
			return (long)i;
	return -1;
}

/* oracle_udp_check() of a reply rep[0..replen) to req[0..len). A FILL datagram repeats its first period
 * bytes, so its reply is right exactly when its first period is the oracle's answer to them and it repeats
 * with that period: one oracle scan of the period and a memcmp of the rest, not a scan of 65 KB (any
 * other case, and every wrong reply, goes through the whole oracle for its reason). */
static int check_content(const unsigned char *req, size_t len, size_t period, const unsigned char *rep,
                         size_t replen, char *why, size_t whylen)
{
	if (period > 0 && len > period && replen == len &&
	    oracle_udp_check(req, period, rep, period, NULL, 0) == ORACLE_UDP_OK &&
	    memcmp(rep + period, rep, len - period) == 0)
		return ORACLE_UDP_OK;
	return oracle_udp_check(req, len, rep, replen, why, whylen);
}

/* Shows the oracle a reply one byte short (U4), one byte long (U6) and with a changed byte (X1) of a
 * correct reply rep to req[0..len), 0 < len <= TRY_ORACLE_MAX: it must reject each. Once per run, on the
 * first reply short enough: each costs a scan. */
static void try_oracle(struct udpsim *s, const unsigned char *req, unsigned char *rep, size_t len)
{
	unsigned char saved = rep[len / 2];
	int changed;

	if (oracle_udp_check(req, len, rep, len - 1, NULL, 0) != ORACLE_UDP_TRUNCATED)
		breach(s, "oracle_udp_check accepts a truncated reply of %zu bytes", len - 1);
	if (oracle_udp_check(req, len - 1, rep, len, NULL, 0) != ORACLE_UDP_AMPLIFIED)
		breach(s, "oracle_udp_check accepts an amplified reply of %zu bytes", len);
	rep[len / 2] ^= 0x80;
	changed = oracle_udp_check(req, len, rep, len, NULL, 0);
	rep[len / 2] = saved;
	if (changed != ORACLE_UDP_CONTENT)
		breach(s, "oracle_udp_check accepts a changed byte %zu", len / 2);
	s->oracle_tried = 1;
}

/* Checks one reply the kernel accepts: the batch entry b's (its buffer is b's slot). */
static void check_reply(struct udpsim *s, const struct mmsghdr *msg, struct delivered *b)
{
	const struct datagram *d = &s->dgrams[b->index];
	const struct msghdr *h = &msg->msg_hdr;
	char from[64], to[64], why[160];
	int rc;

	if (b->truncated) {
		breach(s, "U4: datagram #%zu came truncated (MSG_TRUNC) and was answered with %zu bytes",
		       b->index + 1, h->msg_iov->iov_len);
		return;
	}
	if (++b->replies > 1) {
		breach(s, "U1: datagram #%zu (from %s) got a second reply", b->index + 1,
		       sender_text(d, from, sizeof from));
		return;
	}
	rc = check_content(s->ref + (size_t)(b - s->batch) * REF_SLOT, d->len, d->m.period,
	                   h->msg_iov->iov_base, h->msg_iov->iov_len, why, sizeof why);
	if (rc != ORACLE_UDP_OK) {
		breach(s, "reply to datagram #%zu (%zu bytes from %s): %s", b->index + 1, d->len,
		       sender_text(d, from, sizeof from), why);
		return;
	}
	if (b->guarded && b->slot[d->len] != GUARD) {
		breach(s, "U6: the reply to datagram #%zu (%zu bytes) was written past its end", b->index + 1,
		       d->len);
		return;
	}
	if (!s->oracle_tried && d->len > 0 && d->len <= TRY_ORACLE_MAX)
		try_oracle(s, s->ref + (size_t)(b - s->batch) * REF_SLOT, h->msg_iov->iov_base, d->len);
	if (!is_sender(d, h->msg_name, h->msg_namelen)) {
		address_text(h->msg_name, h->msg_namelen, to, sizeof to);
		breach(s, "U1: the reply to datagram #%zu (from %s) is sent to %s", b->index + 1,
		       sender_text(d, from, sizeof from), to);
	}
	s->st.replies++;
}

/* The send event of entry e (the call's first message) makes the call fail: returns its errno. */
static int send_error(struct udpsim *s, struct datagram *d, long e)
{
	d->send_done = 1;
	s->st.events++;
	switch (d->m.send) {
	case SCRIPT_UDP_SEND_EAGAIN:
		return EAGAIN;
	case SCRIPT_UDP_SEND_ENOBUFS:
		return ENOBUFS;
	case SCRIPT_UDP_SEND_FULL:
		s->full = e;
		return EAGAIN;
	case SCRIPT_UDP_SEND_UNREACH:
		s->batch[e].may_drop = 1;
		return EHOSTUNREACH;
	case SCRIPT_UDP_SEND_STOP:
		s->stop_in_wait = 1;
		s->stop_at = e;
		return EAGAIN;
	default:
		return EINTR;
	}
}

static int sim_send(void *ctx, struct mmsghdr *msgs, unsigned vlen)
{
	struct udpsim *s = ctx;

	if (++s->send_calls > SEND_CALLS_PER_ROUND) {
		breach(s, "the loop keeps sending: %u send calls for a batch of %u", s->send_calls,
		       s->nbatch);
		return (int)vlen; /* let the round end */
	}
	for (unsigned j = 0; j < vlen; j++) {
		const struct msghdr *h = &msgs[j].msg_hdr;
		long e = h->msg_iov != NULL && h->msg_iovlen == 1 ? entry_of(s, h->msg_iov->iov_base) : -1;
		if (e < 0) {
			breach(s, "the loop sends a reply from a buffer that holds no datagram of its batch");
			return (int)vlen;
		}
		struct datagram *d = &s->dgrams[s->batch[e].index];
		if (j == 0 && s->full >= 0 && s->full != e)
			s->full =
			    -1; /* the loop moved past the reply it could not send: there is room again */
		if (j == 0 && s->full == e) {
			errno = EAGAIN; /* the send buffer is still full */
			return -1;
		}
		if (j == 0 && s->icmp_pending) {
			s->icmp_pending = 0;
			s->batch[e].may_drop = 1;
			errno = ECONNREFUSED;
			return -1;
		}
		if (!d->send_done && d->m.send != SCRIPT_UDP_SEND_NONE) {
			if (j > 0)
				return (int)j; /* the call stops before this reply */
			if (d->m.send == SCRIPT_UDP_SEND_PARTIAL && vlen > 1) {
				d->send_done = 1;
				s->st.events++;
				check_reply(s, &msgs[0], &s->batch[e]);
				return 1;
			}
			if (d->m.send != SCRIPT_UDP_SEND_PARTIAL) {
				errno = send_error(s, d, e);
				return -1;
			}
			d->send_done = 1;
		}
		check_reply(s, &msgs[j], &s->batch[e]);
	}
	return (int)vlen;
}

static enum udp_loop_wait sim_wait_writable(void *ctx, int timeout_ms)
{
	struct udpsim *s = ctx;

	(void)timeout_ms;
	if (s->stop_in_wait) {
		s->stop_told = 1;
		return UDP_LOOP_WAIT_STOP;
	}
	if (s->full >= 0) {
		s->batch[s->full].may_drop = 1; /* still full when the wait ends: the reply may be lost */
		return UDP_LOOP_WAIT_NONE;
	}
	return UDP_LOOP_WAIT_READY;
}

/* The -v log sees each datagram of the batch, in order, before its reply is made. */
static void sim_log(void *ctx, const unsigned char *p, size_t n)
{
	struct udpsim *s = ctx;
	const struct delivered *b = s->logged < s->nbatch ? &s->batch[s->logged] : NULL;

	if (b == NULL || b->slot != p || s->dgrams[b->index].len != n)
		breach(s, "the log shows %zu bytes that are not datagram #%zu as received", n,
		       b != NULL ? b->index + 1 : 0);
	s->logged++;
}

struct udpsim *udpsim_new(char *err, size_t errlen)
{
	struct udpsim *s = calloc(1, sizeof *s);
	const struct udp_loop_io io = {.wait_readable = sim_wait_readable,
	                               .receive = sim_receive,
	                               .send = sim_send,
	                               .wait_writable = sim_wait_writable,
	                               .log = sim_log,
	                               .ctx = s};

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->ref = malloc((size_t)UDP_LOOP_BATCH * REF_SLOT);
	if (s->ref == NULL || udp_loop_init(&s->loop, &io, err, errlen) < 0) {
		snprintf(err, errlen, "out of memory");
		udpsim_free(s);
		return NULL;
	}
	return s;
}

void udpsim_free(struct udpsim *s)
{
	if (s == NULL)
		return;
	udp_loop_free(&s->loop);
	free(s->ref);
	free(s->dgrams);
	free(s);
}

/* Reads every datagram's tag, events and length (not the bodies) into s->dgrams. Returns 0 or -1. */
static int read_input(struct udpsim *s, const unsigned char *in, size_t n)
{
	struct script_udp_dec d;
	struct datagram g = {0};

	s->count = 0;
	script_udp_init(&d, in, n);
	for (;;) {
		g.at = d;
		if (!script_udp_read(&d, NULL, &g.len, &g.m))
			return 0;
		if (s->count == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 256;
			struct datagram *p = realloc(s->dgrams, cap * sizeof *p);
			if (p == NULL)
				return -1;
			s->dgrams = p;
			s->cap = cap;
		}
		s->dgrams[s->count++] = g;
	}
}

/* Runs the loop until it stops or fails; each outcome must be one the simulated kernel caused. */
static void run_loop(struct udpsim *s)
{
	size_t budget = 2 * s->count + 16; /* rounds: a correct loop takes one per datagram and event */

	for (;;) {
		enum udp_loop_step r = udp_loop_step(&s->loop);
		s->st.rounds++;
		if (s->breach)
			return;
		if (r == UDP_LOOP_STEP_STOP && !s->stop_told)
			breach(s, "the loop stopped without being told to");
		if (r == UDP_LOOP_STEP_FAILED && !(s->failed && errno == ENOMEM))
			breach(s, "the loop failed (%s) though its waits did not", strerror(errno));
		if (r != UDP_LOOP_STEP_AGAIN)
			return;
		if (s->st.rounds > budget) {
			breach(s, "the loop makes no progress: %zu rounds for %zu datagrams", s->st.rounds,
			       s->count);
			return;
		}
	}
}

enum udpsim_result udpsim_run(struct udpsim *s, const unsigned char *in, size_t n, struct udpsim_stats *st,
                              char *why, size_t whylen)
{
	memset(&s->st, 0, sizeof s->st);
	s->arrived = s->received = 0;
	s->nbatch = s->logged = 0;
	s->icmp_pending = s->stop_in_wait = s->stop_told = s->failed = s->breach = 0;
	s->full = -1;
	s->stop_at = -1;
	s->oracle_tried = 0;
	s->send_calls = 0;
	s->loop.dropped = 0;
	if (read_input(s, in, n) < 0) {
		snprintf(why, whylen, "out of memory");
		return UDPSIM_ERROR;
	}
	s->st.datagrams = s->count;
	run_loop(s);
	/* A stop while a reply waits for room ends the batch there: the replies the loop reached before it
	 * must have gone as any round's. (What it then counts as lost is its own: the server is stopping.) */
	if (s->stop_at >= 0 && s->stop_told)
		(void)unanswered(s, (unsigned)s->stop_at);
	if (st != NULL)
		*st = s->st;
	if (s->breach) {
		snprintf(why, whylen, "%s", s->why);
		return UDPSIM_BREACH;
	}
	return UDPSIM_OK;
}
