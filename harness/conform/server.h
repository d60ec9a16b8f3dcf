/* server.h - the server under test started by conform (--exec): run under /bin/sh in its own process
 * group with a lowered descriptor limit, its listening addresses taken from its output (loopback only),
 * its death noticed, restarted, and stopped at the end. */
#ifndef SERVER_H
#define SERVER_H

#include <stdio.h>

#include "case.h"

struct server;

/* Starts command under /bin/sh (its own process group, output to a log file, SIGPIPE at its default), with
 * "{port}" replaced by a free port; when nofile > 0, with a hard RLIMIT_NOFILE of max(nofile, many_nofile)
 * (room for the many-connections case) and, once it listens, a soft one of nofile (so that a descriptor
 * leak shows soon). transports (CASE_TCP and/or CASE_UDP) is what it must serve. Waits (start_ms) until
 * it prints "listening on tcp|udp ADDR:PORT" for each, or with {port} until 127.0.0.1:port listens as the
 * transport tells (TCP connects, UDP brings no ICMP port unreachable: a server that is up but does not
 * answer fails its cases, not its start), and fills t. Returns the server, or NULL with a reason in err. */
struct server *server_start(const char *command, int transports, int nofile, int many_nofile, int start_ms,
                            struct case_target *t, char *err, size_t errlen);

/* Returns 1 when the server has exited (how, in words, in why), 0 while it runs. */
int server_has_exited(struct server *s, char *why, size_t whylen);

/* Starts it again after it died (a new port for {port}) and fills t. Returns 0 or -1 with err. */
int server_restart(struct server *s, struct case_target *t, char *err, size_t errlen);

/* Stops it: SIGTERM to its process group, SIGKILL after 2 s, and frees s. Returns 0 with the milliseconds
 * the whole group took to go in *stop_ms, or -1 when it had to be killed. NULL is allowed (returns 0). */
int server_stop(struct server *s, long *stop_ms);

/* Writes the last lines of its output to f, each after prefix. */
void server_print_log_tail(struct server *s, FILE *f, const char *prefix, int lines);

/* The command as given. */
const char *server_command(const struct server *s);

/* The process group the server runs in (its own, started by conform). */
pid_t server_process_group(const struct server *s);

/* How many times it was restarted. */
int server_restart_count(const struct server *s);

/* Kills every started server's process group (async-signal-safe: for conform's signal handler). */
void server_kill_all(void);

#endif
