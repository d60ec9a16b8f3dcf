/* impl.h - fuzz inputs run against a user's implementation over real loopback sockets: the server is
 * started once through lib/child (or reached at an address), kept across inputs and restarted only
 * after it died; each input (a fuzz_tcp script or a fuzz_udp sequence, lib/script.h) is played by real
 * clients and judged by the library's oracles (exchange.h's stream oracle for TCP, oracle_udp_check for
 * UDP); between inputs the server's death, its log (AddressSanitizer and UBSan reports) and its
 * descriptors and memory (/proc) are checked. When the server was built with AFL++'s compilers, its
 * edge map comes back through SysV shared memory (__AFL_SHM_ID). Used by the libFuzzer targets
 * fuzz-impl-tcp and fuzz-impl-udp (fuzz_impl.c) and by impl-repro (impl_repro.c). Prints nothing,
 * never exits: findings and errors come back as text. */
#ifndef IMPL_H
#define IMPL_H

#include <stddef.h>

#include "net.h"

/* The bound on a wait with no progress, unless the caller gives one (CAPSLOCK_IMPL_IDLE_MS). */
#define IMPL_IDLE_MS 2000
/* The edge map's default size (AFL++'s MAP_SIZE), unless AFL_MAP_SIZE says otherwise. */
#define IMPL_MAP_DEFAULT 65536u

enum impl_proto { IMPL_TCP = 1, IMPL_UDP = 2 };

/* How to reach the implementation. Zero-fill, then set what applies. */
struct impl_options {
	enum impl_proto proto;
	const char *command;  /* 'CMD {port}' (conform --exec's contract), started through lib/child */
	const char *address;  /* or the address of a running server (loopback only): no restart, no log,
	                       * no /proc checks, no edge map */
	int idle_ms;          /* no progress for this long is a finding (0: IMPL_IDLE_MS) */
	size_t map_size;      /* the shared edge map's size (0: no map at all, black-box) */
	const char *log_path; /* the server's log (NULL: a temporary file) */
};

/* One finding: `capslock-finding: RULE WHERE: WHAT`. */
struct impl_finding {
	char rule[16];   /* X1, T1..T9, U1..U6, DEATH, ASAN, UBSAN, LEAK, START */
	char where[96];  /* a short stable place, for deduplication (a verdict's name, an ASan frame) */
	char what[1024]; /* one sentence */
};

struct impl;

/* Starts (or reaches) the implementation described by o. Returns the handle, or NULL with a reason in
 * err (a set-up error: the command does not start, the address is not loopback, ...). */
struct impl *impl_open(const struct impl_options *o, char *err, size_t errlen);

/* Runs one input against the implementation and judges it. Returns 0 when nothing was found, 1 with
 * *f filled for a finding, -1 with a reason in f->what for a local error (memory, descriptors). After a
 * finding that killed the server, the next call restarts it first. */
int impl_run(struct impl *m, const unsigned char *data, size_t n, struct impl_finding *f);

/* Checks the server's descriptors and memory against what it held before its connections (T5, T6),
 * letting it settle for a bounded while first. Returns 0, or 1 with *f filled. impl_run() calls it
 * by itself every few thousand connections; impl-repro calls it at the end. */
int impl_check_resources(struct impl *m, struct impl_finding *f);

/* The server's edge map after the last impl_run() (NULL without one), its size in *len. */
const unsigned char *impl_map(const struct impl *m, size_t *len);

/* What the last input did (which op met which client state, sizes, senders) as counters, for an
 * engine's guidance beside the map (and instead of it for a black box). */
const unsigned char *impl_features(const struct impl *m, size_t *len);

/* 1 when the server writes its edge map (it was built with AFL++'s compilers), else 0. */
int impl_instrumented(const struct impl *m);

/* The start line's text after "capslock-impl: ": "target tcp, coverage: instrumented (65536-byte
 * map)" or "target tcp, coverage: black-box (the server wrote no edge map)". */
void impl_describe(const struct impl *m, char *buf, size_t len);

/* Where the server listens and its command (for messages). */
const struct net_addr *impl_address(const struct impl *m);

/* Connections and datagrams the inputs have made so far. */
unsigned long impl_connections(const struct impl *m);

/* Stops the server (SIGTERM to its group, then SIGKILL), removes the map, frees m. NULL is allowed. */
void impl_close(struct impl *m);

/* ---- the engines under impl_run() (impl_tcp.c, impl_udp.c) ---- */

/* What an engine needs of the target. */
struct impl_target {
	struct net_addr addr;  /* IPv4 (or the address given) */
	struct net_addr addr6; /* [::1] at the same port, when has6 */
	int has6;
	int idle_ms;
	unsigned long connections; /* counted up by the engines */
	/* Feature counters of the input as played (which op met which client state), for the engine's
	 * guidance when the server gives no map; may be NULL. */
	unsigned char *features;
	size_t nfeatures;
};

/* Plays a fuzz_tcp script against t. Returns 0, 1 with a finding, -1 with a local error in f->what. */
int impl_tcp_run(struct impl_target *t, const unsigned char *data, size_t n, struct impl_finding *f);

/* Plays a fuzz_udp sequence against t. Returns as impl_tcp_run(). */
int impl_udp_run(struct impl_target *t, const unsigned char *data, size_t n, struct impl_finding *f);

/* Fills *f (the rule and place copied, the sentence formatted). Returns 1. */
int impl_found(struct impl_finding *f, const char *rule, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
