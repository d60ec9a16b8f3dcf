/* load.h - the bench's load engine: drives one TCP or UDP server on loopback and verifies every byte
 * it gets back, either against SPEC X1's plain rule (lib/oracle.h) or against the identity (for the
 * no-transform echo server). Returns figures; never prints or exits. */
#ifndef LOAD_H
#define LOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net.h"

enum load_mode {
	LOAD_STREAM = 1, /* TCP: C connections send and read a continuous stream; MB/s */
	LOAD_PINGPONG,   /* TCP: C connections each send a message and wait for its reply; round trips/s */
	LOAD_UDP,        /* UDP: a window of outstanding datagrams; verified replies/s */
	LOAD_ACCEPT,     /* TCP: connect, one round trip, close, C at a time; connections/s */
	LOAD_IDLE        /* TCP: open C connections, each answers once, then idle; server RSS growth per
	                  * connection, in bytes (VmRSS: user memory, not the kernel's socket buffers) */
};

enum load_expect {
	LOAD_UPPER = 1, /* replies are the transform of SPEC X1 */
	LOAD_ECHO       /* replies are the bytes sent (the no-transform echo server) */
};

struct load_cfg {
	struct net_addr addr; /* the server, on loopback */
	enum load_mode mode;
	enum load_expect expect;
	int conns;      /* connections (STREAM, PINGPONG, IDLE) or concurrency (ACCEPT) */
	size_t size;    /* message bytes (PINGPONG, ACCEPT) or datagram bytes (UDP, >= 16) */
	int window;     /* UDP datagrams outstanding */
	double seconds; /* measured duration (not IDLE) */
	pid_t pid;      /* the server's pid, for its VmRSS (IDLE) and CPU time; 0 if unknown */
	int text;       /* send printable ASCII text only (for servers that decode UTF-8, like the
	                 * faithful tutorial's); otherwise every byte value */
};

struct load_result {
	double seconds;        /* measured wall time */
	double value;          /* the headline figure, in unit */
	const char *unit;      /* "MB/s", "rt/s", "replies/s", "conn/s", "B/conn" */
	uint64_t bytes;        /* verified bytes received during the measured time */
	uint64_t ops;          /* round trips, replies or connections completed during the measured time */
	uint64_t sent;         /* UDP datagrams sent */
	uint64_t lost;         /* UDP datagrams never answered (after a final wait) */
	uint64_t late;         /* UDP replies that came after their datagram's timeout */
	uint64_t failed;       /* ACCEPT/IDLE connection attempts that failed or timed out */
	double p50_us, p99_us; /* PINGPONG round-trip latency */
	long rss_before_kb, rss_after_kb; /* IDLE: the server's VmRSS before and with the connections */
	double server_cpu_s; /* CPU seconds the server (cfg.pid) used in the measured time; -1 unknown */
	double client_cpu_s; /* CPU seconds the load generator (this process) used in the same time */
};

/* How load_run() ended. */
enum load_status {
	LOAD_OK = 0,
	LOAD_ERR = -1,  /* could not run (connect, socket, /proc, time-out): reason in err */
	LOAD_WRONG = -2 /* the server sent a wrong reply (bytes, length, count): reason in err */
};

/* Runs cfg against its server and fills res. Returns LOAD_OK, or LOAD_ERR / LOAD_WRONG with a
 * one-line reason in err[0..errlen). The whole run is bounded: cfg->seconds plus a few seconds of
 * connection set-up and draining (IDLE: at most 20 s to open its connections;
 * those that answered by then are measured, and res->ops says how many). */
enum load_status load_run(const struct load_cfg *cfg, struct load_result *res, char *err, size_t errlen);

/* Returns the name of a mode ("stream", ...), "?" if unknown. */
const char *load_mode_name(enum load_mode m);

/* Parses a mode name ("stream", "pingpong", "udp", "accept", "idle"). Returns 0 if unknown. */
enum load_mode load_mode_parse(const char *s);

#endif
