/* chart.c - line and bar charts as SVG: a gnuplot script generated from a struct chart, run through the
 * gnuplot program by lib/child (child_run) with the script on its stdin (a memory file), its stderr read
 * for the reason of a failure, and the whole run bounded in time. */
#include "chart.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"

#define CHART_DEFAULT_TIMEOUT_S 10.0
#define CHART_STDERR_MAX 4096

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

/* Runs gnuplot on the script and judges its run; output is the file it is to write. Its stderr goes to
 * a memory file, read once it has ended: a pipe would need reading while it runs. */
static enum chart_result run(const char *program, int script, const char *output, double timeout_s, char *why,
                             size_t whylen)
{
	const char *argv[] = {program, NULL};
	struct child_options o = {.argv = argv};
	char errors[CHART_STDERR_MAX];
	int status, errors_fd = memfd_create("chart-errors", MFD_CLOEXEC);

	if (errors_fd < 0) {
		snprintf(why, whylen, "cannot hold gnuplot's messages: %s", strerror(errno));
		return CHART_FAILED;
	}
	const int fds[3] = {script, -1, errors_fd};
	int ms = timeout_s * 1000 < INT_MAX ? (int)(timeout_s * 1000) : INT_MAX;
	enum child_run_end end = child_run(&o, fds, ms > 0 ? ms : 1, &status, why, whylen);
	int e = errno;
	ssize_t n = end == CHILD_RUN_ENDED ? pread(errors_fd, errors, sizeof errors - 1, 0) : 0;

	errors[n > 0 ? n : 0] = '\0';
	close(errors_fd);
	if (end == CHILD_RUN_NOT_STARTED) {
		not_started(program, e, why, whylen);
		return e == ENOENT || e == EACCES || e == ENOEXEC || e == ENOTDIR ? CHART_NO_GNUPLOT
		                                                                  : CHART_FAILED;
	}
	if (end == CHILD_RUN_TIMED_OUT) {
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
