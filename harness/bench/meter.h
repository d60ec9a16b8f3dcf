/* meter.h - the CPU time a load run costs over its measured window: the server's (user + system, all
 * threads, from /proc/PID/stat) and this process's (getrusage). Reads /proc; never prints or exits. */
#ifndef METER_H
#define METER_H

#include <sys/types.h>

struct meter {
	pid_t pid;      /* the server; 0 if unknown */
	double server0; /* CPU seconds at meter_start(), -1 if unknown */
	double self0;
};

/* Starts the window: notes the CPU seconds used so far by the server pid (0: none) and by this process. */
void meter_start(struct meter *m, pid_t pid);

/* Ends the window: the CPU seconds used since meter_start() by the server into *server_s and by this
 * process into *self_s, each -1 when unknown (no pid, the server gone, /proc unreadable). */
void meter_end(const struct meter *m, double *server_s, double *self_s);

#endif
