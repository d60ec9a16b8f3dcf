/* upper_client.c - the tutorial's interactive client of the uppercase protocol, for TCP or UDP. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

#define CHUNK 65536

static const char *target; /* HOST:PORT as given, for messages */

/* Output that could not be written is an error (stdout on a full disk, a closed pipe). */
static int stdout_ok(void)
{
	int e = fflush(stdout) != 0 ? errno : 0;
	if (e == 0 && !ferror(stdout))
		return 1;
	fprintf(stderr, "upper-client: stdout: %s\n", strerror(e ? e : EIO));
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: upper-client [-u] [-w MS] HOST:PORT\n"
		"Client of the uppercase protocol (SPEC.md).\n"
		"  -u     UDP instead of TCP\n"
		"  -w MS  how long to wait for a reply that makes no progress (default 2000)\n"
		"  --help this text\n"
		"On a terminal it prompts '>>> ', skips empty lines, sends each line without its newline and prints\n"
		"the reply followed by a newline.\n"
		"On a pipe there is no prompt. TCP: standard input is sent as it is, newlines included and\n"
		"binary-safe, and the reply stream is copied to standard output; at end of input the client\n"
		"half-closes and exits once every byte owed is back. UDP: each non-empty line, without its newline,\n"
		"is one datagram; each reply is printed followed by a newline.\n"
		"Exit status: 0 when every reply came back whole, 1 otherwise (a reply missing, short, longer than\n"
		"the request, or stdout not writable), 2 on a usage or set-up error (bad option or address, the\n"
		"server unreachable).\n");
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static int write_all(int fd, const void *p, size_t n)
{
	const unsigned char *b = p;
	while (n > 0) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Waits up to wait_ms of no progress for exactly want bytes on fd, copying them to stdout. Returns 0
 * when they all came, -1 otherwise with a reason in err. */
static int tcp_collect(int fd, size_t want, int wait_ms, char *err, size_t errlen)
{
	unsigned char buf[CHUNK];
	size_t got = 0;

	while (got < want) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int r = poll(&pf, 1, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "%s: no reply within %d ms (%zu of %zu bytes back)", target, wait_ms, got,
				 want);
			return -1;
		}
		size_t room = want - got < sizeof buf ? want - got : sizeof buf;
		ssize_t k = recv(fd, buf, room, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(err, errlen, "server %s %s after %zu of %zu bytes", target,
				 k == 0 ? "closed" : strerror(errno), got, want);
			return -1;
		}
		if (write_all(1, buf, (size_t)k) < 0) {
			snprintf(err, errlen, "stdout: %s", strerror(errno));
			return -1;
		}
		got += (size_t)k;
	}
	return 0;
}

/* Terminal mode, both transports: one line at a time, the reply printed under it. */
static int run_tty(int fd, int udp, int wait_ms)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	char err[256];

	for (;;) {
		fputs(">>> ", stdout);
		fflush(stdout);
		n = getline(&line, &cap, stdin);
		if (n < 0)
			break;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
			fprintf(stderr, "upper-client: send: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		if (udp) {
			unsigned char buf[65536];
			struct pollfd pf = {.fd = fd, .events = POLLIN};
			ssize_t k = -1;
			if (poll(&pf, 1, wait_ms) > 0)
				k = recv(fd, buf, sizeof buf, 0);
			if (k < 0) {
				fprintf(stderr, "upper-client: %s: no reply within %d ms\n", target, wait_ms);
				rc = 1;
				continue;
			}
			fwrite(buf, 1, (size_t)k, stdout);
		} else if (tcp_collect(fd, (size_t)n, wait_ms, err, sizeof err) < 0) {
			fprintf(stderr, "upper-client: %s\n", err);
			rc = 1;
			break;
		}
		fputs("\n", stdout);
		if (!stdout_ok()) {
			rc = 1;
			break;
		}
	}
	if (n < 0)
		fputs("\n", stdout);
	free(line);
	return rc;
}

/* Pipe mode, UDP: one datagram per non-empty line, one reply awaited for each. */
static int run_udp_pipe(int fd, int wait_ms)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	unsigned char *buf = malloc(65536);

	if (buf == NULL) {
		fprintf(stderr, "upper-client: out of memory\n");
		return 1;
	}
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (n == 0)
			continue;
		if (send(fd, line, (size_t)n, 0) != n) {
			int e = errno;
			fprintf(stderr, "upper-client: %s: send of a %zd byte datagram: %s\n", target, n, strerror(e));
			if (e == ECONNREFUSED) { /* an ICMP port unreachable: nothing is listening there */
				rc = 2;
				break;
			}
			rc = 1;
			continue;
		}
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		ssize_t k = -1;
		int r;
		while ((r = poll(&pf, 1, wait_ms)) < 0 && errno == EINTR)
			;
		if (r > 0)
			k = recv(fd, buf, 65536, 0);
		if (k < 0 && r > 0 && errno == ECONNREFUSED) {
			fprintf(stderr, "upper-client: %s: nothing is listening (%s)\n", target, strerror(errno));
			rc = 2;
			break;
		}
		if (k < 0) {
			fprintf(stderr, "upper-client: %s: no reply to a %zd byte datagram within %d ms%s%s\n", target, n,
				wait_ms, r > 0 ? ": " : "", r > 0 ? strerror(errno) : "");
			rc = 1;
			continue;
		}
		if (write_all(1, buf, (size_t)k) < 0 || write_all(1, "\n", 1) < 0) {
			fprintf(stderr, "upper-client: stdout: %s\n", strerror(errno));
			rc = 1;
			break;
		}
	}
	free(line);
	free(buf);
	return rc;
}

/* Pipe mode, TCP: stdin to the socket and the socket to stdout at the same time (so a large input
 * never deadlocks against the server's backpressure); at stdin EOF half-close, then drain. */
static int run_tcp_pipe(int fd, int wait_ms)
{
	static unsigned char in[CHUNK], out[CHUNK];
	size_t ioff = 0, ilen = 0;
	unsigned long long sent = 0, got = 0;
	int in_eof = 0, shut = 0;
	long last = now_ms();

	if (net_nonblock(fd, 1) < 0) {
		fprintf(stderr, "upper-client: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = 0}};
		if (ilen > 0)
			pf[0].events |= POLLOUT;
		else if (!in_eof)
			pf[1].events = POLLIN;
		if (in_eof && ilen == 0 && !shut) {
			if (shutdown(fd, SHUT_WR) < 0) {
				fprintf(stderr, "upper-client: shutdown: %s\n", strerror(errno));
				return 1;
			}
			shut = 1;
			last = now_ms();
		}
		int r = poll(pf, 2, shut ? wait_ms : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "upper-client: poll: %s\n", strerror(errno));
			return 1;
		}
		if (r == 0 || (shut && now_ms() - last > wait_ms)) {
			fprintf(stderr, "upper-client: %s: no %s within %d ms (%llu of %llu bytes back)\n", target,
				got == sent ? "close after the last byte" : "reply", wait_ms, got, sent);
			return 1;
		}
		if (pf[0].revents & (POLLIN | POLLERR | POLLHUP)) {
			ssize_t k = recv(fd, out, sizeof out, 0);
			if (k > 0) {
				if (write_all(1, out, (size_t)k) < 0) {
					fprintf(stderr, "upper-client: stdout: %s\n", strerror(errno));
					return 1;
				}
				got += (unsigned long long)k;
				last = now_ms();
				/* more bytes back than were sent breaks T1; a server that floods must not keep
				 * the client copying forever */
				if (got > sent) {
					fprintf(stderr, "upper-client: server %s sent %llu bytes for the %llu it was sent\n",
						target, got, sent);
					return 1;
				}
			} else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
				if (shut && got == sent)
					return 0;
				fprintf(stderr, "upper-client: server %s %s after %llu of %llu bytes\n", target,
					k == 0 ? "closed" : strerror(errno), got, sent);
				return 1;
			}
		}
		if (ilen > 0 && (pf[0].revents & POLLOUT)) {
			ssize_t k = send(fd, in + ioff, ilen, MSG_NOSIGNAL);
			if (k > 0) {
				ioff += (size_t)k;
				ilen -= (size_t)k;
				sent += (unsigned long long)k;
			} else if (k < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "upper-client: send: %s\n", strerror(errno));
				return 1;
			}
		}
		if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t k = read(0, in, sizeof in);
			if (k > 0) {
				ioff = 0;
				ilen = (size_t)k;
			} else if (k == 0) {
				in_eof = 1;
			} else if (errno != EINTR && errno != EAGAIN) {
				fprintf(stderr, "upper-client: stdin: %s\n", strerror(errno));
				return 1;
			}
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct net_addr a;
	char err[512];
	int udp = 0, wait_ms = 2000, c, fd, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":uw:h", longs, NULL)) != -1) {
		switch (c) {
		case 'u':
			udp = 1;
			break;
		case 'w': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 1 || v > 3600000) {
				fprintf(stderr, "upper-client: -w '%s': expected milliseconds from 1 to 3600000\n", optarg);
				return 2;
			}
			wait_ms = (int)v;
			break;
		}
		case 'h':
			usage(stdout);
			return stdout_ok() ? 0 : 2;
		case ':':
			fprintf(stderr, "upper-client: option -%c needs an argument\n", optopt);
			usage(stderr);
			return 2;
		default:
			fprintf(stderr, "upper-client: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "upper-client: expected one HOST:PORT\n");
		usage(stderr);
		return 2;
	}
	if (net_parse(argv[optind], &a, err, sizeof err) < 0) {
		fprintf(stderr, "upper-client: %s\n", err);
		return 2;
	}
	target = argv[optind];
	signal(SIGPIPE, SIG_IGN);
	fd = net_connect(&a, udp ? SOCK_DGRAM : SOCK_STREAM, wait_ms, err, sizeof err);
	if (fd < 0) {
		fprintf(stderr, "upper-client: %s\n", err);
		return 2;
	}
	if (isatty(0))
		rc = run_tty(fd, udp, wait_ms);
	else if (udp)
		rc = run_udp_pipe(fd, wait_ms);
	else
		rc = run_tcp_pipe(fd, wait_ms);
	close(fd);
	if (!stdout_ok() && rc == 0)
		rc = 1;
	return rc;
}
