/* loop.c - options, descriptor limit, stop signals and message log shared by the servers. */
#include "loop.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	unsigned long long unit = 1;
	if (*end == 'k' || *end == 'K')
		unit = 1024ull;
	else if (*end == 'm' || *end == 'M')
		unit = 1024ull * 1024ull;
	else if (*end == 'g' || *end == 'G')
		unit = 1024ull * 1024ull * 1024ull;
	if (unit > 1)
		end++;
	/* compare before multiplying: 18014398509481985k must not wrap around to 1024 */
	if (*end != '\0' || v == 0 || v > (1ull << 30) / unit)
		return -1;
	v *= unit;
	if (v > (1ull << 30))
		return -1;
	*out = (size_t)v;
	return 0;
}

int loop_parse(int argc, char **argv, struct loop_opts *o, int allow_inetd, int allow_buf, char *err,
	       size_t errlen)
{
	static const struct option longs[] = {
		{"help", no_argument, NULL, 'h'},
		{"inetd", no_argument, NULL, 'i'},
		{NULL, 0, NULL, 0},
	};
	char aerr[256];
	int c;

	memset(o, 0, sizeof *o);
	o->addrstr = LOOP_DEFAULT_ADDR;
	o->threads = 1;
	o->bufsize = LOOP_DEFAULT_BUF;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":l:t:vb:h", longs, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->addrstr = optarg;
			break;
		case 't': {
			char *end;
			long t = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || t < 1 || t > LOOP_MAX_THREADS) {
				snprintf(err, errlen, "-t '%s': expected a thread count from 1 to %d", optarg,
					 LOOP_MAX_THREADS);
				return -1;
			}
			o->threads = (int)t;
			break;
		}
		case 'v':
			o->verbose = 1;
			break;
		case 'b':
			if (!allow_buf || parse_size(optarg, &o->bufsize) < 0) {
				snprintf(err, errlen, allow_buf ? "-b '%s': expected a byte count from 1 to 1G (suffix k, m or g allowed)"
								: "-b '%s': not an option of this program",
					 optarg);
				return -1;
			}
			break;
		case 'i':
			if (!allow_inetd) {
				snprintf(err, errlen, "--inetd: not an option of this program");
				return -1;
			}
			o->inetd = 1;
			break;
		case 'h':
			return 1;
		case ':':
			snprintf(err, errlen, "option -%c needs an argument", optopt);
			return -1;
		default:
			if (optopt != 0)
				snprintf(err, errlen, "unknown option -%c", optopt);
			else
				snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (net_parse(o->addrstr, &o->addr, aerr, sizeof aerr) < 0) {
		snprintf(err, errlen, "-l %s", aerr);
		return -1;
	}
	return 0;
}

long loop_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}

int loop_signals(void)
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

int loop_log(int fd, const char *prefix, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	/* chunks of at most PIPE_BUF: a pipe that polls writable takes one whole without blocking */
	char out[PIPE_BUF];
	size_t o = 0, plen = strlen(prefix);

	if (plen > 64)
		plen = 64;
	memcpy(out, prefix, plen);
	o = plen;
	for (size_t i = 0; i <= n; i++) {
		/* Flush when the next escape might not fit, and at the end with the newline. */
		if (i == n || o + 5 > sizeof out) {
			if (i == n)
				out[o++] = '\n';
			for (size_t w = 0; w < o;) {
				/* a log nobody reads (a full pipe, a stopped terminal) must not stall the server:
				 * the rest of the line is dropped instead */
				struct pollfd pf = {.fd = fd, .events = POLLOUT};
				if (poll(&pf, 1, 0) != 1 || !(pf.revents & POLLOUT)) {
					errno = EAGAIN;
					return -1;
				}
				ssize_t k = write(fd, out + w, o - w);
				if (k < 0 && errno == EINTR)
					continue;
				if (k <= 0)
					return -1;
				w += (size_t)k;
			}
			o = 0;
			if (i == n)
				break;
		}
		unsigned char c = p[i];
		if (c == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c == '\r') {
			out[o++] = '\\';
			out[o++] = 'r';
		} else if (c == '\t') {
			out[o++] = '\\';
			out[o++] = 't';
		} else if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	return 0;
}

int loop_cli(int argc, char **argv, struct loop_opts *o, const char *prog, int allow_inetd, int allow_buf,
	     void (*usage)(FILE *))
{
	char err[512];
	int pr = loop_parse(argc, argv, o, allow_inetd, allow_buf, err, sizeof err);

	if (pr == 1) {
		usage(stdout);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "%s: stdout: %s\n", prog, strerror(errno));
			return 2;
		}
		return 0;
	}
	if (pr < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		usage(stderr);
		return 2;
	}
	return -1;
}

static struct loop_worker *worker_at(const struct loop_server *s, unsigned char *ws, int i)
{
	return (struct loop_worker *)(void *)(ws + (size_t)i * s->size);
}

int loop_serve(const struct loop_server *s, const struct loop_opts *o, int sigfd)
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
		struct loop_worker *w = worker_at(s, ws, set);
		w->o = o;
		w->stopfd = stopfd;
		if (s->setup(w, &a, o->threads > 1, &bound) < 0) {
			fprintf(stderr, "%s: %s\n", s->prog, w->err);
			set++; /* clean up this one too */
			rc = 2;
			goto out;
		}
		if (set == 0)
			net_set_port(&a, net_port((struct sockaddr *)&bound.ss)); /* port 0: the others join it */
	}
	fprintf(stderr, "listening on %s %s\n", s->proto, net_format((struct sockaddr *)&bound.ss, name, sizeof name));
	fflush(stderr);

	for (; started < o->threads; started++) {
		int e = pthread_create(&worker_at(s, ws, started)->th, NULL, s->run, worker_at(s, ws, started));
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
		struct loop_worker *w = worker_at(s, ws, i);
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
