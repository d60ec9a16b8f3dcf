/* chart.h - draws line and bar charts from a CSV file as SVG through gnuplot (Debian gnuplot-nox), the one
 * place that draws pictures. Never prints, never exits. */
#ifndef CHART_H
#define CHART_H

#include <stddef.h>

/* How the series are drawn. */
enum chart_style {
	CHART_LINES, /* x from a numeric column, one line per series */
	CHART_BARS   /* one group of bars per CSV row, labelled by the x column, one bar per series */
};

/* A CSV column to plot. */
struct chart_series {
	const char *column; /* its name in the CSV's first row */
	const char *title;  /* its name in the key; NULL: the column name */
	int right_axis;     /* nonzero: on the right-hand y axis (y2label) */
};

/* One chart. Zero-initialise, then set what is needed. */
struct chart {
	const char *csv; /* input: first row the column names; fields separated by commas, never quoted (a
	                  * label holds no comma); an empty field is a missing value */
	const char *svg; /* output, replaced only once gnuplot has drawn it completely */
	const char *title, *xlabel, *ylabel, *y2label; /* NULL: none */
	const char *xcolumn;                           /* x values (lines) or bar labels (bars) */
	enum chart_style style;
	const struct chart_series *series;
	size_t nseries;
	int log_y;          /* nonzero: logarithmic y axes; otherwise they start at 0 ... */
	int fit_left;       /* ... unless this is nonzero: then the left y axis spans the data's range */
	double reference_y; /* nonzero: a dashed horizontal line at this y (a bar to meet) */
	double timeout_s;   /* bound on gnuplot's run (0: 10 s); it is killed after that */
};

/* What chart_draw() did. */
enum chart_result {
	CHART_DRAWN = 0,  /* the SVG is written */
	CHART_NO_GNUPLOT, /* gnuplot could not be started; nothing written */
	CHART_FAILED      /* the chart is malformed, or gnuplot ran and failed or took too long */
};

/* Runs gnuplot (the program named by $GNUPLOT, default "gnuplot", looked up in PATH) through child_run()
 * (child.h) with a generated script on its stdin, in its own process group, stdout to /dev/null, no
 * descriptor of the caller but 0-2 inherited; writes c->svg. CHART_NO_GNUPLOT when it cannot be started, why
 * beginning "gnuplot not found" and ending "(Debian: apt-get install gnuplot-nox); no picture drawn";
 * CHART_FAILED with the reason in why (a malformed chart, an unreadable CSV, gnuplot's first error line, or
 * the time bound passed). Returns CHART_DRAWN otherwise. Blocks at most about c->timeout_s. */
enum chart_result chart_draw(const struct chart *c, char *why, size_t whylen);

#endif
