/* client.h - conform's client side: TCP connections and UDP sockets to the target, and bounded
 * exchanges whose every received byte is judged by the oracle as it arrives. A failure is written into
 * the case's result (case.h); functions return 0, or -1 once the case has failed. */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>

#include "case.h"

/* ---- TCP ---- */

struct client_connection {
	int fd;
	unsigned id; /* the connection's number within the case, in messages and recordings */
};

/* Connects to a (bounded by the timeout), non-blocking with TCP_NODELAY. Returns 0, or -1 with the
 * case failed ("tcp connect to ADDR: reason"). */
int client_tcp_connect(struct case_context *c, const struct net_addr *a, struct client_connection *k);
/* Closes normally (FIN), or with a reset (SO_LINGER 0: RST). Nothing when fd is -1. */
void client_tcp_close(struct case_context *c, struct client_connection *k);
void client_tcp_reset(struct case_context *c, struct client_connection *k);

/* Whether an exchange half-closes once it has sent everything. */
enum client_close { CLIENT_KEEP_OPEN = 0, CLIENT_HALF_CLOSE };

/* One connection's exchange, driven by client_flows_run(). Zero-fill, then set the options. */
struct client_flow {
	struct client_connection *connection;
	const unsigned char *out; /* bytes to send */
	size_t out_len;
	size_t write_chunk;      /* at most this many bytes per write (0: no limit) */
	size_t read_chunk;       /* at most this many bytes per read (0: 64 KiB) */
	enum client_close close; /* half-close after sending everything, then expect every byte and FIN */
	int lockstep;            /* send the next chunk only once the previous one is answered */
	int stall_ms;     /* first write without reading until the server stops accepting for this long */
	int expect_reset; /* the flow ends by our reset: done after its stall phase (it never reads), or
	                   * after sending everything when it has none */
	/* after the run */
	size_t sent, answered;
	int stalled;       /* the server stopped taking bytes in the stall phase */
	size_t stalled_at; /* bytes it had taken then */
};

/* Runs the flows together until every one is done: all its bytes answered correctly (and FIN after our
 * half-close). Each wait is bounded by the timeout with no progress, the whole run by budget_ms
 * (0: 10 timeouts). Returns 0, or -1 with the case failed or timed out naming the flow ("connection N"). */
int client_flows_run(struct case_context *c, struct client_flow *f, size_t n, int budget_ms);

/* One flow on k: sends out[0..out_len) (then half-closes with CLIENT_HALF_CLOSE) and checks the answer. */
int client_exchange(struct case_context *c, struct client_connection *k, const void *out, size_t out_len,
                    enum client_close close);

/* Opens a fresh connection to a and checks a short exchange with half-close: the server still serves.
 * after names what happened before, for the message. Returns 0 or -1 (case failed). */
int client_tcp_still_serves(struct case_context *c, const struct net_addr *a, const char *after);

/* ---- UDP ---- */

/* Opens a UDP socket of a's family with large buffers, non-blocking. Returns the descriptor or -1 with
 * the case failed. */
int client_udp_socket(struct case_context *c, const struct net_addr *a);

/* Sends one datagram to a from fd (recorded as sender id). Returns 0 or -1 with the case failed. */
int client_udp_send(struct case_context *c, int fd, unsigned id, const struct net_addr *a, const void *p,
                    size_t n);

/* Sends the n datagrams p[i][0..len[i]) to a from fd in as few sendmmsg() calls as the socket allows
 * (recorded as sender id), so that they reach the server's queue together, as a burst from a fast
 * client does. Returns 0 or -1 with the case failed. */
int client_udp_send_burst(struct case_context *c, int fd, unsigned id, const struct net_addr *a,
                          const unsigned char *const *p, const size_t *len, size_t n);

/* What client_udp_receive() found. */
enum client_receive {
	CLIENT_RECEIVED = 0,  /* a datagram; its length in *len */
	CLIENT_NOTHING,       /* no datagram within the wait */
	CLIENT_RECEIVE_FAILED /* an error (the case failed) */
};

/* Waits up to ms for one datagram of at most cap bytes into buf. */
enum client_receive client_udp_receive(struct case_context *c, int fd, unsigned id, unsigned char *buf,
                                       size_t cap, int ms, size_t *len);

/* One request, its one reply checked by the oracle (oracle_udp_check), then quiet_ms with no second
 * reply. Returns 0 or -1 with the case failed (no reply: timed out). */
int client_udp_roundtrip(struct case_context *c, const struct net_addr *a, const void *request, size_t n,
                         int quiet_ms);

#endif
