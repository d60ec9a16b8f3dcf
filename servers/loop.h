/* loop.h - what tcp-upper and udp-upper share around their event loops: options, descriptor limit,
 * stop signals, and the escaped "-v" message log. */
#ifndef LOOP_H
#define LOOP_H

#include <stddef.h>

#include "net.h"

#define LOOP_DEFAULT_ADDR "127.0.0.1:8082"
#define LOOP_DEFAULT_BUF (128u * 1024u)
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

#endif
