/* bench.c - 'make bench': every figure for the reference servers, side by side in the same run with the
 * no-transform echo server (a) and the Python tutorial servers (b), runs interleaved, medians compared;
 * plus the fuzz, replay and conform figures where their targets exist. Writes BENCH.md, bench.json and
 * ratios.csv, and draws ratios.csv as a bar chart (ratios.svg) through lib/chart. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chart.h"
#include "child.h"
#include "cli.h"
#include "load.h"
#include "report.h"
#include "util.h"

#define MAXRUNS 15

/* The servers compared: the reference, (a) the no-transform echo, (b) the tutorial-style Python servers
 * with the tutorial's bugs fixed, (b') the faithful tutorial ones (sent printable text only: they
 * decode every message as UTF-8 and drop the connection otherwise). */
enum { SUBJECT_REF, SUBJECT_ECHO, SUBJECT_PYTHON, SUBJECT_TUTORIAL, NSUBJECTS };
static const char *const subject_key[NSUBJECTS] = {"ref", "echo", "python", "python_tutorial"};
static const char *const subject_label[NSUBJECTS] = {"reference", "echo (a)", "python corrected (b)",
                                                     "python tutorial (b')"};

struct subject {
	struct child_options tcp, udp;     /* how to start each server: argv or command, none if neither */
	char why[256];                     /* why not available */
	char tcp_path[512], udp_path[512]; /* the programs built here (ref, echo) ... */
	const char *tcp_argv[8], *udp_argv[8]; /* ... and their command lines */
};

struct figure {
	const char *key, *label;
	const char *short_label; /* the chart's label for it (ratios.csv's label column: no comma) */
	enum load_mode mode;
	int udp, conns, window;
	size_t size;
	double bar_echo, bar_py; /* minimum ratios; 0 = no bar */
	int once;                /* measured once per subject (RSS is not noisy, and slow for Python) */
};

static const struct figure figures[] = {
    {"stream1", "TCP stream, 1 connection", "stream 1 conn", LOAD_STREAM, 0, 1, 0, 64, 0.9, 5, 0},
    {"stream4", "TCP stream, 4 connections", "stream 4 conns", LOAD_STREAM, 0, 4, 0, 64, 0.9, 5, 0},
    {"pingpong", "TCP ping-pong, 64 B, 8 connections", "ping-pong 64 B", LOAD_PINGPONG, 0, 8, 0, 64, 0.9, 3,
     0},
    {"udp64", "UDP, 64 B datagrams, window 64", "UDP 64 B", LOAD_UDP, 1, 1, 64, 64, 0.9, 20, 0},
    {"udp1400", "UDP, 1400 B datagrams, window 64", "UDP 1400 B", LOAD_UDP, 1, 1, 64, 1400, 0.9, 20, 0},
    {"accept", "TCP connections/s (connect, 8 B round trip, close; 32 at a time)", "connections/s",
     LOAD_ACCEPT, 0, 32, 0, 8, 0, 0, 0},
    {"idle", "Server RSS per idle connection, 10,000 connections", "idle RSS per conn", LOAD_IDLE, 0, 10000,
     0, 8, 0, 0, 1},
};
#define NFIGURES (sizeof figures / sizeof figures[0])

/* What became of a figure's runs for one server: the first failure decides. */
enum cell_status {
	CELL_OK = 0,
	CELL_ERROR,        /* a run could not be done (start, connect, time-out) */
	CELL_WRONG,        /* the server sent a wrong reply */
	CELL_NOT_AVAILABLE /* no such server given: subject.why says why */
};

struct cell {
	int nruns;
	double v[MAXRUNS];
	struct load_result r[MAXRUNS];
	enum cell_status status;
	char msg[512]; /* first error */
	double median;
	int mi;             /* run whose value is the median */
	int round[MAXRUNS]; /* the round (0..runs-1) of each successful run */
};

struct opts {
	double seconds;
	int runs;
	int pin;               /* --pin: the servers on CPU 1, the load generator on CPU 0 */
	cpu_set_t server_cpus; /* with pin */
	const char *outdir, *bindir, *make, *conform;
	const char *python_tcp, *python_udp, *tutorial_tcp, *tutorial_udp;
	const char *only;
	const char *chart; /* --chart CSV: only draw that ratios.csv's chart */
};

/* A figure from another make target or program, one row of the table below the servers' figures. */
struct extra {
	const char *key, *label;
	char value[512]; /* for the table */
	char *json;      /* a JSON object for bench.json (allocated), or NULL when not available */
	char why[800];   /* why not available, or "" */
};

static struct cell cells[NFIGURES][NSUBJECTS];

/* Tells whether a server is given: a command line or a command string. */
static int available(const struct child_options *co)
{
	return co->argv != NULL || co->command != NULL;
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

/* ---- child processes ----------------------------------------------------------------------------- */

/* A server's or command's log keeps its first LOG_MAX bytes: a server that prints every message (the
 * tutorial's) would otherwise write gigabytes, and its printing still costs it what it costs on a
 * terminal. */
#define LOG_MAX (1 << 20)
#define START_MS 10000 /* bound on a server's start, until its "listening on" line */
#define STOP_MS 2000   /* bound on a server's exit after SIGTERM, before SIGKILL */

/* Runs "sh -c cmd" with output to logpath, at most limit_s seconds; *wall gets its wall time. Returns
 * the exit status (128 + N after signal N), 124 on time-out, -1 if it could not start. */
static int run_cmd(const char *cmd, const char *logpath, int limit_s, double *wall)
{
	struct child_options co = {.command = cmd, .shell = 1, .log_path = logpath, .log_max = LOG_MAX};
	struct child_addrs addrs;
	struct child *c;
	char err[256];
	double t0 = util_now_s();
	int st;

	if (child_start(&co, &c, &addrs, err, sizeof err) < 0)
		return -1;
	if (!child_wait(c, limit_s * 1000)) {
		child_stop(c, SIGKILL, STOP_MS, NULL);
		child_free(c);
		return 124;
	}
	*wall = util_now_s() - t0;
	if (!child_status(c, &st))
		st = -1;
	child_free(c);
	return st < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A stop signal to bench stops the servers too: they run in process groups of their own, which the
 * terminal's Ctrl-C does not reach. */
static void on_stop_signal(int sig)
{
	child_kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- one measurement ------------------------------------------------------------------------------ */

/* The figures of one successful run, on stderr after its progress counter. */
static void print_run(const struct figure *f, int s, int run, const struct load_result *r)
{
	fprintf(stderr, "  %-9s %-10s run %d: %.3f %s", f->key, subject_key[s], run + 1, r->value, r->unit);
	if (f->mode == LOAD_PINGPONG)
		fprintf(stderr, " (p50 %.0f us, p99 %.0f us)", r->p50_us, r->p99_us);
	if (f->mode == LOAD_UDP)
		fprintf(stderr, " (%llu sent, %llu lost)", (unsigned long long)r->sent,
		        (unsigned long long)r->lost);
	if (f->mode == LOAD_IDLE)
		fprintf(stderr, " (VmRSS %ld -> %ld KiB, %llu connections held)", r->rss_before_kb,
		        r->rss_after_kb, (unsigned long long)r->ops);
	if (r->failed)
		fprintf(stderr, " (%llu attempts failed)", (unsigned long long)r->failed);
	if (r->server_cpu_s >= 0 && f->mode != LOAD_IDLE && r->seconds > 0)
		fprintf(stderr, " [CPU: server %.0f%%, loadgen %.0f%%]", 100 * r->server_cpu_s / r->seconds,
		        100 * r->client_cpu_s / r->seconds);
	fputc('\n', stderr);
}

static void measure(const struct opts *o, const struct figure *f, int s, const struct subject *sj, int run)
{
	struct cell *c = &cells[f - figures][s];
	char logpath[512], err[512];
	struct load_cfg cfg = {.mode = f->mode,
	                       .expect = s == SUBJECT_ECHO ? LOAD_ECHO : LOAD_UPPER,
	                       .conns = f->conns,
	                       .size = f->size,
	                       .window = f->window,
	                       .seconds = o->seconds,
	                       .text = s == SUBJECT_TUTORIAL};
	struct load_result r;
	struct child_options co = f->udp ? sj->udp : sj->tcp;
	struct child_addrs addrs;
	struct child_exit end;
	struct child *server;
	int rc;

	snprintf(logpath, sizeof logpath, "%s/logs/%s-%s-%d.log", o->outdir, f->key, subject_key[s], run + 1);
	co.want = f->udp ? CHILD_UDP : CHILD_TCP;
	co.start_ms = START_MS;
	co.log_path = logpath;
	co.log_max = LOG_MAX;
	co.affinity = o->pin ? &o->server_cpus : NULL;
	if (child_start(&co, &server, &addrs, err, sizeof err) < 0) {
		rc = LOAD_ERR;
	} else {
		cfg.addr = f->udp ? addrs.udp : addrs.tcp;
		cfg.pid = child_pid(server);
		rc = load_run(&cfg, &r, err, sizeof err);
		child_stop(server, SIGTERM, STOP_MS, &end);
		if (end.end == CHILD_END_BEFORE && rc == LOAD_OK) {
			snprintf(err, sizeof err, "the server %.100s during the run; see %.300s", end.why,
			         logpath);
			rc = LOAD_ERR;
		}
		child_free(server);
	}
	if (rc != LOAD_OK) {
		if (c->status == CELL_OK) {
			c->status = rc == LOAD_WRONG ? CELL_WRONG : CELL_ERROR;
			snprintf(c->msg, sizeof c->msg, "%s", err);
		}
		fprintf(stderr, "  %-9s %-10s run %d: %s: %s\n", f->key, subject_key[s], run + 1,
		        rc == LOAD_WRONG ? "WRONG REPLY" : "error", err);
		return;
	}
	c->r[c->nruns] = r;
	c->round[c->nruns] = run;
	c->v[c->nruns++] = r.value;
	print_run(f, s, run, &r);
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

/* The ratio of subject top to subject s for figure fi: the median, over the rounds where both ran,
 * of top/s within the round (the runs of one round are back to back, so they share the machine's
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

/* ratio2() of the reference to subject s. */
static double ratio(size_t fi, int s)
{
	return ratio2(fi, SUBJECT_REF, s);
}

/* Work done per CPU-second of the server and the load generator together, in one run; 0 if unknown.
 * Another tenant that takes the CPU slows both and lowers the throughput, but not this. */
static double per_cpu(const struct load_result *r)
{
	double cpu = r->server_cpu_s + r->client_cpu_s;

	return r->server_cpu_s >= 0 && r->client_cpu_s >= 0 && cpu > 0 ? r->value * r->seconds / cpu : 0;
}

/* ratio() of per_cpu(): the reference's work per CPU-second over subject s's, median over the rounds. */
static double ratio_cpu(size_t fi, int s)
{
	const struct cell *r = &cells[fi][SUBJECT_REF], *x = &cells[fi][s];
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
		double work = figures[fi].mode == LOAD_STREAM ? (double)r->bytes / 1e6 : (double)r->ops;
		if (r->server_cpu_s >= 0 && work > 0)
			q[n++] = r->server_cpu_s * 1e6 / work;
	}
	return median_of(q, n);
}

/* Runs figure fi's rounds: in each, every available server once, starting with the next one each
 * round so that none is always first after a pause. *done counts the runs for the progress line. */
static void run_figure(const struct opts *o, const struct subject *sj, size_t fi, int *done, int total)
{
	const struct figure *f = &figures[fi];
	int runs = f->once ? 1 : o->runs;

	fprintf(stderr, "bench: %s ...\n", f->label);
	for (int run = 0; run < runs; run++)
		for (int k = 0; k < NSUBJECTS; k++) {
			int s = (k + run) % NSUBJECTS;
			(*done)++;
			if (!available(f->udp ? &sj[s].udp : &sj[s].tcp)) {
				cells[fi][s].status = CELL_NOT_AVAILABLE;
				continue;
			}
			fprintf(stderr, "[%3d/%d]", *done, total);
			measure(o, f, s, &sj[s], run);
		}
	for (int s = 0; s < NSUBJECTS; s++)
		finish_cell(&cells[fi][s]);
	if (cells[fi][SUBJECT_REF].nruns && cells[fi][SUBJECT_ECHO].nruns)
		fprintf(stderr, "bench: %s: reference %.3f, echo %.3f: %.2fx\n", f->key,
		        cells[fi][SUBJECT_REF].median, cells[fi][SUBJECT_ECHO].median,
		        ratio(fi, SUBJECT_ECHO));
}

static void run_figures(const struct opts *o, const struct subject *sj)
{
	int total = 0, done = 0;

	for (size_t i = 0; i < NFIGURES; i++)
		if (selected(o, figures[i].key))
			total += (figures[i].once ? 1 : o->runs) * NSUBJECTS;
	for (size_t i = 0; i < NFIGURES; i++)
		if (selected(o, figures[i].key))
			run_figure(o, sj, i, &done, total);
}

/* ---- output ----------------------------------------------------------------------------------------- */

/* Everything a report needs besides the cells. */
struct report {
	const struct opts *o;
	const struct subject *sj;
	const struct extra *ex;
	int nex;
	double total_s;
	char when[64], cpu[256];
	struct utsname u;
	long memkb;
};

static void fmt_value(char *buf, size_t len, const struct figure *f, const struct cell *c)
{
	const struct load_result *r = &c->r[c->mi];

	if (c->nruns == 0) {
		snprintf(buf, len, "%s",
		         c->status == CELL_NOT_AVAILABLE ? "n/a"
		         : c->status == CELL_WRONG       ? "WRONG"
		                                         : "error");
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
		snprintf(buf, len, "%.0f B (VmRSS %ld→%ld KiB)", c->median, r->rss_before_kb,
		         r->rss_after_kb);
		if (r->ops < (uint64_t)f->conns)
			snprintf(buf + strlen(buf), len - strlen(buf),
			         ", only %llu of %d connections held after 20 s", (unsigned long long)r->ops,
			         f->conns);
		break;
	}
	if (c->status != CELL_OK) /* some runs failed */
		snprintf(buf + strlen(buf), len - strlen(buf), " *");
}

static const char *figure_unit(enum load_mode m)
{
	return m == LOAD_STREAM     ? "MB/s"
	       : m == LOAD_PINGPONG ? "rt/s"
	       : m == LOAD_UDP      ? "replies/s"
	       : m == LOAD_ACCEPT   ? "conn/s"
	                            : "B/conn";
}

/* The machine's CPU model, RAM and kernel, for the report's first lines. */
static void machine(struct report *rp)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(rp->cpu, sizeof rp->cpu, "unknown");
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		char *p = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && p != NULL) {
			snprintf(rp->cpu, sizeof rp->cpu, "%s", p + 2);
			rp->cpu[strcspn(rp->cpu, "\n")] = '\0';
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	rp->memkb = -1;
	f = fopen("/proc/meminfo", "r");
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "MemTotal: %ld kB", &rp->memkb) == 1)
			break;
	if (f != NULL)
		fclose(f);
	if (uname(&rp->u) < 0)
		memset(&rp->u, 0, sizeof rp->u);
}

static const char *verdict(double ratio_value, double bar)
{
	return ratio_value == 0 ? "n/a" : ratio_value >= bar ? "PASS" : "FAIL";
}

/* The bar column of figure fi: each bar, PASS or FAIL. */
static void md_bar(char *bar, size_t len, size_t fi)
{
	const struct figure *g = &figures[fi];
	double re = ratio(fi, SUBJECT_ECHO), rp = ratio(fi, SUBJECT_PYTHON), rt = ratio(fi, SUBJECT_TUTORIAL);
	double rc = ratio_cpu(fi, SUBJECT_ECHO);
	char eb[2][48] = {"", ""}, ec[64] = "";

	bar[0] = '\0';
	if (g->bar_echo <= 0) {
		if (g->mode == LOAD_IDLE)
			snprintf(bar, len, "lower is better");
		return;
	}
	/* Where a Python bar fails, the echo's own ratio shows what the machine allows. */
	double rpy[2] = {rp, rt},
	       er[2] = {ratio2(fi, SUBJECT_ECHO, SUBJECT_PYTHON), ratio2(fi, SUBJECT_ECHO, SUBJECT_TUTORIAL)};
	for (int q = 0; q < 2; q++)
		if (rpy[q] > 0 && rpy[q] < g->bar_py && er[q] > 0)
			snprintf(eb[q], sizeof eb[q], " (echo: %.2f×)", er[q]);
	if (rc > 0)
		snprintf(ec, sizeof ec, " (per CPU-s: %.2f×, %s)", rc, verdict(rc, g->bar_echo));
	snprintf(bar, len, "≥%.1f× echo: %s%s; ≥%.0f× python: %s%s (b), %s%s (b')", g->bar_echo,
	         verdict(re, g->bar_echo), ec, g->bar_py, verdict(rp, g->bar_py), eb[0],
	         verdict(rt, g->bar_py), eb[1]);
}

static void md_ratio(char *buf, size_t len, double r)
{
	if (r > 0)
		snprintf(buf, len, r < 0.1 ? "%.4f×" : "%.2f×", r);
	else
		snprintf(buf, len, "n/a");
}

static void md_figure_row(FILE *f, size_t fi)
{
	const struct figure *g = &figures[fi];
	char v[NSUBJECTS][160], bar[256], rq[3][32];

	for (int s = 0; s < NSUBJECTS; s++)
		fmt_value(v[s], sizeof v[s], g, &cells[fi][s]);
	md_bar(bar, sizeof bar, fi);
	md_ratio(rq[0], sizeof rq[0], ratio(fi, SUBJECT_ECHO));
	md_ratio(rq[1], sizeof rq[1], ratio(fi, SUBJECT_PYTHON));
	md_ratio(rq[2], sizeof rq[2], ratio(fi, SUBJECT_TUTORIAL));
	fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", g->label, v[SUBJECT_REF],
	        v[SUBJECT_ECHO], v[SUBJECT_PYTHON], v[SUBJECT_TUTORIAL], rq[0], rq[1], rq[2], bar);
}

/* The notes below the main table: servers not available, and every failed cell's first error. */
static void md_notes(FILE *f, const struct report *rp)
{
	for (int s = 0; s < NSUBJECTS; s++)
		if (rp->sj[s].why[0] != '\0')
			fprintf(f, "- %s: %s\n", subject_label[s], rp->sj[s].why);
	for (size_t i = 0; i < NFIGURES; i++)
		for (int s = 0; s < NSUBJECTS; s++)
			if (cells[i][s].status == CELL_ERROR || cells[i][s].status == CELL_WRONG)
				fprintf(f, "- %s, %s: %s%s\n", figures[i].key, subject_label[s],
				        cells[i][s].status == CELL_WRONG ? "WRONG REPLY: " : "",
				        cells[i][s].msg);
}

static void md_cpu_table(FILE *f, const struct report *rp)
{
	fprintf(f, "\nServer CPU time per unit of work (user + system, from /proc/PID/stat; median over the "
	           "runs; lower is better). A server that matches the echo here is at the I/O limit whatever "
	           "the load on the machine:\n\n");
	fprintf(f, "| Figure | reference | echo (a) | python corrected (b) | python tutorial (b') | ref/echo "
	           "|\n|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < NFIGURES; i++) {
		if (figures[i].mode == LOAD_IDLE || !selected(rp->o, figures[i].key))
			continue;
		const char *unit = figures[i].mode == LOAD_STREAM ? "µs/MB" : "µs/op";
		double cu[NSUBJECTS];
		fprintf(f, "| %s |", figures[i].key);
		for (int s = 0; s < NSUBJECTS; s++) {
			cu[s] = cpu_per_unit(i, s);
			if (cu[s] > 0)
				fprintf(f, " %.1f %s |", cu[s], unit);
			else
				fprintf(f, " n/a |");
		}
		if (cu[SUBJECT_REF] > 0 && cu[SUBJECT_ECHO] > 0)
			fprintf(f, " %.2f× |\n", cu[SUBJECT_REF] / cu[SUBJECT_ECHO]);
		else
			fprintf(f, " n/a |\n");
	}
}

/* BENCH.md, also printed on stdout. */
static void write_markdown(FILE *f, const struct report *rp)
{
	const struct opts *o = rp->o;

	fprintf(f, "## capslock bench, %s\n\n", rp->when);
	fprintf(
	    f,
	    "Machine: %ld CPUs, %s, Linux %s, %ld MiB RAM. Each figure: median of %d "
	    "rounds of %.1f s runs (ref, echo, python, tutorial back to back in each round, in rotating "
	    "order), every reply byte "
	    "verified; ratios are the median of the per-round ratios (\"per CPU-s\": of the work done per "
	    "CPU-second of server and load generator together, which other tenants do not move); RSS "
	    "once per server. Total "
	    "%.0f s.\n\n",
	    sysconf(_SC_NPROCESSORS_ONLN), rp->cpu, rp->u.release, rp->memkb / 1024, o->runs, o->seconds,
	    rp->total_s);
	fprintf(f, "| Figure | reference | echo (a) | python corrected (b) | python tutorial (b') | ref/echo "
	           "| ref/(b) | ref/(b') | bar |\n");
	fprintf(f, "|---|---|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < NFIGURES; i++)
		if (selected(o, figures[i].key))
			md_figure_row(f, i);
	for (int e = 0; e < rp->nex; e++)
		fprintf(f, "| %s | %s | | | | | | | |\n", rp->ex[e].label, rp->ex[e].value);
	fprintf(f, "\n");
	md_notes(f, rp);
	md_cpu_table(f, rp);
	fprintf(f, "\nReproduce: `make bench` (BENCH_TIME=%g BENCH_RUNS=%d).\n", o->seconds, o->runs);
}

/* Writes ", NAME: VALUE" (sep first), the value with three decimals, or null when r is 0. */
static void json_ratio(FILE *js, const char *sep, const char *name, double r)
{
	fprintf(js, "%s\"%s\": ", sep, name);
	if (r > 0)
		fprintf(js, "%.3f", r);
	else
		fprintf(js, "null");
}

/* One server's object in figure fi: its runs and their details, or why it has none. */
static void json_cell(FILE *js, const struct report *rp, size_t fi, int s)
{
	const struct figure *g = &figures[fi];
	const struct cell *c = &cells[fi][s];

	fprintf(js, ",\n     \"%s\": {", subject_key[s]);
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
		if (cpu_per_unit(fi, s) > 0)
			fprintf(js, ", \"server_cpu_us_per_%s\": %.2f", g->mode == LOAD_STREAM ? "mb" : "op",
			        cpu_per_unit(fi, s));
		if (r->server_cpu_s >= 0 && r->seconds > 0 && g->mode != LOAD_IDLE)
			fprintf(js, ", \"server_cpu_pct\": %.0f, \"loadgen_cpu_pct\": %.0f",
			        100 * r->server_cpu_s / r->seconds, 100 * r->client_cpu_s / r->seconds);
		if (c->status != CELL_OK)
			fprintf(js, ", ");
	}
	if (c->status != CELL_OK) {
		fprintf(js, "\"%s\": ",
		        c->status == CELL_WRONG           ? "wrong"
		        : c->status == CELL_NOT_AVAILABLE ? "not_available"
		                                          : "error");
		rep_json_str(js, c->status == CELL_NOT_AVAILABLE ? rp->sj[s].why : c->msg);
	}
	fprintf(js, "}");
}

static void json_figure(FILE *js, const struct report *rp, size_t fi)
{
	const struct figure *g = &figures[fi];

	fprintf(js, "    {\"key\": \"%s\", \"label\": ", g->key);
	rep_json_str(js, g->label);
	fprintf(js, ", \"unit\": \"%s\"", figure_unit(g->mode));
	for (int s = 0; s < NSUBJECTS; s++)
		json_cell(js, rp, fi, s);
	json_ratio(js, ",\n     ", "ratio_echo", ratio(fi, SUBJECT_ECHO));
	json_ratio(js, ", ", "ratio_python", ratio(fi, SUBJECT_PYTHON));
	json_ratio(js, ", ", "ratio_python_tutorial", ratio(fi, SUBJECT_TUTORIAL));
	json_ratio(js, ", ", "ratio_echo_per_cpu", ratio_cpu(fi, SUBJECT_ECHO));
	json_ratio(js, ", ", "ratio_echo_over_python", ratio2(fi, SUBJECT_ECHO, SUBJECT_PYTHON));
	json_ratio(js, ", ", "ratio_echo_over_python_tutorial", ratio2(fi, SUBJECT_ECHO, SUBJECT_TUTORIAL));
	if (g->bar_echo > 0)
		fprintf(js, ", \"bar_echo\": %.1f, \"bar_python\": %.0f", g->bar_echo, g->bar_py);
	fprintf(js, "}");
}

/* An extra's value: the JSON object its target wrote, or why it is not available. */
static void json_extra(FILE *js, const struct extra *x)
{
	if (x->json != NULL) {
		fputs(x->json, js);
		return;
	}
	fprintf(js, "{\"not_available\": ");
	rep_json_str(js, x->why);
	fprintf(js, "}");
}

/* bench.json: the same figures as BENCH.md, every run's value and the details behind them. */
static void write_json(FILE *js, const struct report *rp)
{
	const struct opts *o = rp->o;
	int first = 1;

	fprintf(js, "{\n  \"date\": \"%s\",\n  \"machine\": {\"nproc\": %ld, \"cpu\": ", rp->when,
	        sysconf(_SC_NPROCESSORS_ONLN));
	rep_json_str(js, rp->cpu);
	fprintf(js, ", \"kernel\": ");
	rep_json_str(js, rp->u.release);
	fprintf(
	    js,
	    ", \"mem_kb\": %ld},\n  \"seconds_per_run\": %g,\n  \"runs\": %d,\n  \"statistic\": \"median\",\n"
	    "  \"total_s\": %.1f,\n  \"figures\": [\n",
	    rp->memkb, o->seconds, o->runs, rp->total_s);
	for (size_t i = 0; i < NFIGURES; i++) {
		if (!selected(o, figures[i].key))
			continue;
		fprintf(js, "%s", first ? "" : ",\n");
		first = 0;
		json_figure(js, rp, i);
	}
	fprintf(js, "\n  ],\n  \"extra\": {");
	for (int e = 0; e < rp->nex; e++) {
		fprintf(js, "%s\n    \"%s\": ", e ? "," : "", rp->ex[e].key);
		json_extra(js, &rp->ex[e]);
	}
	fprintf(js, "\n  }\n}\n");
}

/* ---- ratios.csv and its chart ------------------------------------------------------------------------ */

/* ratios.csv's columns: per figure, each server's median and the ratios of BENCH.md and bench.json (an
 * empty field where a figure is not available). */
static const char ratios_header[] =
    "figure,label,unit,reference,echo,python,tutorial,ref_over_echo,ref_over_echo_per_cpu,ref_over_python,"
    "ref_over_tutorial,echo_over_python,echo_over_tutorial";

/* Writes ",VALUE", or "," when v is not a figure (0). */
static void csv_number(FILE *f, double v)
{
	if (v > 0)
		fprintf(f, ",%.6g", v);
	else
		fputc(',', f);
}

/* ratios.csv: one row per figure measured. */
static void write_ratios(FILE *f, const struct opts *o)
{
	fprintf(f, "%s\n", ratios_header);
	for (size_t i = 0; i < NFIGURES; i++) {
		if (!selected(o, figures[i].key))
			continue;
		fprintf(f, "%s,%s,%s", figures[i].key, figures[i].short_label, figure_unit(figures[i].mode));
		for (int s = 0; s < NSUBJECTS; s++)
			csv_number(f, cells[i][s].nruns > 0 ? cells[i][s].median : 0);
		csv_number(f, ratio(i, SUBJECT_ECHO));
		csv_number(f, ratio_cpu(i, SUBJECT_ECHO));
		csv_number(f, ratio(i, SUBJECT_PYTHON));
		csv_number(f, ratio(i, SUBJECT_TUTORIAL));
		csv_number(f, ratio2(i, SUBJECT_ECHO, SUBJECT_PYTHON));
		csv_number(f, ratio2(i, SUBJECT_ECHO, SUBJECT_TUTORIAL));
		fputc('\n', f);
	}
}

/* Draws the bar chart of a ratios.csv into svg (log scale, a line at 1). Says on stderr what it drew
 * or why it drew nothing, which is never a failure of the bench. */
static void draw_ratios(const char *csv, const char *svg)
{
	static const struct chart_series series[] = {
	    {"ref_over_echo", "reference / echo (a)", 0},
	    {"ref_over_python", "reference / python corrected (b)", 0},
	    {"ref_over_tutorial", "reference / python tutorial (b')", 0},
	    {"echo_over_python", "echo (a) / python corrected (b)", 0},
	};
	const struct chart chart = {
	    .csv = csv,
	    .svg = svg,
	    .title = "capslock bench: the reference servers against the others (median of the per-round "
	             "ratios; above 1: the reference does more, but for idle RSS: less is leaner)",
	    .ylabel = "ratio (log scale)",
	    .xcolumn = "label",
	    .style = CHART_BARS,
	    .series = series,
	    .nseries = sizeof series / sizeof series[0],
	    .log_y = 1,
	    .reference_y = 1,
	};
	char why[512];

	if (chart_draw(&chart, why, sizeof why) == CHART_DRAWN)
		fprintf(stderr, "bench: drew %s\n", svg);
	else
		fprintf(stderr, "bench: no chart drawn: %s; the figures are in CSV (%s)\n", why, csv);
}

/* bench --chart CSV: draws the chart of a ratios.csv beside it (the same name, .svg). Returns the exit
 * status: 0, also when no chart could be drawn; 2 when the name does not end in .csv. */
static int chart_only(const char *csv)
{
	size_t n = strlen(csv);
	char svg[1024];

	if (n < 4 || strcmp(csv + n - 4, ".csv") != 0 || n >= sizeof svg) {
		fprintf(stderr, "bench: --chart %s: expected a file name ending in .csv\n", csv);
		return 2;
	}
	snprintf(svg, sizeof svg, "%.*s.svg", (int)(n - 4), csv);
	draw_ratios(csv, svg);
	return 0;
}

/* Opens outdir/name for writing; prints why not. */
static FILE *open_output(const struct opts *o, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", o->outdir, name);
	f = fopen(path, "w");
	if (f == NULL)
		fprintf(stderr, "bench: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

/* Closes f, which was written to outdir/name; prints why it could not be written whole. */
static int close_output(const struct opts *o, const char *name, FILE *f)
{
	if (util_flush_ok(f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "bench: cannot write %s/%s: %s\n", o->outdir, name, strerror(errno));
		return -1;
	}
	return 0;
}

/* Writes BENCH.md (and the same on stdout) and bench.json. Returns 1 if a reference or echo server sent
 * a wrong reply, 0 if not, -1 if a report could not be written. */
static int write_report(const struct opts *o, const struct subject *sj, const struct extra *ex, int nex,
                        double total_s)
{
	struct report rp = {.o = o, .sj = sj, .ex = ex, .nex = nex, .total_s = total_s};
	time_t t = time(NULL);
	FILE *md, *js, *csv;
	char csv_path[512], svg_path[512];

	strftime(rp.when, sizeof rp.when, "%Y-%m-%d %H:%M UTC", gmtime(&t));
	machine(&rp);
	md = open_output(o, "BENCH.md");
	js = md != NULL ? open_output(o, "bench.json") : NULL;
	csv = js != NULL ? open_output(o, "ratios.csv") : NULL;
	if (csv == NULL) {
		if (md != NULL)
			fclose(md);
		if (js != NULL)
			fclose(js);
		return -1;
	}
	write_markdown(stdout, &rp);
	write_markdown(md, &rp);
	write_json(js, &rp);
	write_ratios(csv, o);
	/* Every file is closed whatever the first close says. */
	int md_bad = close_output(o, "BENCH.md", md) < 0, js_bad = close_output(o, "bench.json", js) < 0,
	    csv_bad = close_output(o, "ratios.csv", csv) < 0;
	if (md_bad || js_bad || csv_bad)
		return -1;
	snprintf(csv_path, sizeof csv_path, "%s/ratios.csv", o->outdir);
	snprintf(svg_path, sizeof svg_path, "%s/ratios.svg", o->outdir);
	draw_ratios(csv_path, svg_path);
	if (util_flush_ok(stdout) < 0) {
		fprintf(stderr, "bench: cannot write the report to stdout: %s\n", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < NFIGURES; i++)
		if (cells[i][SUBJECT_REF].status == CELL_WRONG || cells[i][SUBJECT_ECHO].status == CELL_WRONG)
			return 1;
	return 0;
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
				w = snprintf(out + used, len - used, "%s%.*s:", used ? "; " : "",
				             (int)(e - v - 1), v + 1);
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

/* Marks x not available, with why in the table and in bench.json. */
static void extra_unavailable(struct extra *x, const char *why)
{
	snprintf(x->why, sizeof x->why, "%s", why);
	snprintf(x->value, sizeof x->value, "%.500s", why);
}

/* Ends an extra figure's run: says on stderr what it gave, or, when why is not NULL, why it is not
 * available. */
static void extra_end(struct extra *x, const char *why)
{
	if (why != NULL)
		extra_unavailable(x, why);
	fprintf(stderr, "bench: %s: %s\n", x->label, why != NULL ? why : x->value);
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
		snprintf(why, sizeof why, "not available: no make target %s (make -n %s failed)", target,
		         target);
		goto unavailable;
	}
	fprintf(stderr, "bench: make %s ...\n", target);
	snprintf(cmd, sizeof cmd, "%s -s %s", o->make, target);
	st = run_cmd(cmd, log, 300, &wall);
	if (st != 0) {
		snprintf(why, sizeof why, "not available: make %s failed (status %d); see %s", target, st,
		         log);
		goto unavailable;
	}
	x->json = slurp(jsonfile);
	if (x->json == NULL || x->json[strspn(x->json, " \t\n")] != '{') {
		free(x->json);
		x->json = NULL;
		snprintf(why, sizeof why, "not available: make %s wrote no JSON object to %s", target,
		         jsonfile);
		goto unavailable;
	}
	while (strlen(x->json) > 0 && strchr(" \t\n", x->json[strlen(x->json) - 1]) != NULL)
		x->json[strlen(x->json) - 1] = '\0';
	json_rates(x->json, x->value, sizeof x->value);
	extra_end(x, NULL);
	return;
unavailable:
	extra_end(x, why);
}

static void extra_conform(const struct opts *o, const struct subject *ref, struct extra *x)
{
	char cmd[2048], log[512], why[800], json[64];
	double wall = 0;
	int st;

	if (o->conform == NULL || access(o->conform, X_OK) != 0) {
		snprintf(why, sizeof why, "not available: conform program %.300s not built",
		         o->conform ? o->conform : "(none given)");
		goto unavailable;
	}
	snprintf(log, sizeof log, "%s/logs/conform.log", o->outdir);
	/* The suite as harness/conform/test-ref.sh runs it: conform starts the servers itself. */
	snprintf(cmd, sizeof cmd, "%s --strict --exec-tcp '%s -l 127.0.0.1:0' --exec-udp '%s -l 127.0.0.1:0'",
	         o->conform, ref->tcp_path, ref->udp_path);
	fprintf(stderr, "bench: %s ...\n", cmd);
	st = run_cmd(cmd, log, 300, &wall);
	if (st != 0) {
		snprintf(why, sizeof why, "not available: conform failed (status %d); see %.300s", st, log);
		goto unavailable;
	}
	snprintf(x->value, sizeof x->value, "%.2f s wall", wall);
	snprintf(json, sizeof json, "{\"wall_s\": %.3f}", wall);
	x->json = strdup(json);
	extra_end(x, NULL);
	return;
unavailable:
	extra_end(x, why);
}

/* The fuzz and replay figures (through make) and the conform suite's time, in ex[0..3). Returns how
 * many extras there are: none with --only. */
static int run_extras(const struct opts *o, const struct subject *sj, struct extra *ex)
{
	char fuzz_json[512], replay_json[512];

	if (o->only != NULL)
		return 0;
	if (o->make != NULL) {
		snprintf(fuzz_json, sizeof fuzz_json, "%s/fuzz.json", o->outdir);
		snprintf(replay_json, sizeof replay_json, "%s/replay.json", o->outdir);
		extra_make(o, &ex[0], "bench-fuzz", fuzz_json);
		extra_make(o, &ex[1], "bench-replay", replay_json);
	} else {
		extra_unavailable(&ex[0], "not available: no --make given");
		extra_unavailable(&ex[1], "not available: no --make given");
	}
	extra_conform(o, &sj[SUBJECT_REF], &ex[2]);
	return 3;
}

/* ---- main ------------------------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(
	    f,
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
	    "  --chart CSV     measure nothing: draw the bar chart of a ratios.csv (CSV.svg beside it)\n"
	    "Besides BENCH.md and bench.json, DIR gets ratios.csv (per figure: each server's median and the\n"
	    "ratios) and its bar chart ratios.svg, drawn by gnuplot ($GNUPLOT); without gnuplot it says so\n"
	    "and carries on.\n"
	    "Exit status: 0 done, 1 a reference or echo server sent a wrong reply, 2 usage or set-up "
	    "error.\n");
}

/* The duration of each run (-T, BENCH_TIME): more than 0, at most 600 seconds. */
static int take_run_seconds(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	char why[160];

	if (util_parse_seconds(arg, 0, 600, dest, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", name, why);
		return -1;
	}
	if (!(*(double *)dest > 0)) {
		snprintf(err, errlen, "%s: a run must last more than 0 seconds", name);
		return -1;
	}
	return 0;
}

/* What the command line asks for. */
enum bench_args {
	BENCH_ARGS_RUN,  /* measure */
	BENCH_ARGS_HELP, /* --help was printed: exit 0 */
	BENCH_ARGS_BAD   /* a usage error was printed: exit 2 */
};

static enum bench_args parse_args(int argc, char **argv, struct opts *o)
{
	const struct cli_option options[] = {
	    {NULL, 'T', CLI_CUSTOM, .dest = &o->seconds, .custom = take_run_seconds},
	    {NULL, 'n', CLI_UNSIGNED, CLI_INTEGER(o->runs), .min = 1, .max = MAXRUNS},
	    {NULL, 'o', CLI_STRING, .dest = &o->outdir},
	    {NULL, 'b', CLI_STRING, .dest = &o->bindir},
	    {"py-tcp", 0, CLI_STRING, .dest = &o->python_tcp},
	    {"py-udp", 0, CLI_STRING, .dest = &o->python_udp},
	    {"tutorial-tcp", 0, CLI_STRING, .dest = &o->tutorial_tcp},
	    {"tutorial-udp", 0, CLI_STRING, .dest = &o->tutorial_udp},
	    {"make", 0, CLI_STRING, .dest = &o->make},
	    {"conform", 0, CLI_STRING, .dest = &o->conform},
	    {"only", 0, CLI_STRING, .dest = &o->only},
	    {"chart", 0, CLI_STRING, .dest = &o->chart},
	    {"pin", 0, CLI_FLAG, CLI_INTEGER(o->pin)},
	    {"help", 'h', CLI_HELP, .dest = NULL},
	    CLI_TABLE_END};
	const char *env;
	char err[512];

	/* The environment's defaults, checked as their options are. */
	if (((env = getenv("BENCH_TIME")) != NULL && *env &&
	     cli_take_value(&options[0], "BENCH_TIME", env, err, sizeof err) < 0) ||
	    ((env = getenv("BENCH_RUNS")) != NULL && *env &&
	     cli_take_value(&options[1], "BENCH_RUNS", env, err, sizeof err) < 0)) {
		fprintf(stderr, "bench: %s\n", err);
		return BENCH_ARGS_BAD;
	}
	switch (cli_outcome(cli_parse(options, argc, argv, err, sizeof err), "bench", err, usage, stdout,
	                    stderr)) {
	case CLI_OUTCOME_GO_ON:
		break;
	case CLI_OUTCOME_HELP:
		return BENCH_ARGS_HELP;
	case CLI_OUTCOME_BAD:
		return BENCH_ARGS_BAD;
	}
	if (optind != argc) {
		fprintf(stderr, "bench: unexpected argument %s (see --help)\n", argv[optind]);
		return BENCH_ARGS_BAD;
	}
	return BENCH_ARGS_RUN;
}

/* The process set-up: descriptors for the idle figure, no SIGPIPE, --pin, the log directory. Returns 0,
 * or -1 after printing why. */
static int setup(struct opts *o)
{
	char logs[512];

	/* The idle figure holds 10,000 descriptors here and in the server (which inherits the limit):
	 * as many as the hard limit allows. */
	util_raise_nofile(LONG_MAX);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_stop_signal);
	signal(SIGTERM, on_stop_signal);
	signal(SIGHUP, on_stop_signal);
	if (o->pin) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		CPU_ZERO(&o->server_cpus);
		CPU_SET(1, &o->server_cpus);
		if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || sched_setaffinity(0, sizeof set, &set) < 0) {
			fprintf(stderr, "bench: --pin needs 2 CPUs: %s\n", strerror(errno));
			return -1;
		}
	}
	snprintf(logs, sizeof logs, "%s/logs", o->outdir);
	mkdir(o->outdir, 0755);
	if (mkdir(logs, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "bench: cannot create %s: %s\n", logs, strerror(errno));
		return -1;
	}
	return 0;
}

/* A server given on the command line (python, tutorial): TCP and UDP command strings (words split on
 * spaces and tabs, no shell), or why not. */
static void subject_given(struct subject *s, const char *tcp, const char *udp, const char *what,
                          const char *script)
{
	if (tcp != NULL && *tcp)
		s->tcp.command = tcp;
	if (udp != NULL && *udp)
		s->udp.command = udp;
	if (!available(&s->tcp) || !available(&s->udp))
		snprintf(s->why, sizeof s->why,
		         "not available: no %s %s server given (make bench uses %s under python3)", what,
		         !available(&s->tcp) && !available(&s->udp) ? "TCP or UDP"
		         : !available(&s->tcp)                      ? "TCP"
		                                                    : "UDP",
		         script);
}

/* A server built here: PROG [-u] -l 127.0.0.1:0 for TCP and UDP, tcp_prog and udp_prog in bindir.
 * Returns 0, or -1 after printing that a program is missing. */
static int subject_built(struct subject *s, const struct opts *o, const char *tcp_prog, const char *udp_prog,
                         int udp_flag)
{
	const char **u = s->udp_argv;

	snprintf(s->tcp_path, sizeof s->tcp_path, "%s/%s", o->bindir, tcp_prog);
	snprintf(s->udp_path, sizeof s->udp_path, "%s/%s", o->bindir, udp_prog);
	s->tcp_argv[0] = s->tcp_path;
	s->tcp_argv[1] = "-l";
	s->tcp_argv[2] = "127.0.0.1:0";
	*u++ = s->udp_path;
	if (udp_flag)
		*u++ = "-u";
	*u++ = "-l";
	*u++ = "127.0.0.1:0";
	s->tcp.argv = s->tcp_argv;
	s->udp.argv = s->udp_argv;
	for (int i = 0; i < 2; i++) {
		const char *path = i ? s->udp_path : s->tcp_path;
		if (access(path, X_OK) != 0) {
			fprintf(stderr, "bench: %s: %s (run make first)\n", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int subjects_init(const struct opts *o, struct subject *sj)
{
	memset(sj, 0, sizeof *sj * NSUBJECTS);
	if (subject_built(&sj[SUBJECT_REF], o, "tcp-upper", "udp-upper", 0) < 0 ||
	    subject_built(&sj[SUBJECT_ECHO], o, "bench/echo", "bench/echo", 1) < 0)
		return -1;
	subject_given(&sj[SUBJECT_PYTHON], o->python_tcp, o->python_udp, "Python",
	              "servers/python/corrected.py");
	subject_given(&sj[SUBJECT_TUTORIAL], o->tutorial_tcp, o->tutorial_udp, "faithful tutorial",
	              "servers/python/tutorial_socketserver.py");
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.seconds = 1, .runs = 5, .outdir = "out/bench", .bindir = "build/std/bin"};
	struct subject sj[NSUBJECTS];
	struct extra ex[3] = {{.key = "fuzz", .label = "Fuzz exec/s (make bench-fuzz)"},
	                      {.key = "replay", .label = "Replay packets/s (make bench-replay)"},
	                      {.key = "conform", .label = "Conform suite wall time (reference servers)"}};
	double t0 = util_now_s();
	int nex, bad;

	switch (parse_args(argc, argv, &o)) {
	case BENCH_ARGS_HELP:
		return 0;
	case BENCH_ARGS_BAD:
		return 2;
	case BENCH_ARGS_RUN:
		break;
	}
	if (o.chart != NULL)
		return chart_only(o.chart);
	if (setup(&o) < 0 || subjects_init(&o, sj) < 0)
		return 2;
	run_figures(&o, sj);
	nex = run_extras(&o, sj, ex);
	bad = write_report(&o, sj, ex, nex, util_now_s() - t0);
	for (int e = 0; e < nex; e++)
		free(ex[e].json);
	if (bad < 0)
		return 2;
	fprintf(stderr, "bench: wrote %s/BENCH.md, %s/bench.json and %s/ratios.csv\n", o.outdir, o.outdir,
	        o.outdir);
	if (bad)
		fprintf(stderr, "bench: a reference or echo server sent a WRONG reply (see above)\n");
	return bad ? 1 : 0;
}
