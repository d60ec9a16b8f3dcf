/* upper_client.c - the tutorial's interactive client of the uppercase protocol, for TCP or UDP. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "exchange.h"
#include "net.h"
#include "util.h"

#define CHUNK 65536

static const char *target; /* HOST:PORT as given, for messages */

/* Output that could not be written is an error (stdout on a full disk, a closed pipe). */
static int stdout_ok(void)
{
	if (util_flush_ok(stdout) == 0)
		return 1;
	fprintf(stderr, "upper-client: stdout: %s\n", strerror(errno));
	return 0;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: upper-client [-u] [-w SECONDS] HOST:PORT\n"
	    "Client of the uppercase protocol (SPEC.md).\n"
	    "  -u          UDP instead of TCP\n"
	    "  -w SECONDS  how long to wait for a reply that makes no progress, as nc's -w (default 2;\n"
	    "              a unit is allowed: 500ms, 2s, 1m; at most 10m)\n"
	    "  --help      this text;  --version  the version\n"
	    "On a terminal it prompts '>>> ', skips empty lines, sends each line without its newline and "
	    "prints\n"
	    "the reply followed by a newline.\n"
	    "On a pipe there is no prompt. TCP: standard input is sent as it is, newlines included and\n"
	    "binary-safe, and the reply stream is copied to standard output; at end of input the client\n"
	    "half-closes and exits once every byte owed is back. UDP: each non-empty line, without its "
	    "newline,\n"
	    "is one datagram; each reply is printed followed by a newline.\n"
	    "Exit status: 0 when every reply came back whole, 1 otherwise (a reply missing, short, longer "
	    "than\n"
	    "the request, or stdout not writable), 2 on a usage or set-up error (bad option or address, the\n"
	    "server unreachable).\n"
	    "Examples:\n"
	    "  printf 'hello\\n' | upper-client 127.0.0.1:8082\n"
	    "  printf 'hello\\n' | upper-client -u -w 500ms 127.0.0.1:8082\n");
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

/* The exchange's hook: the server's bytes go to stdout as they come. A write error stops the run
 * (its errno kept in *arg). */
static int copy_out(void *arg, const struct xchg_conn *c, enum xchg_event ev, const unsigned char *p,
                    size_t n)
{
	(void)c;
	if (ev != XCHG_EV_RECV || write_all(1, p, n) == 0)
		return 0;
	*(int *)arg = errno;
	return -1;
}

/* Runs the exchange of c with its answer copied to stdout, waiting at most wait_ms without progress.
 * Returns 0 when it is complete, or -1 with the reason printed. */
static int run_tcp(struct xchg_conn *c, int wait_ms)
{
	struct xchg_limits l = {.idle_ms = wait_ms};
	struct xchg_run_result r;
	const struct xchg_oracle *o = &c->oracle;
	int out_errno = 0;
	char err[256];

	c->hook = copy_out;
	c->hook_arg = &out_errno;
	xchg_run(c, 1, &l, &r, err, sizeof err);
	switch (r.status) {
	case XCHG_RUN_DONE:
		return 0;
	case XCHG_RUN_HOOK:
		fprintf(stderr, "upper-client: stdout: %s\n", strerror(out_errno));
		return -1;
	case XCHG_RUN_ERROR:
		fprintf(stderr, "upper-client: %s%s\n", strncmp(err, "source:", 7) == 0 ? "stdin:" : "",
		        strncmp(err, "source:", 7) == 0 ? err + 7 : err);
		return -1;
	case XCHG_RUN_IDLE:
	case XCHG_RUN_BUDGET:
		fprintf(stderr, "upper-client: %s: no %s within %d ms (%zu of %zu bytes back)\n", target,
		        c->shut_done && o->got == o->sent ? "close after the last byte" : "reply", wait_ms,
		        o->got, o->sent);
		return -1;
	default:
		break;
	}
	if (o->verdict ==
	    XCHG_EXTRA_BYTES) /* T1; and a server that floods must not keep us copying forever */
		fprintf(stderr, "upper-client: server %s sent %zu bytes for the %zu it was sent\n", target,
		        o->got, o->sent);
	else if (o->verdict == XCHG_RESET && c->reset_on_send)
		fprintf(stderr, "upper-client: send: %s\n", strerror(c->error));
	else if (o->verdict == XCHG_RESET && c->shut_done && o->got == o->sent)
		return 0; /* every byte came back: how the server then closes is its business */
	else
		fprintf(stderr, "upper-client: server %s %s after %zu of %zu bytes\n", target,
		        o->rst ? strerror(c->error) : "closed", o->got, o->sent);
	return -1;
}

/* Terminal mode, both transports: one line at a time, the reply printed under it. */
static int run_tty(int fd, int udp, int wait_ms)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

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
		if (!udp) {
			/* counts only (the client shows what comes, it does not judge it), and no more
			 * than this line's answer is read */
			struct xchg_expect e = {
			    .mode = XCHG_MODE_LENGTH, .sent = (unsigned char *)line, .sent_len = (size_t)n};
			struct xchg_conn c;
			xchg_conn_init(&c, fd, 1, &e);
			c.hold = 1;
			if (run_tcp(&c, wait_ms) < 0) {
				rc = 1;
				break;
			}
		} else if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
			fprintf(stderr, "upper-client: send: %s\n", strerror(errno));
			rc = 1;
			break;
		} else {
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
			fprintf(stderr, "upper-client: %s: send of a %zd byte datagram: %s\n", target, n,
			        strerror(e));
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
			fprintf(stderr, "upper-client: %s: nothing is listening (%s)\n", target,
			        strerror(errno));
			rc = 2;
			break;
		}
		if (k < 0) {
			fprintf(stderr,
			        "upper-client: %s: no reply to a %zd byte datagram within %d ms%s%s\n",
			        target, n, wait_ms, r > 0 ? ": " : "", r > 0 ? strerror(errno) : "");
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
	static unsigned char in[CHUNK];
	/* counts only: the client shows what comes back, it does not judge it */
	struct xchg_expect e = {.mode = XCHG_MODE_LENGTH, .endless = 1, .half_close = 1};
	struct xchg_conn c;

	xchg_conn_init(&c, fd, 1, &e);
	c.source_fd = 0;
	c.source_buf = in;
	c.source_cap = sizeof in;
	c.rchunk = CHUNK;
	return run_tcp(&c, wait_ms) < 0 ? 1 : 0;
}

/* Parses the options into *udp and *wait_ms. Returns -1 when they are right (optind then at the
 * address), otherwise the exit status, the reason printed. */
static int parse_options(int argc, char **argv, int *udp, int *wait_ms)
{
	double wait_s = *wait_ms / 1000.0;
	const struct cli_option options[] = {
	    {NULL, 'u', CLI_FLAG, CLI_INTEGER(*udp)},
	    {NULL, 'w', CLI_SECONDS, .dest = &wait_s, .min_seconds = 0.001, .max_seconds = 600},
	    {"help", 'h', CLI_HELP, .dest = NULL},
	    CLI_TABLE_END};
	char err[256];

	switch (cli_outcome(cli_parse(options, argc, argv, err, sizeof err), "upper-client", err, usage,
	                    stdout, stderr)) {
	case CLI_OUTCOME_GO_ON:
		break;
	case CLI_OUTCOME_HELP:
		return stdout_ok() ? 0 : 2;
	case CLI_OUTCOME_BAD:
		return 2;
	}
	*wait_ms = (int)(wait_s * 1000 + 0.5);
	if (optind != argc - 1) {
		cli_usage_error(stderr, "upper-client", "expected one HOST:PORT");
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct net_addr a;
	char err[512];
	int udp = 0, wait_ms = 2000, fd, rc;

	rc = parse_options(argc, argv, &udp, &wait_ms);
	if (rc >= 0)
		return rc;
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
