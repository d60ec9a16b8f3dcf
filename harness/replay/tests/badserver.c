/* badserver.c - an uppercase TCP or UDP server with one planted bug, for the replay tests: replay must
 * exit 1 and name the right flow and offset. One connection at a time (the tests replay with -j 1). */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "net.h"
#include "upper.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: badserver [-l ADDR:PORT] (--fin-rst | --drop OFFSET | --sigpipe) [--conn K]\n"
	           "       badserver [-l ADDR:PORT] (--silent | --endless)\n"
	           "       badserver [-l ADDR:PORT] --udp-flip OFFSET\n"
	           "An uppercase TCP or UDP server with a planted bug, for replay's tests:\n"
	           "  --fin-rst     answer the client's FIN with RST instead of FIN (breaks SPEC T4)\n"
	           "  --drop OFF    never send the reply byte at stream offset OFF (breaks T1)\n"
	           "  --sigpipe     leave SIGPIPE on: a client that resets while output is owed kills the\n"
	           "                server (breaks T6)\n"
	           "  --silent      TCP: accept, then never read or answer (UDP too with --udp-flip)\n"
	           "  --endless     TCP: accept, then send endless garbage without reading\n"
	           "  --conn K      misbehave on the K-th accepted connection only (default: every one)\n"
	           "  --udp-flip OFF  serve UDP; every reply longer than OFF has byte OFF changed (same\n"
	           "                length, wrong content: breaks X1)\n"
	           "  -l ADDR:PORT  listen address (default 127.0.0.1:0); first stderr line\n"
	           "                'listening on tcp ADDR:PORT' (udp with --udp-flip)\n"
	           "Serves until killed. Exit status 2 on a usage or setup error.\n");
}

static int send_flags = MSG_NOSIGNAL;

static int send_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, send_flags);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && !send_flags) /* --sigpipe: write on after the reset, as careless servers do */
			k = send(fd, p, n, 0);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The planted bug and where to listen. */
struct bad {
	const char *listen_at;
	int fin_rst, silent, endless;
	long drop, only, flip; /* -1: not asked (only 0: every connection) */
};

/* Fills *b from the command line. Returns 0, 1 after --help, or -1 on a usage error (err says which
 * option, or is empty when no planted bug was asked for). */
static int parse_args(int argc, char **argv, struct bad *b, char *err, size_t errlen)
{
	int sigpipe = 0;
	const struct cli_option options[] = {
	    {"fin-rst", 0, CLI_FLAG, CLI_INTEGER(b->fin_rst)},
	    {"silent", 0, CLI_FLAG, CLI_INTEGER(b->silent)},
	    {"endless", 0, CLI_FLAG, CLI_INTEGER(b->endless)},
	    {"sigpipe", 0, CLI_FLAG, CLI_INTEGER(sigpipe)},
	    {"drop", 0, CLI_UNSIGNED, CLI_INTEGER(b->drop), .max = (uint64_t)1 << 40},
	    {"udp-flip", 0, CLI_UNSIGNED, CLI_INTEGER(b->flip), .max = (uint64_t)1 << 40},
	    {"conn", 0, CLI_UNSIGNED, CLI_INTEGER(b->only), .max = (uint64_t)1 << 40},
	    {NULL, 'l', CLI_STRING, .dest = &b->listen_at},
	    {"help", 'h', CLI_HELP, .dest = NULL},
	    CLI_TABLE_END};

	memset(b, 0, sizeof *b);
	b->listen_at = "127.0.0.1:0";
	b->drop = b->flip = -1;
	err[0] = '\0';
	switch (cli_parse(options, argc, argv, err, errlen)) {
	case CLI_PARSE_OK:
		break;
	case CLI_PARSE_HELP:
	case CLI_PARSE_VERSION: /* a test server: its help says all */
		return 1;
	case CLI_PARSE_MISSING_ARGUMENT:
	case CLI_PARSE_BAD_OPTION:
	case CLI_PARSE_BAD_VALUE:
		return -1;
	}
	if (optind != argc) {
		snprintf(err, errlen, "unexpected argument %s", argv[optind]);
		return -1;
	}
	if (sigpipe)
		send_flags = 0;
	return !b->fin_rst && b->drop < 0 && b->flip < 0 && send_flags && !b->silent && !b->endless ? -1 : 0;
}

/* --udp-flip: answers every datagram, with byte flip changed in replies longer than flip. */
static void serve_udp(int fd, const struct bad *b)
{
	static unsigned char dg[65536];

	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(fd, dg, sizeof dg, 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err(1, "recvfrom");
		}
		if (b->silent)
			continue;
		upper_transform(dg, dg, (size_t)n);
		if (b->flip < n)
			dg[b->flip] ^= 0x01;
		sendto(fd, dg, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

/* One accepted TCP connection; bad: this is the connection to misbehave on. */
static void serve_tcp(int fd, const struct bad *b, int bad)
{
	unsigned char buf[65536];
	long off = 0;
	ssize_t n;

	if (b->endless) {
		memset(buf, 0xa5, sizeof buf);
		while (send_all(fd, buf, sizeof buf) == 0)
			;
		return;
	}
	while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
		upper_transform(buf, buf, (size_t)n);
		if (bad && b->drop >= off && b->drop < off + n) {
			size_t at = (size_t)(b->drop - off);
			if (send_all(fd, buf, at) < 0 || send_all(fd, buf + at + 1, (size_t)n - at - 1) < 0)
				return;
		} else if (send_all(fd, buf, (size_t)n) < 0) {
			return;
		}
		off += n;
	}
	if (n < 0 && bad && !send_flags) /* --sigpipe: flush owed output into the reset connection */
		send_all(fd, buf, 1);
	if (n == 0 && bad && b->fin_rst) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
}

int main(int argc, char **argv)
{
	struct bad b;
	struct net_addr a, bound;
	char e[256], name[NET_ADDRSTRLEN];
	int lfd, p = parse_args(argc, argv, &b, e, sizeof e);
	long conns = 0;

	if (p != 0) {
		if (p < 0 && e[0] != '\0')
			fprintf(stderr, "badserver: %s\n", e);
		usage(p > 0 ? stdout : stderr);
		return p > 0 ? 0 : 2;
	}
	if (send_flags)
		signal(SIGPIPE, SIG_IGN);
	if (net_parse_listen(b.listen_at, &a, e, sizeof e) < 0)
		errx(2, "-l %s: %s", b.listen_at, e);
	lfd = net_listen(&a, b.flip >= 0 ? SOCK_DGRAM : SOCK_STREAM, 0, 16, &bound, e, sizeof e);
	if (lfd < 0)
		errx(2, "%s", e);
	net_nonblock(lfd, 0);
	fprintf(stderr, "listening on %s %s\n", b.flip >= 0 ? "udp" : "tcp",
	        net_format((struct sockaddr *)&bound.ss, name, sizeof name));
	if (b.flip >= 0)
		serve_udp(lfd, &b);
	for (;;) {
		int fd = accept(lfd, NULL, NULL), bad;
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			err(1, "accept");
		}
		bad = !b.only || ++conns == b.only;
		if (b.silent)
			continue; /* the descriptor stays open: a peer that never answers */
		serve_tcp(fd, &b, bad);
		close(fd);
	}
}
