/* resources.h - what a server holds, read from /proc: resident memory, open descriptors and threads of
 * its process group (the one conform started it in) and of every process descending from a given one
 * (a server conform did not start, --pid); and the soft descriptor limit of those processes, raised
 * for the case that opens thousands of connections and lowered again after it (prlimit). */
#ifndef RESOURCES_H
#define RESOURCES_H

#include <stddef.h>
#include <sys/types.h>

/* Which processes: those in process group `group` (0: none) and `root` with its descendants (0: none). */
struct resources_scope {
	pid_t group, root;
};

/* The sum over the processes of a scope. */
struct resources_sample {
	long long resident_bytes;
	long descriptors, threads;
	int processes;
};

/* Reads the scope's processes from /proc (conform's own process never counts). Returns 0, or -1 with a
 * reason in err when no process of the scope is found or /proc cannot be read. */
int resources_sample(const struct resources_scope *scope, struct resources_sample *s, char *err,
                     size_t errlen);

/* The CPU state of a scope's processes, from /proc/PID/stat and /proc/PID/task/TID/stat. */
struct resources_cpu {
	int processes;
	long threads, running, waiting; /* threads in all, running or runnable (R), in disk wait (D) */
	char state;                     /* the first process's state (R, S, D, T, Z, ...) */
	double user_s, system_s;        /* CPU seconds of all their threads so far */
};

/* Reads the scope's CPU state. Returns 0, or -1 with a reason in err. */
int resources_cpu(const struct resources_scope *scope, struct resources_cpu *cpu, char *err, size_t errlen);

/* "pid 123 (state S, 3 threads: 1 running, 0 in disk wait; 1.20 s user, 0.30 s system)" into buf, or
 * the reason it could not be read. Returns buf. */
char *resources_describe_cpu(const struct resources_scope *scope, char *buf, size_t len);

/* Sets the soft RLIMIT_NOFILE of every process of the scope to soft (at most its hard limit). Returns
 * the lowest limit set, or -1 with a reason in err. */
long resources_set_nofile(const struct resources_scope *scope, long soft, char *err, size_t errlen);

#endif
