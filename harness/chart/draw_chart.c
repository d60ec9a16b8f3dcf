/* draw_chart.c - draw-chart: lib/chart's line and bar charts from a CSV file as a command, so that the
 * orchestration scripts (make fuzz, make bench, make bench-fuzz) draw through the one chart module the
 * C programs use. Exit 0 drawn, 3 gnuplot missing (nothing written), 1 gnuplot failed, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chart.h"
#include "cli.h"

#define MAX_SERIES 16

static void usage(FILE *f)
{
	fputs(
	    "usage: draw-chart --csv FILE --svg FILE --x COLUMN --series COLUMN[:TITLE[:right]] ...\n"
	    "                  [--bars] [--title T] [--xlabel T] [--ylabel T] [--y2label T]\n"
	    "                  [--log-y] [--fit-left] [--reference Y] [--timeout SECONDS]\n"
	    "Draws the CSV's columns as an SVG through gnuplot (lib/chart.h): one line per --series against\n"
	    "the numeric --x column, or with --bars one group of bars per row labelled by --x. A series\n"
	    "ending in ':right' is drawn on the right-hand axis. The SVG is replaced only once drawn.\n"
	    "Exit status: 0 drawn; 1 gnuplot failed or timed out, or the chart is malformed; 2 usage;\n"
	    "3 gnuplot not found (nothing drawn). The reason goes to stderr.\n"
	    "Examples:\n"
	    "  draw-chart --csv docs/charts/soak-reset-storm.csv --svg /tmp/soak.svg --x elapsed_s \\\n"
	    "             --series rss_kib:KiB --series fds:descriptors:right --timeout 10s\n"
	    "  draw-chart --csv docs/charts/bench-ratios.csv --svg /tmp/ratios.svg --x label --bars --series "
	    "ref_over_echo:reference/echo\n",
	    f);
}

/* Splits "COLUMN[:TITLE[:right]]" in place into s. Returns 0, or -1 with the reason in err. */
static int take_series(char *spec, struct chart_series *s, char *err, size_t errlen)
{
	char *title = strchr(spec, ':');
	char *side = NULL;

	memset(s, 0, sizeof *s);
	s->column = spec;
	if (title != NULL) {
		*title++ = '\0';
		side = strrchr(title, ':');
		if (side != NULL && strcmp(side + 1, "right") == 0) {
			*side = '\0';
			s->right_axis = 1;
		}
		s->title = *title != '\0' ? title : NULL;
	}
	if (*spec == '\0') {
		snprintf(err, errlen, "--series: empty column name");
		return -1;
	}
	return 0;
}

static int take_reference(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	char *end;
	double v = strtod(arg, &end);

	if (*arg == '\0' || *end != '\0' || !(v == v)) {
		snprintf(err, errlen, "%s: '%s' is not a number", name, arg);
		return -1;
	}
	*(double *)dest = v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *items[MAX_SERIES];
	struct cli_list specs = {.items = items, .capacity = MAX_SERIES};
	struct chart_series series[MAX_SERIES];
	struct chart c = {.style = CHART_LINES};
	int bars = 0;
	char err[512], why[1024];
	const struct cli_option table[] = {
	    {"csv", 0, CLI_STRING, .dest = &c.csv},
	    {"svg", 0, CLI_STRING, .dest = &c.svg},
	    {"x", 0, CLI_STRING, .dest = &c.xcolumn},
	    {"series", 0, CLI_LIST, .dest = &specs},
	    {"bars", 0, CLI_FLAG, CLI_INTEGER(bars)},
	    {"title", 0, CLI_STRING, .dest = &c.title},
	    {"xlabel", 0, CLI_STRING, .dest = &c.xlabel},
	    {"ylabel", 0, CLI_STRING, .dest = &c.ylabel},
	    {"y2label", 0, CLI_STRING, .dest = &c.y2label},
	    {"log-y", 0, CLI_FLAG, CLI_INTEGER(c.log_y)},
	    {"fit-left", 0, CLI_FLAG, CLI_INTEGER(c.fit_left)},
	    {"reference", 0, CLI_CUSTOM, .dest = &c.reference_y, .custom = take_reference},
	    {"timeout", 0, CLI_SECONDS, .dest = &c.timeout_s, .min_seconds = 0, .max_seconds = 3600,
	     .flags = CLI_ABOVE_MIN},
	    {"help", 'h', CLI_HELP, .dest = NULL},
	    CLI_TABLE_END};
	enum cli_outcome outcome = cli_outcome(cli_parse(table, argc, argv, err, sizeof err), "draw-chart",
	                                       err, usage, stdout, stderr);
	enum chart_result r;

	if (outcome != CLI_OUTCOME_GO_ON)
		return outcome == CLI_OUTCOME_HELP ? 0 : 2;
	if (optind < argc) {
		cli_usage_errorf(stderr, "draw-chart", "unexpected operand '%s'", argv[optind]);
		return 2;
	}
	if (c.csv == NULL || c.svg == NULL || c.xcolumn == NULL || specs.count == 0) {
		cli_usage_error(stderr, "draw-chart",
		                "--csv, --svg, --x and at least one --series are required");
		return 2;
	}
	for (int i = 0; i < specs.count; i++) {
		if (take_series((char *)specs.items[i], &series[i], err, sizeof err) != 0) {
			cli_usage_error(stderr, "draw-chart", err);
			return 2;
		}
	}
	c.style = bars ? CHART_BARS : CHART_LINES;
	c.series = series;
	c.nseries = (size_t)specs.count;
	r = chart_draw(&c, why, sizeof why);
	if (r != CHART_DRAWN) {
		fprintf(stderr, "draw-chart: %s\n", why);
		return r == CHART_NO_GNUPLOT ? 3 : 1;
	}
	return 0;
}
