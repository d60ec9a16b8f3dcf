/* child.h - the one way a program starts another process. A server under test runs as a child process:
 * started in its own process group with its output in a log file, waited for until it says where it
 * listens (or answers on the {port} it was given), watched for its death, stopped with its whole group,
 * restarted, and its log's tail shown. A helper command (gnuplot for lib/chart, for example) runs to its
 * end with the descriptors it is given, bounded in time (child_run); or it is started with them
 * (child_spawn), so that the caller talks to it while it runs, and then waited for within a bound
 * (child_finish). Every C tool that runs a server or a command (conform, replay, bench, the fuzz tools,
 * chart, the integration tests) uses this one module. Errors are return
 * codes with a reason in the caller's buffer; nothing is printed except by child_tail() to the stream it
 * is given, and nothing exits. The module sends traffic only to loopback; which addresses a tool accepts
 * from a server is the tool's policy, not the module's. At most 64 servers exist at once (child_free ends
 * one); one thread starts and stops them. */
#ifndef CHILD_H
#define CHILD_H

#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "net.h"

/* Protocols, as bits: what child_start() waits for, what child_probe() checks. */
enum child_proto { CHILD_TCP = 1, CHILD_UDP = 2 };

/* How to run the server. Zero-initialise, then set what is needed. */
struct child_options {
	/* The program and its arguments, NULL-terminated; a program name without '/' is looked up in
	 * PATH. Exactly one of argv and command is given. */
	const char *const *argv;
	/* Or one command string, split into words on spaces and tabs (no shell, no quoting)... */
	const char *command;
	/* ...or, when shell is nonzero, a shell command: run as /bin/sh -c COMMAND when it has shell syntax
	 * (a byte other than letters, digits, blanks and _@%+=:,./-, or an assignment first), otherwise
	 * split into words and run directly, so that the program is the process started and its death by a
	 * signal is its own; only when it cannot be run directly (a builtin such as exit, or no such
	 * program) does the shell run it (then "not found" is the shell's exit status 127). */
	int shell;
	/* Every "{port}" in argv or command is replaced by one port number that is free on 127.0.0.1 for
	 * both TCP and UDP at start time (a new one at each restart); see child_addrs.port. */

	/* What child_start() waits for: CHILD_TCP and/or CHILD_UDP "listening on" lines (see
	 * child_start), or 0 not to wait at all (child_start returns once the program is running). */
	int want;
	/* Bound on that wait, in milliseconds (0: 5000). */
	int start_ms;
	/* > 0: the soft and hard RLIMIT_NOFILE of the child; 0: inherited. */
	long nofile;
	/* The child's stdout and stderr go to this file (created or truncated, kept afterwards); NULL: to a
	 * temporary file in $TMPDIR or /tmp, removed by child_free() and child_kill_all(). */
	const char *log_path;
	/* > 0: only the first log_max bytes are written to the log, the rest is read and dropped (then a
	 * line "[log cut here: more than N bytes]" ends it): a server that prints every message
	 * cannot fill the disk, and its printing still costs it what a terminal would. 0: no bound. */
	size_t log_max;
	/* Not NULL: the CPUs the child may run on (sched_setaffinity; a failure is written to the log). */
	const cpu_set_t *affinity;
};

/* Where a started server listens, from its "listening on PROTO ADDR:PORT" lines (PROTO tcp or udp,
 * ADDR numeric: IPv4, or IPv6 in brackets; a line counts once it is whole). The first line of each
 * protocol wins, except that an IPv4 address replaces an earlier IPv6 one in tcp/udp; the IPv6 ones
 * are also kept in tcp6/udp6. Addresses are given as printed (a wildcard stays a wildcard). A protocol
 * in want without a line, but listening on {port}, is 127.0.0.1:port. */
struct child_addrs {
	struct net_addr tcp, udp;   /* IPv4 preferred */
	struct net_addr tcp6, udp6; /* the first IPv6 ones printed */
	int has_tcp, has_udp, has_tcp6, has_udp6;
	unsigned port; /* the port substituted for {port}, 0 when the command has none */
};

/* One running (or ended) server. */
struct child;

/* Starts the server described by o and waits, at most o->start_ms, until it is ready:
 *  - every protocol in o->want has a "listening on" line in its log (anywhere in a line, within the
 *    first 16 KiB of the log), or
 *  - the command has {port} and every protocol in o->want without such a line listens on
 *    127.0.0.1:port, as the transport tells: a TCP connection completes (for CHILD_TCP; a reset right
 *    after it counts), and a 5-byte "probe" datagram brings no ICMP port unreachable within 100 ms (for
 *    CHILD_UDP; an answer or silence both mean a socket is bound there, and TCP is checked first). Whether
 *    the server answers is the caller's to judge, not a start-up failure.
 * The child runs in its own process group, with stdin /dev/null, stdout and stderr to the log, SIGPIPE
 * and every other signal at its default disposition, no descriptor but 0-2 inherited, and o->nofile and
 * o->affinity applied. The calling process becomes a child subreaper (PR_SET_CHILD_SUBREAPER), so the
 * orphans of the server's group come back to it and are reaped by this module: a zombie only init
 * would reap could otherwise make a stopped group look alive. On success stores the handle in *out and the
 * addresses in *addrs (zeroed first; with want 0 only addrs->port is set) and returns 0. Otherwise returns -1
 * with a reason in err and leaves nothing running: "cannot run 'PROG': No such file or directory", "'CMD'
 * exited with status 3 before it was listening; its last output: ...", "'CMD' did not start listening within
 * 5000 ms (no 'listening on tcp ADDR:PORT' line and nothing listening on {port}); it printed nothing". CMD is
 * the command as given ({port} unsubstituted; argv joined by spaces). */
int child_start(const struct child_options *o, struct child **out, struct child_addrs *addrs, char *err,
                size_t errlen);

/* Tells whether the server has ended. Reaps, without waiting, whatever of its process group has ended
 * (so a caller that is a child subreaper, PR_SET_CHILD_SUBREAPER, collects the group's orphans too); the
 * server's own status is kept from the one time it is reaped. Returns 1 and its status in words in why
 * (see child_describe) when it has ended, 0 while it runs. */
int child_dead(struct child *c, char *why, size_t whylen);

/* Waits at most timeout_ms for the server to end by itself (nothing is sent to it). Returns 1 when it
 * has ended, 0 when it still runs. */
int child_wait(struct child *c, int timeout_ms);

/* Checks that the server still serves proto (CHILD_TCP or CHILD_UDP) at the address it gave at its
 * last start: a TCP connection is accepted within timeout_ms, or a "probe" datagram is answered within
 * timeout_ms. A wildcard address is probed on loopback; any other address that is not loopback is
 * refused (no traffic leaves the host). Returns 0, or -1 with a reason in err (also when it is dead). */
int child_probe(struct child *c, int proto, int timeout_ms, char *err, size_t errlen);

/* How child_stop() found the server's end. */
enum child_end {
	CHILD_END_BEFORE = 0, /* it had already ended before the signal */
	CHILD_END_SIGNAL,     /* it, and its whole process group, ended within the wait after the signal */
	CHILD_END_KILLED      /* something of the group was still there after the wait: killed (SIGKILL) */
};

/* The outcome of child_stop(). */
struct child_exit {
	enum child_end end;
	int status;    /* the server's wait status (waitpid), -1 if it could not be reaped */
	long ms;       /* from the signal until the whole group was gone; 0 with CHILD_END_BEFORE */
	char why[128]; /* the status in words (child_describe) */
};

/* Stops the server: sends sig (SIGTERM, SIGINT, ...) to its process group, waits at most wait_ms for
 * the server to end and the group to be empty, then sends SIGKILL to the group and waits (bounded) for
 * it to go. Also reaps its log-bounding process. Returns how it ended in *e (e may be NULL). Stopping an
 * already stopped child reports CHILD_END_BEFORE with the status it had. */
void child_stop(struct child *c, int sig, int wait_ms, struct child_exit *e);

/* Kills what is left of the server's process group (SIGKILL), then starts the same command again
 * (a new {port}), waiting as child_start() does; addrs gets the new addresses. Returns 0, or -1 with a
 * reason in err (the child is then ended, and child_restart may be tried again). */
int child_restart(struct child *c, struct child_addrs *addrs, char *err, size_t errlen);

/* Stops the server if it still runs (SIGKILL to its group), removes a temporary log, frees c.
 * NULL is allowed. */
void child_free(struct child *c);

/* Writes the last lines of the server's log to f (at most lines lines, 0: all; only from its last
 * 64 KiB), each as prefix, the line escaped as rep_escape() does (report.h; cut to about 4000
 * characters with "..."), and a newline. Writes nothing for an empty log. */
void child_tail(const struct child *c, FILE *f, const char *prefix, int lines);

/* Appends to the message in err "; its last output: LINE" (the last non-empty line of the log,
 * escaped, cut to fit) or "; it printed nothing". */
void child_add_last_line(const struct child *c, char *err, size_t errlen);

/* The server's process id (also its process group id); 0 before it was ever started. */
pid_t child_pid(const struct child *c);

/* The command as given (argv joined by spaces), {port} unsubstituted. */
const char *child_command(const struct child *c);

/* The log file's path (the temporary one when no log_path was given). */
const char *child_log_path(const struct child *c);

/* How many times child_restart() started it again. */
int child_restarts(const struct child *c);

/* Returns 1 and the server's wait status in *status once it has been reaped (child_dead, child_wait,
 * child_stop), 0 while it runs. */
int child_status(const struct child *c, int *status);

/* Describes a wait status in words: "exited with status 3", "killed by signal 11 (SIGSEGV)"; with
 * shell nonzero an exit status 129-159 reads "exited with status 139 (its shell reports signal 11,
 * SIGSEGV)". */
void child_describe(int status, int shell, char *why, size_t whylen);

/* How child_run() found the command's end. */
enum child_run_end {
	CHILD_RUN_ENDED = 0,  /* it ended by itself: *status is its wait status */
	CHILD_RUN_TIMED_OUT,  /* it ran past the bound and was killed with its process group */
	CHILD_RUN_NOT_STARTED /* it could not be started: errno says why (ENOENT: no such program) */
};

/* Runs a command to its end, bounded in time. The command is o's (argv, or command and shell as for
 * child_start, but "{port}" is left as it is), with o->nofile and o->affinity applied (want, start_ms,
 * log_path and log_max are not used); its stdin, stdout and stderr are fd[0], fd[1] and fd[2] (-1:
 * /dev/null), and no other descriptor of the caller is inherited. It runs in its own process group with
 * every signal at its default. After timeout_ms (0: no bound) the group is killed (SIGKILL); once the
 * command has ended, whatever it left in its group is killed too, and reaped (the caller becomes a child
 * subreaper, as with child_start), so nothing it started outlives the call. Stores the command's wait status
 * in *status (-1 when it could not be reaped) and returns how it ended. With CHILD_RUN_NOT_STARTED errno and
 * err tell why ("cannot run 'PROG': No such file or directory"); with CHILD_RUN_TIMED_OUT err says "'CMD' did
 * not end within N ms and was killed". */
enum child_run_end child_run(const struct child_options *o, const int fd[3], int timeout_ms, int *status,
                             char *err, size_t errlen);

/* child_run in two halves, for a caller that talks to the command while it runs (on a socketpair or a
 * pipe it gives as fd[]): child_spawn starts it as child_run does and returns at once; child_finish
 * waits for its end. The caller closes its own copies of what it gave in fd[] (only the command's 0-2
 * hold them then).
 * child_spawn returns the command's pid (also its process group id), which child_finish must be given
 * once, or -1 with errno and err as with CHILD_RUN_NOT_STARTED. */
pid_t child_spawn(const struct child_options *o, const int fd[3], char *err, size_t errlen);

/* Waits at most timeout_ms (0: no bound) for the command child_spawn started as pid to end, then kills
 * its process group (on time-out the command too) and reaps it and whatever it left, as child_run does.
 * Stores the command's wait status in *status (-1 when it could not be reaped) and returns
 * CHILD_RUN_ENDED or CHILD_RUN_TIMED_OUT; CHILD_RUN_NOT_STARTED (errno EINVAL, nothing signalled) for a
 * pid that is not positive. */
enum child_run_end child_finish(pid_t pid, int timeout_ms, int *status);

/* For a signal handler or an emergency exit: SIGKILL to every process group started and not yet
 * stopped, and removal of their temporary logs. Async-signal-safe. */
void child_kill_all(void);

#endif
