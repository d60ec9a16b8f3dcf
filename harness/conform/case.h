/* case.h - a conformance case: what it tests (the target), how long it may wait, the result its failure,
 * timeout or skip reason is written into, and the table of cases (case_table.c) with the cases it runs. */
#ifndef CASE_H
#define CASE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net.h"

#define CASE_MESSAGE_MAX 512
#define CASE_EXCERPT_MAX 160

/* A case's outcome. CASE_NOT_REACHED: not run, because the server had stopped answering (conform's
 * dead-target exit; the message says after which cases). */
enum case_status { CASE_PASS = 0, CASE_FAIL, CASE_SKIP, CASE_NOT_REACHED };

/* Whether a failing case fails the run (SHOULD cases only with --strict). */
enum case_level { CASE_SHOULD = 0, CASE_MUST };

/* The transports a case, a target or a server is about; CASE_TCP | CASE_UDP for both. */
enum case_transport { CASE_TCP = 1, CASE_UDP = 2 };

/* What a resource case measured: the server's growth over its connections (or UDP senders), after a
 * settle. */
struct case_resources {
	int measured;
	int per_sender; /* the clients were UDP senders, not TCP connections */
	long connections;
	long long resident_growth; /* bytes */
	long descriptor_growth, thread_growth;
	double bytes_per_connection, descriptors_per_connection; /* growth over clients, 0 when it shrank */
	int processes; /* the server's processes and threads in all, after the clients (its runtime) */
	long threads;
};

/* The outcome of one case. */
struct case_result {
	enum case_status status;
	int timed_out;                  /* the failure is a timeout (those, and only those, are retried) */
	int retries;                    /* how many times the case was run again after a timeout */
	long long offset;               /* first differing offset of a byte comparison, -1 when none */
	char message[CASE_MESSAGE_MAX]; /* one-line reason (failure or skip) */
	char expected[CASE_EXCERPT_MAX], actual[CASE_EXCERPT_MAX]; /* escaped excerpts at offset */
	char note[2 * CASE_MESSAGE_MAX]; /* extra information on a pass or failure (server death, retries) */
	double seconds;
	struct case_resources resources;
	long answered; /* receives that brought the server's bytes, or a datagram (even empty), this case */
	long long kernel_drops; /* datagrams the kernel dropped at the server's socket (its receive buffer
	                         * full) that excused unanswered ones: the SHOULD finding udp/buffer/drops */
};

/* What is tested: a TCP and/or a UDP address, and the IPv6 ones when known. */
struct case_target {
	struct net_addr tcp, udp, tcp6, udp6;
	int has_tcp, has_udp, has_tcp6, has_udp6;
};

struct recording;

/* A case's context. */
struct case_context {
	struct case_target *target;
	int timeout_ms;         /* bound on every wait with no progress */
	int server_nofile;      /* the soft descriptor limit given to an --exec server, 0 when unknown */
	int server_many_nofile; /* its hard one, to which the many-connections case raises the soft one */
	int resets;             /* resets done by tcp/reset/repeated (0: derived from server_nofile) */
	struct case_result *result;
	struct recording *recording; /* NULL when not recording */
	unsigned connections;        /* connection ids handed out */
	uint64_t deadline_ns;        /* the case's whole time budget (0: none) */
	pid_t udp_server_group;      /* the process group of the --exec server serving UDP, 0 when conform
	                              * did not start it: a case may pause it (SIGSTOP) so that datagrams
	                              * queue, then resume it (SIGCONT) */
	pid_t tcp_server_group;      /* the same for the server serving TCP */
	pid_t watched_pid;           /* --pid: a server conform did not start (it and its descendants) */
	struct net_addr udp_sent_to; /* where the case's last datagram went: its reply must come from there */
	int has_udp_sent_to;
};

/* Starts a fresh result for a case: passing, no offset. */
void case_result_clear(struct case_result *r);

/* Milliseconds the case may still wait: min(ms, what is left of its budget). */
int case_wait_ms(const struct case_context *c, int ms);

/* Mark the case failed (or failed by a timeout, or skipped) with a printf-style reason; the first
 * failure's reason is the one kept. Each returns -1: the caller stops. */
int case_fail(struct case_context *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int case_timeout(struct case_context *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int case_skip(struct case_context *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Takes back a failure: copies its reason into why, sets the result passing again and returns whether
 * the failure was a timeout (1) or not (0). For a case that words the failure of a step itself. */
int case_take_failure(struct case_context *c, char *why, size_t whylen);

/* Fills the result's offset and excerpts from the oracle: got[0..got_len) against the answer to
 * sent[0..sent_len), base added to the offsets shown. */
void case_note_difference(struct case_context *c, const unsigned char *sent, size_t sent_len,
                          const unsigned char *got, size_t got_len, size_t base);

/* Fills p[0..n) with printable ASCII and newlines (a-z included), reproducibly from seed (xorshift).
 * Text, not every byte value: each case tests one rule, and byte values are the transform cases' job
 * (the tcp/transform and udp/transform cases), so a server that chokes on non-UTF-8 fails those, not every
 * case. */
void case_pattern(unsigned char *p, size_t n, uint32_t seed);

/* The text both transports' transform cases send (SPEC X1 sends it back byte for byte): invalid UTF-8
 * (case_invalid_utf8_len bytes), and lines (counted by the _count) of UTF-8 letters that Unicode-aware
 * uppercasing changes and of Latin-1 bytes and valid UTF-8 mixed with invalid bytes. */
extern const unsigned char case_invalid_utf8[];
extern const size_t case_invalid_utf8_len;
extern const char *const case_utf8_letters[];
extern const size_t case_utf8_letters_count;
extern const char *const case_utf8_mixed[];
extern const size_t case_utf8_mixed_count;

/* Adds oracle_unicode_hint()'s words to the failure's reason when got[0..got_len), the answer to
 * sent[0..sent_len), looks uppercased or decoded as text. */
void case_hint_unicode(struct case_context *c, const void *sent, size_t sent_len, const unsigned char *got,
                       size_t got_len);

/* The IPv6 address of a target into out: v6 when has6, v4 when it is IPv6 already, else [::1] on v4's
 * port when v4 is 127.0.0.1. Returns 0, or -1 when none is known. */
int case_v6_of(const struct net_addr *v4, int has6, const struct net_addr *v6, struct net_addr *out);

/* One entry of the case table. */
struct case_definition {
	const char *id;   /* stable hierarchical id */
	const char *rule; /* SPEC rule id */
	enum case_level level;
	enum case_transport transport;
	const char *description; /* one line */
	/* Runs the case: 0 when it ran to its end, -1 when it stopped early (failed, timed out or skipped).
	 * The outcome is the result's status. */
	int (*run)(struct case_context *c);
};

/* The cases, each a case_definition's run, by family: TCP (case_tcp.c), TCP with many clients
 * (case_tcp_many.c) and UDP (case_udp.c). */
int case_tcp_all_bytes(struct case_context *c);
int case_tcp_invalid_utf8(struct case_context *c);
int case_tcp_utf8_letters(struct case_context *c);
int case_tcp_utf8_mixed(struct case_context *c);
int case_tcp_interactive(struct case_context *c);
int case_tcp_no_newline(struct case_context *c);
int case_tcp_chunks(struct case_context *c);
int case_tcp_byte_at_a_time(struct case_context *c);
int case_tcp_16mib(struct case_context *c);
int case_tcp_backpressure_bound(struct case_context *c);
int case_tcp_halfclose(struct case_context *c);
int case_tcp_connect_close(struct case_context *c);
int case_tcp_reset_before(struct case_context *c);
int case_tcp_reset_mid(struct case_context *c);
int case_tcp_reset_owed(struct case_context *c);
int case_tcp_reset_repeated(struct case_context *c);
int case_tcp_stalled(struct case_context *c);
int case_tcp_ipv6(struct case_context *c);

int case_tcp_concurrent(struct case_context *c);
int case_tcp_many_2000(struct case_context *c);
int case_tcp_burst(struct case_context *c);

int case_udp_all_bytes(struct case_context *c);
int case_udp_invalid_utf8(struct case_context *c);
int case_udp_utf8_letters(struct case_context *c);
int case_udp_utf8_mixed(struct case_context *c);
int case_udp_size_0(struct case_context *c);
int case_udp_size_1(struct case_context *c);
int case_udp_size_512(struct case_context *c);
int case_udp_size_1472(struct case_context *c);
int case_udp_size_8193(struct case_context *c);
int case_udp_size_max(struct case_context *c);
int case_udp_burst(struct case_context *c);
int case_udp_amplification(struct case_context *c);
int case_udp_many_senders(struct case_context *c);
int case_udp_gone(struct case_context *c);
int case_udp_ipv6(struct case_context *c);

/* The resource cases (case_resources.c): the server's growth over connections that come and go, that
 * reset, and over UDP senders that vanish. */
int case_resources_connections(struct case_context *c);
int case_resources_resets(struct case_context *c);
int case_resources_senders(struct case_context *c);

extern const struct case_definition case_table[];
extern const size_t case_table_count;

#endif
