/* soak.h - the abuse suite's shared pieces: the server under test (started with child.h, watched
 * through /proc), the figures every case reports, and the pseudo-random stream each TCP client sends
 * (its expected reply comes from oracle.h, never from the servers' transform). */
#ifndef SOAK_H
#define SOAK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "child.h"
#include "net.h"

/* The server under test. */
struct soak_server {
	const char *name;    /* "tcp-upper", "udp-upper", "echo" */
	const char *command; /* the command child_start() runs ({port} allowed) */
	int proto;           /* CHILD_TCP or CHILD_UDP */
	long nofile;         /* its descriptor limit, 0: inherited */
	struct child *child;
	struct child_addrs addrs;
};

/* What a case measured. Memory in KiB (VmRSS), descriptors counted in /proc/PID/fd. */
struct soak_figures {
	const char *name;   /* the case */
	const char *server; /* the server's name */
	int ok;             /* 1: every check of the case held */
	long load;          /* clients (or datagrams) served as they should be */
	long offered;       /* of these many */
	uint64_t bytes_verified;
	long fds_before, fds_peak, fds_after;
	long rss_before, rss_peak, rss_after;
	long recover_ms; /* from the end of the abuse until a fresh client is served (-1: never) */
	double secs;
	char note[512]; /* one line: what went wrong, or what is worth knowing */
};

/* How hard and how long a case pushes. */
struct soak_plan {
	double seconds;    /* the case's time bound (each case stays within it) */
	int clients;       /* connections of the mass backpressure case */
	uint64_t bytes;    /* bytes per connection of the mass backpressure case */
	int socket_buffer; /* SO_RCVBUF and SO_SNDBUF of each backpressure client, bytes */
	double fill_quiet; /* the fill phase ends after this many seconds without progress */
	double stall;      /* a backpressure run is stalled after this many seconds without progress */
	int small;         /* the short version (make check): fewer clients, fewer bytes */
	int identity;      /* the server echoes bytes unchanged (a comparison server, not the protocol) */
};

/* Starts s (child_start), waiting until it listens. Returns 0, or -1 with a reason in err. */
int soak_server_start(struct soak_server *s, char *err, size_t errlen);

/* Stops s with SIGTERM (then SIGKILL after wait_ms). */
void soak_server_stop(struct soak_server *s, int wait_ms);

/* Samples the server's resident memory and open descriptors into f's peaks (and, with before set,
 * into its before figures). Returns 0, or -1 when the server is gone. */
int soak_sample(const struct soak_server *s, struct soak_figures *f, int before);

/* Waits for the server to settle after a case: up to quiet_ms for its memory to stop falling, then
 * fills rss_after and fds_after, and recover_ms (a fresh TCP exchange, or UDP datagram, answered). */
void soak_settle(const struct soak_server *s, struct soak_figures *f, uint64_t abuse_end_ns, int quiet_ms);

/* One TCP exchange of a short message, checked. Returns 0, or -1 with a reason in err. */
int soak_tcp_ping(const struct net_addr *a, int timeout_ms, char *err, size_t errlen);

/* One UDP datagram answered and checked. Returns 0, or -1 with a reason in err. */
int soak_udp_ping(const struct net_addr *a, int timeout_ms, char *err, size_t errlen);

/* Fills p[0..n) with client id's stream from offset off on (deterministic, every byte value). */
void soak_stream(unsigned char *p, size_t n, uint32_t id, uint64_t off);

/* Checks got[0..n), received at offset off of client id's reply, against the oracle (identity nonzero:
 * against the stream itself, for an echo server). Returns the number of leading bytes that are right
 * (n when all are). */
size_t soak_check(const unsigned char *got, size_t n, uint32_t id, uint64_t off, int identity);

/* Sends up to n bytes of client id's stream from *off on without blocking; advances *off. */
void soak_send_some(int fd, uint32_t id, uint64_t *off, size_t n);

/* Reads what fd holds without blocking, checking it as client id's reply from *got on (advanced).
 * Returns the bytes verified, or -1 on a wrong byte. */
long soak_read_check(int fd, uint32_t id, uint64_t *got);

/* Opens a non-blocking TCP connection to a with SO_RCVBUF and SO_SNDBUF set to buffer bytes
 * (0: the defaults) before connecting. Returns the descriptor, or -1 with a reason in err. */
int soak_connect(const struct net_addr *a, int buffer, char *err, size_t errlen);

/* A thread sampling, while a case runs, every SOAK_SAMPLE_MS: the server's resident memory (KiB) and open
 * descriptors, and the descriptors open in this process (the clients' connections and a few files of
 * its own), as rows of a CSV file with the columns SOAK_SAMPLE_COLUMNS (elapsed_s counted from the start).
 * Rows stop when the server is gone. */
#define SOAK_SAMPLE_MS 250
#define SOAK_SAMPLE_COLUMNS "elapsed_s,rss_kib,fds,harness_fds"
struct soak_sampler;

/* Creates csv_path, writes its column names and starts sampling server. Returns the sampler, or NULL
 * with a reason in err. */
struct soak_sampler *soak_sampler_start(pid_t server, const char *csv_path, char *err, size_t errlen);

/* Stops the sampling (after one last row), closes the file and frees s. Returns the rows written, or -1
 * with a reason in err when the file could not be written whole. */
long soak_sampler_stop(struct soak_sampler *s, char *err, size_t errlen);

/* The cases. Each fills f (zeroed by the caller, name and server set) and returns 0 when it could run,
 * -1 when it could not be set up (reason in f->note); f->ok tells whether it held. */
int soak_backpressure(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f);
int soak_unsent_bound(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f);
int soak_reset_storm(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f);
int soak_slow_clients(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f);
int soak_half_open(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f);
int soak_descriptors(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f);
int soak_udp_flood(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f);
int soak_sigterm(struct soak_server *s, const struct soak_plan *p, struct soak_figures *f);

#endif
