/* play.h - replays reassembled flows (decode.h) against a live server and checks the server's answers:
 * the TCP reply stream and close kind (through the exchange engine, exchange.h), or one right reply per
 * datagram; many flows at once on a pool of threads. */
#ifndef PLAY_H
#define PLAY_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "net.h"

struct play_opts {
	int timeout_ms;   /* longest wait for one expected server action (connect, bytes, close, reply) */
	int expect_upper; /* 1: TCP reply checked against the transform of what was sent (oracle_mismatch),
	                   * UDP replies by the rule (oracle_udp_check); 0: against the recorded server
	                   * stream, and each UDP reply against its recorded reply datagram (by the rule
	                   * only where the capture has no reply) */
	double speed;     /* 0: as fast as possible; otherwise original timing divided by speed */
	uint64_t mono0;   /* with speed: the util_now_ns() time at which capture time cap0 is replayed */
	uint64_t cap0;    /* with speed: capture time (ns) that maps to mono0 */
};

enum { PLAY_OK = 0, PLAY_MISMATCH = 1, PLAY_ERROR = 2 };

struct play_result {
	int status;        /* PLAY_* */
	char msg[512];     /* one line: what was sent and received, or what went wrong */
	char detail[4096]; /* mismatch: hexdumps of both sides around the first differing byte */
	int dir;           /* mismatch: DEC_C2S or DEC_S2C, the direction that differed */
	size_t offset;     /* mismatch: first differing offset in that direction (datagram: its index) */
	size_t sent, got;  /* bytes the client sent / received */
	size_t writes;     /* client writes or datagrams sent */
};

/* Replays f (a TCP or UDP flow, after dec_finish()) against target. Fills *r; returns r->status.
 * Thread-safe: flows may be played concurrently. */
int play_flow(const struct dec_flow *f, const struct net_addr *target, const struct play_opts *o,
              struct play_result *r);

/* One flow of a batch for play_all(): the flow and its target in, the result and the seconds it took
 * out. */
struct play_job {
	const struct dec_flow *f;
	const struct net_addr *target;
	int expect_upper; /* this flow's play_opts.expect_upper (its capture's) */
	struct play_result r;
	double secs;
};

/* Plays jobs[0..njobs) (each with o, but its own expect_upper) on up to nthreads threads (1..256), with a
 * progress line on standard error when it is a terminal and there are 20 jobs or more. Returns 0, or -1 with
 * a reason in err when no thread could be started. */
int play_all(struct play_job **jobs, size_t njobs, const struct play_opts *o, int nthreads, char *err,
             size_t errlen);

/* Within the player: the protocols' players (play_tcp.c, play_udp.c, each as play_flow()), and what
 * they share from play.c. */
int play_tcp(const struct dec_flow *f, const struct net_addr *target, const struct play_opts *o,
             struct play_result *r);
int play_udp(const struct dec_flow *f, const struct net_addr *target, const struct play_opts *o,
             struct play_result *r);

/* Original timing: waits until the capture time ts (ns) of an event, scaled by o->speed (0: no wait). */
void play_pace(const struct play_opts *o, uint64_t ts);

/* Writes a hexdump of the 16-byte lines of a[0..alen) and b[0..blen) around offset off into out: three
 * lines a side at most, the expected side (a) labelled "expected", the other "got", the line holding
 * off marked "<-", the ASCII column padded to 16 (rep_hexdump's lines carry neither label nor mark). */
void play_hexdiff(char *out, size_t outlen, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                  size_t off);

#endif
