/* serve.c - the servers' command line, stop signals, message log and life cycle. */
#include "serve.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"
#include "util.h"

/* -b BYTES, --socket-buffer BYTES or --socket-budget BYTES in a program without that setting. */
static int refuse_option(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	(void)dest;
	snprintf(err, errlen, "%s '%s': not an option of this program", name, arg);
	return -1;
}

/* Parses argv into o (defaults first), accepting the options in the serve_option bits of s's options;
 * --help, --version and a usage error are printed here. */
static enum cli_outcome parse(int argc, char **argv, struct serve_opts *o, const struct serve_server *s)
{
	unsigned options = s->options;
	static const struct cli_option no_buffer = {NULL, 'b', CLI_CUSTOM, .dest = NULL,
	                                            .custom = refuse_option};
	const struct cli_option buffer = {
	    NULL,
	    'b',
	    CLI_UNSIGNED,
	    CLI_INTEGER(o->bufsize),
	    .min = 1,
	    .max = SERVE_MAX_BUF,
	    .flags = CLI_SUFFIXES | CLI_QUOTE_VALUE,
	    .reason = "expected a byte count from 1 to 1G (suffix k, m or g allowed)"};
	const struct cli_option socket_buffer = {
	    "socket-buffer",
	    0,
	    CLI_UNSIGNED,
	    CLI_INTEGER(o->sockbuf),
	    .min = 0,
	    .max = SERVE_MAX_SOCKBUF,
	    .flags = CLI_SUFFIXES | CLI_QUOTE_VALUE,
	    .reason =
	        "expected a byte count from 0 (the kernel's autotuning) to 64m (suffix k or m allowed)"};
	static const struct cli_option no_socket_buffer = {"socket-buffer", 0, CLI_CUSTOM, .dest = NULL,
	                                                   .custom = refuse_option};
	const struct cli_option socket_budget = {
	    "socket-budget",
	    0,
	    CLI_UNSIGNED,
	    CLI_INTEGER(o->sockbudget),
	    .min = 1024 * 1024,
	    .max = SERVE_MAX_SOCKBUDGET,
	    .flags = CLI_SUFFIXES | CLI_QUOTE_VALUE,
	    .reason = "expected a byte count from 1m to 1024g (suffix k, m or g allowed)"};
	static const struct cli_option no_socket_budget = {"socket-budget", 0, CLI_CUSTOM, .dest = NULL,
	                                                   .custom = refuse_option};
	static const char default_addr[] = SERVE_DEFAULT_ADDR;
	char reason[64], why[256], err[512];
	enum cli_outcome outcome;
	const struct cli_option table[] = {{NULL, 'l', CLI_STRING, .dest = &o->addrstr},
	                                   {NULL, 't', CLI_UNSIGNED, CLI_INTEGER(o->threads), .min = 1,
	                                    .max = SERVE_MAX_THREADS, .flags = CLI_QUOTE_VALUE,
	                                    .reason = reason},
	                                   {NULL, 'v', CLI_FLAG, CLI_INTEGER(o->verbose)},
	                                   options & SERVE_OPT_BUF ? buffer : no_buffer,
	                                   options & SERVE_OPT_SOCKBUF ? socket_buffer : no_socket_buffer,
	                                   options & SERVE_OPT_SOCKBUF ? socket_budget : no_socket_budget,
	                                   {"inetd", 0, CLI_FLAG, CLI_INTEGER(o->inetd)},
	                                   {"help", 'h', CLI_HELP, .dest = NULL},
	                                   CLI_TABLE_END};

	memset(o, 0, sizeof *o);
	o->addrstr = default_addr;
	o->threads = 1;
	o->bufsize = SERVE_DEFAULT_BUF;
	o->sockbuf = SERVE_SOCKBUF_BUDGET;
	snprintf(reason, sizeof reason, "expected a thread count from 1 to %d", SERVE_MAX_THREADS);
	outcome = cli_outcome(cli_parse(table, argc, argv, err, sizeof err), s->prog, err, s->usage, stdout,
	                      stderr);
	if (outcome != CLI_OUTCOME_GO_ON)
		return outcome;
	if (o->inetd && !(options & SERVE_OPT_INETD))
		snprintf(err, sizeof err, "--inetd: not an option of this program");
	else if (o->inetd && (o->addrstr != default_addr || o->threads > 1))
		snprintf(err, sizeof err, "--inetd serves the connection on stdin: it contradicts %s",
		         o->addrstr != default_addr ? "-l" : "-t");
	else if (optind < argc)
		snprintf(err, sizeof err, "unexpected argument '%s'", argv[optind]);
	else if (net_parse_listen(o->addrstr, &o->addr, why, sizeof why) < 0)
		snprintf(err, sizeof err, "-l %s: %s", o->addrstr, why);
	else
		return CLI_OUTCOME_GO_ON;
	cli_usage_error(stderr, s->prog, err);
	return CLI_OUTCOME_BAD;
}

/* Blocks SIGINT and SIGTERM in the calling thread (threads created later inherit the mask) and ignores
 * SIGPIPE. Returns a signalfd that becomes readable on SIGINT/SIGTERM, or -1 (errno set). */
static int stop_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	/* A shell starts background jobs with SIGINT ignored, and an ignored signal never reaches a
	 * signalfd; B2 asks for SIGINT to stop the server, so take the default back (blocked below). */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Writes out[0..n) to fd whole, or drops it when fd is not writable now. Returns 0 or -1 (errno set). */
static int log_write(int fd, const char *out, size_t n)
{
	for (size_t w = 0; w < n;) {
		/* a log nobody reads (a full pipe, a stopped terminal) must not stall the server: the rest
		 * of the line is dropped instead */
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		if (poll(&pf, 1, 0) != 1 || !(pf.revents & POLLOUT)) {
			errno = EAGAIN;
			return -1;
		}
		ssize_t k = write(fd, out + w, n - w);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		w += (size_t)k;
	}
	return 0;
}

int serve_log(int fd, const char *prefix, const unsigned char *p, size_t n)
{
	/* chunks of at most PIPE_BUF: a pipe that polls writable takes one whole without blocking */
	char out[PIPE_BUF];
	size_t o = strlen(prefix);

	if (o > 64)
		o = 64;
	memcpy(out, prefix, o);
	for (size_t i = 0; i < n; i++) {
		if (o + 5 > sizeof out) {
			if (log_write(fd, out, o) < 0)
				return -1;
			o = 0;
		}
		o += rep_escape_byte(out + o, p[i]);
	}
	out[o++] = '\n';
	return log_write(fd, out, o);
}

/* Parses the command line into o; --help, --version and a bad option are answered here. Returns 0 when
 * the server should go on, or 1 when it should exit with *status now. */
static int command_line(int argc, char **argv, const struct serve_server *s, struct serve_opts *o,
                        int *status)
{
	switch (parse(argc, argv, o, s)) {
	case CLI_OUTCOME_GO_ON:
		return 0;
	case CLI_OUTCOME_HELP:
		*status = 0;
		if (util_flush_ok(stdout) < 0) {
			fprintf(stderr, "%s: stdout: %s\n", s->prog, strerror(errno));
			*status = 2;
		}
		return 1;
	case CLI_OUTCOME_BAD:
		break;
	}
	*status = 2;
	return 1;
}

static struct serve_worker *worker_at(const struct serve_server *s, unsigned char *ws, int i)
{
	return (struct serve_worker *)(void *)(ws + (size_t)i * s->size);
}

void serve_worker_fail(struct serve_worker *w, const char *what)
{
	uint64_t one = 1;

	snprintf(w->err, sizeof w->err, "%s: %s", what, strerror(errno));
	w->failed = 1;
	(void)!write(w->stopfd, &one, sizeof one);
}

/* Runs the workers of s on o's address until sigfd reports a stop signal or a worker fails. Returns the
 * exit status. */
static int run_workers(const struct serve_server *s, const struct serve_opts *o, int sigfd)
{
	struct net_addr bound, a = o->addr;
	char err[512], name[NET_ADDRSTRLEN];
	int stopfd, rc = 0, set = 0, started = 0;
	unsigned char *ws;

	stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ws = calloc((size_t)o->threads, s->size);
	if (stopfd < 0 || ws == NULL) {
		fprintf(stderr, "%s: setup: %s\n", s->prog, strerror(errno));
		rc = 1;
		goto out;
	}
	/* SO_REUSEPORT would let this server silently share a port another one serves. */
	if (net_check_free(&a, s->type, err, sizeof err) < 0) {
		fprintf(stderr, "%s: %s\n", s->prog, err);
		rc = 2;
		goto out;
	}
	for (; set < o->threads; set++) {
		struct serve_worker *w = worker_at(s, ws, set);
		w->o = o;
		w->stopfd = stopfd;
		if (s->setup(w, &a, o->threads > 1, &bound) < 0) {
			fprintf(stderr, "%s: %s\n", s->prog, w->err);
			set++; /* clean up this one too */
			rc = 2;
			goto out;
		}
		if (set == 0)
			net_set_port(&a,
			             net_port((struct sockaddr *)&bound.ss)); /* port 0: the others join it */
	}
	fprintf(stderr, "listening on %s %s\n", s->proto,
	        net_format((struct sockaddr *)&bound.ss, name, sizeof name));
	fflush(stderr);

	for (; started < o->threads; started++) {
		int e =
		    pthread_create(&worker_at(s, ws, started)->th, NULL, s->run, worker_at(s, ws, started));
		if (e != 0) {
			fprintf(stderr, "%s: pthread_create: %s\n", s->prog, strerror(e));
			rc = 1;
			break;
		}
	}
	if (rc == 0) {
		/* Wait for a stop signal, or for a worker that failed (it signals the stop eventfd). */
		struct pollfd pf[2] = {{.fd = sigfd, .events = POLLIN}, {.fd = stopfd, .events = POLLIN}};
		while (poll(pf, 2, -1) < 0 && errno == EINTR)
			;
	}
	uint64_t one = 1;
	if (write(stopfd, &one, sizeof one) < 0)
		rc = 1;
	for (int i = 0; i < started; i++) {
		struct serve_worker *w = worker_at(s, ws, i);
		pthread_join(w->th, NULL);
		if (w->failed) {
			fprintf(stderr, "%s: thread %d: %s\n", s->prog, i, w->err);
			rc = 1;
		}
	}
out:
	for (int i = 0; i < set; i++)
		s->cleanup(worker_at(s, ws, i));
	free(ws);
	if (stopfd >= 0)
		close(stopfd);
	return rc;
}

int serve_main(const struct serve_server *s, int argc, char **argv)
{
	struct serve_opts o;
	int sigfd, rc;

	if (command_line(argc, argv, s, &o, &rc))
		return rc;
	sigfd = stop_signals();
	if (sigfd < 0) {
		fprintf(stderr, "%s: signalfd: %s\n", s->prog, strerror(errno));
		return 1;
	}
	if (o.inetd) {
		rc = s->inetd(&o, sigfd);
	} else {
		(void)util_raise_nofile(LONG_MAX); /* as many connections as the hard limit allows */
		rc = run_workers(s, &o, sigfd);
	}
	close(sigfd);
	return rc;
}
