/* chart.c - line and bar charts as SVG: a gnuplot script generated from a struct chart, run through the
 * gnuplot program with the script on its stdin (a memory file), its stderr read for the reason of a
 * failure, and the whole run bounded in time. */
#include "chart.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define CHART_DEFAULT_TIMEOUT_S 10.0
#define CHART_STDERR_MAX 4096

extern char **environ;

/* Writes s as a gnuplot single-quoted string (a quote inside is doubled). */
static void put_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

/* Writes "set WHAT 'text'" when text is given. */
static void put_setting(FILE *f, const char *what, const char *text)
{
	if (text == NULL)
		return;
	fprintf(f, "set %s ", what);
	put_quoted(f, text);
	fputc('\n', f);
}

/* Tells whether s is usable in the script: NULL (when optional) or a line without control characters. */
static int text_ok(const char *s, int optional)
{
	if (s == NULL)
		return optional;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Checks the fields of c that the script uses. Returns 0, or -1 with the reason in why. */
static int check_chart(const struct chart *c, char *why, size_t whylen)
{
	const char *what = NULL;

	if (c->csv == NULL || c->svg == NULL || c->xcolumn == NULL || c->series == NULL || c->nseries == 0)
		what = "csv, svg, xcolumn and at least one series";
	else if (!text_ok(c->csv, 0) || !text_ok(c->svg, 0) || !text_ok(c->xcolumn, 0) ||
	         !text_ok(c->title, 1) || !text_ok(c->xlabel, 1) || !text_ok(c->ylabel, 1) ||
	         !text_ok(c->y2label, 1))
		what = "its names and labels on one line, without control characters";
	else if (c->style != CHART_LINES && c->style != CHART_BARS)
		what = "a style, CHART_LINES or CHART_BARS";
	else if (c->timeout_s < 0)
		what = "a time bound of at least 0 s";
	for (size_t i = 0; what == NULL && i < c->nseries; i++)
		if (!text_ok(c->series[i].column, 0) || !text_ok(c->series[i].title, 1))
			what = "a column name for each series, and titles on one line";
	if (what == NULL)
		return 0;
	snprintf(why, whylen, "malformed chart: it needs %s", what);
	return -1;
}

/* Tells whether a series is on the right-hand axis. */
static int has_right_axis(const struct chart *c)
{
	for (size_t i = 0; i < c->nseries; i++)
		if (c->series[i].right_axis)
			return 1;
	return 0;
}

/* Writes the settings before the plot command: terminal, output, data format, labels, axes, style. */
static void put_settings(FILE *f, const struct chart *c, const char *output)
{
	int right = has_right_axis(c);

	fputs("set terminal svg size 1000,560 dynamic noenhanced font 'sans,11' background rgb 'white'\n", f);
	put_setting(f, "output", output);
	fputs("set datafile separator comma\nset datafile columnheaders\n", f);
	fputs("set key below box\nset grid ytics\n", f);
	put_setting(f, "title", c->title);
	put_setting(f, "xlabel", c->xlabel);
	put_setting(f, "ylabel", c->ylabel);
	put_setting(f, "y2label", c->y2label);
	if (right)
		fputs("set ytics nomirror\nset y2tics\n", f);
	if (c->log_y)
		fputs(right ? "set logscale y\nset logscale y2\n" : "set logscale y\n", f);
	else
		fprintf(f, "set yrange [%s:*]\n%s", c->fit_left ? "*" : "0",
		        right ? "set y2range [0:*]\n" : "");
	if (c->reference_y != 0)
		fprintf(
		    f, "set arrow from graph 0, first %.17g to graph 1, first %.17g nohead dashtype 2 lw 2\n",
		    c->reference_y, c->reference_y);
	if (c->style == CHART_BARS)
		fputs("set style data histogram\nset style histogram clustered gap 1\n"
		      "set style fill solid 0.85 border -1\nset xtics nomirror\n",
		      f);
	else
		fputs("set style data lines\n", f);
}

/* Writes the whole script for c, drawing into output. */
static void put_script(FILE *f, const struct chart *c, const char *output)
{
	put_settings(f, c, output);
	fputs("plot ", f);
	for (size_t i = 0; i < c->nseries; i++) {
		const struct chart_series *s = &c->series[i];

		fputs(i == 0 ? "" : ", \\\n     ", f);
		if (i == 0)
			put_quoted(f, c->csv);
		else
			fputs("''", f);
		fputs(" using ", f);
		if (c->style == CHART_LINES) {
			put_quoted(f, c->xcolumn);
			fputc(':', f);
			put_quoted(f, s->column);
		} else {
			put_quoted(f, s->column);
			if (i == 0) {
				fputs(":xtic(stringcolumn(", f);
				put_quoted(f, c->xcolumn);
				fputs("))", f);
			}
		}
		if (s->right_axis)
			fputs(" axes x1y2", f);
		fputs(c->style == CHART_LINES ? " with lines lw 2 title " : " title ", f);
		put_quoted(f, s->title != NULL ? s->title : s->column);
	}
	fputs("\nunset output\n", f);
}

/* Creates a memory file holding the script, positioned at its start. Returns it, or -1 with a reason. */
static int script_file(const struct chart *c, const char *output, char *why, size_t whylen)
{
	int fd = memfd_create("chart-script", MFD_CLOEXEC);
	int copy = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
	FILE *f = copy < 0 ? NULL : fdopen(copy, "w");

	if (f == NULL) {
		snprintf(why, whylen, "cannot hold the gnuplot script: %s", strerror(errno));
		if (copy >= 0)
			close(copy);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	put_script(f, c, output);
	if (fclose(f) != 0 || lseek(fd, 0, SEEK_SET) < 0) {
		snprintf(why, whylen, "cannot write the gnuplot script: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The gnuplot program to run: $GNUPLOT, or "gnuplot". */
static const char *gnuplot_program(void)
{
	const char *p = getenv("GNUPLOT");

	return p != NULL && p[0] != '\0' ? p : "gnuplot";
}

/* Starts the program with stdin from script, stdout to /dev/null, stderr to error_fd, in its own process
 * group. Returns 0 with its pid in *pid, or an errno value. */
static int start(const char *program, int script, int error_fd, pid_t *pid)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char *argv[] = {(char *)program, NULL};
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&actions);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_adddup2(&actions, script, 0);
	posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, error_fd, 2);
	posix_spawn_file_actions_addclosefrom_np(&actions, 3);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr,
	                         POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(pid, program, &actions, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&actions);
	return rc;
}

/* Reads what arrives on fd into buf (at most size - 1 bytes kept, the rest read and dropped) until end of
 * file or the deadline. Returns 0 at end of file, -1 when the deadline passed. */
static int read_errors(int fd, char *buf, size_t size, uint64_t deadline_ns)
{
	size_t used = 0;

	buf[0] = '\0';
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		char chunk[512];
		ssize_t n;
		int ready = poll(&p, 1, util_ms_left(deadline_ns));

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return -1;
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (used + 1 < size) {
			size_t take = (size_t)n < size - 1 - used ? (size_t)n : size - 1 - used;

			memcpy(buf + used, chunk, take);
			used += take;
			buf[used] = '\0';
		}
	}
}

/* Waits for pid until the deadline; then kills its group. Returns its wait status, or -1 when it was
 * killed (or cannot be waited for). */
static int finish(pid_t pid, uint64_t deadline_ns)
{
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (util_ms_left(deadline_ns) == 0)
			break;
		util_sleep_ms(10);
	}
	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* the group's other members come back to a subreaper (lib/child.h makes its caller one) */
	for (int i = 0; i < 20 && waitpid(-pid, NULL, WNOHANG) >= 0; i++)
		util_sleep_ms(5);
	return -1;
}

/* Whether a gnuplot stderr line is its error report ("<stdin>" line 12: all points undefined!) rather
 * than the echo of the command it refers to. */
static int names_script_line(const char *start, size_t len)
{
	const char *at = memmem(start, len, "line ", 5);

	return at != NULL && at + 5 < start + len && at[5] >= '0' && at[5] <= '9';
}

/* Copies gnuplot's error line from its stderr text (the first line naming a script line that is not a
 * warning, else the first line that is not a warning, else the first line), without leading blanks,
 * into why. */
static void first_error(const char *text, char *why, size_t whylen)
{
	const char *chosen = NULL;
	int plain_found = 0;

	for (const char *line = text; *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		const char *start = line + strspn(line, " \t");

		if (start < line + len && *start != '^') {
			if (chosen == NULL)
				chosen = start;
			size_t rest = (size_t)(line + len - start);
			if (memmem(start, rest, "warning:", 8) == NULL) {
				if (names_script_line(start, rest)) {
					chosen = start;
					break;
				}
				if (!plain_found) {
					chosen = start;
					plain_found = 1;
				}
			}
		}
		line += len + (end != NULL);
	}
	if (chosen == NULL)
		snprintf(why, whylen, "gnuplot failed and said nothing");
	else
		snprintf(why, whylen, "gnuplot: %.*s", (int)strcspn(chosen, "\n"), chosen);
}

/* Says in why why the program could not be started (errno value rc). */
static void not_started(const char *program, int rc, char *why, size_t whylen)
{
	if (strcmp(program, "gnuplot") == 0)
		snprintf(why, whylen,
		         "gnuplot not found (Debian: apt-get install gnuplot-nox); no picture drawn");
	else
		snprintf(
		    why, whylen,
		    "gnuplot not found (GNUPLOT=%s: %s; Debian: apt-get install gnuplot-nox); no picture "
		    "drawn",
		    program, strerror(rc));
}

/* Runs gnuplot on the script and judges its run; output is the file it is to write. */
static enum chart_result run(const char *program, int script, const char *output, double timeout_s, char *why,
                             size_t whylen)
{
	char errors[CHART_STDERR_MAX];
	uint64_t deadline_ns = util_now_ns() + (uint64_t)(timeout_s * 1e9);
	int pipe_fds[2], rc, status, timed_out;
	pid_t pid;

	if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return CHART_FAILED;
	}
	rc = start(program, script, pipe_fds[1], &pid);
	close(pipe_fds[1]);
	if (rc != 0) {
		close(pipe_fds[0]);
		not_started(program, rc, why, whylen);
		return rc == ENOENT || rc == EACCES || rc == ENOEXEC || rc == ENOTDIR ? CHART_NO_GNUPLOT
		                                                                      : CHART_FAILED;
	}
	timed_out = read_errors(pipe_fds[0], errors, sizeof errors, deadline_ns) < 0;
	close(pipe_fds[0]);
	status = finish(pid, deadline_ns);
	if (timed_out || status < 0) {
		snprintf(why, whylen, "gnuplot did not finish within %g s and was stopped", timeout_s);
		return CHART_FAILED;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		first_error(errors, why, whylen);
		return CHART_FAILED;
	}
	if (access(output, R_OK) != 0) {
		snprintf(why, whylen, "gnuplot ended well but wrote no %s", output);
		return CHART_FAILED;
	}
	return CHART_DRAWN;
}

enum chart_result chart_draw(const struct chart *c, char *why, size_t whylen)
{
	const char *program = gnuplot_program();
	char output[4096];
	FILE *csv;
	int script;
	enum chart_result result;

	if (check_chart(c, why, whylen) < 0)
		return CHART_FAILED;
	if ((size_t)snprintf(output, sizeof output, "%s.part", c->svg) >= sizeof output) {
		snprintf(why, whylen, "malformed chart: its SVG path is too long");
		return CHART_FAILED;
	}
	csv = fopen(c->csv, "r");
	if (csv == NULL) {
		snprintf(why, whylen, "cannot read %s: %s", c->csv, strerror(errno));
		return CHART_FAILED;
	}
	fclose(csv);
	script = script_file(c, output, why, whylen);
	if (script < 0)
		return CHART_FAILED;
	unlink(output);
	result = run(program, script, output, c->timeout_s > 0 ? c->timeout_s : CHART_DEFAULT_TIMEOUT_S, why,
	             whylen);
	close(script);
	if (result == CHART_DRAWN && rename(output, c->svg) != 0) {
		snprintf(why, whylen, "cannot rename %s to %s: %s", output, c->svg, strerror(errno));
		result = CHART_FAILED;
	}
	if (result != CHART_DRAWN)
		unlink(output);
	else if (whylen > 0)
		why[0] = '\0';
	return result;
}
