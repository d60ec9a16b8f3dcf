/* mutant.c - a small TCP+UDP uppercase server with one planted bug, chosen at build time by
 * -DMUTANT="name" (tests/mutants/EXPECTED lists each name and the conform cases that must catch it).
 * MUTANT="none" is the same server without a bug: conform must pass it. Three hostile ones prove conform
 * never hangs: "silent" (accepts and reads, never answers), "garbage" (answers every connection with an
 * endless stream of garbage, every datagram with three large ones), "reset-all" (resets every connection
 * as soon as it is accepted). Four are the realistic bugs of ports: "unicode-upper" (uppercases UTF-8
 * letters as text does: e-acute to E-acute, Greek, Cyrillic), "leak-memory" (keeps 256 KiB per
 * connection), "cap-1000" (stops accepting at 1000 connections), "other-port" (replies to datagrams from
 * a second socket, another port). "reset-harms-neighbor" resets another connection when a write fails
 * because its peer reset (a stale index in the error path): only a client that resets while owed
 * output, beside another one, shows it (conform's random phase). "unbounded" reads whatever a client sends
 * while the client reads none of the answers, which pile up in its memory (no backpressure: T8).
 * "lost-wakeup" forgets a connection whose write would block once it serves another one meanwhile (it writes
 * to it no more, unless the connection breaks): a client that stops reading beside others that are served
 * never gets the rest of its answer (T7). "small-rcvbuf" is correct but gives its UDP socket the smallest
 * receive buffer (4608 bytes): the kernel drops datagrams of a burst there, which conform reports as the
 * host's loss (the SHOULD finding udp/buffer/drops), not as the server's (U1). Three more are for fuzzing
 * an implementation (make fuzz IMPL=...):
 * "heap-4k-reset" writes past a 4 KiB per-connection history buffer when a connection's third read (or
 * later) crosses 4 KiB after another connection was reset while it was open (only AddressSanitizer sees
 * it: build it with clang -fsanitize=address); "rare-branch" corrupts a reply byte when a short read
 * holds four different bytes of 0xa0-0xbf, counted one branch at a time (random sequences rarely take
 * it; coverage guidance reaches it a step at a time); "halfclose-after-reset" resets a connection that
 * half-closes, instead of finishing its answer and sending FIN, when another connection was reset
 * between its first data and its half-close (T4; each fixed conform case does one of the two, never
 * both at once). Test-only; never installed.
 *
 *   usage: mutant [-l ADDR:PORT] [--own-words] [--hang]   (default 127.0.0.1:0; TCP and UDP on one port)
 *   The first stderr lines are "listening on tcp ADDR:PORT" and "listening on udp ADDR:PORT"; with
 *   --own-words one line in other words ("up: listening on tcp+udp ADDR:PORT"), which conform cannot
 *   read (give the port as {port}). --hang: listens, then never accepts, reads or answers anything.
 *
 * The protocol work is the core's (lib/upper.h): the event loop feeds it every syscall result, and
 * each bug is a small deviation in the loop, not a second transform. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "upper.h"
#include "util.h"

#ifndef MUTANT
#define MUTANT "none"
#endif

#define MAXCONN 2048
#define BUFCAP 65536

static int bug(const char *name)
{
	return strcmp(MUTANT, name) == 0;
}

struct conn {
	int fd;
	int active;
	struct upper_conn u;
	unsigned char *buf;
	int blocked;   /* its last write would block */
	int forgotten; /* lost-wakeup: no longer polled for writability */
	/* unbounded: every answer not yet written, however long (no backpressure) */
	unsigned char *backlog;
	size_t backlog_len, backlog_off, backlog_cap;
	int eof;
	/* heap-4k-reset */
	unsigned char *hist; /* the first 4 KiB the client sent */
	size_t hist_len;     /* bytes kept in hist */
	unsigned reads;      /* reads that returned data */
	unsigned long
	    resets0; /* resets seen when it was accepted (halfclose-after-reset: at its first data) */
};

static struct conn conns[MAXCONN];
static int nactive;
static int own_words, hang;       /* --own-words, --hang */
static unsigned long resets_seen; /* connections the server saw reset (read or write error) */

/* The Latin-1 bug: letters U+00E0-U+00FE (but not the division sign U+00F7) "uppercased" too. */
static void latin1(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 0xe0 && p[i] <= 0xfe && p[i] != 0xf7)
			p[i] = (unsigned char)(p[i] - 0x20);
}

/* The Unicode bug: two-byte UTF-8 letters uppercased as text (Latin-1 supplement, Greek, Cyrillic), in
 * place (each keeps its length); a letter split across two reads is left alone. */
static void unicode_upper(unsigned char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned cp = (unsigned)(p[i] & 0x1f) << 6 | (p[i + 1] & 0x3fu), up = cp;
		if (p[i] < 0xc2 || p[i] > 0xdf || (p[i + 1] & 0xc0) != 0x80)
			continue;
		if ((cp >= 0xe0 && cp <= 0xfe && cp != 0xf7) || (cp >= 0x3b1 && cp <= 0x3cb && cp != 0x3c2) ||
		    (cp >= 0x430 && cp <= 0x44f))
			up = cp - 0x20;
		else if (cp >= 0x450 && cp <= 0x45f)
			up = cp - 0x50;
		p[i] = (unsigned char)(0xc0 | up >> 6);
		p[i + 1] = (unsigned char)(0x80 | (up & 0x3f));
		i++;
	}
}

/* ---- the bugs for fuzzing implementations: heap-4k-reset, rare-branch, halfclose-after-reset ---- */

/* heap-4k-reset: a log of the first 4 KiB each connection sent. Its bound is checked on the path of the
 * first two reads and whenever no other connection was reset meanwhile; the third read crossing 4 KiB
 * after a neighbour's reset copies past the end of the buffer. */
static void history_add(struct conn *k, const unsigned char *p, size_t n)
{
	size_t room = 4096 - k->hist_len;
	if (k->hist == NULL || k->hist_len >= 4096)
		return;
	if (k->reads < 3 || resets_seen == k->resets0)
		n = n < room ? n : room;
	memcpy(k->hist + k->hist_len, p, n);
	k->hist_len += n;
}

/* rare-branch: a short read (16 bytes at most) that holds four different bytes of 0xa0-0xbf gets its
 * first byte's answer corrupted. Each count of them from one to three is its own branch (the volatile
 * stores keep the compiler from merging them), so an edge map rewards each new one and a
 * coverage-guided fuzzer needs one lucky byte per step; without one, a guess must bring all four at
 * once (a long read of random bytes is not checked: random sequences rarely take this branch). */
static volatile unsigned rare_a, rare_b, rare_c;
static void rare_branch(unsigned char *p, size_t n)
{
	unsigned long mask = 0;
	unsigned k = 0;
	if (n > 16)
		return;
	for (size_t i = 0; i < n; i++)
		if ((p[i] & 0xe0u) == 0xa0)
			mask |= 1ul << (p[i] & 31u);
	for (; mask != 0; mask &= mask - 1)
		k++;
	if (k < 1)
		return;
	rare_a++;
	if (k < 2)
		return;
	rare_b += 3;
	if (k < 3)
		return;
	rare_c ^= 5;
	if (k >= 4)
		p[0] = (unsigned char)(p[0] ^ 0x01);
}

static void drop(struct conn *k, int do_close)
{
	free(k->hist);
	k->hist = NULL;
	if (do_close)
		close(k->fd);
	free(k->buf);
	k->buf = NULL;
	free(k->backlog);
	k->backlog = NULL;
	k->active = 0;
	nactive--;
}

/* The lost-wakeup bug: serving k makes the server forget every other connection whose write blocked. */
static void forget_blocked(const struct conn *k)
{
	for (int i = 0; i < MAXCONN; i++)
		if (&conns[i] != k && conns[i].active && conns[i].blocked)
			conns[i].forgotten = 1;
}

/* The reset-harms-neighbor bug: after k's write failed, the first other connection is reset too. */
static void reset_neighbor(const struct conn *k)
{
	for (int i = 0; i < MAXCONN; i++) {
		struct conn *n = &conns[i];
		if (n == k || !n->active)
			continue;
		struct linger lg = {1, 0};
		setsockopt(n->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		drop(n, 1);
		return;
	}
}

/* The hostile servers' connections: no protocol at all. */
static void hostile(struct conn *k, short rev)
{
	static unsigned char junk[65536];
	if (rev & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t n = read(k->fd, junk, sizeof junk);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			drop(k, 1);
			return;
		}
	}
	if (bug("garbage") && (rev & POLLOUT)) {
		memset(junk, 'G', sizeof junk);
		if (send(k->fd, junk, sizeof junk, MSG_NOSIGNAL) < 0 && errno != EAGAIN && errno != EINTR)
			drop(k, 1);
	}
}

/* The unbounded bug: reads whatever comes, however much of its answer the client has not read yet;
 * the answers pile up in memory (a server without backpressure, T8). */
static void unbounded(struct conn *k, short rev)
{
	if (!k->eof && (rev & (POLLIN | POLLHUP | POLLERR))) {
		if (k->backlog_cap - k->backlog_len < BUFCAP) {
			size_t cap = 2 * k->backlog_cap + BUFCAP;
			unsigned char *bigger = realloc(k->backlog, cap);
			if (bigger == NULL) {
				drop(k, 1);
				return;
			}
			k->backlog = bigger;
			k->backlog_cap = cap;
		}
		ssize_t n = read(k->fd, k->backlog + k->backlog_len, BUFCAP);
		if (n > 0) {
			upper_udp_reply(k->backlog + k->backlog_len, k->backlog + k->backlog_len, (size_t)n);
			k->backlog_len += (size_t)n;
		} else if (n == 0) {
			k->eof = 1;
		} else if (errno != EAGAIN && errno != EINTR) {
			drop(k, 1);
			return;
		}
	}
	if (k->backlog_off < k->backlog_len && (rev & POLLOUT)) {
		ssize_t m =
		    send(k->fd, k->backlog + k->backlog_off, k->backlog_len - k->backlog_off, MSG_NOSIGNAL);
		if (m > 0)
			k->backlog_off += (size_t)m;
		else if (m < 0 && errno != EAGAIN && errno != EINTR) {
			drop(k, 1);
			return;
		}
	}
	if (k->eof && k->backlog_off == k->backlog_len) {
		shutdown(k->fd, SHUT_WR);
		drop(k, 1);
	}
}

static void service(struct conn *k, short rev)
{
	unsigned w = upper_conn_want(&k->u);

	if (bug("unbounded")) {
		unbounded(k, rev);
		return;
	}
	if (bug("silent") || bug("garbage")) {
		hostile(k, rev);
		return;
	}
	if (bug("sigpipe") && (rev & POLLERR)) {
		int e = 0;
		socklen_t l = sizeof e;
		getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &e, &l); /* "logged", then carries on writing */
		rev = (short)(rev & ~POLLERR);
	}
	if ((w & UPPER_WANT_POLLOUT) && (rev & (POLLOUT | POLLERR | POLLHUP))) {
		upper_conn_event(&k->u, UPPER_EV_WRITABLE, 0);
		w = upper_conn_want(&k->u);
	}
	if ((w & UPPER_WANT_READ) && (rev & (POLLIN | POLLHUP | POLLERR))) {
		unsigned char *p;
		size_t room = upper_conn_rspace(&k->u, &p);
		if (room > 0) {
			ssize_t n = read(k->fd, p, room);
			if (n > 0) {
				if (bug("latin1"))
					latin1(p, (size_t)n);
				if (bug("unicode-upper"))
					unicode_upper(p, (size_t)n);
				if (k->reads++ == 0 && bug("halfclose-after-reset"))
					k->resets0 = resets_seen; /* from its first data on */
				if (bug("heap-4k-reset"))
					history_add(k, p, (size_t)n);
				if (bug("rare-branch"))
					rare_branch(p, (size_t)n);
				upper_conn_event(&k->u, UPPER_EV_READ, (size_t)n);
			} else if (n == 0) {
				if (bug("halfclose-after-reset") && k->reads > 0 &&
				    resets_seen != k->resets0) {
					struct linger lg = {
					    1, 0}; /* a reset, not the rest of the answer and FIN */
					setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
					drop(k, 1);
					return;
				}
				upper_conn_event(&k->u, UPPER_EV_EOF, 0);
			} else if (errno != EAGAIN && errno != EINTR) {
				resets_seen++;
				upper_conn_event(&k->u, UPPER_EV_RESET, 0);
			}
		}
	}
	for (w = upper_conn_want(&k->u); w & UPPER_WANT_WRITE; w = upper_conn_want(&k->u)) {
		if (k->forgotten && !(rev & (POLLERR | POLLHUP)))
			break;
		const unsigned char *p;
		size_t n = upper_conn_pending(&k->u, &p);
		if (bug("wait-newline") && memchr(p, '\n', n) == NULL && !(k->u.flags & UPPER_CF_EOF) &&
		    upper_conn_rspace(&k->u, (unsigned char **)&p) > 0)
			break; /* holds the answer until a whole line is there */
		ssize_t m = bug("sigpipe") ? write(k->fd, p, n) : send(k->fd, p, n, MSG_NOSIGNAL);
		if (m > 0) {
			if (bug("partial-write-drop") && (size_t)m < n)
				m = (ssize_t)n; /* the rest is lost */
			upper_conn_event(&k->u, UPPER_EV_WROTE, (size_t)m);
			k->blocked = 0;
		} else if (m < 0 && (errno == EAGAIN || errno == EINTR)) {
			upper_conn_event(&k->u, UPPER_EV_AGAIN, 0);
			k->blocked = errno == EAGAIN;
			break;
		} else {
			resets_seen++;
			upper_conn_event(&k->u, UPPER_EV_WERROR, 0);
			if (bug("reset-harms-neighbor"))
				reset_neighbor(k);
		}
	}
	if (w & UPPER_WANT_SHUTDOWN) {
		if (bug("rst-on-halfclose")) {
			struct linger lg = {1, 0};
			setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			drop(k, 1);
			return;
		}
		if (bug("no-close-after-eof")) {
			drop(k, 0); /* forgets the connection; the descriptor stays open, no FIN ever */
			return;
		}
		shutdown(k->fd, SHUT_WR);
		upper_conn_event(&k->u, UPPER_EV_SHUTDOWN, 0);
		w = upper_conn_want(&k->u);
	}
	if (w & UPPER_WANT_CLOSE)
		drop(k, !(bug("leak-on-reset") && (k->u.flags & UPPER_CF_DEAD)));
	if (bug("lost-wakeup"))
		forget_blocked(k);
}

/* The socket the "other-port" mutant replies from (another port on the same address), else fd. */
static int reply_socket(int fd)
{
	static int other = -1;
	if (!bug("other-port"))
		return fd;
	if (other < 0) {
		struct net_addr a;
		if (net_local(fd, &a) < 0)
			return fd;
		net_set_port(&a, 0);
		other = socket(a.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (other < 0 || bind(other, (struct sockaddr *)&a.ss, a.len) < 0)
			return fd;
	}
	return other;
}

static void udp_service(int fd)
{
	static unsigned char in[65536], out[65536];
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof from;
		size_t cap = bug("trunc-1024") ? 1024 : sizeof in;
		ssize_t n = recvfrom(fd, in, cap, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if ((bug("drop-empty") && n == 0) || bug("silent"))
			continue;
		if (bug("garbage")) {
			memset(out, 'G', 4000);
			for (int j = 0; j < 3; j++)
				sendto(fd, out, 4000, 0, (struct sockaddr *)&from, fl);
			continue;
		}
		size_t len = (size_t)n;
		if (bug("merge")) {
			/* whatever else is queued joins this reply */
			while (len < UPPER_UDP_MAX4) {
				struct sockaddr_storage f2;
				socklen_t l2 = sizeof f2;
				ssize_t m = recvfrom(fd, in + len, UPPER_UDP_MAX4 - len, MSG_DONTWAIT,
				                     (struct sockaddr *)&f2, &l2);
				if (m < 0)
					break;
				len += (size_t)m;
			}
		}
		upper_udp_reply(out, in, len);
		if (bug("latin1"))
			latin1(out, len);
		if (bug("unicode-upper"))
			unicode_upper(out, len);
		sendto(reply_socket(fd), out, len, 0, (struct sockaddr *)&from, fl);
	}
}

static void accept_one(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			util_sleep_ms(10); /* out of descriptors: the listener stays readable; do not spin */
		return;
	}
	for (int i = 0; i < MAXCONN; i++) {
		struct conn *k = &conns[i];
		if (k->active)
			continue;
		memset(k, 0, sizeof *k);
		k->buf = malloc(BUFCAP);
		if (k->buf == NULL || upper_conn_init(&k->u, k->buf, BUFCAP) < 0) {
			free(k->buf);
			break;
		}
		k->fd = fd;
		k->active = 1;
		k->resets0 = resets_seen;
		if (bug("heap-4k-reset") && (k->hist = malloc(4096)) == NULL) {
			free(k->buf);
			break;
		}
		nactive++;
		if (bug("leak-memory")) {
			/* a per-connection buffer (256 KiB, used) that is never freed */
			static void *volatile leaked; /* the newest; each holds the one before */
			void **kept = malloc(256u << 10);
			if (kept != NULL) {
				memset(kept, 'x', 256u << 10);
				kept[0] = leaked;
				leaked = kept;
			}
		}
		if (bug("reset-all")) {
			struct linger lg = {1, 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			drop(k, 1);
		}
		return;
	}
	close(fd);
}

/* Reads -l ADDR:PORT. Returns 0, 1 after --help, or 2 on a bad argument (printed). */
static int parse_arguments(int argc, char **argv, const char **addr)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			printf(
			    "usage: mutant [-l ADDR:PORT] [--own-words] [--hang]\nmutant '%s' of the "
			    "uppercase "
			    "server (tests/mutants/EXPECTED); TCP and UDP on one port, default 127.0.0.1:0\n"
			    "  --own-words  say where it listens in one line of its own words\n"
			    "  --hang       listen, then never accept, read or answer\n",
			    MUTANT);
			return 1;
		}
		if (strcmp(argv[i], "--own-words") == 0 || strcmp(argv[i], "--hang") == 0) {
			*(argv[i][2] == 'o' ? &own_words : &hang) = 1;
			continue;
		}
		if (strcmp(argv[i], "-l") == 0 && i + 1 < argc) {
			*addr = argv[++i];
			continue;
		}
		fprintf(stderr, "mutant: unknown argument '%s' (see --help)\n", argv[i]);
		return 2;
	}
	return 0;
}

/* Opens the TCP listener and the UDP socket on one port and says where. Returns 0, or the exit status
 * (printed): 2 for a bad address, 1 when it cannot listen. */
static int listen_both(const char *addr, int *tcp_fd, int *udp_fd)
{
	char err[256], name[NET_ADDRSTRLEN];
	struct net_addr a, bound;
	if (net_parse_listen(addr, &a, err, sizeof err) < 0) {
		fprintf(stderr, "mutant: -l: %s\n", err);
		return 2;
	}
	*tcp_fd = net_listen(&a, SOCK_STREAM, 0, 1024, &bound, err, sizeof err);
	if (*tcp_fd < 0 || (*udp_fd = net_listen(&bound, SOCK_DGRAM, 0, 0, NULL, err, sizeof err)) < 0) {
		fprintf(stderr, "mutant: %s\n", err);
		return 1;
	}
	int size = bug("small-rcvbuf") ? 2048 : 4 << 20; /* the kernel doubles it, at least to 4608 */
	setsockopt(*udp_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	net_format((struct sockaddr *)&bound.ss, name, sizeof name);
	if (own_words)
		fprintf(stderr, "up: listening on tcp+udp %s\n", name);
	else
		fprintf(stderr, "listening on tcp %s\nlistening on udp %s\n", name, name);
	fflush(stderr);
	return 0;
}

/* The poll set: the listener (unless one-at-a-time serves a client), the UDP socket, the connections.
 * map[j] is the connection index of pf[j], -1 for the listener, -2 for the UDP socket. */
static nfds_t poll_set(int tcp_fd, int udp_fd, struct pollfd *pf, int *map)
{
	nfds_t n = 0;
	if (!(bug("one-at-a-time") && nactive > 0) && !(bug("cap-1000") && nactive >= 1000)) {
		pf[n] = (struct pollfd){tcp_fd, POLLIN, 0};
		map[n++] = -1;
	}
	pf[n] = (struct pollfd){udp_fd, POLLIN, 0};
	map[n++] = -2;
	for (int i = 0; i < MAXCONN; i++) {
		if (!conns[i].active)
			continue;
		unsigned w = upper_conn_want(&conns[i].u);
		short ev = bug("garbage") ? POLLIN | POLLOUT : bug("silent") ? POLLIN : 0;
		if (bug("unbounded")) {
			pf[n] = (struct pollfd){
			    conns[i].fd,
			    (short)((conns[i].eof ? 0 : POLLIN) |
			            (conns[i].backlog_off < conns[i].backlog_len ? POLLOUT : 0)),
			    0};
			map[n++] = i;
			continue;
		}
		if (w & UPPER_WANT_READ)
			ev |= POLLIN;
		if ((w & UPPER_WANT_POLLOUT) && !conns[i].forgotten)
			ev |= POLLOUT;
		pf[n] = (struct pollfd){conns[i].fd, ev, 0};
		map[n++] = i;
	}
	return n;
}

static int serve(int tcp_fd, int udp_fd)
{
	static struct pollfd pf[MAXCONN + 2];
	static int map[MAXCONN + 2];
	for (;;) {
		nfds_t n = poll_set(tcp_fd, udp_fd, pf, map);
		if (poll(pf, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("mutant: poll");
			return 1;
		}
		for (nfds_t j = 0; j < n; j++) {
			if (pf[j].revents == 0)
				continue;
			if (map[j] == -1)
				accept_one(tcp_fd);
			else if (map[j] == -2)
				udp_service(udp_fd);
			else if (conns[map[j]].active)
				service(&conns[map[j]], pf[j].revents);
		}
	}
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1:0";
	int tcp_fd, udp_fd;
	int rc = parse_arguments(argc, argv, &addr);
	if (rc != 0)
		return rc == 1 ? 0 : 2;
	if (!bug("sigpipe"))
		signal(SIGPIPE, SIG_IGN);
	rc = listen_both(addr, &tcp_fd, &udp_fd);
	while (rc == 0 && hang)
		pause();
	return rc != 0 ? rc : serve(tcp_fd, udp_fd);
}
