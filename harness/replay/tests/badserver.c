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

#include "net.h"
#include "upper.h"

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

int main(int argc, char **argv)
{
	const char *listen_at = "127.0.0.1:0";
	struct net_addr a, bound;
	char e[256], name[NET_ADDRSTRLEN];
	int fin_rst = 0, silent = 0, endless = 0, i, lfd;
	long drop = -1, only = 0, conns = 0, flip = -1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--fin-rst")) {
			fin_rst = 1;
		} else if (!strcmp(argv[i], "--drop") && i + 1 < argc) {
			drop = atol(argv[++i]);
		} else if (!strcmp(argv[i], "--silent")) {
			silent = 1;
		} else if (!strcmp(argv[i], "--endless")) {
			endless = 1;
		} else if (!strcmp(argv[i], "--sigpipe")) {
			send_flags = 0;
		} else if (!strcmp(argv[i], "--udp-flip") && i + 1 < argc) {
			flip = atol(argv[++i]);
		} else if (!strcmp(argv[i], "--conn") && i + 1 < argc) {
			only = atol(argv[++i]);
		} else if (!strcmp(argv[i], "-l") && i + 1 < argc) {
			listen_at = argv[++i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!fin_rst && drop < 0 && flip < 0 && send_flags && !silent && !endless) {
		usage(stderr);
		return 2;
	}
	if (send_flags)
		signal(SIGPIPE, SIG_IGN);
	if (net_parse(listen_at, &a, e, sizeof e) < 0)
		errx(2, "-l %s: %s", listen_at, e);
	lfd = net_listen(&a, flip >= 0 ? SOCK_DGRAM : SOCK_STREAM, 0, 16, &bound, e, sizeof e);
	if (lfd < 0)
		errx(2, "%s", e);
	if (flip >= 0) {
		static unsigned char dg[65536];
		net_nonblock(lfd, 0);
		fprintf(stderr, "listening on udp %s\n", net_format((struct sockaddr *)&bound.ss, name, sizeof name));
		for (;;) {
			struct sockaddr_storage from;
			socklen_t fl = sizeof from;
			ssize_t n = recvfrom(lfd, dg, sizeof dg, 0, (struct sockaddr *)&from, &fl);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				err(1, "recvfrom");
			}
			if (silent)
				continue;
			upper_transform(dg, dg, (size_t)n);
			if (flip < n)
				dg[flip] ^= 0x01;
			sendto(lfd, dg, (size_t)n, 0, (struct sockaddr *)&from, fl);
		}
	}
	net_nonblock(lfd, 0);
	fprintf(stderr, "listening on tcp %s\n", net_format((struct sockaddr *)&bound.ss, name, sizeof name));
	for (;;) {
		unsigned char buf[65536];
		long off = 0;
		int fd = accept(lfd, NULL, NULL), bad;
		ssize_t n;
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			err(1, "accept");
		}
		bad = !only || ++conns == only;
		if (silent)
			continue; /* the descriptor stays open: a peer that never answers */
		if (endless) {
			memset(buf, 0xa5, sizeof buf);
			while (send_all(fd, buf, sizeof buf) == 0)
				;
			close(fd);
			continue;
		}
		while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
			upper_transform(buf, buf, (size_t)n);
			if (bad && drop >= off && drop < off + n) {
				size_t at = (size_t)(drop - off);
				if (send_all(fd, buf, at) < 0 || send_all(fd, buf + at + 1, (size_t)n - at - 1) < 0)
					break;
			} else if (send_all(fd, buf, (size_t)n) < 0) {
				break;
			}
			off += n;
		}
		if (n < 0 && bad && !send_flags) /* --sigpipe: flush owed output into the reset connection */
			send_all(fd, buf, 1);
		if (n == 0 && bad && fin_rst) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		}
		close(fd);
	}
}
