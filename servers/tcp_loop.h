/* tcp_loop.h - tcp-upper's event loop: the listener and its accept path (with the pause at the
 * descriptor limit and its log lines), the connection table, the dispatch of each wakeup to
 * drive_wakeup() (drive.h), the epoll interest updates, the close and reset paths, the buffer pool and
 * the memory given back after a quiet period. Every system call goes through a struct tcp_loop_io:
 * tcp-upper binds it to epoll, accept4, send, recv and malloc; the fuzz target fuzz_tcp binds it to a
 * simulated kernel (harness/fuzz/tcpkern.c), so the fuzzer runs the very loop the server runs. */
#ifndef TCP_LOOP_H
#define TCP_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

#include "upper.h"

#define TCP_LOOP_MAX_EVENTS 256
#define TCP_LOOP_ACCEPTS 128        /* accepts per wakeup of the listener */
#define TCP_LOOP_POOL_MAX 64        /* free buffers kept per loop while busy */
#define TCP_LOOP_POOL_IDLE 4        /* ... and after a quiet period */
#define TCP_LOOP_QUIET_MS 1000      /* a loop with no event for this long gives memory back to the system */
#define TCP_LOOP_LIMIT_LOG_MS 10000 /* at most one "descriptor limit" line per loop this often */
#define TCP_LOOP_PAUSE_MS 100       /* after EMFILE: wait this long, or for a close, before accepting again */
/* Out of memory for a buffer: the connection waits this long, or until a buffer comes back, before it
 * reads again. */
#define TCP_LOOP_RETRY_MS 100

/* The lines the loop writes for the operator. */
enum tcp_loop_line {
	TCP_LOOP_LINE_LIMIT = 1, /* accept() failed at the descriptor limit (at most once per
	                          * TCP_LOOP_LIMIT_LOG_MS) */
	TCP_LOOP_LINE_RESUMED    /* accepting again after such a line */
};

/* The system calls of the loop. Calls that fail return a negated errno value (-EINTR, -EMFILE, ...).
 * ctx is passed back unchanged. */
struct tcp_loop_io {
	/* accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC): a new descriptor, or -errno. */
	int (*accept)(void *ctx, int listener);
	/* epoll_wait() on the loop's epoll set: fills evs[0..max) and returns their count (0 when
	 * timeout_ms, -1 meaning none, passed), or -errno. */
	int (*wait)(void *ctx, struct epoll_event *evs, int max, int timeout_ms);
	/* epoll_ctl(op, fd, ev) on the loop's epoll set: 0 or -errno. */
	int (*ctl)(void *ctx, int op, int fd, struct epoll_event *ev);
	/* send(fd, MSG_NOSIGNAL | MSG_DONTWAIT) and recv(fd, MSG_DONTWAIT), classified as drive.h's
	 * callbacks are: k bytes, 0 for end of input (recv), or a DRIVE_IO_* code. */
	ssize_t (*send)(void *ctx, int fd, const unsigned char *p, size_t n);
	ssize_t (*recv)(void *ctx, int fd, unsigned char *p, size_t n);
	void (*shutdown_wr)(void *ctx, int fd); /* shutdown(fd, SHUT_WR); a failure is ignored */
	void (*close)(void *ctx, int fd);       /* close(fd), which also leaves the epoll set */
	/* Per-socket options of a new connection, before anything else is done with it: every accepted
	 * descriptor later given to close was first given to tune. */
	void (*tune)(void *ctx, int fd);
	uint64_t (*now_ns)(void *ctx); /* a monotonic clock */
	/* For the descriptor-limit lines: the process's descriptor limit (0 when it is unlimited or
	 * unknown) and how many descriptors it has open (-1 when they cannot be counted). */
	unsigned long long (*fd_limit)(void *ctx);
	int (*fd_count)(void *ctx);
	void (*log)(void *ctx, const char *line); /* one line for the operator, without its newline */
	void (*trim)(void *ctx);                  /* gives the heap's free pages back (malloc_trim) */
	void *(*alloc)(void *ctx, size_t n);      /* malloc: connections and buffers; NULL when out */
	void (*release)(void *ctx, void *p);      /* free */
	/* Optional (NULL: every line is written), for checkers: a line of this kind is due; returns 0
	 * when nobody reads it, and the loop then neither formats it nor calls log. */
	int (*line_due)(void *ctx, enum tcp_loop_line what);
	/* Optional (NULL: none), for checkers: after every event drive_wakeup() feeds connection fd's
	 * core c, with upper_conn_event()'s result. A nonzero return ends the step with TCP_LOOP_BROKEN. */
	int (*fed)(void *ctx, int fd, const struct upper_conn *c, enum upper_ev ev, size_t n, int result);
};

/* One open connection: the core's state, its descriptor, its epoll interest, its place in the table. */
struct tcp_loop_conn {
	struct upper_conn uc;
	int fd;
	uint32_t interest; /* the epoll events registered now */
	int starved;       /* no buffer could be had: out of the epoll set until the loop's retry */
	struct tcp_loop_conn *prev, *next;
};

/* A loop, one per thread. Fill it with tcp_loop_init(); the fields are the loop's own. */
struct tcp_loop {
	const struct tcp_loop_io *io;
	void *ctx;
	size_t bufsize; /* per-connection buffer bound */
	int listener;
	char listen_mark, stop_mark; /* epoll_event.data.ptr of the listener and the stop descriptor */
	int paused;                  /* accepting is paused after EMFILE/ENFILE */
	int pause_owed;              /* ... but the epoll_ctl that stops watching the listener failed */
	uint64_t resume_ns;          /* until then (io->now_ns()), unless a connection closes first */
	unsigned starved;            /* connections out of the epoll set for want of a buffer */
	uint64_t retry_ns;           /* when they are watched again (sooner when a buffer comes back) */
	struct tcp_loop_conn *conns; /* every open connection, for the cleanup at stop */
	unsigned char *pool[TCP_LOOP_POOL_MAX]; /* free buffers of bufsize bytes, lent to connections */
	size_t npool;
	int busy;                 /* memory was freed since the last trim: trim after TCP_LOOP_QUIET_MS */
	uint64_t limit_logged_ns; /* when the last descriptor-limit line was written (0: never) */
	unsigned long refused;    /* accepts refused at the limit since that line */
	int limit_reported;       /* a limit line was written and accepting has not resumed since */
	char err[256];            /* why the last step failed or broke */
};

/* tcp_loop_step()'s results. */
enum tcp_loop_result {
	TCP_LOOP_GO_ON = 0, /* call it again */
	TCP_LOOP_STOP,      /* the stop descriptor became readable */
	TCP_LOOP_FAILED,    /* waiting failed (l->err says why, errno is set): the loop cannot go on */
	TCP_LOOP_BROKEN     /* the core broke its contract, or io->fed asked to stop (l->err says which
	                     * connection): a bug in the program, not in a peer */
};

/* Prepares l (zero-filled by the call) to serve the listening socket listener with per-connection
 * buffers of bufsize bytes, and registers the listener and, when stopfd >= 0, the stop descriptor
 * (readable when the loop must end) in the epoll set. Returns 0, or -1 with a reason in err. */
int tcp_loop_init(struct tcp_loop *l, const struct tcp_loop_io *io, void *ctx, int listener, int stopfd,
                  size_t bufsize, char *err, size_t errlen);

/* One round: waits for events (no longer than the pause, the retry of starved connections or the
 * quiet period left), then serves each ready descriptor: accepts on the listener, runs one
 * drive_wakeup() per ready connection and follows its wants with the epoll interest, closes finished
 * connections. A connection that cannot get a buffer leaves the epoll set until the retry, so a
 * readable socket does not wake the loop again and again while memory is short; a listener whose
 * pause cannot be registered is ignored until the pause ends, and the registration retried every
 * round. */
enum tcp_loop_result tcp_loop_step(struct tcp_loop *l);

/* Closes every open connection and frees the pool. The listener and the epoll set stay the caller's. */
void tcp_loop_cleanup(struct tcp_loop *l);

#endif
