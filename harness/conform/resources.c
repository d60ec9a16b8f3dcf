/* resources.c - a server's memory, descriptors and threads from /proc (memory and descriptors per
 * process through lib/util's readers), and its descriptor limit. */
#include "resources.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util.h"

/* One process as /proc/PID/stat gives it. */
struct process {
	pid_t pid, parent, group;
	long threads;
};

/* Reads /proc/PID/stat. Returns 0 or -1. */
static int read_process(pid_t pid, struct process *p)
{
	struct util_proc_stat st;

	if (util_proc_stat(pid, &st) < 0)
		return -1;
	p->pid = pid;
	p->parent = st.parent;
	p->group = st.group;
	p->threads = st.threads;
	return 0;
}

/* Every process on the host; *n how many. Returns a malloc'd array or NULL. */
static struct process *list_processes(size_t *n)
{
	DIR *d = opendir("/proc");
	size_t cap = 256;
	struct process *all = malloc(cap * sizeof *all);
	*n = 0;
	if (d == NULL || all == NULL) {
		if (d != NULL)
			closedir(d);
		free(all);
		return NULL;
	}
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		if (*n == cap) {
			struct process *bigger = realloc(all, 2 * cap * sizeof *all);
			if (bigger == NULL)
				break;
			all = bigger;
			cap *= 2;
		}
		if (read_process((pid_t)atol(e->d_name), &all[*n]) == 0)
			(*n)++;
	}
	closedir(d);
	return all;
}

/* Marks in[i] for the processes of the scope (the root's descendants found by walking parents). */
static size_t select_scope(const struct resources_scope *scope, const struct process *all, size_t n,
                           unsigned char *in)
{
	size_t count = 0;
	pid_t self = getpid();
	for (size_t i = 0; i < n; i++) {
		in[i] = 0;
		if (all[i].pid == self)
			continue;
		if (scope->group > 0 && all[i].group == scope->group)
			in[i] = 1;
		for (pid_t p = all[i].pid, depth = 0; !in[i] && scope->root > 0 && p > 1 && depth < 64;
		     depth++) {
			if (p == scope->root) {
				in[i] = 1;
				break;
			}
			pid_t parent = 0;
			for (size_t j = 0; j < n; j++)
				if (all[j].pid == p)
					parent = all[j].parent;
			p = parent;
		}
		count += in[i];
	}
	return count;
}

/* The scope's processes: a malloc'd array of *n, or NULL with err. */
static struct process *scope_processes(const struct resources_scope *scope, size_t *n, char *err,
                                       size_t errlen)
{
	size_t total;
	struct process *all = list_processes(&total);
	unsigned char *in = malloc(total + 1);
	if (all == NULL || in == NULL) {
		free(all);
		free(in);
		snprintf(err, errlen, "cannot read /proc: %s", strerror(errno ? errno : ENOMEM));
		return NULL;
	}
	select_scope(scope, all, total, in);
	*n = 0;
	for (size_t i = 0; i < total; i++)
		if (in[i])
			all[(*n)++] = all[i];
	free(in);
	if (*n == 0) {
		snprintf(err, errlen, "no process of the server found in /proc (group %d, pid %d)",
		         (int)scope->group, (int)scope->root);
		free(all);
		return NULL;
	}
	return all;
}

int resources_sample(const struct resources_scope *scope, struct resources_sample *s, char *err,
                     size_t errlen)
{
	size_t n;
	struct process *p = scope_processes(scope, &n, err, errlen);
	memset(s, 0, sizeof *s);
	if (p == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		long resident_kib = util_rss_kib(p[i].pid);
		int descriptors = util_count_fds(p[i].pid);
		s->resident_bytes += resident_kib > 0 ? resident_kib * 1024LL : 0; /* gone meanwhile: 0 */
		s->descriptors += descriptors > 0 ? descriptors : 0;
		s->threads += p[i].threads;
	}
	s->processes = (int)n;
	free(p);
	return 0;
}

long resources_set_nofile(const struct resources_scope *scope, long soft, char *err, size_t errlen)
{
	size_t n;
	struct process *p = scope_processes(scope, &n, err, errlen);
	long lowest = -1;
	if (p == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct rlimit now, want;
		if (prlimit(p[i].pid, RLIMIT_NOFILE, NULL, &now) < 0)
			continue; /* gone meanwhile */
		want.rlim_max = now.rlim_max;
		want.rlim_cur = (rlim_t)soft < now.rlim_max ? (rlim_t)soft : now.rlim_max;
		if (prlimit(p[i].pid, RLIMIT_NOFILE, &want, NULL) < 0) {
			snprintf(err, errlen, "prlimit of process %d: %s", (int)p[i].pid, strerror(errno));
			free(p);
			return -1;
		}
		if (lowest < 0 || (long)want.rlim_cur < lowest)
			lowest = (long)want.rlim_cur;
	}
	free(p);
	return lowest;
}

/* Reads the state, utime and stime of /proc/PATH/stat (PATH: "PID" or "PID/task/TID"). Returns 0 or -1. */
static int read_cpu(const char *path, char *state, double *user_s, double *system_s)
{
	char file[128], line[1024];
	unsigned long long utime, stime;
	snprintf(file, sizeof file, "/proc/%s/stat", path);
	FILE *f = fopen(file, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(line, 1, sizeof line - 1, f);
	fclose(f);
	line[n] = '\0';
	char *end = strrchr(line, ')'); /* the command name may hold spaces and parentheses */
	if (end == NULL || sscanf(end + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", state,
	                          &utime, &stime) != 3)
		return -1;
	long hz = sysconf(_SC_CLK_TCK);
	*user_s = (double)utime / (double)(hz > 0 ? hz : 100);
	*system_s = (double)stime / (double)(hz > 0 ? hz : 100);
	return 0;
}

/* Adds process pid's CPU state, times and threads to cpu (nothing when it is gone meanwhile). */
static void add_cpu(pid_t pid, struct resources_cpu *cpu)
{
	char path[64], state;
	double user_s, system_s;
	snprintf(path, sizeof path, "%d", (int)pid);
	if (read_cpu(path, &state, &user_s, &system_s) < 0)
		return;
	if (cpu->processes++ == 0)
		cpu->state = state;
	cpu->user_s += user_s;
	cpu->system_s += system_s;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof path, "%d/task/%.20s", (int)pid, e->d_name);
		if (read_cpu(path, &state, &user_s, &system_s) < 0)
			continue;
		cpu->threads++;
		cpu->running += state == 'R';
		cpu->waiting += state == 'D';
	}
	if (d != NULL)
		closedir(d);
}

int resources_cpu(const struct resources_scope *scope, struct resources_cpu *cpu, char *err, size_t errlen)
{
	size_t n;
	memset(cpu, 0, sizeof *cpu);
	struct process *p = scope_processes(scope, &n, err, errlen);
	if (p == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		add_cpu(p[i].pid, cpu);
	free(p);
	if (cpu->processes == 0) {
		snprintf(err, errlen, "the server's processes are gone");
		return -1;
	}
	return 0;
}

char *resources_describe_cpu(const struct resources_scope *scope, char *buf, size_t len)
{
	struct resources_cpu cpu;
	char err[128];
	if (resources_cpu(scope, &cpu, err, sizeof err) < 0) {
		snprintf(buf, len, "server CPU state unknown (%s)", err);
		return buf;
	}
	snprintf(buf, len,
	         "server %s %d (%d process%s, state %c, %ld thread%s: %ld running, %ld in disk wait; %.2f s "
	         "user, %.2f s system)",
	         scope->group > 0 ? "group" : "pid", (int)(scope->group > 0 ? scope->group : scope->root),
	         cpu.processes, cpu.processes == 1 ? "" : "es", cpu.state, cpu.threads,
	         cpu.threads == 1 ? "" : "s", cpu.running, cpu.waiting, cpu.user_s, cpu.system_s);
	return buf;
}
