/* cf.h - conform's internal interfaces: case context and results, bounded socket exchanges, the case
 * table, the server under test, reports, the random phase and the recorded exchange for pcaps. */
#ifndef CF_H
#define CF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "net.h"

#define CF_MSG 512
#define CF_EXCERPT 160

enum cf_status { CF_PASS = 0, CF_FAIL, CF_SKIP };

/* The outcome of one case. */
struct cf_result {
	enum cf_status status;
	int timeout;        /* the failure is a timeout (those, and only those, are retried) */
	int retried;        /* how many times the case was run again after a timeout */
	long long offset;   /* first differing offset of a byte comparison, -1 when none */
	char msg[CF_MSG];   /* one-line reason (failure or skip) */
	char expected[CF_EXCERPT], actual[CF_EXCERPT]; /* escaped excerpts at offset */
	char note[2 * CF_MSG]; /* extra information on a pass or failure (server death, retries) */
	double secs;
};

/* What is tested: a TCP and/or a UDP address, and the IPv6 ones when known. */
struct cf_target {
	struct net_addr tcp, udp, tcp6, udp6;
	int has_tcp, has_udp, has_tcp6, has_udp6;
};

/* ---- recording of a case's exchange (for --pcap-dir) ---- */

enum cf_rk {
	CF_R_OPEN = 1, /* TCP connection established: local and remote addresses */
	CF_R_SEND,     /* bytes the client wrote */
	CF_R_RECV,     /* bytes the server sent */
	CF_R_SHUT,     /* client FIN */
	CF_R_FIN,      /* server FIN seen */
	CF_R_RST,      /* client reset */
	CF_R_RSTIN,    /* server reset seen */
	CF_R_DOUT,     /* UDP datagram client -> server (local/remote addresses given) */
	CF_R_DIN       /* UDP datagram server -> client */
};

struct cf_rev {
	int kind;
	unsigned conn;  /* connection id within the case */
	size_t off, len; /* data in the recording's byte store */
	uint64_t ts_ns;
	struct net_addr local, remote; /* for CF_R_OPEN, CF_R_DOUT, CF_R_DIN */
};

struct cf_rec {
	struct cf_rev *ev;
	size_t nev, capev;
	unsigned char *data;
	size_t ndata, capdata; /* capdata bounds the bytes kept; beyond it data is cut */
	int truncated;
};

void cf_rec_init(struct cf_rec *r, size_t maxbytes);
void cf_rec_reset(struct cf_rec *r);
void cf_rec_free(struct cf_rec *r);
void cf_rec_add(struct cf_rec *r, int kind, unsigned conn, const void *data, size_t len,
		const struct net_addr *local, const struct net_addr *remote);

/* Writes r as a pcap at path (through lib/pcapw). Returns 0 or -1 with a reason in err. */
int cf_rec_write_pcap(const struct cf_rec *r, const char *path, char *err, size_t errlen);

/* ---- a case's context ---- */

struct cf_ctx {
	struct cf_target *t;
	int timeout_ms;     /* bound on every wait with no progress */
	int nofile;         /* the descriptor limit given to an exec'd server, 0 when unknown */
	int resets;         /* resets done by tcp/reset/repeated */
	struct cf_result *r;
	struct cf_rec *rec; /* NULL when not recording */
	unsigned nconn;     /* connection ids handed out */
	uint64_t deadline_ns; /* the case's whole time budget (0: none) */
};

/* Milliseconds the case may still wait: min(ms, what is left of its budget). */
int cf_wait_ms(const struct cf_ctx *c, int ms);

/* Marks the case failed (or timed out) with a printf-style reason. Return -1. */
int cf_fail(struct cf_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cf_timeout(struct cf_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Marks the case skipped. Returns -3. */
int cf_skip(struct cf_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fills the result's offset and excerpts from the core's oracle: got[0..glen) against the transform of
 * sent[0..slen), base added to the offset shown. */
void cf_diff(struct cf_ctx *c, const unsigned char *sent, size_t slen, const unsigned char *got, size_t glen,
	     size_t base);

/* Escapes bytes as C-like text (\xNN for non-printables) into out, cut to outlen. */
void cf_escape(char *out, size_t outlen, const unsigned char *p, size_t n);

uint64_t cf_now_ns(void);
int cf_ms_left(uint64_t deadline_ns);

/* ---- TCP ---- */

struct cf_conn {
	int fd;
	unsigned id;
};

/* Connects to a (bounded by the timeout), non-blocking with TCP_NODELAY. Returns 0, or -1 with the
 * case failed ("connect to ADDR: reason"). */
int cf_tcp_connect(struct cf_ctx *c, const struct net_addr *a, struct cf_conn *k);
/* Closes normally (FIN), or with a reset (SO_LINGER 0: RST). */
void cf_tcp_close(struct cf_ctx *c, struct cf_conn *k);
void cf_tcp_reset(struct cf_ctx *c, struct cf_conn *k);

/* One connection's exchange, driven by cf_flows_run(). */
struct cf_flow {
	struct cf_conn *k;
	const unsigned char *out; /* bytes to send */
	size_t outlen;
	size_t wchunk;   /* at most this many bytes per write (0: no limit) */
	size_t rchunk;   /* at most this many bytes per read (0: 64 KiB) */
	int shut;        /* half-close after sending everything, then expect every byte and FIN */
	int lockstep;    /* send the next chunk only once the previous one is answered */
	int stall_ms;    /* first write without reading until the server stops accepting for this long */
	int expect_reset; /* the flow ends by our reset: done after its stall phase (it never reads), or
			   * after sending everything when it has none */
	/* state */
	size_t sent, got;
	int shut_done, eof, done, stalled;
	size_t stalled_at; /* bytes accepted when the server stopped reading (stall phase) */
};

/* Runs the flows together until every one is done: all its bytes answered correctly (and FIN after our
 * half-close). Each wait is bounded by the timeout with no progress, the whole run by budget_ms
 * (0: 10 timeouts). Returns 0, or -1 with the case failed/timed out naming the flow (as "connection N"). */
int cf_flows_run(struct cf_ctx *c, struct cf_flow *f, size_t n, int budget_ms);

/* One flow: sends out (optionally half-closing), checks the answer. */
int cf_xchg(struct cf_ctx *c, struct cf_conn *k, const void *out, size_t outlen, int shut);

/* Opens a fresh connection to the TCP target and checks a short exchange with half-close: the server
 * still serves. after names what happened before, for the message. */
int cf_tcp_alive(struct cf_ctx *c, const struct net_addr *a, const char *after);

/* ---- UDP ---- */

/* Opens an unbound-then-bound UDP socket of a's family on loopback with a large receive buffer.
 * Returns the descriptor or -1 with the case failed. */
int cf_udp_socket(struct cf_ctx *c, const struct net_addr *a);
/* Sends one datagram to a; returns 0 or -1 with the case failed. */
int cf_udp_send(struct cf_ctx *c, int fd, unsigned conn, const struct net_addr *a, const void *p, size_t n);
/* Waits up to ms for one datagram; returns its length, -2 on timeout, -1 on error (case failed). */
long cf_udp_recv(struct cf_ctx *c, int fd, unsigned conn, unsigned char *buf, size_t cap, int ms);
/* One request, its one reply checked by the core (oracle_udp_check), then quiet_ms with no second
 * reply. Returns 0 or -1 with the case failed (timeout: timed out). */
int cf_udp_roundtrip(struct cf_ctx *c, const struct net_addr *a, const void *req, size_t n, int quiet_ms);

/* ---- cases ---- */

enum { CF_TCP = 1, CF_UDP = 2 };

struct cf_case {
	const char *id;    /* stable hierarchical id */
	const char *rule;  /* SPEC rule id */
	int must;          /* 1 MUST, 0 SHOULD */
	int proto;         /* CF_TCP or CF_UDP */
	const char *desc;  /* one line */
	int (*run)(struct cf_ctx *c); /* 0 pass, -1 fail, -3 skip */
};

extern const struct cf_case cf_cases[];
extern const size_t cf_ncases;

/* ---- the server under test (--exec) ---- */

struct cf_server;

/* Starts cmd under /bin/sh (its own process group, output to a log file, RLIMIT_NOFILE = nofile when
 * nofile > 0, SIGPIPE at its default), with "{port}" replaced by a free port. proto is CF_TCP, CF_UDP or
 * both: what it must serve. Waits (start_ms) until it prints "listening on tcp|udp ADDR:PORT" for every
 * proto, or with {port} until 127.0.0.1:port answers. Fills t. Returns the server or NULL with err. */
struct cf_server *cf_server_start(const char *cmd, int proto, int nofile, int start_ms, struct cf_target *t,
				  char *err, size_t errlen);
/* Returns 0 while it runs, 1 when it has exited (a description in why). */
int cf_server_dead(struct cf_server *s, char *why, size_t whylen);
/* Starts it again after it died (a new port for {port}); fills t. Returns 0 or -1 with err. */
int cf_server_restart(struct cf_server *s, int start_ms, struct cf_target *t, char *err, size_t errlen);
/* Stops it: SIGTERM to its process group, SIGKILL after 2 s. Returns the milliseconds it took to stop,
 * or -1 if it had to be killed. Frees s. */
int cf_server_stop(struct cf_server *s);
/* Writes the last lines of its output to f with a prefix. */
void cf_server_tail(struct cf_server *s, FILE *f, const char *prefix, int lines);
const char *cf_server_cmd(const struct cf_server *s);
/* Kills every started server's process group (async-signal-safe: for conform's SIGINT handler). */
void cf_server_kill_all(void);
int cf_server_restarts(const struct cf_server *s);

/* ---- reports ---- */

struct cf_report_item {
	const struct cf_case *cs; /* NULL for random-phase items */
	char id[96];
	const char *rule;
	int must;
	const char *desc;
	struct cf_result r;
};

int cf_write_junit(const char *path, const struct cf_report_item *it, size_t n, int strict, double secs,
		   char *err, size_t errlen);
int cf_write_json(const char *path, const struct cf_report_item *it, size_t n, int strict, double secs,
		  const char *target, char *err, size_t errlen);
void cf_write_tap(FILE *f, const struct cf_report_item *it, size_t n, int strict);

/* ---- random phase ---- */

/* Runs one random sequence generated from seed over the target. Returns 0 on pass, -1 on failure (with
 * the shrunk sequence and the seed in r->msg / r->note). restart, when not NULL, is called to get a
 * serving target again after a failing attempt killed the server (returns 0 or -1). */
int cf_random_run(struct cf_ctx *c, uint64_t seed, int (*restart)(void *), void *arg);

#endif
