/* bench.c - 'make bench': every figure for the reference servers, side by side in the same run with the
 * no-transform echo server (a) and the Python tutorial servers (b), runs interleaved, medians compared;
 * plus the fuzz, replay and conform figures where their targets exist. Writes BENCH.md and bench.json. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "load.h"

#define MAXRUNS 15
#define MAXARGS 16

/* The servers compared: the reference, (a) the no-transform echo, (b) the tutorial-style Python servers
 * with the tutorial's bugs fixed, (b') the faithful tutorial ones (sent printable text only: they
 * decode every message as UTF-8 and drop the connection otherwise). */
enum { S_REF, S_ECHO, S_PY, S_TUT, NSUBJ };
static const char *const subj_key[NSUBJ] = {"ref", "echo", "python", "python_tutorial"};
static const char *const subj_label[NSUBJ] = {"reference", "echo (a)", "python corrected (b)",
					      "python tutorial (b')"};

struct subject {
	char *tcp[MAXARGS], *udp[MAXARGS]; /* argv; tcp[0] == NULL: not available */
	char why[256];                     /* why not available */
};

struct figure {
	const char *key, *label;
	enum load_mode mode;
	int udp, conns, window;
	size_t size;
	double bar_echo, bar_py; /* minimum ratios; 0 = no bar */
	int once;                /* measured once per subject (RSS is not noisy, and slow for Python) */
};

static const struct figure figs[] = {
	{"stream1", "TCP stream, 1 connection", LOAD_STREAM, 0, 1, 0, 64, 0.9, 5, 0},
	{"stream4", "TCP stream, 4 connections", LOAD_STREAM, 0, 4, 0, 64, 0.9, 5, 0},
	{"pingpong", "TCP ping-pong, 64 B, 8 connections", LOAD_PINGPONG, 0, 8, 0, 64, 0.9, 3, 0},
	{"udp64", "UDP, 64 B datagrams, window 64", LOAD_UDP, 1, 1, 64, 64, 0.9, 20, 0},
	{"udp1400", "UDP, 1400 B datagrams, window 64", LOAD_UDP, 1, 1, 64, 1400, 0.9, 20, 0},
	{"accept", "TCP connections/s (connect, 8 B round trip, close; 32 at a time)", LOAD_ACCEPT, 0, 32, 0,
	 8, 0, 0, 0},
	{"idle", "Server RSS per idle connection, 10,000 connections", LOAD_IDLE, 0, 10000, 0, 8, 0, 0, 1},
};
#define NFIG (sizeof figs / sizeof figs[0])

struct cell {
	int nruns;
	double v[MAXRUNS];
	struct load_result r[MAXRUNS];
	int status;       /* LOAD_OK, LOAD_ERR, LOAD_WRONG; 1 = not available */
	char msg[512];    /* first error */
	double median;
	int mi;           /* run whose value is the median */
	int round[MAXRUNS]; /* the round (0..runs-1) of each successful run */
};

struct opts {
	double seconds;
	int runs;
	const char *outdir, *bindir, *make, *conform;
	char *pytcp, *pyudp, *tuttcp, *tutudp;
	const char *only;
};

static struct cell cells[NFIG][NSUBJ];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Splits s (modified) on spaces into argv; returns the count. */
static int split(char *s, char **argv, int max)
{
	int n = 0;

	for (char *t = strtok(s, " "); t != NULL && n < max - 1; t = strtok(NULL, " "))
		argv[n++] = t;
	argv[n] = NULL;
	return n;
}

/* ---- child processes ----------------------------------------------------------------------------- */

/* Every child's output goes through a pipe to a drain process that keeps the first LOG_MAX bytes in its
 * log and discards the rest: a server that prints every message (the tutorial's) would otherwise write
 * gigabytes, and its printing still costs it what it costs on a terminal. */
#define LOG_MAX (1 << 20)
#define MAXKIDS 8

static struct {
	pid_t pid, drain;
} kids[MAXKIDS];

static int pin_cpu = -1; /* --pin: the servers run on this CPU, the load generator on another */

static void drain(int in, int out)
{
	static char buf[65536];
	size_t kept = 0;
	ssize_t n;

	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (kept < LOG_MAX) {
			size_t k = (size_t)n < LOG_MAX - kept ? (size_t)n : LOG_MAX - kept;
			if (write(out, buf, k) < 0)
				break;
			kept += k;
			if (kept == LOG_MAX)
				(void)!write(out, "\n[bench: log truncated here]\n", 30);
		}
	}
	_exit(0);
}

static pid_t spawn(char *const *argv, const char *logpath, char *err, size_t errlen)
{
	int pfd[2], lfd, slot = -1;
	pid_t pid, dp;

	for (int i = 0; i < MAXKIDS; i++)
		if (kids[i].pid == 0) {
			slot = i;
			break;
		}
	if (slot < 0) {
		snprintf(err, errlen, "too many children");
		return -1;
	}
	/* A log left by an earlier bench must not be read as this server's first line. */
	if (unlink(logpath) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove %.300s: %s", logpath, strerror(errno));
		return -1;
	}
	lfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (lfd < 0) {
		snprintf(err, errlen, "cannot create %.300s: %s", logpath, strerror(errno));
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(lfd);
		return -1;
	}
	dp = fork();
	if (dp == 0) {
		close(pfd[1]);
		drain(pfd[0], lfd);
	}
	pid = dp < 0 ? -1 : fork();
	if (pid == 0) {
		int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nfd < 0)
			_exit(126);
		dup2(nfd, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		if (pin_cpu >= 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(pin_cpu, &set);
			if (sched_setaffinity(0, sizeof set, &set) < 0)
				dprintf(2, "bench: cannot pin to CPU %d: %s\n", pin_cpu, strerror(errno));
		}
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[0]);
	close(pfd[1]);
	close(lfd);
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		if (dp > 0)
			waitpid(dp, NULL, 0); /* it sees EOF: nobody holds the pipe any more */
		return -1;
	}
	kids[slot].pid = pid;
	kids[slot].drain = dp;
	return pid;
}

/* Reaps the drain process of pid, which has exited: 2 s for its last bytes, then it is killed (a
 * grandchild may still hold the pipe). */
static void reap_drain(pid_t pid)
{
	for (int i = 0; i < MAXKIDS; i++) {
		if (kids[i].pid != pid)
			continue;
		pid_t dp = kids[i].drain;
		kids[i].pid = kids[i].drain = 0;
		for (int k = 0; k < 200; k++) {
			if (waitpid(dp, NULL, WNOHANG) == dp)
				return;
			sleep_ms(10);
		}
		kill(dp, SIGKILL);
		waitpid(dp, NULL, 0);
		return;
	}
}

/* Stops pid: SIGTERM, then SIGKILL after 2 s. Returns 1 if it had already exited before we asked. */
static int stop(pid_t pid)
{
	int st, rc = 0;

	if (waitpid(pid, &st, WNOHANG) == pid) {
		rc = 1;
		goto out;
	}
	kill(pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			goto out;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
out:
	reap_drain(pid);
	return rc;
}

/* Starts a server and reads its first "listening on PROTO ADDR:PORT" line (PROTO "tcp" or "udp") from its
 * log (stdout and stderr), 10 s at most. A server may print both, as the Python ones do. */
static pid_t start_server(char *const *argv, const char *proto, const char *logpath, struct net_addr *a,
			  char *err, size_t errlen)
{
	pid_t pid = spawn(argv, logpath, err, errlen);
	char line[512], want[32];
	int st;

	snprintf(want, sizeof want, "listening on %s ", proto);
	if (pid < 0)
		return -1;
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(logpath, "r");
		while (f != NULL && fgets(line, sizeof line, f) != NULL) {
			if (strncmp(line, want, strlen(want)) != 0)
				continue;
			char *sp = strrchr(line, ' ');
			line[strcspn(line, "\r\n")] = '\0';
			fclose(f);
			if (sp != NULL && net_parse(sp + 1, a, err, errlen) == 0)
				return pid;
			snprintf(err, errlen, "%.200s: cannot parse its first line '%.200s'", argv[0], line);
			stop(pid);
			return -1;
		}
		if (f != NULL)
			fclose(f);
		if (waitpid(pid, &st, WNOHANG) == pid) {
			reap_drain(pid);
			snprintf(err, errlen, "%.200s exited (status %d) before its listening line; see %.200s", argv[0],
				 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), logpath);
			return -1;
		}
		sleep_ms(10);
	}
	snprintf(err, errlen, "%.200s printed no listening line within 10 s; see %.200s", argv[0], logpath);
	stop(pid);
	return -1;
}

/* Runs "sh -c cmd" with output to logpath, at most limit_s seconds. Returns the exit status, 124 on
 * time-out, -1 if it could not start. */
static int run_cmd(const char *cmd, const char *logpath, int limit_s, double *wall)
{
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	char err[256];
	double t0 = now_s();
	pid_t pid = spawn(argv, logpath, err, sizeof err);
	int st;

	if (pid < 0)
		return -1;
	for (;;) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (now_s() - t0 > limit_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			reap_drain(pid);
			return 124;
		}
		sleep_ms(20);
	}
	*wall = now_s() - t0;
	reap_drain(pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- one measurement ------------------------------------------------------------------------------ */

static void measure(const struct opts *o, const struct figure *f, int s, const struct subject *sj, int run)
{
	struct cell *c = &cells[f - figs][s];
	char logpath[512], err[512];
	struct load_cfg cfg = {.mode = f->mode,
			       .expect = s == S_ECHO ? LOAD_ECHO : LOAD_UPPER,
			       .conns = f->conns,
			       .size = f->size,
			       .window = f->window,
			       .seconds = o->seconds,
			       .text = s == S_TUT};
	struct load_result r;
	char *const *argv = f->udp ? sj->udp : sj->tcp;
	int rc;

	snprintf(logpath, sizeof logpath, "%s/logs/%s-%s-%d.log", o->outdir, f->key, subj_key[s], run + 1);
	cfg.pid = start_server(argv, f->udp ? "udp" : "tcp", logpath, &cfg.addr, err, sizeof err);
	if (cfg.pid < 0) {
		rc = LOAD_ERR;
	} else {
		rc = load_run(&cfg, &r, err, sizeof err);
		if (stop(cfg.pid) && rc == LOAD_OK) {
			snprintf(err, sizeof err, "the server exited during the run; see %.400s", logpath);
			rc = LOAD_ERR;
		}
	}
	if (rc != LOAD_OK) {
		if (c->status == LOAD_OK) {
			c->status = rc;
			snprintf(c->msg, sizeof c->msg, "%s", err);
		}
		fprintf(stderr, "  %-9s %-10s run %d: %s: %s\n", f->key, subj_key[s], run + 1,
			rc == LOAD_WRONG ? "WRONG REPLY" : "error", err);
		return;
	}
	c->r[c->nruns] = r;
	c->round[c->nruns] = run;
	c->v[c->nruns++] = r.value;
	fprintf(stderr, "  %-9s %-10s run %d: %.3f %s", f->key, subj_key[s], run + 1, r.value, r.unit);
	if (f->mode == LOAD_PINGPONG)
		fprintf(stderr, " (p50 %.0f us, p99 %.0f us)", r.p50_us, r.p99_us);
	if (f->mode == LOAD_UDP)
		fprintf(stderr, " (%llu sent, %llu lost)", (unsigned long long)r.sent, (unsigned long long)r.lost);
	if (f->mode == LOAD_IDLE)
		fprintf(stderr, " (VmRSS %ld -> %ld KiB, %llu connections held)", r.rss_before_kb, r.rss_after_kb,
			(unsigned long long)r.ops);
	if (r.failed)
		fprintf(stderr, " (%llu attempts failed)", (unsigned long long)r.failed);
	if (r.server_cpu_s >= 0 && f->mode != LOAD_IDLE && r.seconds > 0)
		fprintf(stderr, " [CPU: server %.0f%%, loadgen %.0f%%]", 100 * r.server_cpu_s / r.seconds,
			100 * r.client_cpu_s / r.seconds);
	fputc('\n', stderr);
}

static void finish_cell(struct cell *c)
{
	int idx[MAXRUNS];

	if (c->nruns == 0)
		return;
	for (int i = 0; i < c->nruns; i++)
		idx[i] = i;
	for (int i = 1; i < c->nruns; i++) /* insertion sort of run indexes by value */
		for (int j = i; j > 0 && c->v[idx[j - 1]] > c->v[idx[j]]; j--) {
			int t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	c->mi = idx[(c->nruns - 1) / 2];
	c->median = c->v[c->mi];
}

/* ---- output ----------------------------------------------------------------------------------------- */

static void fmt_value(char *buf, size_t len, const struct figure *f, const struct cell *c)
{
	const struct load_result *r = &c->r[c->mi];

	if (c->nruns == 0) {
		snprintf(buf, len, "%s", c->status == 1 ? "n/a" : c->status == LOAD_WRONG ? "WRONG" : "error");
		return;
	}
	switch (f->mode) {
	case LOAD_STREAM:
		snprintf(buf, len, "%.0f MB/s", c->median);
		break;
	case LOAD_PINGPONG:
		snprintf(buf, len, "%.0f rt/s (p50 %.0f µs, p99 %.0f µs)", c->median, r->p50_us, r->p99_us);
		break;
	case LOAD_UDP:
		snprintf(buf, len, "%.0f replies/s (%.2f%% lost)", c->median,
			 r->sent ? 100.0 * (double)r->lost / (double)r->sent : 0.0);
		break;
	case LOAD_ACCEPT:
		snprintf(buf, len, "%.0f conn/s", c->median);
		break;
	case LOAD_IDLE:
		snprintf(buf, len, "%.0f B (VmRSS %ld→%ld KiB)", c->median, r->rss_before_kb, r->rss_after_kb);
		if (r->ops < (uint64_t)f->conns)
			snprintf(buf + strlen(buf), len - strlen(buf), ", only %llu of %d connections held after 20 s",
				 (unsigned long long)r->ops, f->conns);
		break;
	}
	if (c->status != LOAD_OK) /* some runs failed */
		snprintf(buf + strlen(buf), len - strlen(buf), " *");
}

static double median_of(double *v, int n)
{
	for (int i = 1; i < n; i++) /* insertion sort: n <= MAXRUNS */
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The ratio of the reference to subject s for figure fi: the median, over the rounds where both ran,
 * of ref/s within the round (the runs of one round are back to back, so they share the machine's
 * load at that moment). Returns 0 when there is no such round. */
static double ratio2(size_t fi, int top, int s)
{
	const struct cell *r = &cells[fi][top], *x = &cells[fi][s];
	double q[MAXRUNS];
	int n = 0;

	for (int i = 0; i < r->nruns; i++)
		for (int j = 0; j < x->nruns; j++)
			if (r->round[i] == x->round[j] && x->v[j] > 0)
				q[n++] = r->v[i] / x->v[j];
	return median_of(q, n);
}

static double ratio(size_t fi, int s)
{
	return ratio2(fi, S_REF, s);
}

/* Work done per CPU-second of the server and the load generator together, in one run; 0 if unknown.
 * Another tenant that takes the CPU slows both and lowers the throughput, but not this. */
static double per_cpu(const struct load_result *r)
{
	double cpu = r->server_cpu_s + r->client_cpu_s;

	return r->server_cpu_s >= 0 && r->client_cpu_s >= 0 && cpu > 0 ? r->value * r->seconds / cpu : 0;
}

/* ratio() of per_cpu(): the reference's work per CPU-second over the echo's, median over the rounds. */
static double ratio_cpu(size_t fi, int s)
{
	const struct cell *r = &cells[fi][S_REF], *x = &cells[fi][s];
	double q[MAXRUNS];
	int n = 0;

	for (int i = 0; i < r->nruns; i++)
		for (int j = 0; j < x->nruns; j++)
			if (r->round[i] == x->round[j] && per_cpu(&x->r[j]) > 0 && per_cpu(&r->r[i]) > 0)
				q[n++] = per_cpu(&r->r[i]) / per_cpu(&x->r[j]);
	return median_of(q, n);
}

/* The server's CPU time per unit of work (µs per MB for streams, per operation otherwise), median over
 * the runs; 0 when unknown. */
static double cpu_per_unit(size_t fi, int s)
{
	const struct cell *c = &cells[fi][s];
	double q[MAXRUNS];
	int n = 0;

	for (int i = 0; i < c->nruns; i++) {
		const struct load_result *r = &c->r[i];
		double work = figs[fi].mode == LOAD_STREAM ? (double)r->bytes / 1e6 : (double)r->ops;
		if (r->server_cpu_s >= 0 && work > 0)
			q[n++] = r->server_cpu_s * 1e6 / work;
	}
	return median_of(q, n);
}

struct extra {
	const char *key, *label;
	char value[512]; /* for the table */
	char *json;      /* a JSON value for bench.json */
};

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void machine(char *cpu, size_t cpulen, long *memkb, struct utsname *u)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(cpu, cpulen, "unknown");
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		char *p = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && p != NULL) {
			snprintf(cpu, cpulen, "%s", p + 2);
			cpu[strcspn(cpu, "\n")] = '\0';
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	*memkb = -1;
	f = fopen("/proc/meminfo", "r");
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "MemTotal: %ld kB", memkb) == 1)
			break;
	if (f != NULL)
		fclose(f);
	if (uname(u) < 0)
		memset(u, 0, sizeof *u);
}

static int selected(const struct opts *o, const char *key);

static int write_report(const struct opts *o, const struct subject *sj, struct extra *ex, int nex,
			double total_s)
{
	char path[512], cpu[256], v[NSUBJ][160], when[64];
	struct utsname u;
	long memkb;
	time_t t = time(NULL);
	FILE *md, *js;
	int bad = 0;

	strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&t));
	machine(cpu, sizeof cpu, &memkb, &u);
	snprintf(path, sizeof path, "%s/BENCH.md", o->outdir);
	md = fopen(path, "w");
	snprintf(path, sizeof path, "%s/bench.json", o->outdir);
	js = fopen(path, "w");
	if (md == NULL || js == NULL) {
		fprintf(stderr, "bench: cannot write %s/BENCH.md or bench.json: %s\n", o->outdir, strerror(errno));
		return -1;
	}
	FILE *outs[2] = {stdout, md};
	for (int k = 0; k < 2; k++) {
		FILE *f = outs[k];
		fprintf(f, "## capslock bench, %s\n\n", when);
		fprintf(f, "Machine: %ld CPUs, %s, Linux %s, %ld MiB RAM. Each figure: median of %d "
			   "rounds of %.1f s runs (ref, echo, python, tutorial back to back in each round, in rotating "
			   "order), every reply byte "
			   "verified; ratios are the median of the per-round ratios (\"per CPU-s\": of the work done per "
			   "CPU-second of server and load generator together, which other tenants do not move); RSS "
			   "once per server. Total "
			   "%.0f s.\n\n",
			sysconf(_SC_NPROCESSORS_ONLN), cpu, u.release, memkb / 1024, o->runs, o->seconds, total_s);
		fprintf(f, "| Figure | reference | echo (a) | python corrected (b) | python tutorial (b') | ref/echo "
			   "| ref/(b) | ref/(b') | bar |\n");
		fprintf(f, "|---|---|---|---|---|---|---|---|---|\n");
		for (size_t i = 0; i < NFIG; i++) {
			const struct figure *g = &figs[i];
			char bar[256] = "";
			if (!selected(o, g->key))
				continue;
			double re = ratio(i, S_ECHO), rp = ratio(i, S_PY), rt = ratio(i, S_TUT);
			for (int s = 0; s < NSUBJ; s++)
				fmt_value(v[s], sizeof v[s], g, &cells[i][s]);
			if (g->bar_echo > 0) {
				/* Where a Python bar fails, the echo's own ratio shows what the machine allows. */
				char eb[2][48] = {"", ""};
				double rr2[2] = {rp, rt}, er[2] = {ratio2(i, S_ECHO, S_PY), ratio2(i, S_ECHO, S_TUT)};
				for (int q = 0; q < 2; q++)
					if (rr2[q] > 0 && rr2[q] < g->bar_py && er[q] > 0)
						snprintf(eb[q], sizeof eb[q], " (echo: %.2f×)", er[q]);
				double rc = ratio_cpu(i, S_ECHO);
				char ec[64] = "";
				if (rc > 0)
					snprintf(ec, sizeof ec, " (per CPU-s: %.2f×, %s)", rc,
						 rc >= g->bar_echo ? "PASS" : "FAIL");
				snprintf(bar, sizeof bar, "≥%.1f× echo: %s%s; ≥%.0f× python: %s%s (b), %s%s (b')",
					 g->bar_echo, re == 0 ? "n/a" : re >= g->bar_echo ? "PASS" : "FAIL", ec, g->bar_py,
					 rp == 0 ? "n/a" : rp >= g->bar_py ? "PASS" : "FAIL", eb[0],
					 rt == 0 ? "n/a" : rt >= g->bar_py ? "PASS" : "FAIL", eb[1]);
			} else if (g->mode == LOAD_IDLE) {
				snprintf(bar, sizeof bar, "lower is better");
			}
			char rq[3][32];
			double rr[3] = {re, rp, rt};
			for (int q = 0; q < 3; q++) {
				if (rr[q] > 0)
					snprintf(rq[q], sizeof rq[q], rr[q] < 0.1 ? "%.4f×" : "%.2f×", rr[q]);
				else
					snprintf(rq[q], sizeof rq[q], "n/a");
			}
			fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", g->label, v[S_REF], v[S_ECHO],
				v[S_PY], v[S_TUT], rq[0], rq[1], rq[2], bar);
		}
		for (int e = 0; e < nex; e++)
			fprintf(f, "| %s | %s | | | | | | | |\n", ex[e].label, ex[e].value);
		fprintf(f, "\n");
		for (int s = 0; s < NSUBJ; s++)
			if (sj[s].why[0] != '\0')
				fprintf(f, "- %s: %s\n", subj_label[s], sj[s].why);
		for (size_t i = 0; i < NFIG; i++)
			for (int s = 0; s < NSUBJ; s++)
				if (cells[i][s].status != LOAD_OK && cells[i][s].status != 1)
					fprintf(f, "- %s, %s: %s%s\n", figs[i].key, subj_label[s],
						cells[i][s].status == LOAD_WRONG ? "WRONG REPLY: " : "",
						cells[i][s].status == 1 ? sj[s].why : cells[i][s].msg);
		fprintf(f, "\nServer CPU time per unit of work (user + system, from /proc/PID/stat; median over the "
			   "runs; lower is better). A server that matches the echo here is at the I/O limit whatever "
			   "the load on the machine:\n\n");
		fprintf(f, "| Figure | reference | echo (a) | python corrected (b) | python tutorial (b') | ref/echo "
			   "|\n|---|---|---|---|---|---|\n");
		for (size_t i = 0; i < NFIG; i++) {
			if (figs[i].mode == LOAD_IDLE || !selected(o, figs[i].key))
				continue;
			const char *unit = figs[i].mode == LOAD_STREAM ? "µs/MB" : "µs/op";
			double cu[NSUBJ];
			fprintf(f, "| %s |", figs[i].key);
			for (int s = 0; s < NSUBJ; s++) {
				cu[s] = cpu_per_unit(i, s);
				if (cu[s] > 0)
					fprintf(f, " %.1f %s |", cu[s], unit);
				else
					fprintf(f, " n/a |");
			}
			if (cu[S_REF] > 0 && cu[S_ECHO] > 0)
				fprintf(f, " %.2f× |\n", cu[S_REF] / cu[S_ECHO]);
			else
				fprintf(f, " n/a |\n");
		}
		fprintf(f, "\nReproduce: `make bench` (BENCH_TIME=%g BENCH_RUNS=%d).\n", o->seconds, o->runs);
	}
	fclose(md);

	fprintf(js, "{\n  \"date\": \"%s\",\n  \"machine\": {\"nproc\": %ld, \"cpu\": ", when,
		sysconf(_SC_NPROCESSORS_ONLN));
	jstr(js, cpu);
	fprintf(js, ", \"kernel\": ");
	jstr(js, u.release);
	fprintf(js, ", \"mem_kb\": %ld},\n  \"seconds_per_run\": %g,\n  \"runs\": %d,\n  \"statistic\": \"median\",\n"
		    "  \"total_s\": %.1f,\n  \"figures\": [\n",
		memkb, o->seconds, o->runs, total_s);
	int first = 1;
	for (size_t i = 0; i < NFIG; i++) {
		const struct figure *g = &figs[i];
		if (!selected(o, g->key))
			continue;
		fprintf(js, "%s    {\"key\": \"%s\", \"label\": ", first ? "" : ",\n", g->key);
		first = 0;
		jstr(js, g->label);
		fprintf(js, ", \"unit\": \"%s\"", g->mode == LOAD_STREAM	? "MB/s"
						  : g->mode == LOAD_PINGPONG ? "rt/s"
						  : g->mode == LOAD_UDP	     ? "replies/s"
						  : g->mode == LOAD_ACCEPT   ? "conn/s"
									     : "B/conn");
		for (int s = 0; s < NSUBJ; s++) {
			const struct cell *c = &cells[i][s];
			fprintf(js, ",\n     \"%s\": {", subj_key[s]);
			if (c->nruns > 0) {
				const struct load_result *r = &c->r[c->mi];
				fprintf(js, "\"median\": %.3f, \"runs\": [", c->median);
				for (int k = 0; k < c->nruns; k++)
					fprintf(js, "%s%.3f", k ? ", " : "", c->v[k]);
				fprintf(js, "]");
				if (g->mode == LOAD_PINGPONG)
					fprintf(js, ", \"p50_us\": %.1f, \"p99_us\": %.1f", r->p50_us, r->p99_us);
				if (g->mode == LOAD_UDP)
					fprintf(js, ", \"sent\": %llu, \"lost\": %llu, \"late\": %llu",
						(unsigned long long)r->sent, (unsigned long long)r->lost,
						(unsigned long long)r->late);
				if (g->mode == LOAD_IDLE)
					fprintf(js, ", \"rss_before_kb\": %ld, \"rss_after_kb\": %ld, \"held\": %llu",
						r->rss_before_kb, r->rss_after_kb, (unsigned long long)r->ops);
				if (cpu_per_unit(i, s) > 0)
					fprintf(js, ", \"server_cpu_us_per_%s\": %.2f",
						g->mode == LOAD_STREAM ? "mb" : "op", cpu_per_unit(i, s));
				if (r->server_cpu_s >= 0 && r->seconds > 0 && g->mode != LOAD_IDLE)
					fprintf(js, ", \"server_cpu_pct\": %.0f, \"loadgen_cpu_pct\": %.0f",
						100 * r->server_cpu_s / r->seconds, 100 * r->client_cpu_s / r->seconds);
				if (c->status != LOAD_OK)
					fprintf(js, ", ");
			}
			if (c->status != LOAD_OK) {
				fprintf(js, "\"%s\": ", c->status == LOAD_WRONG ? "wrong" : c->status == 1 ? "not_available" : "error");
				jstr(js, c->status == 1 ? sj[s].why : c->msg);
			}
			fprintf(js, "}");
		}
		double re = ratio(i, S_ECHO), rp = ratio(i, S_PY), rt = ratio(i, S_TUT);
		fprintf(js, ",\n     \"ratio_echo\": ");
		re > 0 ? fprintf(js, "%.3f", re) : fprintf(js, "null");
		fprintf(js, ", \"ratio_python\": ");
		rp > 0 ? fprintf(js, "%.3f", rp) : fprintf(js, "null");
		fprintf(js, ", \"ratio_python_tutorial\": ");
		rt > 0 ? fprintf(js, "%.3f", rt) : fprintf(js, "null");
		double ep = ratio2(i, S_ECHO, S_PY), et = ratio2(i, S_ECHO, S_TUT), rc = ratio_cpu(i, S_ECHO);
		fprintf(js, ", \"ratio_echo_per_cpu\": ");
		rc > 0 ? fprintf(js, "%.3f", rc) : fprintf(js, "null");
		fprintf(js, ", \"ratio_echo_over_python\": ");
		ep > 0 ? fprintf(js, "%.3f", ep) : fprintf(js, "null");
		fprintf(js, ", \"ratio_echo_over_python_tutorial\": ");
		et > 0 ? fprintf(js, "%.3f", et) : fprintf(js, "null");
		if (g->bar_echo > 0)
			fprintf(js, ", \"bar_echo\": %.1f, \"bar_python\": %.0f", g->bar_echo, g->bar_py);
		fprintf(js, "}");
	}
	fprintf(js, "\n  ],\n  \"extra\": {");
	for (int e = 0; e < nex; e++)
		fprintf(js, "%s\n    \"%s\": %s", e ? "," : "", ex[e].key, ex[e].json);
	fprintf(js, "\n  }\n}\n");
	fclose(js);
	for (size_t i = 0; i < NFIG; i++)
		for (int s = S_REF; s <= S_ECHO; s++)
			if (cells[i][s].status == LOAD_WRONG)
				bad = 1;
	return bad;
}

/* ---- the extras: fuzz, replay, conform ---------------------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = n >= 0 && n < (1 << 20) ? malloc((size_t)n + 1) : NULL;
	if (buf != NULL) {
		n = (long)fread(buf, 1, (size_t)n, f);
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

static char *json_error(const char *k, const char *why)
{
	size_t n = strlen(why) * 2 + 64;
	char *s = malloc(n), *p;

	if (s == NULL)
		return NULL;
	p = s + snprintf(s, n, "{\"%s\": \"", k);
	for (; *why; why++) {
		if (*why == '"' || *why == '\\')
			*p++ = '\\';
		*p++ = *why < 0x20 && *why >= 0 ? ' ' : *why;
	}
	strcpy(p, "\"}");
	return s;
}

/* Summarizes a JSON object for the table: every "key": number pair (but counts and durations), each
 * group headed by its "target" string when it has one. */
static void json_rates(const char *js, char *out, size_t len)
{
	static const char *const skip[] = {"cores", "seconds", "seconds_per_measurement", "packets", "flows"};
	const char *p = js;
	size_t used = 0;

	out[0] = '\0';
	while ((p = strchr(p, '"')) != NULL && used + 1 < len) {
		const char *k = p + 1, *q = strchr(k, '"'), *v;
		size_t kl;
		int w = 0, skipped = 0;
		if (q == NULL)
			break;
		kl = (size_t)(q - k);
		v = q + 1;
		while (*v == ' ' || *v == '\t' || *v == '\n')
			v++;
		if (*v != ':') { /* a string value, not a key */
			p = q + 1;
			continue;
		}
		v++;
		while (*v == ' ' || *v == '\t' || *v == '\n')
			v++;
		for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
			if (strlen(skip[i]) == kl && strncmp(k, skip[i], kl) == 0)
				skipped = 1;
		if (*v == '"' && kl == 6 && strncmp(k, "target", 6) == 0) {
			const char *e = strchr(v + 1, '"');
			if (e != NULL)
				w = snprintf(out + used, len - used, "%s%.*s:", used ? "; " : "", (int)(e - v - 1), v + 1);
		} else if (!skipped && (*v == '-' || (*v >= '0' && *v <= '9'))) {
			double d = strtod(v, NULL);
			w = snprintf(out + used, len - used, "%s%.*s %.*f", used ? " " : "", (int)kl, k,
				     d >= 100 ? 0 : 2, d);
		}
		if (w < 0 || (size_t)w >= len - used) {
			out[used] = '\0';
			break;
		}
		used += (size_t)w;
		p = v;
	}
	if (used == 0)
		snprintf(out, len, "see bench.json");
}

static void extra_make(const struct opts *o, struct extra *x, const char *target, const char *jsonfile)
{
	char cmd[1024], log[512], why[600];
	double wall = 0;
	int st;

	snprintf(log, sizeof log, "%s/logs/%s.log", o->outdir, target);
	snprintf(cmd, sizeof cmd, "%s -s -n %s", o->make, target);
	st = run_cmd(cmd, log, 60, &wall);
	if (st != 0) {
		snprintf(why, sizeof why, "not available: no make target %s (make -n %s failed)", target, target);
		goto na;
	}
	fprintf(stderr, "bench: make %s ...\n", target);
	snprintf(cmd, sizeof cmd, "%s -s %s", o->make, target);
	st = run_cmd(cmd, log, 300, &wall);
	if (st != 0) {
		snprintf(why, sizeof why, "not available: make %s failed (status %d); see %s", target, st, log);
		goto na;
	}
	x->json = slurp(jsonfile);
	if (x->json == NULL || x->json[strspn(x->json, " \t\n")] != '{') {
		free(x->json);
		snprintf(why, sizeof why, "not available: make %s wrote no JSON object to %s", target, jsonfile);
		goto na;
	}
	while (strlen(x->json) > 0 && strchr(" \t\n", x->json[strlen(x->json) - 1]) != NULL)
		x->json[strlen(x->json) - 1] = '\0';
	json_rates(x->json, x->value, sizeof x->value);
	fprintf(stderr, "bench: %s: %s\n", x->label, x->value);
	return;
na:
	snprintf(x->value, sizeof x->value, "%.500s", why);
	x->json = json_error("not_available", why);
	fprintf(stderr, "bench: %s: %s\n", x->label, why);
}

static void extra_conform(const struct opts *o, const struct subject *ref, struct extra *x)
{
	char cmd[2048], log[512], why[800];
	double wall = 0;
	int st;

	if (o->conform == NULL || access(o->conform, X_OK) != 0) {
		snprintf(why, sizeof why, "not available: conform program %.300s not built",
			 o->conform ? o->conform : "(none given)");
		goto na;
	}
	snprintf(log, sizeof log, "%s/logs/conform.log", o->outdir);
	/* The suite as harness/conform/test-ref.sh runs it: conform starts the servers itself. */
	snprintf(cmd, sizeof cmd, "%s --strict --exec-tcp '%s -l 127.0.0.1:0' --exec-udp '%s -l 127.0.0.1:0'",
		 o->conform, ref->tcp[0], ref->udp[0]);
	fprintf(stderr, "bench: %s ...\n", cmd);
	st = run_cmd(cmd, log, 300, &wall);
	if (st != 0) {
		snprintf(why, sizeof why, "not available: conform failed (status %d); see %.300s", st, log);
		goto na;
	}
	snprintf(x->value, sizeof x->value, "%.2f s wall", wall);
	x->json = malloc(64);
	if (x->json != NULL)
		snprintf(x->json, 64, "{\"wall_s\": %.3f}", wall);
	fprintf(stderr, "bench: %s: %s\n", x->label, x->value);
	return;
na:
	snprintf(x->value, sizeof x->value, "%.500s", why);
	x->json = json_error("not_available", why);
	fprintf(stderr, "bench: %s: %s\n", x->label, why);
}

/* ---- main ------------------------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench [-T SECONDS] [-n RUNS] [-o DIR] [-b BINDIR] [--py-tcp CMD] [--py-udp CMD]\n"
		"             [--tutorial-tcp CMD] [--tutorial-udp CMD]\n"
		"             [--make MAKE] [--conform PROG] [--only FIGURES]\n"
		"Measures the reference servers side by side with the no-transform echo server (a) and the\n"
		"Python servers (b), runs interleaved, and prints a markdown table of medians and ratios.\n"
		"  -T SECONDS      duration of each run (default $BENCH_TIME or 1)\n"
		"  -n RUNS         rounds per figure: ref, echo, python back to back (default $BENCH_RUNS or 5)\n"
		"  -o DIR          output directory: BENCH.md, bench.json, logs/ (default out/bench)\n"
		"  -b BINDIR       where tcp-upper, udp-upper and bench/echo are (default build/std/bin)\n"
		"  --py-tcp CMD    command line of the Python TCP server, listening on 127.0.0.1 port 0\n"
		"  --py-udp CMD    the same for the Python UDP server\n"
		"  --tutorial-tcp CMD, --tutorial-udp CMD\n"
		"                  the faithful tutorial servers (sent printable ASCII text only)\n"
		"  --make MAKE     make command for bench-fuzz and bench-replay (none: skipped)\n"
		"  --conform PROG  the conform program, timed against the reference servers\n"
		"  --pin           run the servers on CPU 1 and the load generator on CPU 0 (needs 2 CPUs)\n"
		"  --only LIST     comma-separated figure keys: stream1,stream4,pingpong,udp64,udp1400,\n"
		"                  accept,idle (default all); the extras run only without --only\n"
		"Exit status: 0 done, 1 a reference or echo server sent a wrong reply, 2 usage or set-up error.\n");
}

static int selected(const struct opts *o, const char *key)
{
	size_t kl = strlen(key);

	if (o->only == NULL)
		return 1;
	for (const char *p = o->only; *p;) {
		size_t l = strcspn(p, ",");
		if (l == kl && strncmp(p, key, l) == 0)
			return 1;
		p += l + (p[l] == ',');
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"help", no_argument, NULL, 'h'},
					   {"py-tcp", required_argument, NULL, 'P'},
					   {"py-udp", required_argument, NULL, 'U'},
					   {"tutorial-tcp", required_argument, NULL, 't'},
					   {"tutorial-udp", required_argument, NULL, 'u'},
					   {"make", required_argument, NULL, 'M'},
					   {"conform", required_argument, NULL, 'C'},
					   {"only", required_argument, NULL, 'O'},
					   {"pin", no_argument, NULL, 'p'},
					   {NULL, 0, NULL, 0}};
	struct opts o = {.seconds = 1, .runs = 5, .outdir = "out/bench", .bindir = "build/std/bin"};
	struct subject sj[NSUBJ];
	static char paths[6][512];
	struct extra ex[3] = {{.key = "fuzz", .label = "Fuzz exec/s (make bench-fuzz)"},
			      {.key = "replay", .label = "Replay packets/s (make bench-replay)"},
			      {.key = "conform", .label = "Conform suite wall time (reference servers)"}};
	int opt, nex = 0;
	const char *env;
	double t0 = now_s();
	char *end;

	if ((env = getenv("BENCH_TIME")) != NULL && *env)
		o.seconds = strtod(env, NULL);
	if ((env = getenv("BENCH_RUNS")) != NULL && *env)
		o.runs = atoi(env);
	while ((opt = getopt_long(argc, argv, "T:n:o:b:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'T':
			o.seconds = strtod(optarg, &end);
			if (*end != '\0')
				o.seconds = -1;
			break;
		case 'n':
			o.runs = atoi(optarg);
			break;
		case 'o':
			o.outdir = optarg;
			break;
		case 'b':
			o.bindir = optarg;
			break;
		case 'P':
			o.pytcp = optarg;
			break;
		case 'U':
			o.pyudp = optarg;
			break;
		case 't':
			o.tuttcp = optarg;
			break;
		case 'u':
			o.tutudp = optarg;
			break;
		case 'M':
			o.make = optarg;
			break;
		case 'C':
			o.conform = optarg;
			break;
		case 'O':
			o.only = optarg;
			break;
		case 'p':
			pin_cpu = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "bench: unexpected argument %s (see --help)\n", argv[optind]);
		return 2;
	}
	if (!(o.seconds > 0 && o.seconds <= 600) || o.runs < 1 || o.runs > MAXRUNS) {
		fprintf(stderr, "bench: -T/BENCH_TIME must be in (0, 600] seconds and -n/BENCH_RUNS in 1..%d\n",
			MAXRUNS);
		return 2;
	}
	/* The idle figure holds 10,000 descriptors here and in the server (which inherits the limit). */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	if (pin_cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || sched_setaffinity(0, sizeof set, &set) < 0) {
			fprintf(stderr, "bench: --pin needs 2 CPUs: %s\n", strerror(errno));
			return 2;
		}
	}
	snprintf(paths[0], sizeof paths[0], "%s/logs", o.outdir);
	mkdir(o.outdir, 0755);
	if (mkdir(paths[0], 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "bench: cannot create %s: %s\n", paths[0], strerror(errno));
		return 2;
	}

	memset(sj, 0, sizeof sj);
	snprintf(paths[1], sizeof paths[1], "%s/tcp-upper", o.bindir);
	snprintf(paths[2], sizeof paths[2], "%s/udp-upper", o.bindir);
	snprintf(paths[3], sizeof paths[3], "%s/bench/echo", o.bindir);
	char *l0 = "-l", *any = "127.0.0.1:0", *u = "-u";
	char *reft[] = {paths[1], l0, any, NULL}, *refu[] = {paths[2], l0, any, NULL};
	char *echt[] = {paths[3], l0, any, NULL}, *echu[] = {paths[3], u, l0, any, NULL};
	memcpy(sj[S_REF].tcp, reft, sizeof reft);
	memcpy(sj[S_REF].udp, refu, sizeof refu);
	memcpy(sj[S_ECHO].tcp, echt, sizeof echt);
	memcpy(sj[S_ECHO].udp, echu, sizeof echu);
	for (int i = 1; i <= 3; i++)
		if (access(paths[i], X_OK) != 0) {
			fprintf(stderr, "bench: %s: %s (run make first)\n", paths[i], strerror(errno));
			return 2;
		}
	if (o.pytcp != NULL && *o.pytcp)
		split(o.pytcp, sj[S_PY].tcp, MAXARGS);
	if (o.pyudp != NULL && *o.pyudp)
		split(o.pyudp, sj[S_PY].udp, MAXARGS);
	if (o.tuttcp != NULL && *o.tuttcp)
		split(o.tuttcp, sj[S_TUT].tcp, MAXARGS);
	if (o.tutudp != NULL && *o.tutudp)
		split(o.tutudp, sj[S_TUT].udp, MAXARGS);
	if (sj[S_TUT].tcp[0] == NULL || sj[S_TUT].udp[0] == NULL)
		snprintf(sj[S_TUT].why, sizeof sj[S_TUT].why,
			 "not available: no faithful tutorial %s server given (make bench uses "
			 "servers/python/tutorial_socketserver.py under python3)",
			 sj[S_TUT].tcp[0] == NULL && sj[S_TUT].udp[0] == NULL ? "TCP or UDP"
			 : sj[S_TUT].tcp[0] == NULL			       ? "TCP"
								       : "UDP");
	if (sj[S_PY].tcp[0] == NULL || sj[S_PY].udp[0] == NULL)
		snprintf(sj[S_PY].why, sizeof sj[S_PY].why, "not available: no Python %s server given (make bench uses servers/python/corrected.py under python3)",
			 sj[S_PY].tcp[0] == NULL && sj[S_PY].udp[0] == NULL ? "TCP or UDP"
			 : sj[S_PY].tcp[0] == NULL			     ? "TCP"
									     : "UDP");

	int total = 0, done = 0;
	for (size_t i = 0; i < NFIG; i++)
		if (selected(&o, figs[i].key))
			total += (figs[i].once ? 1 : o.runs) * NSUBJ;
	for (size_t i = 0; i < NFIG; i++) {
		const struct figure *f = &figs[i];
		if (!selected(&o, f->key))
			continue;
		fprintf(stderr, "bench: %s ...\n", f->label);
		int runs = f->once ? 1 : o.runs;
		for (int run = 0; run < runs; run++)
			for (int k = 0; k < NSUBJ; k++) {
				/* Each round starts with the next server, so none is always first after a pause. */
				int s = (k + run) % NSUBJ;
				done++;
				if ((f->udp ? sj[s].udp : sj[s].tcp)[0] == NULL) {
					cells[i][s].status = 1;
					continue;
				}
				fprintf(stderr, "[%3d/%d]", done, total);
				measure(&o, f, s, &sj[s], run);
			}
		for (int s = 0; s < NSUBJ; s++)
			finish_cell(&cells[i][s]);
		if (cells[i][S_REF].nruns && cells[i][S_ECHO].nruns)
			fprintf(stderr, "bench: %s: reference %.3f, echo %.3f: %.2fx\n", f->key, cells[i][S_REF].median,
				cells[i][S_ECHO].median, ratio(i, S_ECHO));
	}
	if (o.only == NULL) {
		if (o.make != NULL) {
			snprintf(paths[4], sizeof paths[4], "%s/fuzz.json", o.outdir);
			snprintf(paths[5], sizeof paths[5], "%s/replay.json", o.outdir);
			extra_make(&o, &ex[0], "bench-fuzz", paths[4]);
			extra_make(&o, &ex[1], "bench-replay", paths[5]);
		} else {
			for (int e = 0; e < 2; e++) {
				snprintf(ex[e].value, sizeof ex[e].value, "not available: no --make given");
				ex[e].json = json_error("not_available", ex[e].value);
			}
		}
		extra_conform(&o, &sj[S_REF], &ex[2]);
		nex = 3;
	}
	int bad = write_report(&o, sj, ex, nex, now_s() - t0);
	for (int e = 0; e < nex; e++)
		free(ex[e].json);
	if (bad < 0)
		return 2;
	fprintf(stderr, "bench: wrote %s/BENCH.md and %s/bench.json\n", o.outdir, o.outdir);
	if (bad)
		fprintf(stderr, "bench: a reference or echo server sent a WRONG reply (see above)\n");
	return bad ? 1 : 0;
}
