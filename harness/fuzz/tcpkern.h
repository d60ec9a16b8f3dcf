/* tcpkern.h - the simulated kernel under tcp-upper's loop (servers/tcp_loop.h), for tcpsim.c: a listener
 * with an accept queue, sockets, a level-triggered epoll, a clock that moves only when told, an allocator
 * that counts every block, and the faults a script sets up (descriptor exhaustion, EINTR, accept errors,
 * allocation and epoll_ctl failures). tcpkern_io answers the loop's calls from struct tcpkern and checks
 * each against SPEC as it is made; the first breach is kept in rc and why. Pure: no syscalls. */
#ifndef TCPKERN_H
#define TCPKERN_H

#include <stddef.h>
#include <stdint.h>

#include "../../servers/tcp_loop.h"
#include "script.h"
#include "tcpsim.h"

/* Bounds on loop steps: each round with a ready socket, and each event of a wakeup, must move a byte
 * or change a state that an input byte set up, so more steps than this mean a loop that never lets go. */
#define TCPKERN_MAX_STEPS(m) (1024u + 8u * ((m)->n + (m)->cap))
/* Rounds in a row that did nothing (woken by nothing with no timeout to let pass, or woken by a
 * descriptor they left as it was): more is a loop that spins. */
#define TCPKERN_MAX_EMPTY 2
#define TCPKERN_MAX_ALLOCS 64 /* live allocations: more means a leak */
#define TCPKERN_MS 1000000u   /* nanoseconds */

/* The simulated process's descriptors: the listener, the stop descriptor, then one per connection
 * (the lowest free number, as the kernel gives). */
enum { TCPKERN_FD_LISTEN = 3, TCPKERN_FD_STOP = 4, TCPKERN_FD_FIRST = 5 };
enum { TCPKERN_WERR_NONE, TCPKERN_WERR_EPIPE, TCPKERN_WERR_RESET };
enum tcpkern_sock_state { TCPKERN_SOCK_NONE, TCPKERN_SOCK_QUEUED, TCPKERN_SOCK_OPEN };
/* The causes the simulator can name for a connection closed without FIN both ways (tcpkern_sock.causes),
 * each recorded as it happens: a close that owes the client bytes needs one (SPEC T1, T6). */
enum {
	TCPKERN_BY_RESET = 1u << 0, /* the client reset (script RST) */
	TCPKERN_BY_ERROR = 1u << 1, /* send() returned the error the script injected (WERR) */
	TCPKERN_BY_FAULT = 1u << 2  /* an epoll_ctl() or allocation failure the script injected hit it */
};

/* One slot: the client, the socket between it and the server, and what the loop registered for it. */
struct tcpkern_sock {
	enum tcpkern_sock_state state; /* NONE: no client; QUEUED: in the accept queue; OPEN: accepted */
	unsigned gen;                  /* connection number on this slot */
	int fd;
	const struct upper_conn *uc; /* the loop's core of this connection, as io->fed shows it */
	struct epoll_event reg;      /* what the loop registered (OPEN), */
	int registered;              /* ... once it has */
	unsigned char *sent;         /* bytes the client sent on this connection (capacity: the input size) */
	size_t nsent, nread, ngot;   /* sent by the client, read by the server, accepted by the socket */
	int cfin, crst, eof_read, werr, again, stopped, sfin;
	int intr_send, intr_recv, ctl_fail;
	unsigned causes; /* TCPKERN_BY_*: what may close this connection without FIN */
	size_t window;   /* while stopped: bytes the socket still accepts */
	unsigned shortk, rlimit;
	size_t steps; /* events fed in the current round */
	int last_ret; /* what the last event fed in the round returned (the core's wants) */
};

struct tcpkern_alloc {
	void *p;
	size_t n;
};

struct tcpkern {
	struct tcpkern_sock s[SCRIPT_MAX_CONNS];
	unsigned nconn, conns_on[SCRIPT_MAX_CONNS];
	int fdslot[SCRIPT_MAX_CONNS];             /* slot of descriptor TCPKERN_FD_FIRST + i, or -1 */
	unsigned queue[SCRIPT_MAX_CONNS], nqueue; /* the accept queue, oldest first */
	size_t cap, n;                            /* buffer bound, input size */
	struct tcp_loop loop;
	int loop_ready;
	struct epoll_event listen_reg, stop_reg;
	int listen_registered, stop_registered, stop_ready;
	/* The kernel's faults and clock. */
	int accept_err; /* the next accept fails with this errno (0: none) */
	int nofile;     /* EMFILE or ENFILE until a descriptor is closed (0: none) */
	unsigned nofile_how;
	int intr_wait;
	unsigned nomem_skip, nomem; /* allocations to let through, then allocations to fail */
	int nomem_long;             /* ... then every allocation fails until time passes */
	unsigned listen_ctl_fail;   /* epoll_ctl calls on the listener to fail */
	size_t closes_at_listen_fail;
	uint64_t now;
	int last_accepted; /* slot of the last accept, for an allocation failure that closes it */
	uint64_t refused_at;
	size_t closes, closes_at_refusal, closes_at_pause;
	int refused;
	uint64_t logged_at;      /* the last limit line (0: none) */
	unsigned lines_read;     /* lines the operator reads: formatted (NOFILE bits 6-7) */
	enum tcp_loop_line line; /* the line due, to be written next (0: none) */
	int may_sleep, blocked;
	unsigned empty; /* rounds in a row with nothing to do */
	struct tcpkern_alloc allocs[TCPKERN_MAX_ALLOCS];
	unsigned nallocs;
	int hold;
	size_t probes; /* refusal probes done, to rotate through them */
	/* Every callback that changes what epoll would report (a socket, the listener, a registration, a
	 * fault) counts a change; the ready list is rebuilt only after one, and a round that was woken
	 * and changed nothing is a spin. */
	unsigned long changes, ready_at;
	struct epoll_event ready[2 + SCRIPT_MAX_CONNS];
	int nready;
	int woken;       /* descriptors the round's wait reported */
	unsigned stalls; /* rounds in a row that were woken and changed nothing */
	unsigned char *records;
	const struct tcpsim_hooks *h;
	struct tcpsim_stats st;
	char *why;
	size_t whylen;
	int rc; /* 0, 1 (SPEC breach) or -1 (out of memory) */
};

/* The loop's system calls, bound to the struct tcpkern given to tcp_loop_init() as its context. */
extern const struct tcp_loop_io tcpkern_io;

/* Records the run's first failure: rc (1, a SPEC breach, or -1, out of memory) and a printf-style reason
 * into m->why. Returns the run's rc (the first one kept). */
int tcpkern_fail(struct tcpkern *m, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Something epoll could report changed (see struct tcpkern's changes). */
void tcpkern_changed(struct tcpkern *m);

/* The slot of s, a member of m->s. */
unsigned tcpkern_slot(const struct tcpkern *m, const struct tcpkern_sock *s);

/* Reports a wire event of s through the run's hook, if any; p[0..n) is valid during the call only. */
void tcpkern_wire(struct tcpkern *m, struct tcpkern_sock *s, enum tcpsim_wire what, const unsigned char *p,
                  size_t n);

/* Poisons the pool's buffers (on 1) between rounds, or unpoisons them (on 0) for a round: the loop may
 * hand them out again only inside one. */
void tcpkern_pool_poison(struct tcpkern *m, int on);

/* After a round: each connection fed in it that is still open holds the counters its socket moved and
 * gives the core's answers for its state. Returns m->rc. */
int tcpkern_check_round(struct tcpkern *m);

/* Whether a wait would return at once (an interrupted wait pending or a descriptor ready). */
int tcpkern_ready(struct tcpkern *m);

/* Frees every block the loop still holds (after its cleanup, or after a failed run). */
void tcpkern_free_all(struct tcpkern *m);

#endif
