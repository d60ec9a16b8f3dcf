/* scheduler.c - fuzz-run, the driver behind `make fuzz` (libFuzzer) and `make fuzz-afl` (AFL++).
 *
 * Runs every fuzz target on every core for --time seconds, prints a progress line per target at least
 * every minute, stops cleanly on Ctrl-C or SIGTERM, then writes OUT/SUMMARY.md (execs, exec/s,
 * coverage, new corpus entries, crashes deduplicated by report and top frames with a reproduce command)
 * and prints it. Exit status: 0 no crash file, 1 a crash file lies under OUT/<target>/ (this run's or
 * an earlier run's: the working directory is kept between runs), 2 usage or setup error, or the engine
 * did not run a target (never reported as "no crashes"), or the disk is full, or the summary could not
 * be written. Nothing is written under corpus/.
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
	const char *out, *bindir, *san_tcp_upper;
	char **names;
	int nnames;
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
	double secs_done;
	uint64_t cov;
	unsigned nfailed; /* chunks or instances in which the engine never ran an input */
	char failed_log[PATH_LEN], failed_why[PATH_LEN + 64]; /* the last one */
	char abs_binary[PATH_LEN], repro_binary[PATH_LEN];
	char *cmd[3];       /* AFL++: what afl-fuzz runs */
	char *repro_cmd[3]; /* AFL++: what reproduces a crash (with ASan for tcp-upper) */
	int repro_stdin;
};

/* A libFuzzer chunk or an AFL++ instance. */
struct job {
	pid_t pid; /* 0: free slot, or ended */
	struct target *t;
	char log[PATH_LEN];
	double started;
	size_t ncrash;       /* crash files before it started */
	uint64_t execs, cov; /* its latest status line */
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
	t->secs_done += util_now_s() - j->started;
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

static void progress_libfuzzer(struct target *targets, int nt, const struct job *jobs, long njobs,
                               double elapsed)
{
	for (int i = 0; i < nt; i++) {
		uint64_t execs, cov;
		char count[40];
		target_status(&targets[i], jobs, njobs, &execs, &cov);
		printf("[%6ds] %-10s execs %14s  exec/s %9.0f  cov %5" PRIu64 "  corpus %6zu  crashes %zu\n",
		       (int)elapsed, targets[i].name, eng_fmt_count(count, sizeof count, execs),
		       elapsed > 0 ? (double)execs / elapsed : 0.0, cov, eng_count_files(targets[i].corpus),
		       eng_count_files(targets[i].crashes));
	}
	fflush(stdout);
}

static double run_libfuzzer(const struct options *o, struct target *targets, int nt)
{
	struct job *jobs = calloc((size_t)o->jobs, sizeof *jobs);
	unsigned *chunk_no = calloc((size_t)o->jobs, sizeof *chunk_no);
	double start = util_now_s(), deadline = start + o->time, last_progress = start;
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
		if (!busy && (stop_requested || util_now_s() >= deadline - 1))
			break;
		if (stop_requested) {
			stop_jobs(jobs, o->jobs);
			continue;
		}
		if (util_now_s() - last_progress >= o->progress) {
			last_progress = util_now_s();
			progress_libfuzzer(targets, nt, jobs, o->jobs, last_progress - start);
		}
		util_sleep_ms(500);
	}
	free(jobs);
	free(chunk_no);
	return util_now_s() - start;
}

/* ---- AFL++ ---- */

struct afl_totals {
	uint64_t execs, corpus, crashes;
	double rate;
	char coverage[32];
};

static void afl_totals(const struct target *t, struct afl_totals *a)
{
	char pattern[PATH_LEN + 32];
	glob_t g;

	memset(a, 0, sizeof *a);
	strcpy(a->coverage, "0%");
	snprintf(pattern, sizeof pattern, "%s/*/fuzzer_stats", t->sync);
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct eng_afl_stats st;
		if (eng_afl_read(g.gl_pathv[i], &st) != 0)
			continue;
		a->execs += st.execs;
		a->rate += st.rate;
		a->crashes += st.crashes;
		if (st.corpus > a->corpus)
			a->corpus = st.corpus;
		size_t n = strlen(g.gl_pathv[i]);
		if (n >= 18 && strcmp(g.gl_pathv[i] + n - 18, "/main/fuzzer_stats") == 0 && st.coverage[0])
			snprintf(a->coverage, sizeof a->coverage, "%s", st.coverage);
	}
	globfree(&g);
}

static void progress_afl(const struct target *targets, int nt, double elapsed)
{
	for (int i = 0; i < nt; i++) {
		struct afl_totals a;
		char count[40];
		afl_totals(&targets[i], &a);
		printf("[%6ds] %-16s execs %14s  exec/s %9.0f  cov %7s  corpus %6" PRIu64 "  crashes %" PRIu64
		       "\n",
		       (int)elapsed, targets[i].name, eng_fmt_count(count, sizeof count, a.execs), a.rate,
		       a.coverage, a.corpus, a.crashes);
	}
	fflush(stdout);
}

/* Starts instance k: -M main for the first of each target, -S secK for the others. */
static void afl_start(const struct options *o, struct target *t, struct job *j, int k, int nt)
{
	char role[32], secs[32], err[PATH_LEN + 64], why[PATH_LEN + 96];
	char *argv[24];
	int n = 0, fd;

	snprintf(role, sizeof role, k < nt ? "main" : "sec%d", k);
	snprintf(secs, sizeof secs, "%d", (int)o->time);
	eng_format(j->log, sizeof j->log, "%s/afl-%s.log", t->dir, role);
	j->t = t;
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
	double start, last_progress;
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
	start = last_progress = util_now_s();
	while (running) {
		running = 0;
		for (int k = 0; k < n; k++)
			if (jobs[k].pid > 0 && !jobs[k].ended) {
				if (waitpid(jobs[k].pid, &jobs[k].status, WNOHANG) == jobs[k].pid)
					jobs[k].ended = 1;
				else
					running = 1;
			}
		if (!running)
			break;
		if (stop_requested) {
			stop_jobs(jobs, n);
			continue;
		}
		if (util_now_s() - last_progress >= o->progress) {
			last_progress = util_now_s();
			progress_afl(targets, nt, last_progress - start);
		}
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
	return util_now_s() - start;
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
	uint64_t execs, corpus, cov;
	int64_t added;
	double rate;
	size_t nfiles = 0, unique = 0;
	glob_t g;

	if (o->engine == RUN_LIBFUZZER) {
		target_status(t, NULL, 0, &execs, &cov);
		snprintf(coverage, sizeof coverage, "%" PRIu64 " edges", cov);
		corpus = eng_count_files(t->corpus);
		added = (int64_t)corpus - (int64_t)t->corpus_start;
		rate = t->secs_done > 0 ? (double)execs / t->secs_done : 0;
		snprintf(pattern, sizeof pattern, "%s/*", t->crashes);
	} else {
		struct afl_totals a;
		afl_totals(t, &a);
		execs = a.execs;
		rate = a.rate;
		corpus = a.corpus;
		added = (int64_t)corpus - (int64_t)eng_count_files(t->seeds);
		snprintf(coverage, sizeof coverage, "%s of the map", a.coverage);
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
	fprintf(f, "| %s | %s | %.0f | %s | %" PRIu64 " (%+" PRId64 ") | %zu (%zu) |\n", t->name,
	        eng_fmt_count(count, sizeof count, execs), rate, coverage, corpus, added, nfiles, unique);
	return execs == 0 && nfiles == 0;
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
	fprintf(f,
	        " on %ld worker slot(s), %s. exec/s is per busy worker (libFuzzer) or summed over instances "
	        "(AFL++); coverage is libFuzzer's edge count or AFL++'s map density.\n\n",
	        o->jobs, date);
	fprintf(f, "| target | execs | exec/s | coverage | corpus (new) | crashes (unique) |\n"
	           "|---|---:|---:|---:|---:|---:|\n");
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
	    "                [--out DIR] [--bindir DIR] [--san-tcp-upper PATH] TARGET...\n"
	    "Fuzzes every TARGET (fuzz_tcp ...; tcp-upper for AFL++) for a while, then summarizes (make "
	    "fuzz).\n"
	    "  --engine E           libfuzzer (default) or afl\n"
	    "  --time SECONDS       seconds to fuzz, at least 2 (default 28800, a night)\n"
	    "  --jobs N             worker slots, 1 to 1024 (default: the number of cores)\n"
	    "  --progress SECONDS   seconds between progress lines (default and most 60)\n"
	    "  --out DIR            working directory (default out/fuzz); DIR/SUMMARY.md is the summary\n"
	    "  --bindir DIR         where the target binaries are (default build/fuzz-libfuzzer)\n"
	    "  --san-tcp-upper PATH sanitizer tcp-upper that reproduces AFL++ crashes of the whole binary\n"
	    "                       (default build/san/bin/tcp-upper)\n"
	    "Exit 0 no crash file, 1 a crash file under DIR/<target>/ (kept between runs), 2 usage or "
	    "set-up\n"
	    "error, the engine did not run a target, a full disk, or a summary that could not be written.\n");
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
		if ((rc = target_setup(&o, &targets[i], o.names[i])) != 0)
			return rc;
	printf(PROG ": %s, %d target(s)", o.engine == RUN_AFL ? "AFL++" : "libFuzzer", o.nnames);
	for (int i = 0; i < o.nnames; i++)
		printf(" %s", o.names[i]);
	printf(", %.0f s, %ld slot(s); working corpus and crashes under %s/ (Ctrl-C stops cleanly)\n", o.time,
	       o.jobs, o.out);
	double elapsed =
	    o.engine == RUN_AFL ? run_afl(&o, targets, o.nnames) : run_libfuzzer(&o, targets, o.nnames);
	return summarize(&o, targets, o.nnames, elapsed);
}
