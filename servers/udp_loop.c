/* udp_loop.c - udp-upper's batch loop over a struct udp_loop_io (udp_loop.h). */
#include "udp_loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upper.h"

int udp_loop_init(struct udp_loop *l, const struct udp_loop_io *io, char *err, size_t errlen)
{
	memset(l, 0, sizeof *l);
	l->io = *io;
	l->bufs = malloc((size_t)UDP_LOOP_BATCH * UDP_LOOP_SLOT);
	if (l->bufs == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void udp_loop_free(struct udp_loop *l)
{
	free(l->bufs);
	l->bufs = NULL;
}

/* Points every message at its slot and its peer address, with the whole room for both. */
static void reset_batch(struct udp_loop *l)
{
	for (int i = 0; i < UDP_LOOP_BATCH; i++) {
		l->iov[i].iov_base = l->bufs + (size_t)i * UDP_LOOP_SLOT;
		l->iov[i].iov_len = UDP_LOOP_SLOT;
		memset(&l->msgs[i].msg_hdr, 0, sizeof l->msgs[i].msg_hdr);
		l->msgs[i].msg_hdr.msg_name = &l->peers[i];
		l->msgs[i].msg_hdr.msg_namelen = sizeof l->peers[i];
		l->msgs[i].msg_hdr.msg_iov = &l->iov[i];
		l->msgs[i].msg_hdr.msg_iovlen = 1;
		l->msgs[i].msg_len = 0;
	}
}

/* Turns msgs[0..n) into replies in place. A datagram longer than its slot (MSG_TRUNC: no IPv4 or IPv6
 * datagram is, jumbograms aside) cannot be answered whole (U4) and is left out, counted; the later
 * messages move down over it. Returns the number of replies, msgs[0..count). */
static int reply_batch(struct udp_loop *l, int n)
{
	int count = 0;

	for (int i = 0; i < n; i++) {
		struct msghdr *h = &l->msgs[i].msg_hdr;
		unsigned char *p = h->msg_iov->iov_base;
		size_t len = l->msgs[i].msg_len;

		if (l->io.log != NULL)
			l->io.log(l->io.ctx, p, len);
		if (h->msg_flags & MSG_TRUNC) {
			l->dropped++;
			continue;
		}
		h->msg_iov->iov_len = upper_udp_reply(p, p, len);
		/* msg_name and msg_namelen stay as recvmmsg set them: the reply goes to the sender (U1). */
		if (count != i)
			l->msgs[count] = l->msgs[i];
		count++;
	}
	return count;
}

/* Sends msgs[0..n); a reply that cannot go is skipped and counted, and the others still go (U5).
 * Returns 0, or -1 when the server is told to stop while it waits. */
static int send_batch(struct udp_loop *l, int n)
{
	int sent = 0;

	while (sent < n) {
		int k = l->io.send(l->io.ctx, l->msgs + sent, (unsigned)(n - sent));
		if (k > 0) {
			sent += k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			enum udp_loop_wait w = l->io.wait_writable(l->io.ctx, UDP_LOOP_SEND_WAIT_MS);
			if (w == UDP_LOOP_WAIT_STOP)
				return -1;
			if (w == UDP_LOOP_WAIT_READY)
				continue;
		}
		/* This reply cannot be sent; it is lost as a datagram may be, and the rest still go. */
		l->dropped++;
		sent++;
	}
	return 0;
}

enum udp_loop_step udp_loop_step(struct udp_loop *l)
{
	enum udp_loop_wait w = l->io.wait_readable(l->io.ctx);

	if (w == UDP_LOOP_WAIT_FAILED)
		return errno == EINTR ? UDP_LOOP_STEP_AGAIN : UDP_LOOP_STEP_FAILED;
	if (w == UDP_LOOP_WAIT_STOP)
		return UDP_LOOP_STEP_STOP;
	if (w != UDP_LOOP_WAIT_READY)
		return UDP_LOOP_STEP_AGAIN;
	reset_batch(l);
	int n = l->io.receive(l->io.ctx, l->msgs, UDP_LOOP_BATCH);
	if (n <= 0)
		return UDP_LOOP_STEP_AGAIN; /* EAGAIN, EINTR, or a pending ICMP error (ECONNREFUSED) reported
		                               here */
	n = reply_batch(l, n);
	if (send_batch(l, n) < 0)
		return UDP_LOOP_STEP_STOP;
	return UDP_LOOP_STEP_AGAIN;
}
