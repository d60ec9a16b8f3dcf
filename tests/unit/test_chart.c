/* test_chart.c - lib/chart.c: a line chart with two axes and a bar chart drawn from small CSV files into a
 * temporary directory and checked with xmllint; a missing gnuplot, a failing one and one that hangs (killed
 * with its children); charts that are refused before anything runs. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chart.h"
#include "unit.h"
#include "util.h"

static char dir[256];

/* The path of name in the temporary directory. */
static const char *in_dir(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", dir, name);
	return buf;
}

static int write_file(const char *name, const char *text, mode_t mode)
{
	char path[512];
	FILE *f = fopen(in_dir(name, path, sizeof path), "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	if (fclose(f) != 0)
		return -1;
	return chmod(path, mode);
}

static int make_files(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof dir, "%s/test_chart.XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	if (write_file("soak.csv",
	               "elapsed_s,rss_kib,fds,connections\n0.00,1720,5,0\n0.25,2100,105,100\n"
	               "0.50,2400,205,200\n0.75,2410,,200\n1.00,1800,5,0\n",
	               0644) < 0 ||
	    write_file("ratios.csv",
	               "figure,ref/echo,ref/python,ref/tutorial\nTCP stream 1 connection,1.00,1.78,22.01\n"
	               "UDP 64 B,1.01,144.34,164.13\nit's quoted,0.99,6.14,6.24\n",
	               0644) < 0 ||
	    write_file("failing-gnuplot",
	               "#!/bin/sh\necho 'warning: ignore me' >&2\necho 'boom: no terminal' >&2\nexit 3\n",
	               0755) < 0 ||
	    write_file("hanging-gnuplot", "#!/bin/sh\necho $$ >\"$0.pid\"\nsleep 30\n", 0755) < 0)
		return -1;
	return 0;
}

static int remove_files(void)
{
	static const char *const names[] = {"soak.csv",        "ratios.csv",         "failing-gnuplot",
	                                    "hanging-gnuplot", "lines.svg",          "bars.svg",
	                                    "none.svg",        "failed.svg",         "hung.svg",
	                                    "badcolumn.svg",   "badcolumn.svg.part", "hanging-gnuplot.pid"};
	char path[512];

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(in_dir(names[i], path, sizeof path));
	return rmdir(dir);
}

/* Tells whether path is well-formed XML (xmllint --noout) and holds every string of want. */
static int svg_ok(const char *path, const char *const *want, size_t nwant)
{
	char command[1024], *text;
	FILE *f;
	long size;
	int ok = 1;

	snprintf(command, sizeof command, "xmllint --noout '%s'", path);
	if (system(command) != 0)
		return 0;
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)size + 1);
	if (text == NULL || fread(text, 1, (size_t)size, f) != (size_t)size)
		ok = 0;
	fclose(f);
	for (size_t i = 0; ok && i < nwant; i++)
		if (strstr(text, want[i]) == NULL) {
			fprintf(stderr, "%s lacks '%s'\n", path, want[i]);
			ok = 0;
		}
	free(text);
	return ok;
}

/* The soak-like chart: memory on the left axis, descriptors and connections on the right. */
static struct chart soak_chart(const char *svg, char *csv, size_t csvlen)
{
	static const struct chart_series series[] = {
	    {"rss_kib", "resident memory (KiB)", 0},
	    {"fds", "open descriptors", 1},
	    {"connections", NULL, 1},
	};

	return (struct chart){.csv = in_dir("soak.csv", csv, csvlen),
	                      .svg = svg,
	                      .title = "reset-storm: tcp-upper's memory & descriptors",
	                      .xlabel = "seconds",
	                      .ylabel = "KiB",
	                      .y2label = "descriptors",
	                      .xcolumn = "elapsed_s",
	                      .style = CHART_LINES,
	                      .series = series,
	                      .nseries = 3};
}

static void test_lines(void)
{
	static const char *const want[] = {"<svg",
	                                   "<path",
	                                   "resident memory (KiB)",
	                                   "open descriptors",
	                                   "connections",
	                                   "memory &amp; descriptors"};
	char svg[512], csv[512], why[256] = "unset";
	struct chart c = soak_chart(in_dir("lines.svg", svg, sizeof svg), csv, sizeof csv);

	unsetenv("GNUPLOT");
	CHECK(chart_draw(&c, why, sizeof why) == CHART_DRAWN, "line chart drawn: '%s'", why);
	CHECK(why[0] == '\0', "no reason when drawn: '%s'", why);
	CHECK(svg_ok(svg, want, sizeof want / sizeof want[0]), "lines.svg well-formed with its titles");
}

static void test_bars(void)
{
	static const struct chart_series series[] = {
	    {"ref/echo", "reference / echo", 0}, {"ref/python", NULL, 0}, {"ref/tutorial", NULL, 0}};
	static const char *const want[] = {
	    "<svg", "<path", "reference / echo", "ref/python", "TCP stream 1 connection", "it's quoted"};
	char svg[512], csv[512], why[256];
	struct chart c = {.csv = in_dir("ratios.csv", csv, sizeof csv),
	                  .svg = in_dir("bars.svg", svg, sizeof svg),
	                  .title = "reference's ratios",
	                  .ylabel = "ratio (log scale)",
	                  .xcolumn = "figure",
	                  .style = CHART_BARS,
	                  .series = series,
	                  .nseries = 3,
	                  .log_y = 1,
	                  .reference_y = 0.9};

	unsetenv("GNUPLOT");
	CHECK(chart_draw(&c, why, sizeof why) == CHART_DRAWN, "bar chart drawn: '%s'", why);
	CHECK(svg_ok(svg, want, sizeof want / sizeof want[0]), "bars.svg well-formed with its labels");
}

static void test_no_gnuplot(void)
{
	char svg[512], csv[512], why[256];
	struct chart c = soak_chart(in_dir("none.svg", svg, sizeof svg), csv, sizeof csv);

	setenv("GNUPLOT", "/nonexistent", 1);
	CHECK(chart_draw(&c, why, sizeof why) == CHART_NO_GNUPLOT, "GNUPLOT=/nonexistent: '%s'", why);
	CHECK(strncmp(why, "gnuplot not found", 17) == 0 &&
	          strstr(why, "Debian: apt-get install gnuplot-nox); no picture drawn") != NULL &&
	          strstr(why, "/nonexistent") != NULL,
	      "message '%s'", why);
	CHECK(access(svg, F_OK) != 0, "no SVG written");
	unsetenv("GNUPLOT");
}

static void test_failing(void)
{
	char svg[512], csv[512], program[512], why[256];
	struct chart c = soak_chart(in_dir("failed.svg", svg, sizeof svg), csv, sizeof csv);

	setenv("GNUPLOT", in_dir("failing-gnuplot", program, sizeof program), 1);
	CHECK(chart_draw(&c, why, sizeof why) == CHART_FAILED, "a failing gnuplot: '%s'", why);
	CHECK(strcmp(why, "gnuplot: boom: no terminal") == 0, "its first error line: '%s'", why);
	CHECK(access(svg, F_OK) != 0, "no SVG written");
	unsetenv("GNUPLOT");
}

static void test_bad_column(void)
{
	static const struct chart_series series[] = {{"no_such_column", NULL, 0}};
	char svg[512], csv[512], why[256];
	struct chart c = soak_chart(in_dir("badcolumn.svg", svg, sizeof svg), csv, sizeof csv);

	c.series = series;
	c.nseries = 1;
	CHECK(chart_draw(&c, why, sizeof why) == CHART_FAILED, "an unknown column: '%s'", why);
	CHECK(strncmp(why, "gnuplot: ", 9) == 0, "gnuplot's reason: '%s'", why);
	CHECK(access(svg, F_OK) != 0, "no SVG written");
	CHECK(access(in_dir("badcolumn.svg.part", svg, sizeof svg), F_OK) != 0, "no partial SVG left");
}

static void test_hanging(void)
{
	char svg[512], csv[512], program[512], why[256];
	struct chart c = soak_chart(in_dir("hung.svg", svg, sizeof svg), csv, sizeof csv);
	double t0 = util_now_s(), took;

	c.timeout_s = 0.5;
	setenv("GNUPLOT", in_dir("hanging-gnuplot", program, sizeof program), 1);
	CHECK(chart_draw(&c, why, sizeof why) == CHART_FAILED, "a hanging gnuplot: '%s'", why);
	took = util_now_s() - t0;
	CHECK(took < 5, "stopped after its bound: %.2f s", took);
	CHECK(strstr(why, "did not finish within 0.5 s") != NULL, "reason '%s'", why);
	/* its process group, the script and its sleep, is gone */
	FILE *f = fopen(in_dir("hanging-gnuplot.pid", program, sizeof program), "r");
	int group = 0;
	CHECK(f != NULL && fscanf(f, "%d", &group) == 1 && group > 0, "no pid written");
	CHECK(group > 0 && kill(-group, 0) < 0 && errno == ESRCH, "its group %d is still there", group);
	if (f != NULL)
		fclose(f);
	unsetenv("GNUPLOT");
}

static void test_refused(void)
{
	char svg[512], csv[512], why[256];
	struct chart c = soak_chart(in_dir("none.svg", svg, sizeof svg), csv, sizeof csv);
	struct chart no_series = c, two_lines = c, no_csv = c;

	no_series.nseries = 0;
	two_lines.title = "one\nset output '/tmp/elsewhere'";
	no_csv.csv = in_dir("missing.csv", csv, sizeof csv);
	CHECK(chart_draw(&no_series, why, sizeof why) == CHART_FAILED && strstr(why, "malformed") != NULL,
	      "no series: '%s'", why);
	CHECK(chart_draw(&two_lines, why, sizeof why) == CHART_FAILED && strstr(why, "malformed") != NULL,
	      "a line break in the title: '%s'", why);
	CHECK(chart_draw(&no_csv, why, sizeof why) == CHART_FAILED && strstr(why, "missing.csv") != NULL,
	      "a missing CSV: '%s'", why);
}

int main(void)
{
	static const struct unit_test tests[] = {
	    {"a line chart with two axes", test_lines},
	    {"a bar chart, log scale and a bar line", test_bars},
	    {"GNUPLOT=/nonexistent: not found", test_no_gnuplot},
	    {"a gnuplot that fails", test_failing},
	    {"gnuplot's own error", test_bad_column},
	    {"a gnuplot that hangs is stopped", test_hanging},
	    {"malformed charts refused", test_refused},
	};
	int rc;

	if (make_files() < 0) {
		fprintf(stderr, "test_chart: cannot make the temporary files in %s\n", dir);
		return 2;
	}
	rc = unit_run("chart", tests, sizeof tests / sizeof tests[0]);
	if (remove_files() < 0)
		fprintf(stderr, "test_chart: cannot remove %s\n", dir);
	return rc;
}
