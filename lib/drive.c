/* drive.c - one wakeup of a TCP connection over caller-supplied I/O callbacks (drive.h). */
#include "drive.h"

/* Feeds one event and reports it to the optional observer. Returns 0 to go on, with the core's wants
 * after the event in *want (what upper_conn_event() returns, so the loop need not ask again), or the
 * negative DRIVE_* code that ends the wakeup. */
static int feed(struct upper_conn *c, const struct drive_io *io, void *ctx, enum upper_ev ev, size_t n,
                unsigned *want)
{
	int r = upper_conn_event(c, ev, n);

	if (io->fed != NULL && io->fed(ctx, ev, n, r) != 0)
		return DRIVE_STOPPED;
	if (r < 0)
		return DRIVE_BROKEN;
	*want = (unsigned)r;
	return 0;
}

int drive_wakeup(struct upper_conn *c, const struct drive_io *io, void *ctx, unsigned ready,
                 unsigned *interest)
{
	int readable = (ready & DRIVE_READY_IN) != 0;
	int reads = 0, rc = 0;
	/* The wants change only through an event, and every event returns them: asked once here. */
	unsigned want = upper_conn_want(c);

	*interest = 0;
	if ((ready & DRIVE_READY_OUT) && (want & UPPER_WANT_POLLOUT))
		rc = feed(c, io, ctx, UPPER_EV_WRITABLE, 0, &want);
	while (rc == 0) {
		if (want & UPPER_WANT_CLOSE) {
			/* A dead connection may still hold bytes it will never send: its buffer goes back
			 * too. */
			if (c->buf != NULL) {
				io->buf_put(ctx, c->buf);
				c->buf = NULL;
			}
			return DRIVE_CLOSE;
		}
		if (want & UPPER_WANT_WRITE) {
			const unsigned char *p;
			size_t n = upper_conn_pending(c, &p);
			ssize_t k = io->send(ctx, p, n);
			if (k > 0)
				rc = feed(c, io, ctx, UPPER_EV_WROTE, (size_t)k, &want);
			else if (k == DRIVE_IO_INTR)
				continue;
			else if (k == DRIVE_IO_AGAIN)
				rc = feed(c, io, ctx, UPPER_EV_AGAIN, 0, &want);
			else
				rc = feed(c, io, ctx, UPPER_EV_WERROR, 0, &want);
			continue;
		}
		if (want & UPPER_WANT_SHUTDOWN) {
			io->shutdown_wr(ctx);
			rc = feed(c, io, ctx, UPPER_EV_SHUTDOWN, 0, &want);
			continue;
		}
		if ((want & UPPER_WANT_READ) && readable && reads < DRIVE_READS) {
			unsigned char *p;
			size_t n;
			ssize_t k;

			if (c->buf == NULL) {
				unsigned char *b = io->buf_get(ctx);
				if (b == NULL)
					break; /* out of buffers: try again at the next wakeup */
				(void)upper_conn_lend(c, b); /* cannot fail: b is not NULL and c holds none */
			}
			n = upper_conn_rspace(c, &p);
			if (n == 0)
				return DRIVE_BROKEN; /* READ wanted with a buffer means space: never
				                              call recv(0) */
			k = io->recv(ctx, p, n);
			reads++;
			if (k > 0) {
				rc = feed(c, io, ctx, UPPER_EV_READ, (size_t)k, &want);
				if ((size_t)k < n)
					readable = 0; /* drained: a level-triggered loop reports more */
			} else if (k == 0) {
				rc = feed(c, io, ctx, UPPER_EV_EOF, 0, &want);
			} else if (k == DRIVE_IO_INTR) {
				continue;
			} else if (k == DRIVE_IO_AGAIN) {
				readable = 0;
			} else {
				rc = feed(c, io, ctx, UPPER_EV_RESET, 0, &want);
			}
			continue;
		}
		break;
	}
	if (rc != 0)
		return rc;
	unsigned char *b = upper_conn_release(c);
	if (b != NULL)
		io->buf_put(ctx, b);
	*interest = want & (UPPER_WANT_READ | UPPER_WANT_POLLOUT);
	return DRIVE_WAIT;
}
