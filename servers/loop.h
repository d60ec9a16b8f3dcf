/* loop.h - what tcp-upper and udp-upper share around their event loops: options, descriptor limit,
 * stop signals, and the escaped "-v" message log. */
#ifndef LOOP_H
#define LOOP_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include "net.h"

#define LOOP_DEFAULT_ADDR "127.0.0.1:8082"
#define LOOP_DEFAULT_BUF (256u * 1024u) /* lent only while a connection holds bytes */
#define LOOP_MAX_THREADS 64

/* The servers' command line. */
struct loop_opts {
	struct net_addr addr; /* -l ADDR:PORT */
	const char *addrstr;  /* as given */
	int threads;          /* -t N, 1..LOOP_MAX_THREADS */
	int verbose;          /* -v */
	int inetd;            /* --inetd */
	size_t bufsize;       /* -b BYTES[k|m] per-connection buffer bound */
};

/* Parses argv into o (defaults first). Returns 0, 1 when --help was asked, or -1 with a reason naming
 * the option in err. allow_inetd and allow_buf say whether --inetd and -b are accepted. */
int loop_parse(int argc, char **argv, struct loop_opts *o, int allow_inetd, int allow_buf, char *err,
	       size_t errlen);

/* Raises the soft RLIMIT_NOFILE to the hard limit. Returns the resulting soft limit. */
long loop_raise_nofile(void);

/* Blocks SIGINT and SIGTERM in the calling thread (threads created later inherit the mask) and ignores
 * SIGPIPE. Returns a signalfd that becomes readable on SIGINT/SIGTERM, or -1 (errno set). */
int loop_signals(void);

/* Writes one log line "PREFIXescaped\n" to fd: printable ASCII as is, backslash doubled, \n \r \t, other
 * bytes as \xHH, so that binary input is safe on a terminal. Never blocks: when fd is not writable (a
 * pipe nobody reads) the rest of the line is dropped. Returns 0 or -1 (errno set, EAGAIN when dropped). */
int loop_log(int fd, const char *prefix, const unsigned char *p, size_t n);

/* Handles the command line for a server's main(): parses it into o and, for --help or a bad option,
 * prints usage (to stdout or stderr) and a message naming the option. Returns -1 when the server
 * should go on, or the exit status to return now (0 after --help, 2 on a usage error or when the
 * help text could not be written). */
int loop_cli(int argc, char **argv, struct loop_opts *o, const char *prog, int allow_inetd, int allow_buf,
	     void (*usage)(FILE *));

/* The part of a server's worker thread that loop_serve() manages. It is the first member of each
 * server's own worker struct, so a struct loop_worker * converts to and from the server's type. */
struct loop_worker {
	const struct loop_opts *o;
	int stopfd;    /* eventfd that becomes readable when the server stops: the worker returns */
	pthread_t th;
	char err[256]; /* why setup or the worker failed */
	int failed;    /* set by a worker that stopped on an error (it also writes stopfd) */
};

/* A server's workers, described for loop_serve(). */
struct loop_server {
	const char *prog;  /* program name, for messages */
	const char *proto; /* "tcp" or "udp", for the listening line */
	int type;          /* SOCK_STREAM or SOCK_DGRAM */
	size_t size;       /* bytes of one worker; struct loop_worker is its first member */
	/* Sets up a zero-filled worker whose loop_worker part is filled: its own socket bound to a (with
	 * SO_REUSEPORT when reuseport), the address actually bound stored in bound. Returns 0, or -1 with a
	 * reason in w->err. */
	int (*setup)(struct loop_worker *w, const struct net_addr *a, int reuseport, struct net_addr *bound);
	void *(*run)(void *w);                  /* the thread body */
	void (*cleanup)(struct loop_worker *w); /* releases what setup took, also after a failed setup */
};

/* A server's life after its options: checks that the port is free, sets up o->threads workers on one
 * port (port 0: the first picks it, the others join), prints "listening on PROTO ADDR:PORT" as the first
 * line on stderr, runs the workers until sigfd (loop_signals()) reports SIGINT/SIGTERM or a worker
 * fails, then stops them and cleans up. This is program code: it prints its errors on stderr, prefixed
 * with s->prog. Returns the exit status: 0, 1 on a runtime error, 2 on a set-up error. */
int loop_serve(const struct loop_server *s, const struct loop_opts *o, int sigfd);

#endif
