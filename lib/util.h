/* util.h - small helpers every program shares: the monotonic clock, strict number parsing, the stdout
 * check, report outputs ("-" for stdout), mkdir -p, the IPv6-loopback probe and the descriptor-limit raise.
 * No printing, no exit. */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Returns CLOCK_MONOTONIC in nanoseconds. */
uint64_t util_now_ns(void);

/* Returns CLOCK_MONOTONIC in seconds. */
double util_now_s(void);

/* Returns the whole milliseconds from now until deadline_ns (a util_now_ns() value), 0 once it has
 * passed, at most INT_MAX: the timeout argument of poll(). */
int util_ms_left(uint64_t deadline_ns);

/* Sleeps ms milliseconds, resuming after signals. */
void util_sleep_ms(int ms);

/* Parses s as a whole decimal number in [min, max] (no sign, no spaces, no trailing text; an
 * optional k, m or g suffix, or K, M, G, multiplies by 1024, 1024^2, 1024^3 when suffixes is nonzero;
 * a value that does not fit in 64 bits, before or after the multiplication, is refused). Returns 0 and
 * stores it in *out, or -1 with a reason such as "'12x' is not a number from 1 to 64" in err. */
int util_parse_u64(const char *s, uint64_t min, uint64_t max, int suffixes, uint64_t *out, char *err,
                   size_t errlen);

/* Parses s as a decimal number of seconds (fraction allowed, for example 0.5) in [min, max]; NaN, inf
 * and trailing text are refused. Returns 0 and stores it in *out, or -1 with a reason in err. */
int util_parse_seconds(const char *s, double min, double max, double *out, char *err, size_t errlen);

/* Parses s as a duration in [min, max] seconds: a decimal number (fraction allowed) with an optional
 * unit, ms, s, m or h ("500ms", "2s", "1.5m"); a bare number is seconds. Returns 0 and stores the
 * seconds in *out, or -1 with a reason such as "'5x' is not a duration from 0.01 to 600 s (500ms, 2s,
 * 1m)" in err. */
int util_parse_duration(const char *s, double min, double max, double *out, char *err, size_t errlen);

/* Opens the output file of a report option for writing with mode ("w" or "wb"): "-" stands for
 * standard output, returned as is. Returns the stream, or NULL with errno set. */
FILE *util_open_output(const char *path, const char *mode);

/* Whether path names standard output ("-") for util_open_output(). */
int util_is_stdout(const char *path);

/* Ends a stream from util_open_output(): closes a file, flushes standard output (left open). Returns
 * 0, or -1 with errno set when something written did not reach the file. */
int util_close_output(FILE *f);

/* Flushes f and tells whether everything written to it so far reached the file (a full disk, a
 * closed pipe). Returns 0, or -1 with errno set (EIO when only the stream's error flag says so). */
int util_flush_ok(FILE *f);

/* Creates directory path and its missing parents with mode (before the umask), as mkdir -p does; a
 * directory that exists already is fine. Returns 0, or -1 with errno set and a reason naming the part
 * of path at fault in err (a part that is a file: ENOTDIR; an empty or too long path: ENOENT or
 * ENAMETOOLONG). */
int util_mkdir_p(const char *path, mode_t mode, char *err, size_t errlen);

/* The one rule for a directory that a program's option names for its output (replay --write-corpus,
 * conform --pcap-dir and --seeds-dir, soak -o): a directory that exists is taken, a missing last
 * component is created, a missing parent is refused ("DIR: its parent directory does not exist"), as
 * is a file in the way. Returns 0, or -1 with errno set and the reason, naming path, in err. */
int util_mkdir_out(const char *path, char *err, size_t errlen);

/* Tells whether this host can use IPv6 loopback: a socket of the given type (SOCK_STREAM or
 * SOCK_DGRAM) binds to [::1]:0. Returns 1 or 0. */
int util_have_ipv6_loopback(int type);

/* Raises the soft RLIMIT_NOFILE towards want (never above the hard limit, never lowers it; LONG_MAX
 * asks for the hard limit). Returns the soft limit in force afterwards (LONG_MAX when unlimited), or -1
 * with errno set if it cannot be read. */
long util_raise_nofile(long want);

/* Returns the resident memory (VmRSS) of process pid in KiB, from /proc/PID/status, or -1 when it
 * cannot be read (no such process). */
long util_rss_kib(pid_t pid);

/* Returns the number of open descriptors of process pid, from /proc/PID/fd, or -1 when they cannot
 * be listed. */
int util_count_fds(pid_t pid);

/* What /proc/PID/stat says of a process. */
struct util_proc_stat {
	pid_t parent, group; /* ppid and process group */
	long threads;
	double cpu_s; /* user + system CPU seconds of all its threads so far */
};

/* Reads /proc/PID/stat into st (the command name may hold spaces and parentheses). Returns 0, or -1
 * when it cannot be read (no such process) or parsed. */
int util_proc_stat(pid_t pid, struct util_proc_stat *st);

/* The whole of a /proc/net table (path), NUL-terminated, in a malloc'd buffer the caller frees; NULL when
 * it cannot be read. The kernel lists the sockets afresh at each read() that does not continue the one
 * before: with sockets coming and going meanwhile, a table read in small pieces may skip a line. So it
 * is read in as few read() calls as a large buffer allows. */
char *util_read_proc_table(const char *path);

/* The kernel's drop count (receive buffer full) summed over the UDP sockets, IPv4 and IPv6, bound to
 * one of ports[0..n), from /proc/net/udp and udp6; -1 when no such socket is listed. */
long long util_udp_drops(const unsigned *ports, size_t n);

#endif
