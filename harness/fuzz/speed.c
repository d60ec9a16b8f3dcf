/* speed.c - fuzz-bench, `make bench-fuzz`: executions per second of each fuzz target under libFuzzer
 * and AFL++, and, in the same run, of a network-driven harness that starts a fresh tcp-upper for every
 * input and sends the input over loopback (as AFLNet does). Writes OUT/fuzz.json and OUT/fuzz.md and
 * prints the table. Each measurement lasts --time seconds (BENCH_FUZZ_TIME), so the whole run is
 * bounded by about (2 x targets + 2) x time. Exit 0, 1 when a measurement failed, 2 on a usage error
 * or when the reports cannot be written. */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "cli.h"
#include "engine.h"
#include "exchange.h"
#include "net.h"
#include "report.h"
#include "util.h"

#define PROG "fuzz-bench"
#define PATH_LEN 4096
#define MAX_ROWS 64
#define MAX_ERRORS 64
#define MAX_INPUTS 256

/* The table's columns, also the JSON keys of a row. */
enum speed_column {
	SPEED_LF,       /* libFuzzer + ASan + UBSan */
	SPEED_LF_NOSAN, /* libFuzzer, no sanitizer */
	SPEED_AFL,      /* AFL++ */
	SPEED_SA_SAN,   /* in process, no engine, ASan + UBSan build */
	SPEED_SA_STD,   /* in process, no engine, optimized build */
	SPEED_NETWORK,  /* a fresh server per input, over loopback */
	SPEED_COLUMNS
};

static const char *const column_key[SPEED_COLUMNS] = {"libfuzzer_asan_ubsan", "libfuzzer_nosan", "aflpp",
                                                      "standalone_san",       "standalone_std",  "network"};

/* One row; a column not measured is NAN (JSON null), a column never set is left out of the JSON. */
struct row {
	char target[64];
	double value[SPEED_COLUMNS];
	enum speed_column order[SPEED_COLUMNS]; /* the columns set, in the order they were */
	int nset;
};

struct options {
	int time;
	const char *lf_dir, *lf_fast_dir, *afl_dir, *server, *std_dir, *san_dir, *out;
	char **targets;
	int ntargets;
};

static struct row rows[MAX_ROWS];
static int nrows;
static char errors[MAX_ERRORS][600];
static int nerrors;

static struct row *row_new(const char *target)
{
	struct row *r = &rows[nrows < MAX_ROWS ? nrows++ : MAX_ROWS - 1];

	memset(r, 0, sizeof *r);
	eng_format(r->target, sizeof r->target, "%s", target);
	return r;
}

static void row_set(struct row *r, enum speed_column c, double v)
{
	int known = 0;

	for (int i = 0; i < r->nset; i++)
		known |= r->order[i] == c;
	if (!known)
		r->order[r->nset++] = c;
	r->value[c] = v;
}

static int row_has(const struct row *r, enum speed_column c)
{
	for (int i = 0; i < r->nset; i++)
		if (r->order[i] == c)
			return 1;
	return 0;
}

/* Reports one measurement: the rate, or "failed" with its reason kept for the report. Returns the rate
 * (NAN when it failed). */
static double note(const char *what, int rc, double rate, const char *err)
{
	if (rc != 0) {
		if (nerrors < MAX_ERRORS)
			eng_format(errors[nerrors++], sizeof errors[0], "%s: %s", what, err);
		rate = NAN;
	}
	if (rate > 0)
		printf(PROG ": %s: %.0f exec/s\n", what, rate);
	else
		printf(PROG ": %s: failed\n", what);
	fflush(stdout);
	return rate;
}

/* The last n characters of s. */
static const char *last_chars(const char *s, size_t len, size_t n)
{
	return len > n ? s + len - n : s;
}

static char *temp_dir(char *buf, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	eng_format(buf, len, "%s/fuzz-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(buf);
}

/* libFuzzer for secs seconds from seeds: executed units per second of wall time. */
static int libfuzzer_rate(const char *binary, const char *seeds, int secs, const char *dict, double *rate,
                          char *err, size_t errlen)
{
	char work[PATH_LEN], time_arg[32], artifact[PATH_LEN + 32], *out = NULL, why[64];
	size_t len;
	int status;
	const char *units;

	if (temp_dir(work, sizeof work) == NULL) {
		eng_format(err, errlen, "a temporary directory: %s", strerror(errno));
		return -1;
	}
	snprintf(time_arg, sizeof time_arg, "-max_total_time=%d", secs);
	eng_format(artifact, sizeof artifact, "-artifact_prefix=%s/", work);
	char *argv[] = {
	    (char *)binary, time_arg, "-print_final_stats=1", "-max_len=4096", artifact, (char *)dict, work,
	    (char *)seeds,  NULL};
	double t0 = util_now_s();
	enum eng_run_result r =
	    eng_run(argv, NULL, ENG_CAPTURE_BOTH, secs + 60, &out, &len, &status, err, errlen);
	double dt = util_now_s() - t0;
	eng_remove_tree(work);
	units = out ? strstr(out, "stat::number_of_executed_units:") : NULL;
	if (r != ENG_RUN_ERROR && units == NULL)
		eng_format(err, errlen, "libFuzzer failed (%s): %s",
		           r == ENG_RUN_TIMEOUT ? "timed out" : eng_status_text(why, sizeof why, status),
		           last_chars(out, len, 300));
	if (r == ENG_RUN_EXITED && units != NULL && status != 0)
		printf(PROG
		       ": note: %s crashed after %.0f s (a finding: run make fuzz); rate measured up to the "
		       "crash\n",
		       strrchr(binary, '/') ? strrchr(binary, '/') + 1 : binary, dt);
	if (units != NULL)
		*rate = strtod(units + strlen("stat::number_of_executed_units:"), NULL) /
		        (dt > 0.001 ? dt : 0.001);
	free(out);
	return units != NULL ? 0 : -1;
}

/* The figures of the AFL++ instance under out (the last fuzzer_stats with execs_done). */
static int afl_stats(const char *out, struct eng_afl_stats *st)
{
	char pattern[PATH_LEN + 32];
	glob_t g;
	int found = 0;

	eng_format(pattern, sizeof pattern, "%s/*/fuzzer_stats", out);
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			struct eng_afl_stats s;
			if (eng_afl_read(g.gl_pathv[i], &s) == 0 && s.has_execs) {
				*st = s;
				found = 1;
			}
		}
		globfree(&g);
	}
	eng_format(pattern, sizeof pattern, "%s/fuzzer_stats", out);
	if (!found && eng_afl_read(pattern, st) == 0 && st->has_execs)
		found = 1;
	return found;
}

/* afl-fuzz for secs seconds from seeds on cmd: executions per second over its run time, calibration
 * included (what a user gets). */
static int afl_rate(char *const cmd[], const char *seeds, int secs, const char *dict, double *rate, char *err,
                    size_t errlen)
{
	char work[PATH_LEN], secs_arg[32], *out = NULL, why[64];
	char *argv[16] = {"afl-fuzz", "-i", (char *)seeds, "-o", work, "-V", secs_arg, "-t", "2000"};
	size_t len;
	int n = 9, status, found;
	struct eng_afl_stats st;

	if (temp_dir(work, sizeof work) == NULL) {
		eng_format(err, errlen, "a temporary directory: %s", strerror(errno));
		return -1;
	}
	snprintf(secs_arg, sizeof secs_arg, "%d", secs);
	if (dict != NULL) {
		argv[n++] = "-x";
		argv[n++] = (char *)dict;
	}
	argv[n++] = "--";
	for (int i = 0; cmd[i] != NULL && n < 15; i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
	eng_afl_environment();
	enum eng_run_result r =
	    eng_run(argv, NULL, ENG_CAPTURE_BOTH, secs + 120, &out, &len, &status, err, errlen);
	found = afl_stats(work, &st);
	eng_remove_tree(work);
	if (r != ENG_RUN_ERROR && !found)
		eng_format(err, errlen, "afl-fuzz failed (%s): %s",
		           r == ENG_RUN_TIMEOUT ? "timed out" : eng_status_text(why, sizeof why, status),
		           last_chars(out, len, 300));
	free(out);
	if (!found)
		return -1;
	double run_time = st.run_time > 0 ? st.run_time : secs;
	*rate = (double)st.execs / (run_time > 1 ? run_time : 1);
	return 0;
}

/* One input run again and again in process by the standalone runner (-n), no engine, no file I/O: runs
 * grow fourfold until one measurement lasts secs / 2. */
static int replay_rate(const char *binary, const char *path, int secs, double *rate, char *err, size_t errlen)
{
	char count[32], *out = NULL, why[64];
	size_t len;
	int status;

	for (unsigned long runs = 1000;; runs *= 4) {
		double took = 0, per_second = 0;
		const char *p = NULL;
		snprintf(count, sizeof count, "%lu", runs);
		char *argv[] = {(char *)binary, "-n", count, (char *)path, NULL};
		enum eng_run_result r =
		    eng_run(argv, NULL, ENG_CAPTURE_STDOUT, secs * 10 + 60, &out, &len, &status, err, errlen);
		if (r == ENG_RUN_ERROR)
			return -1;
		for (p = strstr(out, "in "); p != NULL; p = strstr(p + 1, "in ")) {
			int end = 0;
			if (sscanf(p, "in %lf s: %lf exec/s%n", &took, &per_second, &end) == 2 && end > 0)
				break;
		}
		if (r != ENG_RUN_EXITED || status != 0 || p == NULL) {
			eng_format(err, errlen, "%s -n %lu %s: %s %s", binary, runs, path,
			           r == ENG_RUN_TIMEOUT ? "timed out"
			                                : eng_status_text(why, sizeof why, status),
			           last_chars(out, len, 200));
			free(out);
			return -1;
		}
		free(out);
		if (took >= secs / 2.0 || runs >= 1ul << 30) {
			*rate = per_second;
			return 0;
		}
	}
}

/* One execution, AFLNet's way: a fresh server (child.h), the input over loopback, a half-close, and
 * the whole reply read back and counted (exchange.h, XCHG_MODE_LENGTH). Returns 1 when every byte
 * came back before the server's FIN, 0 when not (the reason in err), -1 with a reason in err when the
 * server or the connection could not be had. */
static int network_once(const char *server, const unsigned char *data, size_t n, char *err, size_t errlen)
{
	const char *const argv[] = {server, "-l", "127.0.0.1:0", NULL};
	struct child_options co = {.argv = argv, .want = CHILD_TCP, .start_ms = 5000};
	struct xchg_expect e = {.mode = XCHG_MODE_LENGTH, .sent = data, .sent_len = n, .half_close = 1};
	struct xchg_limits limits = {.idle_ms = 5000};
	struct xchg_run_result r = {.status = XCHG_RUN_ERROR};
	struct xchg_conn conn;
	struct child_addrs addrs;
	struct child *c;
	int fd, rc = -1;

	if (child_start(&co, &c, &addrs, err, errlen) != 0)
		return -1;
	fd = net_connect(&addrs.tcp, SOCK_STREAM, 5000, err, errlen);
	if (fd >= 0) {
		xchg_conn_init(&conn, fd, 1, &e);
		xchg_run(&conn, 1, &limits, &r, err, errlen);
		if (r.status != XCHG_RUN_ERROR)
			xchg_run_describe(&conn, 1, &r, &limits, err, errlen);
		rc = r.status == XCHG_RUN_DONE ? 1 : r.status == XCHG_RUN_ERROR ? -1 : 0;
		xchg_conn_close(&conn);
	}
	child_stop(c, SIGTERM, 5000, NULL);
	child_free(c);
	return rc;
}

/* Executions per second of network_once() over secs seconds, cycling through the inputs. */
static int network_rate(const char *server, unsigned char *const inputs[], const size_t *lens, int ninputs,
                        int secs, double *rate, char *err, size_t errlen)
{
	double start = util_now_s();
	long n = 0, ok = 0;
	char last[512] = "";

	if (ninputs == 0) {
		eng_format(err, errlen, "no inputs (corpus/tcp-upper-inetd/seed-*)");
		return -1;
	}
	while (util_now_s() - start < secs) {
		int r = network_once(server, inputs[n % ninputs], lens[n % ninputs], err, errlen);
		n++;
		if (r < 0)
			return -1;
		if (r == 0)
			eng_format(last, sizeof last, "%s", err);
		ok += r;
	}
	if (ok != n) {
		eng_format(err, errlen,
		           "%ld of %ld network executions did not get their whole reply (the last: %s)",
		           n - ok, n, last);
		return -1;
	}
	*rate = (double)n / (util_now_s() - start);
	return 0;
}

/* ---- the measurements ---- */

static int in_path(const char *name)
{
	const char *path = getenv("PATH");
	char dir[PATH_LEN], file[2 * PATH_LEN];

	for (const char *p = path ? path : ""; *p != '\0';) {
		size_t n = strcspn(p, ":");
		eng_format(dir, sizeof dir, "%.*s", (int)n, p);
		eng_format(file, sizeof file, "%s/%s", n ? dir : ".", name);
		if (access(file, X_OK) == 0)
			return 1;
		p += n + (p[n] == ':');
	}
	return 0;
}

/* The three engine figures of one fuzz target. */
static void measure_target(const struct options *o, const char *t, int have_afl)
{
	char seeds[PATH_LEN], dict[PATH_LEN], dict_arg[PATH_LEN + 8], binary[PATH_LEN], what[256];
	char absolute[PATH_LEN], err[1024];
	struct row *r = row_new(t);
	double rate = 0;
	int rc;

	eng_format(seeds, sizeof seeds, "corpus/%s", t);
	eng_format(dict, sizeof dict, "harness/fuzz/%s.dict", t);
	eng_format(dict_arg, sizeof dict_arg, "-dict=%s", dict);
	eng_format(binary, sizeof binary, "%s/%s", o->lf_dir, t);
	eng_format(what, sizeof what, "%s libFuzzer+ASan+UBSan", t);
	rc = libfuzzer_rate(binary, seeds, o->time, dict_arg, &rate, err, sizeof err);
	row_set(r, SPEED_LF, note(what, rc, rate, err));
	eng_format(binary, sizeof binary, "%s/%s", o->lf_fast_dir, t);
	eng_format(what, sizeof what, "%s libFuzzer (no sanitizer)", t);
	rc = access(binary, X_OK) == 0
	         ? libfuzzer_rate(binary, seeds, o->time, dict_arg, &rate, err, sizeof err)
	         : 1;
	row_set(r, SPEED_LF_NOSAN, rc == 1 ? NAN : note(what, rc, rate, err));
	eng_format(binary, sizeof binary, "%s/%s", o->afl_dir, t);
	if (realpath(binary, absolute) == NULL)
		eng_format(absolute, sizeof absolute, "%s", binary);
	char *cmd[] = {absolute, NULL};
	eng_format(what, sizeof what, "%s AFL++ persistent", t);
	rc = have_afl ? afl_rate(cmd, seeds, o->time, dict, &rate, err, sizeof err) : 1;
	row_set(r, SPEED_AFL, rc == 1 ? NAN : note(what, rc, rate, err));
}

/* The seeds of tcp-upper --inetd, in name order. Returns how many were read. */
static int read_inputs(unsigned char *inputs[], size_t lens[], int max)
{
	glob_t g;
	int n = 0;

	if (glob("corpus/tcp-upper-inetd/seed-*", 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc && n < max; i++) {
		FILE *f = fopen(g.gl_pathv[i], "rb");
		struct stat st;
		if (f == NULL)
			continue;
		if (fstat(fileno(f), &st) == 0 && (inputs[n] = malloc((size_t)st.st_size + 1)) != NULL) {
			lens[n] = fread(inputs[n], 1, (size_t)st.st_size, f);
			n++;
		}
		fclose(f);
	}
	globfree(&g);
	return n;
}

/* The whole server: AFL++'s fork server on tcp-upper --inetd, the network-driven harness on every seed
 * and on "hello world\n" alone, and the standalone runner on the same hello input. */
static void measure_whole(const struct options *o, int have_afl)
{
	static const char *const hello_name[] = {"standalone_san", "standalone_std"};
	unsigned char *inputs[MAX_INPUTS] = {NULL}, hello[] = "hello world\n", *hello_input[] = {hello};
	size_t lens[MAX_INPUTS] = {0}, hello_len[] = {12};
	char binary[PATH_LEN], absolute[PATH_LEN], what[128], err[1024];
	double rate = 0;
	int half = o->time / 2 > 1 ? o->time / 2 : 1, rc, n;
	struct row *whole = row_new("tcp-upper --inetd"), *same;

	eng_format(binary, sizeof binary, "%s/tcp-upper", o->afl_dir);
	if (realpath(binary, absolute) == NULL)
		eng_format(absolute, sizeof absolute, "%s", binary);
	char *cmd[] = {absolute, "--inetd", NULL};
	rc = have_afl ? afl_rate(cmd, "corpus/tcp-upper-inetd", o->time, NULL, &rate, err, sizeof err) : 1;
	row_set(whole, SPEED_AFL, rc == 1 ? NAN : note("tcp-upper --inetd AFL++ fork server", rc, rate, err));
	n = read_inputs(inputs, lens, MAX_INPUTS);
	rc = network_rate(o->server, inputs, lens, n, o->time, &rate, err, sizeof err);
	row_set(whole, SPEED_NETWORK,
	        note("network-driven (fresh tcp-upper per input, loopback)", rc, rate, err));
	for (int i = 0; i < n; i++)
		free(inputs[i]);
	same = row_new("same input: hello world + FIN");
	rc = network_rate(o->server, hello_input, hello_len, 1, half, &rate, err, sizeof err);
	row_set(same, SPEED_NETWORK, note("network-driven, hello world only", rc, rate, err));
	for (int i = 0; i < 2; i++) {
		eng_format(binary, sizeof binary, "%s/fuzz_tcp-standalone", i == 0 ? o->san_dir : o->std_dir);
		if (access(binary, X_OK) != 0)
			continue;
		eng_format(what, sizeof what, "fuzz_tcp %s replaying seed-hello", hello_name[i]);
		rc = replay_rate(binary, "corpus/fuzz_tcp/seed-hello", half, &rate, err, sizeof err);
		row_set(same, i == 0 ? SPEED_SA_SAN : SPEED_SA_STD, note(what, rc, rate, err));
	}
}

/* ---- the reports ---- */

/* The two ratios of the summary and the figures they divide (0 or NAN when a figure is missing). */
struct ratios {
	double best, asan, same, same_san;
	/* fuzzing throughput: fuzz_tcp's fastest in-process engine (best_column), its ASan+UBSan
	 * libFuzzer, and the network-driven harness on tcp-upper's seeds */
	double best_in, asan_in, net;
	enum speed_column best_column;
	/* the same input: in process (std and san builds) and over the network */
	double hello_std, hello_san, hello_net;
};

static double value_or_zero(const struct row *r, enum speed_column c)
{
	return r != NULL && r->value[c] > 0 ? r->value[c] : 0;
}

static double divide(double a, double b)
{
	return a > 0 && b > 0 ? a / b : NAN;
}

static const struct row *row_named(const char *target)
{
	for (int i = 0; i < nrows; i++)
		if (strcmp(rows[i].target, target) == 0)
			return &rows[i];
	return NULL;
}

static void compute_ratios(struct ratios *q)
{
	static const enum speed_column engines[] = {SPEED_LF, SPEED_LF_NOSAN, SPEED_AFL};
	const struct row *tcp = row_named("fuzz_tcp"), *whole = row_named("tcp-upper --inetd"),
	                 *same = row_named("same input: hello world + FIN");

	memset(q, 0, sizeof *q);
	q->best_column = SPEED_LF;
	for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++)
		if (value_or_zero(tcp, engines[i]) > q->best_in) {
			q->best_in = value_or_zero(tcp, engines[i]);
			q->best_column = engines[i];
		}
	q->asan_in = value_or_zero(tcp, SPEED_LF);
	q->net = value_or_zero(whole, SPEED_NETWORK);
	q->hello_std = value_or_zero(same, SPEED_SA_STD);
	q->hello_san = value_or_zero(same, SPEED_SA_SAN);
	q->hello_net = value_or_zero(same, SPEED_NETWORK);
	q->best = divide(q->best_in, q->net);
	q->asan = divide(q->asan_in, q->net);
	q->same = divide(q->hello_std > q->hello_san ? q->hello_std : q->hello_san, q->hello_net);
	q->same_san = divide(q->hello_san, q->hello_net);
}

/* A rate for the table: "-" when missing or zero, else whole with a space between thousands. */
static char *table_value(char *buf, size_t len, double v)
{
	if (!(v > 0))
		return eng_format(buf, len, "-"), buf;
	return eng_fmt_count(buf, len, (uint64_t)(v + 0.5));
}

/* The summary: which ratio is the fuzzing throughput and which the same input, with what each
 * divides. */
static void write_ratios(FILE *f, const struct ratios *q)
{
	static const char *const engine_name[] = {"libFuzzer + ASan + UBSan", "libFuzzer, no sanitizer",
	                                          "AFL++"};
	char a[40], b[40], c[40], d[40];

	if (q->best > 0) {
		fprintf(
		    f,
		    "**Fuzzing throughput ratio: %sx** = exec/s while fuzzing, fuzz_tcp in process with its "
		    "fastest engine (%s, %s exec/s) / the network-driven harness fuzzing tcp-upper (a fresh "
		    "server per input over loopback, %s exec/s).",
		    table_value(a, sizeof a, q->best), engine_name[q->best_column],
		    table_value(b, sizeof b, q->best_in), table_value(c, sizeof c, q->net));
		if (q->asan > 0)
			fprintf(f, " With ASan + UBSan: %sx (%s / %s).", table_value(a, sizeof a, q->asan),
			        table_value(b, sizeof b, q->asan_in), table_value(c, sizeof c, q->net));
		fprintf(f, "\n\n");
	}
	if (q->same > 0) {
		fprintf(
		    f,
		    "**Same-input ratio: %sx** = one input (\"hello world\\n\", then FIN) run again and "
		    "again, in process without an engine (%s build, %s exec/s) / over the network (a fresh "
		    "server each time, %s exec/s).",
		    table_value(a, sizeof a, q->same),
		    q->hello_std >= q->hello_san ? "optimized" : "ASan+UBSan",
		    table_value(b, sizeof b, q->hello_std >= q->hello_san ? q->hello_std : q->hello_san),
		    table_value(c, sizeof c, q->hello_net));
		if (q->same_san > 0)
			fprintf(f, " Under ASan + UBSan: %sx (%s / %s).",
			        table_value(a, sizeof a, q->same_san), table_value(b, sizeof b, q->hello_san),
			        table_value(d, sizeof d, q->hello_net));
		fprintf(f, " Goal: >= 1000x.\n\n");
	}
	fprintf(f,
	        "The fuzzing ratio is the one that says how much faster fuzzing goes: one fuzz_tcp execution "
	        "is a whole script (up to 4 connections, every event), one network execution is one server "
	        "start, one connection, one input and its reply. The same-input ratio compares the cost of "
	        "one identical exchange.\n");
}

static void write_markdown(FILE *f, const struct options *o, const struct ratios *q)
{
	char date[64], a[40], b[40], c[40], d[40], e[40], g[40];
	time_t now = time(NULL);

	strftime(date, sizeof date, "%Y-%m-%d %H:%M %Z", localtime(&now));
	fprintf(f, "# Fuzzing speed (make bench-fuzz)\n\n%d s per measurement, %ld cores, %s. exec/s.\n\n",
	        o->time, sysconf(_SC_NPROCESSORS_ONLN), date);
	fprintf(
	    f,
	    "| target | libFuzzer + ASan + UBSan | libFuzzer, no sanitizer | AFL++ | in process, no engine "
	    "(std / san) | network-driven |\n|---|---:|---:|---:|---:|---:|\n");
	for (int i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		char standalone[96] = "-";
		if (row_has(r, SPEED_SA_STD))
			eng_format(
			    standalone, sizeof standalone, "%s / %s",
			    table_value(a, sizeof a, r->value[SPEED_SA_STD]),
			    table_value(b, sizeof b, row_has(r, SPEED_SA_SAN) ? r->value[SPEED_SA_SAN] : 0));
		fprintf(f, "| %s | %s | %s | %s | %s | %s |\n", r->target,
		        table_value(c, sizeof c, r->value[SPEED_LF]),
		        table_value(d, sizeof d, r->value[SPEED_LF_NOSAN]),
		        table_value(e, sizeof e, r->value[SPEED_AFL]), standalone,
		        table_value(g, sizeof g, r->value[SPEED_NETWORK]));
	}
	fprintf(f, "\n");
	write_ratios(f, q);
	if (nerrors > 0) {
		fprintf(f, "\nErrors:\n");
		for (int i = 0; i < nerrors; i++)
			fprintf(f, "- %s\n", errors[i]);
	}
}

/* A JSON number as Python writes a float (shortest form that reads back, "1000000.0"), or null. */
static void json_number(FILE *f, double v)
{
	char buf[64];
	int precision = 1, exponent;

	if (!isfinite(v)) {
		fputs("null", f);
		return;
	}
	while (precision < 17 &&
	       (snprintf(buf, sizeof buf, "%.*e", precision - 1, v), strtod(buf, NULL) != v))
		precision++;
	snprintf(buf, sizeof buf, "%.*e", precision - 1, v);
	exponent = atoi(strchr(buf, 'e') + 1);
	if (v != 0 && (exponent < -4 || exponent >= 16)) {
		fputs(buf, f);
		return;
	}
	int decimals = precision - 1 - exponent;
	fprintf(f, decimals > 0 ? "%.*f" : "%.*f.0", decimals > 0 ? decimals : 0, v);
}

static void write_json(FILE *f, const struct options *o, const struct ratios *q)
{
	static const char *const ratio_key[] = {"ratio_in_process_vs_network_best",
	                                        "ratio_in_process_asan_vs_network", "ratio_same_input",
	                                        "ratio_same_input_san"};
	const double ratio[] = {q->best, q->asan, q->same, q->same_san};

	fprintf(f, "{\n  \"seconds_per_measurement\": %d,\n  \"cores\": %ld,\n  \"rows\": [", o->time,
	        sysconf(_SC_NPROCESSORS_ONLN));
	for (int i = 0; i < nrows; i++) {
		fprintf(f, "%s\n    {\n      \"target\": ", i ? "," : "");
		rep_json_str(f, rows[i].target);
		for (int k = 0; k < rows[i].nset; k++) {
			fprintf(f, ",\n      \"%s\": ", column_key[rows[i].order[k]]);
			json_number(f, rows[i].value[rows[i].order[k]]);
		}
		fprintf(f, "\n    }");
	}
	fprintf(f, "%s]", nrows ? "\n  " : "");
	for (int i = 0; i < 4; i++) {
		fprintf(f, ",\n  \"%s\": ", ratio_key[i]);
		json_number(f, ratio[i]);
	}
	fprintf(f, ",\n  \"errors\": [");
	for (int i = 0; i < nerrors; i++) {
		fprintf(f, "%s\n    ", i ? "," : "");
		rep_json_str(f, errors[i]);
	}
	fprintf(f, "%s]\n}", nerrors ? "\n  " : "");
}

/* Writes OUT/NAME with writer. Returns 0, or -1 after a message. */
static int write_report(const struct options *o, const char *name, const struct ratios *q,
                        void (*writer)(FILE *, const struct options *, const struct ratios *))
{
	char path[PATH_LEN + 16];
	FILE *f;

	eng_format(path, sizeof path, "%s/%s", o->out, name);
	f = fopen(path, "w");
	if (f != NULL) {
		writer(f, o, q);
		if (util_flush_ok(f) == 0 && fclose(f) == 0)
			return 0;
	}
	fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno));
	return -1;
}

/* ---- set-up ---- */

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: fuzz-bench [--time SECONDS] [--lf-dir DIR] [--lf-fast-dir DIR] [--afl-dir DIR] [--server "
	    "PATH]\n"
	    "                  [--std-dir DIR] [--san-dir DIR] [--out DIR] TARGET...\n"
	    "Fuzzing speed: in-process engines vs a network-driven harness (make bench-fuzz).\n"
	    "  --time SECONDS     seconds per measurement, 1 to 3600 (default 6)\n"
	    "  --lf-dir DIR       libFuzzer builds with ASan+UBSan (default build/fuzz-libfuzzer)\n"
	    "  --lf-fast-dir DIR  libFuzzer builds without sanitizer (default build/fuzz-libfuzzer-fast)\n"
	    "  --afl-dir DIR      AFL++ builds (default build/fuzz-afl)\n"
	    "  --server PATH      tcp-upper for the network-driven harness (default "
	    "build/std/bin/tcp-upper)\n"
	    "  --std-dir DIR      standalone runners, optimized build (default build/std/bin)\n"
	    "  --san-dir DIR      standalone runners, ASan+UBSan build (default build/san/bin)\n"
	    "  --out DIR          where fuzz.md and fuzz.json go (default out/bench)\n"
	    "Exit 0, 1 when a measurement failed, 2 on a usage error or reports that cannot be written.\n");
}

/* Parses the command line. Returns 0, 2 after a message, or -1 for --help. */
static int parse_options(int argc, char **argv, struct options *o)
{
	const struct cli_option options[] = {{"time", 0, CLI_UNSIGNED, CLI_INTEGER(o->time), .min = 1,
	                                      .max = 3600, .reason = "expected whole seconds from 1 to 3600"},
	                                     {"lf-dir", 0, CLI_STRING, .dest = &o->lf_dir},
	                                     {"lf-fast-dir", 0, CLI_STRING, .dest = &o->lf_fast_dir},
	                                     {"afl-dir", 0, CLI_STRING, .dest = &o->afl_dir},
	                                     {"server", 0, CLI_STRING, .dest = &o->server},
	                                     {"std-dir", 0, CLI_STRING, .dest = &o->std_dir},
	                                     {"san-dir", 0, CLI_STRING, .dest = &o->san_dir},
	                                     {"out", 0, CLI_STRING, .dest = &o->out},
	                                     {"help", 'h', CLI_HELP, .dest = NULL},
	                                     CLI_TABLE_END};
	char err[512];

	*o = (struct options){6,
	                      "build/fuzz-libfuzzer",
	                      "build/fuzz-libfuzzer-fast",
	                      "build/fuzz-afl",
	                      "build/std/bin/tcp-upper",
	                      "build/std/bin",
	                      "build/san/bin",
	                      "out/bench",
	                      NULL,
	                      0};
	switch (
	    cli_outcome(cli_parse(options, argc, argv, err, sizeof err), PROG, err, usage, stdout, stderr)) {
	case CLI_OUTCOME_GO_ON:
		break;
	case CLI_OUTCOME_HELP:
		return -1;
	case CLI_OUTCOME_BAD:
		return 2;
	}
	o->targets = argv + optind;
	o->ntargets = argc - optind;
	if (o->ntargets < 1 || o->ntargets > MAX_ROWS - 4) {
		fprintf(stderr, PROG ": expected 1 to %d target names\n", MAX_ROWS - 4);
		return usage(stderr), 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct ratios q;
	char err[PATH_LEN + 64];
	int rc = parse_options(argc, argv, &o);

	if (rc != 0)
		return rc < 0 ? 0 : rc; /* --help: the usage is written */
	if (eng_mkdirs(o.out, err, sizeof err) != 0) {
		fprintf(stderr, PROG ": --out %s: %s\n", o.out, err);
		return 2;
	}
	int have_afl = in_path("afl-fuzz");
	for (int i = 0; i < o.ntargets; i++)
		measure_target(&o, o.targets[i], have_afl);
	measure_whole(&o, have_afl);
	compute_ratios(&q);
	if (write_report(&o, "fuzz.md", &q, write_markdown) != 0 ||
	    write_report(&o, "fuzz.json", &q, write_json) != 0)
		return 2;
	printf("\n");
	write_markdown(stdout, &o, &q);
	printf("(written to %s/fuzz.md and fuzz.json)\n", o.out);
	return nerrors ? 1 : 0;
}
