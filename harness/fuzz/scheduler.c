/* scheduler.c - fuzz-run, the driver behind `make fuzz` (libFuzzer) and `make fuzz-afl` (AFL++).
 *
 * Runs every fuzz target on every core for --time seconds, prints a progress line per target at least
 * every minute (the exec/s of the last interval, or that the target waits for a worker slot), keeps a
 * row per target every --sample seconds in OUT/<target>.csv, stops cleanly on Ctrl-C or SIGTERM, then
 * charts each series as OUT/<target>.svg (lib/chart; without gnuplot the reason is told instead) and
 * writes OUT/SUMMARY.md (execs, whole-run exec/s, coverage and when it last grew, new corpus entries,
 * crashes deduplicated by report and top frames with a reproduce command, the charts) and prints it. Exit
 * status: 0 no crash file, 1 a crash file lies under OUT/<target>/ (this run's or an earlier run's: the
 * working directory is kept between runs), 2 usage or setup error, or the engine did not run a target (never
 * reported as "no crashes"), or the disk is full, or the summary could not be written. Nothing is written
 * under corpus/.
 *
 * Scheduling (libFuzzer): JOBS worker slots (default: the number of cores) run chunks of at most 60 s.
 * Slot i runs target (i + k) mod T at its k-th chunk, so with fewer cores than targets every target
 * gets an equal share of the cores and the machine is never oversubscribed; with more cores than
 * targets several workers fuzz one target and share its working corpus (libFuzzer reloads it). Each
 * chunk starts from the working corpus plus the committed seeds, so a crash only costs its chunk.
 *
 * Scheduling (AFL++): all targets run at once, one -M instance each, plus -S instances round-robin
 * while cores remain (AFL_NO_AFFINITY=1 lets them share cores when there are fewer cores than targets).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chart.h"
#include "cli.h"
#include "engine.h"
#include "util.h"

#define PROG "fuzz-run"
#define PATH_LEN 4096
#define MAX_TARGETS 64
#define MAX_JOBS 1024

enum run_engine { RUN_LIBFUZZER, RUN_AFL };

struct options {
	enum run_engine engine;
	double time;     /* seconds to fuzz */
	long jobs;       /* worker slots */
	double progress; /* seconds between progress lines */
	double sample;   /* seconds between the rows of the time series (OUT/<target>.csv) */
	const char *out, *bindir, *san_tcp_upper;
	char **names;
	int nnames;
};

/* A target's cumulative execs in this run as its engine last reported them, and when: seconds on the
 * target's run clock (the time it had an engine running in this run). */
struct point {
	uint64_t execs;
	double at;
};

/* What the run knows of a target over time: the figures behind its progress lines, its time series
 * (OUT/<target>.csv, a row every --sample seconds) and its chart. */
struct history {
	double run_secs;            /* seconds in which at least one engine of the target ran */
	int running;                /* an engine of the target runs now */
	struct point known;         /* the latest figures its engine gave */
	double known_elapsed;       /* when they last changed (seconds since the start of the run) */
	struct point progress_mark; /* known at the previous progress line */
	struct point sample_mark;   /* known at the previous row of the time series */
	double sample_run_secs;     /* run_secs at the previous row */
	uint64_t cov;               /* coverage: libFuzzer's cov, AFL++'s edges_found */
	uint64_t cov_first;         /* the first coverage the engine reported (what the corpus reached) */
	double cov_first_at;        /* when it was reported (seconds since the start) */
	double cov_grew_at;         /* when coverage last grew above cov_first (-1: it never did) */
	uint64_t corpus, crashes;   /* at the latest row */
	char density[32];           /* AFL++: the main instance's bitmap_cvg */
	int coverage_when_reported; /* rows give coverage only when the engine reported (AFL++: rarely) */
	FILE *csv;
	char csv_name[PATH_LEN], svg_name[PATH_LEN]; /* file names under OUT */
	char csv_path[PATH_LEN], svg_path[2 * PATH_LEN];
	unsigned rows;
	int has_coverage, has_rate; /* a row gave a coverage, an exec/s (a chart needs a value per line) */
	char chart_why[512];        /* why no picture was drawn ("" when one was) */
};

struct target {
	const char *name;
	char binary[PATH_LEN], seeds[PATH_LEN], dir[PATH_LEN], corpus[PATH_LEN], crashes[PATH_LEN];
	char logs[PATH_LEN], sync[PATH_LEN];
	char dict_arg[PATH_LEN + 8], max_len_arg[40];
	char *extra[3];
	int nextra;
	size_t corpus_start;
	uint64_t execs_done; /* over finished chunks */
	uint64_t cov;
	unsigned nfailed; /* chunks or instances in which the engine never ran an input */
	char failed_log[PATH_LEN], failed_why[PATH_LEN + 64]; /* the last one */
	char abs_binary[PATH_LEN], repro_binary[PATH_LEN];
	char *cmd[3];       /* AFL++: what afl-fuzz runs */
	char *repro_cmd[3]; /* AFL++: what reproduces a crash (with ASan for tcp-upper) */
	int repro_stdin;
	struct history h;
};

/* An AFL++ instance's figures: its run time in seconds, execs, edges found and corpus entries. */
struct afl_figures {
	double time;
	uint64_t execs, edges, corpus;
};

/* A libFuzzer chunk or an AFL++ instance. */
struct job {
	pid_t pid; /* 0: free slot, or ended */
	struct target *t;
	char log[PATH_LEN];
	double started;
	size_t ncrash;                                  /* crash files before it started */
	uint64_t execs, cov;                            /* its latest status line */
	char stats[PATH_LEN + 32], plot[PATH_LEN + 32]; /* AFL++: its fuzzer_stats and plot_data */
	struct afl_figures prior; /* AFL++: the figures of an earlier run in its directory */
	int resumed;              /* AFL++: it carries them on (-1: not known yet) */
	int status, ended, stopped;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Writes "a/b" into out (cut to fit). */
static char *path_join(char *out, size_t len, const char *a, const char *b)
{
	eng_format(out, len, "%s/%s", a, b);
	return out;
}

static void fail_target(struct target *t, const char *log, const char *why)
{
	t->nfailed++;
	eng_format(t->failed_log, sizeof t->failed_log, "%s", log);
	eng_format(t->failed_why, sizeof t->failed_why, "%s", why);
}

/* ---- libFuzzer logs ---- */

/* Parses a libFuzzer status line "#N KIND cov: C ft: F corp: E/SIZE ... exec/s: R". */
static int status_line(const char *s, uint64_t *execs, uint64_t *cov)
{
	static const char *const fields[] = {"cov: ", " ft: ", " corp: "};
	uint64_t v[3];
	char *end;

	if (*s++ != '#' || !isdigit((unsigned char)*s))
		return 0;
	uint64_t e = strtoull(s, &end, 10);
	s = end;
	if (!isspace((unsigned char)*s))
		return 0;
	while (isspace((unsigned char)*s))
		s++;
	if (!isalnum((unsigned char)*s) && *s != '_')
		return 0;
	while (isalnum((unsigned char)*s) || *s == '_')
		s++;
	if (!isspace((unsigned char)*s))
		return 0;
	while (isspace((unsigned char)*s))
		s++;
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(fields[i]);
		if (strncmp(s, fields[i], n) != 0 || !isdigit((unsigned char)s[n]))
			return 0;
		v[i] = strtoull(s + n, &end, 10);
		s = end;
	}
	if (*s != '/' || s[1] == '\0' || isspace((unsigned char)s[1]))
		return 0;
	s = strstr(s, "exec/s: ");
	if (s == NULL || !isdigit((unsigned char)s[8]))
		return 0;
	*execs = e;
	*cov = v[0];
	return 1;
}

/* Reads at most max bytes of path, from its end (from_end) or its start, NUL-terminated. */
static char *read_part(const char *path, size_t max, int from_end, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (f == NULL)
		return NULL;
	if (from_end && fseek(f, 0, SEEK_END) == 0) {
		long size = ftell(f);
		fseek(f, size > (long)max ? size - (long)max : 0, SEEK_SET);
	}
	buf = malloc(max + 1);
	if (buf != NULL) {
		*len = fread(buf, 1, max, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

/* The latest (execs, cov) of a libFuzzer log, (0, 0) when it has none. */
static void last_status(const char *log, uint64_t *execs, uint64_t *cov)
{
	size_t len;
	char *text = read_part(log, 65536, 1, &len);

	*execs = *cov = 0;
	if (text == NULL)
		return;
	for (char *line = text; line != NULL && line < text + len;) {
		char *nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		uint64_t e, c;
		if (status_line(line, &e, &c)) {
			*execs = e;
			*cov = c;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(text);
}

/* Did libFuzzer get as far as running inputs (its INITED line, or a crash report)? */
static int engine_ran(const char *log)
{
	static const char *const marks[] = {"INITED", "==ERROR", "SPEC breach", "Test unit written"};
	size_t len;
	char *text = read_part(log, 1 << 20, 0, &len);
	int ran = 0;

	for (size_t i = 0; text != NULL && i < sizeof marks / sizeof marks[0] && !ran; i++)
		ran = memmem(text, len, marks[i], strlen(marks[i])) != NULL;
	free(text);
	return ran;
}

/* Writes the last n lines of a log, each as "    > LINE". */
static void log_tail(FILE *f, const char *log, int n)
{
	size_t len;
	char *text = read_part(log, 4096, 1, &len);
	char *lines[64];
	int count = 0;

	if (text == NULL) {
		fprintf(f, "    > (cannot read the log: %s)\n", strerror(errno));
		return;
	}
	for (char *s = strtok(text, "\n"); s != NULL; s = strtok(NULL, "\n"))
		if (count < 64)
			lines[count++] = s;
		else {
			memmove(lines, lines + 1, sizeof lines - sizeof lines[0]);
			lines[63] = s;
		}
	if (count == 0)
		fprintf(f, "    > (the log is empty)\n");
	for (int i = count > n ? count - n : 0; i < count; i++)
		fprintf(f, "    > %s\n", lines[i]);
	free(text);
}

/* ---- history: what each target did over time (progress lines, OUT/<target>.csv, coverage growth) ---- */

/* The columns of OUT/<target>.csv, one row every --sample seconds. */
#define HISTORY_HEADER "elapsed_s,execs,exec_per_s,coverage,corpus,crashes,running_s,state"

/* exec/s between a mark and the latest figures, over the seconds the target ran in between. Returns 0
 * when the engine reported nothing new since the mark (there is no rate to tell). */
static int rate_since(const struct point *mark, const struct point *now, double *rate)
{
	if (now->at <= mark->at || now->execs < mark->execs)
		return 0;
	*rate = (double)(now->execs - mark->execs) / (now->at - mark->at);
	return 1;
}

/* A tick's news of a target: whether an engine of it ran during the last dt seconds (ran) and runs now,
 * its execs in this run and when the engine reported them (at < 0: now, on the target's run clock), and
 * its coverage. elapsed: seconds since the start of the run. */
static void history_update(struct history *h, int ran, int running, const struct point *figures, uint64_t cov,
                           double elapsed, double dt)
{
	if (ran)
		h->run_secs += dt;
	h->running = running;
	double at = figures->at >= 0 ? figures->at : h->run_secs;
	if (figures->execs != h->known.execs || (figures->at >= 0 && at > h->known.at)) {
		h->known.execs = figures->execs;
		h->known.at = at;
		h->known_elapsed = elapsed;
	}
	if (cov > h->cov) {
		if (h->cov == 0) {
			h->cov_first = cov;
			h->cov_first_at = elapsed;
		} else {
			h->cov_grew_at = elapsed;
		}
		h->cov = cov;
	}
}

/* Opens OUT/<target>.csv (a new series for this run) and writes its header; removes an earlier run's
 * chart. Returns 0, or 2 after a message. */
static int history_open(const struct options *o, struct target *t)
{
	struct history *h = &t->h;

	h->cov_grew_at = -1;
	h->coverage_when_reported = o->engine == RUN_AFL;
	eng_format(h->csv_name, sizeof h->csv_name, "%s.csv", t->name);
	eng_format(h->svg_name, sizeof h->svg_name, "%s.svg", t->name);
	path_join(h->csv_path, sizeof h->csv_path, o->out, h->csv_name);
	path_join(h->svg_path, sizeof h->svg_path, o->out, h->svg_name);
	unlink(h->svg_path); /* an earlier run's chart is not this one's */
	h->csv = fopen(h->csv_path, "w");
	if (h->csv == NULL || fprintf(h->csv, HISTORY_HEADER "\n") < 0 || fflush(h->csv) != 0) {
		fprintf(stderr, PROG ": --out %s (FUZZ_OUT): cannot write %s: %s\n", o->out, h->csv_path,
		        strerror(errno));
		return 2;
	}
	return 0;
}

/* Appends a row to the target's series: the engine's latest figures; the exec/s since the previous row,
 * NaN when the target did not run since then (a chart breaks its line there) and empty when it ran but
 * its engine reported nothing new (the next rate covers both intervals); coverage empty until the
 * engine reported one (with coverage_when_reported, also when it reported nothing new: a chart then
 * joins the reported values instead of holding an old one); and state: running, waiting (for a worker slot)
 * or ended. The row is flushed at once, so a stopped run leaves its series. */
static void history_row(struct history *h, double elapsed, const char *state)
{
	double rate;

	if (h->csv == NULL)
		return;
	fprintf(h->csv, "%.1f,%" PRIu64 ",", elapsed, h->known.execs);
	if (rate_since(&h->sample_mark, &h->known, &rate)) {
		fprintf(h->csv, "%.0f", rate);
		h->has_rate = 1;
	} else if (h->run_secs == h->sample_run_secs) {
		fprintf(h->csv, "NaN");
	}
	fprintf(h->csv, ",");
	int reported = h->known.execs != h->sample_mark.execs || h->known.at != h->sample_mark.at;
	if (h->cov > 0 && (!h->coverage_when_reported || reported)) {
		fprintf(h->csv, "%" PRIu64, h->cov);
		h->has_coverage = 1;
	}
	fprintf(h->csv, ",%" PRIu64 ",%" PRIu64 ",%.1f,%s\n", h->corpus, h->crashes, h->run_secs, state);
	fflush(h->csv);
	h->sample_mark = h->known;
	h->sample_run_secs = h->run_secs;
	h->rows++;
}

/* Closes the series. Returns 0, or -1 when a row could not be written (the reason goes to stderr). */
static int history_close(struct history *h)
{
	int bad;

	if (h->csv == NULL)
		return -1;
	bad = ferror(h->csv);
	if (fclose(h->csv) != 0 || bad) {
		fprintf(stderr, PROG ": %s: a row could not be written (disk full?)\n", h->csv_path);
		h->csv = NULL;
		return -1;
	}
	h->csv = NULL;
	return 0;
}

/* The exec/s part of a progress line: the rate since the previous line, or what the target is doing
 * instead. */
static void progress_rate(const struct options *o, const struct history *h, double elapsed, char *out,
                          size_t len)
{
	double rate;

	if (rate_since(&h->progress_mark, &h->known, &rate))
		snprintf(out, len, "exec/s %8.0f (last %3.0f s%s)", rate, h->known.at - h->progress_mark.at,
		         h->running || o->engine == RUN_AFL ? "" : "; waiting now");
	else if (!h->running && o->engine == RUN_LIBFUZZER)
		snprintf(out, len, "waiting for a worker slot (ran %.0f s)", h->run_secs);
	else if (!h->running)
		snprintf(out, len, "ended");
	else if (o->engine == RUN_AFL && h->known.at <= 0)
		snprintf(out, len, "no figures yet (AFL++ writes after 60 s)");
	else if (h->known.execs > 0)
		snprintf(out, len, "no update since %.0f s", elapsed - h->known_elapsed);
	else
		snprintf(out, len, "no figures from the engine yet");
}

/* A progress line per target: the execs of the run so far and the exec/s since the previous line. */
static void progress_lines(const struct options *o, struct target *targets, int nt, double elapsed)
{
	int width = 0;

	for (int i = 0; i < nt; i++)
		width = (int)strlen(targets[i].name) > width ? (int)strlen(targets[i].name) : width;
	for (int i = 0; i < nt; i++) {
		struct history *h = &targets[i].h;
		char count[40], rate[96], cov[64];
		progress_rate(o, h, elapsed, rate, sizeof rate);
		if (o->engine == RUN_AFL)
			snprintf(cov, sizeof cov, "edges %5" PRIu64 " (%s)", h->cov,
			         h->density[0] ? h->density : "?");
		else
			snprintf(cov, sizeof cov, "cov %5" PRIu64, h->cov);
		printf("[%6ds] %-*s execs %13s  %-42s  %s  corpus %6" PRIu64 "  crashes %" PRIu64 "\n",
		       (int)elapsed, width, targets[i].name,
		       eng_fmt_count(count, sizeof count, h->known.execs), rate, cov, h->corpus, h->crashes);
		h->progress_mark = h->known;
	}
	fflush(stdout);
}

/* ---- AFL++ figures ---- */

/* The fields of an AFL++ fuzzer_stats file that eng_afl_read() does not keep: the process that wrote it
 * and edges_found. Returns 0, or -1 when the file cannot be read. */
static int afl_stats_extra(const char *path, long *pid, uint64_t *edges)
{
	char line[512];
	FILE *f = fopen(path, "r");

	*pid = -1;
	*edges = 0;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		char key[64];
		unsigned long long value;
		if (sscanf(line, " %63[^: ] : %llu", key, &value) != 2)
			continue;
		if (strcmp(key, "fuzzer_pid") == 0)
			*pid = (long)value;
		else if (strcmp(key, "edges_found") == 0)
			*edges = value;
	}
	fclose(f);
	return 0;
}

/* The last line of an AFL++ plot_data file; its columns are found by the names in its header, as their
 * order changed between AFL++ versions. Returns 0, or -1 when there is no such line. */
static int afl_plot_last(const char *path, struct afl_figures *f)
{
	static const char *const names[] = {"relative_time", "total_execs", "edges_found", "corpus_count"};
	int column[4] = {-1, -1, -1, -1}, index = 0, found = 0;
	double values[4] = {0, 0, 0, 0};
	size_t len;
	char *text = read_part(path, 1024, 0, &len), *save = NULL;

	if (text == NULL || strncmp(text, "# ", 2) != 0 || strchr(text, '\n') == NULL) {
		free(text);
		return -1;
	}
	*strchr(text, '\n') = '\0';
	for (char *s = strtok_r(text + 2, ", ", &save); s != NULL; s = strtok_r(NULL, ", ", &save), index++)
		for (int i = 0; i < 4; i++)
			if (strcmp(s, names[i]) == 0)
				column[i] = index;
	free(text);
	text = read_part(path, 4096, 1, &len);
	/* the last complete line: the writer may be in the middle of the next one */
	while (text != NULL && len > 0 && text[len - 1] != '\n')
		text[--len] = '\0';
	if (text == NULL || len < 2) {
		free(text);
		return -1;
	}
	text[len - 1] = '\0';
	char *line = strrchr(text, '\n') ? strrchr(text, '\n') + 1 : text;
	index = 0;
	for (char *s = strtok_r(line, ",", &save); line[0] != '#' && s != NULL;
	     s = strtok_r(NULL, ",", &save), index++)
		for (int i = 0; i < 4; i++)
			if (column[i] == index) {
				values[i] = strtod(s, NULL);
				found++;
			}
	free(text);
	if (found < 4)
		return -1;
	*f = (struct afl_figures){values[0], (uint64_t)values[1], (uint64_t)values[2], (uint64_t)values[3]};
	return 0;
}

/* An instance's figures in this run, from the newer of its fuzzer_stats (AFL++ writes it every 60 s)
 * and the last line of its plot_data (every 5 s), once this process has written them; an instance that
 * resumes an earlier run carries that run's execs and time on, which are taken off. Returns 0 when it
 * has no figures yet. density: its bitmap_cvg. */
static int afl_instance(struct job *j, struct afl_figures *f, char *density, size_t len)
{
	struct eng_afl_stats st;
	struct afl_figures plot;
	long pid;
	uint64_t edges;

	if (eng_afl_read(j->stats, &st) != 0 || afl_stats_extra(j->stats, &pid, &edges) != 0 ||
	    pid != (long)j->pid)
		return 0;
	if (j->resumed < 0)
		j->resumed = j->prior.execs > 0 && st.execs >= j->prior.execs && st.run_time >= j->prior.time;
	*f = (struct afl_figures){st.run_time, st.execs, edges, st.corpus};
	if (afl_plot_last(j->plot, &plot) == 0 && plot.time > f->time && plot.execs >= f->execs)
		*f = plot;
	if (j->resumed) {
		f->execs -= j->prior.execs;
		f->time -= j->prior.time;
	}
	snprintf(density, len, "%s", st.coverage);
	return 1;
}

/* Crash files of every instance of t. */
static size_t afl_crash_files(const struct target *t)
{
	char pattern[PATH_LEN + 32];
	size_t n = 0;
	glob_t g;

	snprintf(pattern, sizeof pattern, "%s/*/crashes/id:*", t->sync);
	if (glob(pattern, 0, NULL, &g) == 0) {
		n = g.gl_pathc;
		globfree(&g);
	}
	return n;
}

/* A tick of the AFL++ run: every target's figures summed over its instances (instance k fuzzes target
 * k mod nt). */
static void observe_afl(struct target *targets, int nt, struct job *jobs, int n, double elapsed, double dt)
{
	for (int i = 0; i < nt; i++) {
		struct target *t = &targets[i];
		struct point figures = {0, 0};
		uint64_t cov = 0;
		int running = 0, any = 0;
		for (int k = i; k < n; k += nt) {
			struct afl_figures f;
			char density[32];
			running |= jobs[k].pid > 0 && !jobs[k].ended;
			if (!afl_instance(&jobs[k], &f, density, sizeof density))
				continue;
			figures.execs += f.execs;
			figures.at = f.time > figures.at ? f.time : figures.at;
			cov = f.edges > cov ? f.edges : cov;
			t->h.corpus = any && t->h.corpus > f.corpus ? t->h.corpus : f.corpus;
			if (k < nt)
				snprintf(t->h.density, sizeof t->h.density, "%s", density);
			any = 1;
		}
		history_update(&t->h, t->h.running, running, &figures, cov, elapsed, dt);
	}
}

/* The target's corpus (libFuzzer: the working corpus's files; AFL++: corpus_count, which observe_afl
 * keeps) and crash files. */
static void history_counts(const struct options *o, struct target *t)
{
	if (o->engine == RUN_LIBFUZZER) {
		t->h.corpus = eng_count_files(t->corpus);
		t->h.crashes = eng_count_files(t->crashes);
	} else {
		t->h.crashes = afl_crash_files(t);
	}
}

/* A row of every target's time series; final: the last one, after every engine has ended. */
static void history_sample(const struct options *o, struct target *targets, int nt, double elapsed, int final)
{
	for (int i = 0; i < nt; i++) {
		struct history *h = &targets[i].h;
		history_counts(o, &targets[i]);
		history_row(h, elapsed,
		            final || (!h->running && o->engine == RUN_AFL) ? "ended"
		            : h->running                                   ? "running"
		                                                           : "waiting");
	}
}

/* The run's clock: its start, the previous tick, and when the next row and progress line are due. */
struct ticker {
	double start, last, next_sample, next_progress;
};

/* After a tick: the rows of the time series and the progress lines that are due. */
static void ticker_report(const struct options *o, struct target *targets, int nt, struct ticker *k,
                          double now)
{
	if (now >= k->next_sample) {
		history_sample(o, targets, nt, now - k->start, 0);
		while (k->next_sample <= now)
			k->next_sample += o->sample;
	}
	if (now >= k->next_progress) {
		for (int i = 0; i < nt; i++)
			history_counts(o, &targets[i]);
		progress_lines(o, targets, nt, now - k->start);
		while (k->next_progress <= now)
			k->next_progress += o->progress;
	}
}

/* ---- libFuzzer scheduling ---- */

static void target_status(const struct target *t, const struct job *jobs, long njobs, uint64_t *execs,
                          uint64_t *cov)
{
	*execs = t->execs_done;
	*cov = t->cov;
	for (long i = 0; i < njobs; i++)
		if (jobs[i].pid > 0 && jobs[i].t == t) {
			*execs += jobs[i].execs;
			if (jobs[i].cov > *cov)
				*cov = jobs[i].cov;
		}
}

/* An ended chunk: adds its figures to its target; an engine that exits without running an input and
 * without a crash file did not start (bad flag, unreadable corpus, full disk): the run must not read
 * as clean. */
static void chunk_ended(struct job *j, int status)
{
	struct target *t = j->t;
	uint64_t execs, cov;
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	int stopped = stop_requested && (code == 0 || code == 130 || sig == SIGINT || sig == SIGKILL);

	last_status(j->log, &execs, &cov);
	if (execs == 0 && !engine_ran(j->log) && eng_count_files(t->crashes) == j->ncrash && !stopped) {
		char why[64];
		fail_target(t, j->log, eng_status_text(why, sizeof why, status));
	}
	t->execs_done += execs;
	if (cov > t->cov)
		t->cov = cov;
	j->pid = 0;
}

static void chunk_start(struct job *j, long slot, struct target *t, int secs, unsigned number)
{
	char time_arg[48], artifact_arg[PATH_LEN + 32], err[PATH_LEN + 64], why[PATH_LEN + 96];
	char *argv[16];
	int n = 0, fd;

	eng_format(j->log, sizeof j->log, "%s/chunk-%05u-slot%ld.log", t->logs, number, slot);
	snprintf(time_arg, sizeof time_arg, "-max_total_time=%d", secs);
	snprintf(artifact_arg, sizeof artifact_arg, "-artifact_prefix=%s/", t->crashes);
	argv[n++] = t->binary;
	argv[n++] = time_arg;
	argv[n++] = "-timeout=10";
	argv[n++] = "-print_final_stats=1";
	argv[n++] = artifact_arg;
	for (int i = 0; i < t->nextra; i++)
		argv[n++] = t->extra[i];
	argv[n++] = t->corpus;
	argv[n++] = t->seeds;
	argv[n] = NULL;
	fd = open(j->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		snprintf(why, sizeof why, "could not start: %s: %s", j->log, strerror(errno));
		fail_target(t, j->log, why);
		return;
	}
	j->ncrash = eng_count_files(t->crashes);
	j->pid = eng_spawn(argv, -1, fd, fd, err, sizeof err);
	close(fd);
	if (j->pid < 0) {
		j->pid = 0;
		snprintf(why, sizeof why, "could not start: %s", err);
		fail_target(t, j->log, why);
		return;
	}
	j->t = t;
	j->started = util_now_s();
	j->execs = j->cov = 0;
}

/* Has the job's process ended (without reaping it)? */
static int job_gone(const struct job *j)
{
	siginfo_t info;

	if (j->pid <= 0)
		return 1;
	memset(&info, 0, sizeof info);
	if (waitid(P_PID, (id_t)j->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
		return 1;
	return info.si_pid != 0;
}

/* Ctrl-C: SIGINT to every running job, at most 10 s to end, then SIGKILL. Reaping is the caller's. */
static void stop_jobs(struct job *jobs, long n)
{
	double until = util_now_s() + 10;
	int running;

	for (long i = 0; i < n; i++)
		if (!job_gone(&jobs[i]))
			kill(jobs[i].pid, SIGINT);
	do {
		running = 0;
		for (long i = 0; i < n; i++)
			running |= !job_gone(&jobs[i]);
		if (running)
			util_sleep_ms(200);
	} while (running && util_now_s() < until);
	for (long i = 0; i < n; i++)
		if (!job_gone(&jobs[i])) {
			kill(jobs[i].pid, SIGKILL);
			jobs[i].stopped = 1;
		}
}

/* A tick of the libFuzzer run: every target's figures over its finished and running chunks. */
static void observe_libfuzzer(struct target *targets, int nt, const struct job *jobs, long njobs,
                              double elapsed, double dt)
{
	for (int i = 0; i < nt; i++) {
		struct point figures = {0, -1};
		uint64_t cov;
		int running = 0;
		target_status(&targets[i], jobs, njobs, &figures.execs, &cov);
		for (long k = 0; k < njobs; k++)
			running |= jobs[k].pid > 0 && jobs[k].t == &targets[i];
		history_update(&targets[i].h, targets[i].h.running, running, &figures, cov, elapsed, dt);
	}
}

static double run_libfuzzer(const struct options *o, struct target *targets, int nt)
{
	struct job *jobs = calloc((size_t)o->jobs, sizeof *jobs);
	unsigned *chunk_no = calloc((size_t)o->jobs, sizeof *chunk_no);
	double start = util_now_s(), deadline = start + o->time;
	struct ticker ticker = {start, start, start, start + o->progress};
	/* Chunks: at most 60 s; short runs get shorter chunks so every target runs. */
	int chunk = (int)(o->time * (double)o->jobs / (2.0 * nt));
	unsigned nlog = 0;

	chunk = chunk < 5 ? 5 : chunk > 60 ? 60 : chunk;
	if (jobs == NULL || chunk_no == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(2);
	}
	for (;;) {
		double now = util_now_s();
		int busy = 0;
		for (long i = 0; i < o->jobs; i++) {
			struct job *j = &jobs[i];
			int status;
			if (j->pid > 0 && waitpid(j->pid, &status, WNOHANG) == j->pid)
				chunk_ended(j, status);
			else if (j->pid > 0)
				last_status(j->log, &j->execs, &j->cov);
			if (j->pid == 0 && !stop_requested && now < deadline - 1) {
				struct target *t = &targets[(i + (long)chunk_no[i]) % nt];
				chunk_no[i]++;
				int secs = (int)(deadline - now < chunk ? deadline - now : chunk);
				if (secs >= 1)
					chunk_start(j, i, t, secs, ++nlog);
			}
			busy |= j->pid > 0;
		}
		now = util_now_s();
		observe_libfuzzer(targets, nt, jobs, o->jobs, now - start, now - ticker.last);
		ticker.last = now;
		if (!busy && (stop_requested || now >= deadline - 1))
			break;
		if (stop_requested) {
			stop_jobs(jobs, o->jobs);
			continue;
		}
		ticker_report(o, targets, nt, &ticker, now);
		util_sleep_ms(500);
	}
	free(jobs);
	free(chunk_no);
	return util_now_s() - start;
}

/* ---- AFL++ ---- */

/* Starts instance k: -M main for the first of each target, -S secK for the others. */
static void afl_start(const struct options *o, struct target *t, struct job *j, int k, int nt)
{
	char role[32], secs[32], err[PATH_LEN + 64], why[PATH_LEN + 96];
	char *argv[24];
	int n = 0, fd;

	snprintf(role, sizeof role, k < nt ? "main" : "sec%d", k);
	snprintf(secs, sizeof secs, "%d", (int)o->time);
	eng_format(j->log, sizeof j->log, "%s/afl-%s.log", t->dir, role);
	eng_format(j->stats, sizeof j->stats, "%s/%s/fuzzer_stats", t->sync, role);
	eng_format(j->plot, sizeof j->plot, "%s/%s/plot_data", t->sync, role);
	j->t = t;
	j->resumed = -1;
	struct eng_afl_stats prior;
	if (eng_afl_read(j->stats, &prior) == 0)
		j->prior = (struct afl_figures){prior.run_time, prior.execs, 0, 0};
	argv[n++] = "afl-fuzz";
	argv[n++] = "-i";
	argv[n++] = t->seeds;
	argv[n++] = "-o";
	argv[n++] = t->sync;
	argv[n++] = k < nt ? "-M" : "-S";
	argv[n++] = role;
	argv[n++] = "-V";
	argv[n++] = secs;
	argv[n++] = "-t";
	argv[n++] = "2000";
	for (int i = 0; i < t->nextra; i++)
		argv[n++] = t->extra[i];
	argv[n++] = "--";
	for (int i = 0; t->cmd[i] != NULL; i++)
		argv[n++] = t->cmd[i];
	argv[n] = NULL;
	fd = open(j->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	j->pid = fd < 0 ? -1 : eng_spawn(argv, -1, fd, fd, err, sizeof err);
	if (fd < 0)
		snprintf(err, sizeof err, "%s: %s", j->log, strerror(errno));
	else
		close(fd);
	if (j->pid < 0) {
		j->pid = 0;
		j->ended = 1;
		j->stopped = 1; /* its failure is recorded here, not from a status */
		snprintf(why, sizeof why, "could not start: %s", err);
		fail_target(t, j->log, why);
	}
}

static double run_afl(const struct options *o, struct target *targets, int nt)
{
	int n = o->jobs > nt ? (int)o->jobs : nt;
	struct job *jobs = calloc((size_t)n, sizeof *jobs);
	struct ticker ticker;
	int running = 1;

	if (jobs == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		exit(2);
	}
	eng_afl_environment();
	setenv("AFL_AUTORESUME", "1", 1);
	setenv("AFL_IMPORT_FIRST", "1", 1);
	for (int k = 0; k < n; k++)
		afl_start(o, &targets[k % nt], &jobs[k], k, nt);
	ticker.start = ticker.last = ticker.next_sample = util_now_s();
	ticker.next_progress = ticker.start + o->progress;
	while (running) {
		running = 0;
		for (int k = 0; k < n; k++)
			if (jobs[k].pid > 0 && !jobs[k].ended) {
				if (waitpid(jobs[k].pid, &jobs[k].status, WNOHANG) == jobs[k].pid)
					jobs[k].ended = 1;
				else
					running = 1;
			}
		double now = util_now_s();
		observe_afl(targets, nt, jobs, n, now - ticker.start, now - ticker.last);
		ticker.last = now;
		if (!running)
			break;
		if (stop_requested) {
			stop_jobs(jobs, n);
			continue;
		}
		ticker_report(o, targets, nt, &ticker, now);
		util_sleep_ms(500);
	}
	for (int k = 0; k < n; k++) {
		struct job *j = &jobs[k];
		char main_stats[PATH_LEN + 32], why[64];
		int code = WIFEXITED(j->status) ? WEXITSTATUS(j->status) : -1;
		int sig = WIFSIGNALED(j->status) ? WTERMSIG(j->status) : 0;
		snprintf(main_stats, sizeof main_stats, "%s/main/fuzzer_stats", j->t->sync);
		if (j->stopped || code == 0 || code == 130 || sig == SIGINT || access(main_stats, F_OK) == 0)
			continue;
		fail_target(j->t, j->log, eng_status_text(why, sizeof why, j->status));
	}
	free(jobs);
	return util_now_s() - ticker.start;
}

/* ---- crash deduplication: reproduce each crash and key it by its report and top frames ---- */

struct bucket {
	const char *name;
	char kind[128];
	char frames[3][PATH_LEN];
	int nframes;
	unsigned count;
	char cmd[3 * PATH_LEN];
	char file[PATH_LEN];
};

static int word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Copies s with every whole number (and, with minus, a '-' glued to it after a word) replaced by N,
 * cut to 90 characters: the rule and what broke it, without the numbers that vary between inputs. */
static void numbers_to_n(char *out, size_t outlen, const char *prefix, const char *s, int minus)
{
	char buf[1024];
	size_t o = 0;

	for (size_t i = 0; s[i] != '\0' && o + 1 < sizeof buf;) {
		size_t k = i;
		if (!isdigit((unsigned char)s[i]) || (i > 0 && isdigit((unsigned char)s[i - 1]))) {
			buf[o++] = s[i++];
			continue;
		}
		while (isdigit((unsigned char)s[k]))
			k++;
		if ((i > 0 && word_char(s[i - 1])) || word_char(s[k])) {
			memcpy(buf + o, s + i, k - i < sizeof buf - 1 - o ? k - i : sizeof buf - 1 - o);
			o += k - i < sizeof buf - 1 - o ? k - i : sizeof buf - 1 - o;
		} else {
			if (minus && i >= 2 && s[i - 1] == '-' && word_char(s[i - 2]))
				o--;
			buf[o++] = 'N';
		}
		i = k;
	}
	buf[o < 90 ? o : 90] = '\0';
	eng_format(out, outlen, "%s%s", prefix, buf);
}

/* "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): ([\w-]+( on [\w-]+)?)" */
static int sanitizer_kind(const char *line, char *kind, size_t len)
{
	static const char *const tools[] = {"AddressSanitizer", "LeakSanitizer", "libFuzzer"};

	for (const char *p = strstr(line, "ERROR: "); p != NULL; p = strstr(p + 1, "ERROR: "))
		for (int i = 0; i < 3; i++) {
			size_t n = strlen(tools[i]);
			const char *w = p + 7 + n + 2, *e = w;
			if (strncmp(p + 7, tools[i], n) != 0 || strncmp(p + 7 + n, ": ", 2) != 0)
				continue;
			while (word_char(*e) || *e == '-')
				e++;
			if (e == w)
				continue;
			if (strncmp(e, " on ", 4) == 0 && (word_char(e[4]) || e[4] == '-'))
				for (e += 4; word_char(*e) || *e == '-';)
					e++;
			snprintf(kind, len, "%s: %.*s", tools[i], (int)(e - w), w);
			return 1;
		}
	return 0;
}

static int report_kind(const char *line, char *kind, size_t len)
{
	const char *p;

	if ((p = strstr(line, "SPEC breach: ")) != NULL) {
		numbers_to_n(kind, len, "SPEC breach: ", p + 13, 0);
		return 1;
	}
	if (sanitizer_kind(line, kind, len))
		return 1;
	if ((p = strstr(line, "runtime error: ")) != NULL) {
		numbers_to_n(kind, len, "UBSan: ", p + 15, 1);
		return 1;
	}
	if (strstr(line, "bug:") != NULL && strstr(line, "refused by the core") != NULL) {
		snprintf(kind, len, "core refused an event");
		return 1;
	}
	return 0;
}

/* A stack frame "#N 0x... in FUNC /abs/path/file.c:LINE:COL" of the project's own code (not libc,
 * the sanitizer runtimes or the engine): "FUNC (path/file.c:LINE)". */
static int own_frame(const char *line, const char *cwd, char *out, size_t len)
{
	static const char *const skip[] = {
	    "__sanitizer", "__asan", "__ubsan", "__interceptor",          "fuzzer::", "abort",     "raise",
	    "__libc",      "__GI_",  "_start",  "LLVMFuzzerTestOneInput", "main",     "libc_start"};
	char func[512], loc[PATH_LEN];
	size_t cl = strlen(cwd);
	unsigned hex;

	while (isspace((unsigned char)*line))
		line++;
	if (line[0] != '#' || !isdigit((unsigned char)line[1]) || sscanf(line, "#%*u 0x%x", &hex) != 1 ||
	    sscanf(line, "#%*u 0x%*[0-9a-f] in %511s %4095s", func, loc) != 2)
		return 0;
	for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
		if (strncmp(func, skip[i], strlen(skip[i])) == 0)
			return 0;
	const char *path = loc + (loc[0] == '(');
	if (strncmp(path, cwd, cl) != 0 || path[cl] != '/')
		return 0;
	path += cl + 1;
	const char *colon = strchr(path, ':');
	if (colon == NULL) {
		snprintf(out, len, "%s (%s)", func, path);
	} else {
		size_t digits = strcspn(colon + 1, ":");
		snprintf(out, len, "%s (%.*s:%.*s)", func, (int)(colon - path), path, (int)digits, colon + 1);
	}
	return 1;
}

/* Keys a reproduction's report: its kind and up to 3 of the project's own frames. */
static void crash_key(enum eng_run_result r, int status, char *text, const char *cwd, struct bucket *b)
{
	char *save = NULL;

	b->kind[0] = '\0';
	b->nframes = 0;
	for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (b->kind[0] == '\0')
			report_kind(line, b->kind, sizeof b->kind);
		if (b->nframes < 3 && own_frame(line, cwd, b->frames[b->nframes], sizeof b->frames[0]))
			b->nframes++;
	}
	if (b->kind[0] != '\0')
		return;
	if (r == ENG_RUN_TIMEOUT)
		snprintf(b->kind, sizeof b->kind, "timeout");
	else if (r == ENG_RUN_ERROR)
		snprintf(b->kind, sizeof b->kind, "could not be reproduced: %.90s", text);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		snprintf(b->kind, sizeof b->kind, "no crash on replay (flaky?)");
	else
		eng_status_text(b->kind, sizeof b->kind, status);
}

/* Reproduces one crash file of t and keys it. */
static void reproduce(const struct options *o, const struct target *t, const char *file, const char *cwd,
                      struct bucket *b)
{
	char *argv[5], *text = NULL, err[PATH_LEN + 64];
	size_t len;
	int n = 0, status = 0;

	if (o->engine == RUN_LIBFUZZER) {
		argv[n++] = (char *)t->binary;
		argv[n++] = (char *)file;
		snprintf(b->cmd, sizeof b->cmd, "%s %s", t->binary, file);
	} else {
		for (int i = 0; t->repro_cmd[i] != NULL; i++)
			argv[n++] = t->repro_cmd[i];
		if (!t->repro_stdin)
			argv[n++] = (char *)file;
		snprintf(b->cmd, sizeof b->cmd, "%s%s%s %s'%s'", t->repro_cmd[0], t->repro_cmd[1] ? " " : "",
		         t->repro_cmd[1] ? t->repro_cmd[1] : "", t->repro_stdin ? "< " : "", file);
	}
	argv[n] = NULL;
	enum eng_run_result r = eng_run(argv, t->repro_stdin ? file : NULL, ENG_CAPTURE_STDERR, 60, &text,
	                                &len, &status, err, sizeof err);
	crash_key(r, status, r == ENG_RUN_ERROR ? err : text, cwd, b);
	free(text);
	b->name = t->name;
	snprintf(b->file, sizeof b->file, "%s", file);
}

static int bucket_cmp(const void *pa, const void *pb)
{
	const struct bucket *a = pa, *b = pb;
	int c = strcmp(a->name, b->name);

	if (c == 0)
		c = strcmp(a->kind, b->kind);
	for (int i = 0; c == 0 && i < a->nframes && i < b->nframes; i++)
		c = strcmp(a->frames[i], b->frames[i]);
	return c != 0 ? c : a->nframes - b->nframes;
}

/* ---- summary ---- */

struct crashes {
	struct bucket *b;
	size_t n, cap;
	size_t files; /* crash files over every target */
};

/* Adds b to its bucket (same target, kind and frames), or as a new one. Returns 1 if new. */
static int bucket_add(struct crashes *c, const struct bucket *b)
{
	for (size_t i = 0; i < c->n; i++)
		if (bucket_cmp(&c->b[i], b) == 0) {
			c->b[i].count++;
			return 0;
		}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct bucket *nb = realloc(c->b, cap * sizeof *nb);
		if (nb == NULL)
			return 0;
		c->b = nb;
		c->cap = cap;
	}
	c->b[c->n] = *b;
	c->b[c->n++].count = 1;
	return 1;
}

/* One table row of target t; its crash files go into c. Returns whether it ran no input at all. */
static int summary_row(FILE *f, const struct options *o, struct target *t, struct crashes *c, const char *cwd)
{
	char pattern[PATH_LEN + 32], count[40], coverage[64];
	const struct history *h = &t->h;
	double rate = h->known.at > 0 ? (double)h->known.execs / h->known.at : 0;
	int64_t added;
	size_t nfiles = 0, unique = 0;
	glob_t g;

	if (o->engine == RUN_LIBFUZZER) {
		snprintf(coverage, sizeof coverage, "%" PRIu64 " edges", h->cov);
		added = (int64_t)h->corpus - (int64_t)t->corpus_start;
		snprintf(pattern, sizeof pattern, "%s/*", t->crashes);
	} else {
		snprintf(coverage, sizeof coverage, "%" PRIu64 " edges (%s of the map)", h->cov,
		         h->density[0] ? h->density : "?");
		added = (int64_t)h->corpus - (int64_t)eng_count_files(t->seeds);
		snprintf(pattern, sizeof pattern, "%s/*/crashes/id:*", t->sync);
	}
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			struct stat st;
			struct bucket b;
			if (stat(g.gl_pathv[i], &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			nfiles++;
			reproduce(o, t, g.gl_pathv[i], cwd, &b);
			unique += bucket_add(c, &b);
		}
		globfree(&g);
	}
	c->files += nfiles;
	fprintf(f, "| %s | %s | %.0f | %.0f | %s | %" PRIu64 " (%+" PRId64 ") | %zu (%zu) |\n", t->name,
	        eng_fmt_count(count, sizeof count, h->known.execs), h->run_secs, rate, coverage, h->corpus,
	        added, nfiles, unique);
	return h->known.execs == 0 && nfiles == 0;
}

static void crash_list(FILE *f, struct crashes *c)
{
	qsort(c->b, c->n, sizeof *c->b, bucket_cmp);
	fprintf(f, "## Crashes: %zu unique (by report and top 3 frames)\n\n", c->n);
	for (size_t i = 0; i < c->n; i++) {
		const struct bucket *b = &c->b[i];
		fprintf(f, "- **%s**: %s -- %u input(s)\n  - stack: ", b->name, b->kind, b->count);
		for (int k = 0; k < b->nframes; k++)
			fprintf(f, "%s%s", k ? " <- " : "", b->frames[k]);
		fprintf(f, "%s\n  - reproduce: `%s`\n",
		        b->nframes ? "" : "(none below the target: the report is the key)", b->cmd);
		fprintf(f, "  - keep it: copy %s into corpus/%s/regressions/ (make check replays it)\n",
		        b->file, b->name);
	}
}

/* The engine errors section; returns the names of the targets it lists, comma-separated, in names. */
static void engine_errors(FILE *f, const struct target *targets, int nt, const int *idle, char *names,
                          size_t len)
{
	fprintf(f, "## Engine errors\n\n");
	names[0] = '\0';
	for (int i = 0; i < nt; i++)
		if (idle[i])
			fprintf(f, "- **%s**: no input was executed in the whole run\n", targets[i].name);
	for (int i = 0; i < nt; i++)
		if (targets[i].nfailed) {
			fprintf(f, "- **%s**: the engine failed to run %u time(s); the last one:\n",
			        targets[i].name, targets[i].nfailed);
			fprintf(f, "  - %s, log %s:\n", targets[i].failed_why, targets[i].failed_log);
			log_tail(f, targets[i].failed_log, 6);
		}
	for (int i = 0; i < nt; i++)
		if (idle[i] || targets[i].nfailed)
			snprintf(names + strlen(names), len - strlen(names), "%s%s", names[0] ? ", " : "",
			         targets[i].name);
	fprintf(f, "\n");
}

/* Draws the target's series as OUT/<target>.svg: coverage, and exec/s on the right-hand axis, each
 * when the series has a value of it (gnuplot refuses a line without one). Returns the chart's result,
 * with the reason in h->chart_why ("" when drawn). */
static enum chart_result history_chart(const struct options *o, const struct target *t, struct history *h)
{
	const struct chart_series coverage = {"coverage", "coverage", 0};
	const struct chart_series rate = {"exec_per_s", "exec/s (last interval)", !!h->has_coverage};
	struct chart_series series[2];
	size_t n = 0;
	char title[256];

	if (h->has_coverage)
		series[n++] = coverage;
	if (h->has_rate)
		series[n++] = rate;
	if (n == 0) {
		snprintf(h->chart_why, sizeof h->chart_why,
		         "nothing to draw: its engine reported no figures");
		return CHART_FAILED;
	}
	snprintf(title, sizeof title, "%s: coverage and exec/s over the run", t->name);
	struct chart c = {.csv = h->csv_path,
	                  .svg = h->svg_path,
	                  .title = title,
	                  .xlabel = "seconds since the start",
	                  .ylabel = !h->has_coverage       ? "exec/s"
	                            : o->engine == RUN_AFL ? "coverage (edges found)"
	                                                   : "coverage (cov)",
	                  .y2label = h->has_coverage && h->has_rate ? "exec/s" : NULL,
	                  .xcolumn = "elapsed_s",
	                  .style = CHART_LINES,
	                  .series = series,
	                  .nseries = n,
	                  .fit_left = h->has_coverage};
	enum chart_result r = chart_draw(&c, h->chart_why, sizeof h->chart_why);
	if (r == CHART_DRAWN)
		h->chart_why[0] = '\0';
	return r;
}

/* After the run: the last row of every time series, then its chart. Without gnuplot the series stay
 * and the reason, kept for the summary, is told once on stderr (any other failure once per target);
 * the exit status does not change. */
static void history_finish(const struct options *o, struct target *targets, int nt, double elapsed)
{
	int told_no_gnuplot = 0;

	history_sample(o, targets, nt, elapsed, 1);
	for (int i = 0; i < nt; i++) {
		struct history *h = &targets[i].h;
		if (history_close(h) != 0) {
			snprintf(h->chart_why, sizeof h->chart_why, "its time series could not be written");
			continue;
		}
		enum chart_result r = history_chart(o, &targets[i], h);
		if (r == CHART_NO_GNUPLOT && !told_no_gnuplot++)
			fprintf(stderr,
			        PROG ": no chart drawn: %s; the figures are in CSV (%s/<target>.csv)\n",
			        h->chart_why, o->out);
		else if (r == CHART_FAILED)
			fprintf(stderr, PROG ": no chart drawn for %s: %s; the figures are in CSV (%s)\n",
			        targets[i].name, h->chart_why, h->csv_path);
	}
}

/* The summary's section on the run over time: per target when coverage last grew, its time series
 * and its chart (links relative to the summary's directory). */
static void over_time(FILE *f, const struct options *o, const struct target *targets, int nt, double elapsed)
{
	fprintf(
	    f,
	    "## Over time\n\nA row every %.0f s per target in <target>.csv (%s): exec_per_s is the exec/s "
	    "since the previous row over the seconds the target ran, empty when the engine reported nothing "
	    "new (the next rate spans both intervals), NaN when the target did not run since the previous "
	    "row "
	    "(it waited for a worker slot).\n\n",
	    o->sample, HISTORY_HEADER);
	for (int i = 0; i < nt; i++) {
		const struct history *h = &targets[i].h;
		fprintf(f, "- **%s**: ", targets[i].name);
		if (h->cov == 0)
			fprintf(f, "no coverage reported");
		else if (h->cov_grew_at >= 0)
			fprintf(f,
			        "coverage last grew at %.0f s of %.0f s: %" PRIu64 " edges (%" PRIu64
			        " at %.0f s)",
			        h->cov_grew_at, elapsed, h->cov, h->cov_first, h->cov_first_at);
		else
			fprintf(f, "coverage did not grow in %.0f s: %" PRIu64 " edges from %.0f s on",
			        elapsed, h->cov, h->cov_first_at);
		fprintf(f, "; %u rows in [%s](%s)\n", h->rows, h->csv_name, h->csv_name);
		if (h->chart_why[0] == '\0')
			fprintf(f, "\n  ![%s: coverage and exec/s over the run](%s)\n\n", targets[i].name,
			        h->svg_name);
		else
			fprintf(f, "  - no chart: %s\n", h->chart_why);
	}
	fprintf(f, "\n");
}

/* Writes the summary into a malloc'd text. Returns 1 if a crash file was found, 0 if not; *broken and
 * *disk_full tell what else went wrong (broken lists the targets the engine did not run). */
static int summary_text(const struct options *o, struct target *targets, int nt, double elapsed, char **text,
                        char *broken, size_t brokenlen, int *disk_full)
{
	static const char *const modes[] = {"libFuzzer", "AFL++"};
	struct crashes c = {NULL, 0, 0, 0};
	int idle[MAX_TARGETS], any_idle = 0, any_failed = 0;
	size_t size;
	char cwd[PATH_LEN], date[64];
	struct statvfs vfs;
	FILE *f = open_memstream(text, &size);
	time_t now = time(NULL);

	if (f == NULL || getcwd(cwd, sizeof cwd) == NULL) {
		fprintf(stderr, PROG ": cannot make the summary: %s\n", strerror(errno));
		exit(2);
	}
	strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
	fprintf(f, "# Fuzzing summary (%s)\n\nRan %.0f s", modes[o->engine], elapsed);
	if (stop_requested)
		fprintf(f, " (stopped by Ctrl-C or SIGTERM; %.0f s were asked)", o->time);
	fprintf(
	    f,
	    " on %ld worker slot(s), %s. \"ran\" is the seconds in which the target had an engine running; "
	    "exec/s is the whole-run average, the run's execs over those seconds, summed over the target's "
	    "%s (the progress lines show the exec/s of their last interval); coverage is %s.\n\n",
	    o->jobs, date, o->engine == RUN_AFL ? "instances" : "workers",
	    o->engine == RUN_AFL ? "AFL++'s edges_found (and bitmap_cvg)" : "libFuzzer's cov (edges)");
	fprintf(f, "| target | execs | ran (s) | exec/s | coverage | corpus (new) | crashes (unique) |\n"
	           "|---|---:|---:|---:|---:|---:|---:|\n");
	uint64_t free_bytes = statvfs(o->out, &vfs) == 0 ? (uint64_t)vfs.f_bavail * vfs.f_frsize : UINT64_MAX;
	*disk_full = free_bytes < (1u << 20);
	for (int i = 0; i < nt; i++) {
		idle[i] = summary_row(f, o, &targets[i], &c, cwd);
		any_idle |= idle[i];
		any_failed |= targets[i].nfailed > 0;
	}
	fprintf(f, "\n");
	if (c.n > 0)
		crash_list(f, &c);
	else if (any_idle || any_failed || *disk_full)
		fprintf(
		    f,
		    "## Crashes: none found, but this run did NOT fuzz everything (see below): not a clean "
		    "result\n");
	else
		fprintf(f, "## Crashes: none\n");
	fprintf(f, "\n");
	if (*disk_full)
		fprintf(f,
		        "## Disk full: %s has %" PRIu64 " KiB free; corpus entries, logs and crash files may "
		        "be missing (free some space, or set FUZZ_OUT elsewhere)\n\n",
		        o->out, free_bytes / 1024);
	over_time(f, o, targets, nt, elapsed);
	broken[0] = '\0';
	if (any_idle || any_failed)
		engine_errors(f, targets, nt, idle, broken, brokenlen);
	fclose(f);
	free(c.b);
	/* the text ends with one newline after its last line, not with the blank line after it */
	if (size > 0 && (*text)[size - 1] == '\n')
		(*text)[size - 1] = '\0';
	return c.files > 0;
}

static int summarize(const struct options *o, struct target *targets, int nt, double elapsed)
{
	char path[PATH_LEN + 16], broken[1024], *text = NULL;
	int disk_full, rc = summary_text(o, targets, nt, elapsed, &text, broken, sizeof broken, &disk_full);
	FILE *f;

	snprintf(path, sizeof path, "%s/SUMMARY.md", o->out);
	printf("\n%s\n", text);
	fflush(stdout);
	f = fopen(path, "w");
	if (f != NULL && fputs(text, f) >= 0 && util_flush_ok(f) == 0 && fclose(f) == 0) {
		printf("(written to %s)\n", path);
	} else {
		fprintf(stderr, PROG ": --out %s: cannot write the summary %s: %s\n", o->out, path,
		        strerror(errno));
		rc = 2;
	}
	free(text);
	if (broken[0] != '\0') {
		fprintf(stderr, PROG ": the engine did not run for %s; see 'Engine errors' above\n", broken);
		if (rc == 0)
			rc = 2;
	}
	if (disk_full && rc == 0) {
		fprintf(stderr, PROG ": --out %s: the disk is full; see the summary\n", o->out);
		rc = 2;
	}
	return rc;
}

/* ---- set-up ---- */

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: " PROG " [--engine libfuzzer|afl] [--time SECONDS] [--jobs N] [--progress SECONDS]\n"
	    "                [--sample SECONDS] [--out DIR] [--bindir DIR] [--san-tcp-upper PATH] TARGET...\n"
	    "Fuzzes every TARGET (fuzz_tcp ...; tcp-upper for AFL++) for a while, then summarizes (make "
	    "fuzz).\n"
	    "  --engine E           libfuzzer (default) or afl\n"
	    "  --time SECONDS       seconds to fuzz, at least 2 (default 28800, a night)\n"
	    "  --jobs N             worker slots, 1 to 1024 (default: the number of cores)\n"
	    "  --progress SECONDS   seconds between progress lines (default and most 60)\n"
	    "  --sample SECONDS     seconds between the rows of DIR/<target>.csv (default: TIME/60, 2 to "
	    "30)\n"
	    "  --out DIR            working directory (default out/fuzz); DIR/SUMMARY.md is the summary,\n"
	    "                       DIR/<target>.csv the target's figures over time, DIR/<target>.svg their "
	    "chart\n"
	    "  --bindir DIR         where the target binaries are (default build/fuzz-libfuzzer)\n"
	    "  --san-tcp-upper PATH sanitizer tcp-upper that reproduces AFL++ crashes of the whole binary\n"
	    "                       (default build/san/bin/tcp-upper)\n"
	    "Exit 0 no crash file, 1 a crash file under DIR/<target>/ (kept between runs), 2 usage or "
	    "set-up\n"
	    "error, the engine did not run a target, a full disk, or a summary that could not be written\n"
	    "(a chart that could not be drawn changes nothing).\n");
}

static int bad_option(const char *what, const char *value, const char *expected)
{
	fprintf(stderr, PROG ": %s %s: %s\n(" PROG " --help lists the options)\n", what, value, expected);
	return 2;
}

/* --engine E */
static int take_engine(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	enum run_engine *engine = dest;

	if (strcmp(arg, "libfuzzer") != 0 && strcmp(arg, "afl") != 0) {
		snprintf(err, errlen, "%s %s: expected libfuzzer or afl", name, arg);
		return -1;
	}
	*engine = strcmp(arg, "afl") == 0 ? RUN_AFL : RUN_LIBFUZZER;
	return 0;
}

/* Parses the command line into o. Returns 0, or 2 after a message (usage error), or -1 for --help. */
static int parse_options(int argc, char **argv, struct options *o)
{
	/* runs too short to start one chunk are refused, as are nan and inf */
	const struct cli_option options[] = {
	    {"engine", 0, CLI_CUSTOM, .dest = &o->engine, .custom = take_engine},
	    {"time", 0, CLI_SECONDS, .dest = &o->time, .min_seconds = 2, .max_seconds = 1e9,
	     .reason = "expected a number of seconds, at least 2 (make fuzz FUZZ_TIME=...)"},
	    {"jobs", 0, CLI_UNSIGNED, CLI_INTEGER(o->jobs), .min = 1, .max = MAX_JOBS,
	     .reason = "expected a number of worker slots from 1 to 1024"},
	    {"progress", 0, CLI_SECONDS, .dest = &o->progress, .min_seconds = 0.001, .max_seconds = 1e9,
	     .reason = "expected a positive number of seconds"},
	    {"sample", 0, CLI_SECONDS, .dest = &o->sample, .min_seconds = 0.5, .max_seconds = 1e9,
	     .reason = "expected a number of seconds, at least 0.5"},
	    {"out", 0, CLI_STRING, .dest = &o->out},
	    {"bindir", 0, CLI_STRING, .dest = &o->bindir},
	    {"san-tcp-upper", 0, CLI_STRING, .dest = &o->san_tcp_upper},
	    {"help", 'h', CLI_HELP, .dest = NULL},
	    CLI_TABLE_END};
	char err[512];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	*o = (struct options){RUN_LIBFUZZER,
	                      28800,
	                      cores > 0 ? cores : 1,
	                      60,
	                      0,
	                      "out/fuzz",
	                      "build/fuzz-libfuzzer",
	                      "build/san/bin/tcp-upper",
	                      NULL,
	                      0};
	switch (cli_parse(options, argc, argv, err, sizeof err)) {
	case CLI_PARSE_OK:
		break;
	case CLI_PARSE_HELP:
		return -1;
	case CLI_PARSE_MISSING_ARGUMENT:
	case CLI_PARSE_BAD_OPTION:
		fprintf(stderr, PROG ": %s\n", err);
		usage(stderr);
		return 2;
	case CLI_PARSE_BAD_VALUE:
		fprintf(stderr, PROG ": %s\n(" PROG " --help lists the options)\n", err);
		return 2;
	}
	double most = o->time / 6 > 5 ? o->time / 6 : 5;
	o->progress = o->progress < 60 ? o->progress : 60;
	o->progress = o->progress < most ? o->progress : most;
	/* about 60 rows a run when not given: every 2 s of two minutes, every 30 s of a night */
	if (o->sample == 0)
		o->sample = o->time / 60 < 2 ? 2 : o->time / 60 > 30 ? 30 : o->time / 60;
	o->names = argv + optind;
	o->nnames = argc - optind;
	if (o->nnames < 1 || o->nnames > MAX_TARGETS) {
		fprintf(stderr, PROG ": expected 1 to %d target names, got %d\n", MAX_TARGETS, o->nnames);
		usage(stderr);
		return 2;
	}
	return 0;
}

/* Makes path absolute and removes ".", ".." and repeated slashes, without looking at the disk. */
static void lexical_absolute(const char *path, char *out, size_t len)
{
	char joined[2 * PATH_LEN], cwd[PATH_LEN];
	size_t o = 0;

	if (path[0] == '/' || getcwd(cwd, sizeof cwd) == NULL)
		snprintf(joined, sizeof joined, "%s", path);
	else
		snprintf(joined, sizeof joined, "%s/%s", cwd, path);
	for (char *s = strtok(joined, "/"); s != NULL; s = strtok(NULL, "/")) {
		if (strcmp(s, ".") == 0)
			continue;
		if (strcmp(s, "..") == 0) {
			while (o > 0 && out[--o] != '/')
				;
			continue;
		}
		o += (size_t)snprintf(out + o, len - o, "/%s", s);
		if (o >= len)
			o = len - 1;
	}
	if (o == 0)
		snprintf(out, len, "/");
	else
		out[o] = '\0';
}

/* --out: not under corpus/, and writable. Returns 0, or 2 after a message. */
static int check_out(const char *out)
{
	char abs_out[PATH_LEN], abs_corpus[PATH_LEN], probe[PATH_LEN + 32], err[PATH_LEN + 64];
	int fd;

	lexical_absolute(out, abs_out, sizeof abs_out);
	lexical_absolute("corpus", abs_corpus, sizeof abs_corpus);
	size_t n = strlen(abs_corpus);
	if (strncmp(abs_out, abs_corpus, n) == 0 && (abs_out[n] == '\0' || abs_out[n] == '/'))
		return bad_option("--out", out, "must not be under corpus/");
	snprintf(probe, sizeof probe, "%s/.fuzz-run-write-test", out);
	if (eng_mkdirs(out, err, sizeof err) != 0 ||
	    (fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0666)) < 0 || write(fd, "x", 1) != 1 ||
	    close(fd) != 0 || unlink(probe) != 0) {
		fprintf(stderr, PROG ": --out %s (FUZZ_OUT): cannot write there: %s\n", out, strerror(errno));
		return 2;
	}
	return 0;
}

/* The engine's extra arguments: the dictionary, and libFuzzer's max_len from NAME.options. */
static void target_extra(const struct options *o, struct target *t)
{
	char file[PATH_LEN], path[PATH_LEN + 16], line[256];
	unsigned long max_len;
	FILE *f;

	snprintf(file, sizeof file, "%s.dict", t->name);
	if (access(path_join(path, sizeof path, "harness/fuzz", file), F_OK) == 0) {
		if (o->engine == RUN_AFL)
			t->extra[t->nextra++] = "-x";
		path_join(t->dict_arg, sizeof t->dict_arg,
		          o->engine == RUN_AFL ? "harness/fuzz" : "-dict=harness/fuzz", file);
		t->extra[t->nextra++] = t->dict_arg;
	}
	snprintf(file, sizeof file, "%s.options", t->name);
	if (o->engine == RUN_LIBFUZZER &&
	    (f = fopen(path_join(path, sizeof path, "harness/fuzz", file), "r")) != NULL) {
		while (fgets(line, sizeof line, f) != NULL)
			if (sscanf(line, " max_len = %lu", &max_len) == 1) {
				snprintf(t->max_len_arg, sizeof t->max_len_arg, "-max_len=%lu", max_len);
				t->extra[t->nextra++] = t->max_len_arg;
				break;
			}
		fclose(f);
	}
}

/* Fills t for target name. Returns 0, or 2 after a message. */
static int target_setup(const struct options *o, struct target *t, const char *name)
{
	char err[PATH_LEN + 64];
	int tcp_upper = strcmp(name, "tcp-upper") == 0;

	memset(t, 0, sizeof *t);
	t->name = name;
	path_join(t->binary, sizeof t->binary, o->bindir, name);
	if (access(t->binary, X_OK) != 0) {
		fprintf(stderr, PROG ": %s: not built (run make fuzz-build / fuzz-afl-build)\n", t->binary);
		return 2;
	}
	snprintf(t->seeds, sizeof t->seeds, "corpus/%s", tcp_upper ? "tcp-upper-inetd" : name);
	struct stat st;
	if (stat(t->seeds, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, PROG ": %s: seed corpus missing\n", t->seeds);
		return 2;
	}
	target_extra(o, t);
	path_join(t->dir, sizeof t->dir, o->out, name);
	path_join(t->corpus, sizeof t->corpus, t->dir, "corpus");
	path_join(t->crashes, sizeof t->crashes, t->dir, "crashes");
	path_join(t->logs, sizeof t->logs, t->dir, "logs");
	path_join(t->sync, sizeof t->sync, t->dir, "sync");
	if (eng_mkdirs(t->corpus, err, sizeof err) != 0 || eng_mkdirs(t->crashes, err, sizeof err) != 0 ||
	    eng_mkdirs(t->logs, err, sizeof err) != 0) {
		fprintf(stderr, PROG ": --out %s (FUZZ_OUT): %s\n", o->out, err);
		return 2;
	}
	t->corpus_start = eng_count_files(t->corpus);
	if (realpath(t->binary, t->abs_binary) == NULL)
		snprintf(t->abs_binary, sizeof t->abs_binary, "%s", t->binary);
	t->cmd[0] = t->abs_binary;
	t->cmd[1] = tcp_upper ? "--inetd" : NULL;
	/* a persistent harness takes no arguments; tcp-upper --inetd reads its stdin */
	/* AFL++ crashes of a harness replay with its libFuzzer build (same input format) */
	snprintf(t->repro_binary, sizeof t->repro_binary, "build/fuzz-libfuzzer/%s", name);
	t->repro_cmd[0] = tcp_upper ? (char *)o->san_tcp_upper : t->repro_binary;
	t->repro_cmd[1] = tcp_upper ? "--inetd" : NULL;
	t->repro_stdin = tcp_upper;
	return 0;
}

int main(int argc, char **argv)
{
	static struct target targets[MAX_TARGETS];
	struct options o;
	struct sigaction sa;
	int rc = parse_options(argc, argv, &o);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (rc != 0) {
		if (rc < 0)
			usage(stdout);
		return rc < 0 ? 0 : rc;
	}
	if ((rc = check_out(o.out)) != 0)
		return rc;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (int i = 0; i < o.nnames; i++)
		if ((rc = target_setup(&o, &targets[i], o.names[i])) != 0 ||
		    (rc = history_open(&o, &targets[i])) != 0)
			return rc;
	printf(PROG ": %s, %d target(s)", o.engine == RUN_AFL ? "AFL++" : "libFuzzer", o.nnames);
	for (int i = 0; i < o.nnames; i++)
		printf(" %s", o.names[i]);
	printf(", %.0f s, %ld slot(s); working corpus and crashes under %s/ (Ctrl-C stops cleanly)\n", o.time,
	       o.jobs, o.out);
	double elapsed =
	    o.engine == RUN_AFL ? run_afl(&o, targets, o.nnames) : run_libfuzzer(&o, targets, o.nnames);
	history_finish(&o, targets, o.nnames, elapsed);
	return summarize(&o, targets, o.nnames, elapsed);
}
