/* meter.c - the CPU time of the server and of the load generator over a load run's measured window. */
#include "meter.h"

#include <sys/resource.h>

#include "util.h"

/* CPU seconds (user + system, all threads) the process has used so far, or -1. */
static double server_cpu_s(pid_t pid)
{
	struct util_proc_stat st;

	if (pid <= 0 || util_proc_stat(pid, &st) < 0)
		return -1;
	return st.cpu_s;
}

/* CPU seconds this process has used so far, or -1. */
static double self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return -1;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void meter_start(struct meter *m, pid_t pid)
{
	m->pid = pid;
	m->server0 = server_cpu_s(pid);
	m->self0 = self_cpu_s();
}

void meter_end(const struct meter *m, double *server_s, double *self_s)
{
	double now = server_cpu_s(m->pid), self = self_cpu_s();

	*server_s = m->server0 >= 0 && now >= 0 ? now - m->server0 : -1;
	*self_s = m->self0 >= 0 && self >= 0 ? self - m->self0 : -1;
}
