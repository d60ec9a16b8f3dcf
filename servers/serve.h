/* serve.h - what tcp-upper and udp-upper share around their own I/O loops: the command line, the stop
 * signals, the escaped "-v" message log and the server's life cycle (workers set up on one port, run
 * until a stop signal, then stopped and cleaned up). */
#ifndef SERVE_H
#define SERVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include "net.h"

#define SERVE_DEFAULT_ADDR "127.0.0.1:8082"
#define SERVE_DEFAULT_BUF (256u * 1024u) /* lent only while a connection holds bytes */
#define SERVE_MAX_BUF (1024u * 1024u * 1024u)
#define SERVE_MAX_THREADS 64
/* tcp-upper: --socket-buffer not given: each connection's SO_RCVBUF and SO_SNDBUF come from the budget
 * shared by the open connections (--socket-budget) */
#define SERVE_SOCKBUF_BUDGET ((size_t)-1)
#define SERVE_MAX_SOCKBUF (64u * 1024u * 1024u)
#define SERVE_MAX_SOCKBUDGET (1024ull * 1024u * 1024u * 1024u)

/* The servers' command line. */
struct serve_opts {
	struct net_addr addr; /* -l ADDR:PORT */
	const char *addrstr;  /* as given */
	int threads;          /* -t N, 1..SERVE_MAX_THREADS */
	int verbose;          /* -v */
	int inetd;            /* --inetd */
	size_t bufsize;       /* -b BYTES[k|m|g] per-connection buffer bound */
	size_t sockbuf;       /* --socket-buffer BYTES: kernel buffers per connection (0: the kernel's;
	                       * SERVE_SOCKBUF_BUDGET when not given) */
	size_t sockbudget;    /* --socket-budget BYTES: the connections' kernel buffers together (0: from
	                       * the host's tcp_mem) */
};

/* Options a server accepts besides -l, -t, -v and --help (struct serve_server.options). */
enum serve_option {
	SERVE_OPT_INETD = 1,  /* --inetd */
	SERVE_OPT_BUF = 2,    /* -b BYTES */
	SERVE_OPT_SOCKBUF = 4 /* --socket-buffer BYTES and --socket-budget BYTES */
};

/* Writes one log line "PREFIXescaped\n" to fd, each byte as rep_escape_byte() renders it (printable
 * ASCII as is, backslash doubled, \n \r \t, other bytes as \xHH), so that binary input is safe on a
 * terminal. Never blocks: when fd is not writable (a pipe nobody reads) the rest of the line is
 * dropped. Returns 0 or -1 (errno set, EAGAIN when dropped). */
int serve_log(int fd, const char *prefix, const unsigned char *p, size_t n);

/* The part of a server's worker thread that serve_main() manages. It is the first member of each
 * server's own worker struct, so a struct serve_worker * converts to and from the server's type. */
struct serve_worker {
	const struct serve_opts *o;
	int stopfd; /* eventfd that becomes readable when the server stops: the worker returns */
	pthread_t th;
	char err[256]; /* why setup or the worker failed */
	int failed;    /* set by a worker that stopped on an error (it also writes stopfd) */
};

/* Ends a worker on an error: stores "what: strerror(errno)" in w->err, sets w->failed and wakes the main
 * thread and the other workers through w->stopfd, so the server stops with exit status 1. */
void serve_worker_fail(struct serve_worker *w, const char *what);

/* A server, described for serve_main(). */
struct serve_server {
	const char *prog;       /* program name, for messages */
	const char *proto;      /* "tcp" or "udp", for the listening line */
	int type;               /* SOCK_STREAM or SOCK_DGRAM */
	unsigned options;       /* serve_option bits: the options it accepts besides the common ones */
	void (*usage)(FILE *f); /* writes the help text to f */
	size_t size;            /* bytes of one worker; struct serve_worker is its first member */
	/* Sets up a zero-filled worker whose serve_worker part is filled: its own socket bound to a (with
	 * SO_REUSEPORT when reuseport), the address actually bound stored in bound. Returns 0, or -1 with a
	 * reason in w->err. */
	int (*setup)(struct serve_worker *w, const struct net_addr *a, int reuseport, struct net_addr *bound);
	void *(*run)(void *w);                   /* the thread body */
	void (*cleanup)(struct serve_worker *w); /* releases what setup took, also after a failed setup */
	/* With SERVE_OPT_INETD: serves the one connection on stdin/stdout until it ends or sigfd (a
	 * signalfd of SIGINT/SIGTERM) is readable. Returns the exit status. */
	int (*inetd)(const struct serve_opts *o, int sigfd);
};

/* A server's main(): parses the command line (--help prints s->usage to stdout, a bad option a message
 * naming it and the usage to stderr), blocks SIGINT and SIGTERM into a signalfd and ignores SIGPIPE, then
 * serves --inetd through s->inetd, or raises the descriptor limit to the hard limit, checks that the port
 * is free, sets up o->threads workers on one port (port 0: the first picks it, the others join), prints
 * "listening on PROTO ADDR:PORT" as the first line on stderr, runs the workers until SIGINT/SIGTERM or a
 * worker fails, then stops them and cleans up. This is program code: it prints its errors on stderr,
 * prefixed with s->prog. Returns the exit status: 0, 1 on a runtime error, 2 on a usage or set-up error
 * (or when the help text could not be written). */
int serve_main(const struct serve_server *s, int argc, char **argv);

#endif
