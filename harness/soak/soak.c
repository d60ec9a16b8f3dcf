/* soak.c - the abuse suite: runs each case against the reference servers (or a given command), then
 * writes the figures as JSON and as a Markdown table (out/soak/), and optionally into RELIABILITY.md
 * between its figure markers; beside them, per case, the server's memory and descriptors sampled while it
 * ran (CASE.csv) and their chart (CASE.svg). Exit status 0 when every case held, 1 when one did not, 2 on a
 * usage or set-up error. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chart.h"
#include "cli.h"
#include "report.h"
#include "soak.h"
#include "util.h"

#define MAX_RESULTS 32

typedef int (*soak_case_fn)(struct soak_server *, const struct soak_plan *, struct soak_figures *);

struct soak_case {
	const char *name;
	int proto; /* the server it needs: CHILD_TCP or CHILD_UDP */
	soak_case_fn run;
	double share; /* of the time bound */
	long nofile;  /* the server's descriptor limit */
};

static const struct soak_case cases[] = {
    {"reset-storm", CHILD_TCP, soak_reset_storm, 0.10, 4096},
    {"unsent-bound", CHILD_TCP, soak_unsent_bound, 0.05, 4096},
    {"backpressure", CHILD_TCP, soak_backpressure, 0.35, 4096},
    {"slow-clients", CHILD_TCP, soak_slow_clients, 0.10, 4096},
    {"half-open", CHILD_TCP, soak_half_open, 0.05, 4096},
    {"descriptors", CHILD_TCP, soak_descriptors, 0.05, 64},
    {"udp-flood", CHILD_UDP, soak_udp_flood, 0.15, 4096},
    {"sigterm", CHILD_TCP, soak_sigterm, 0.05, 4096},
    {"sigterm-udp", CHILD_UDP, soak_sigterm, 0.05, 4096},
};
#define NCASES (sizeof cases / sizeof cases[0])

struct options {
	const char *bindir, *outdir, *only, *tcp_command, *udp_command, *name, *reliability, *label;
	struct soak_plan plan;
	int repeat;
	int no_gnuplot; /* set once gnuplot is found missing: no more charts are tried */
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: soak [-b BINDIR] [-T SECONDS] [-o DIR] [-c CASE,...] [-n CLIENTS] [-s BYTES]\n"
	    "            [-r N] [--small] [--tcp CMD] [--udp CMD] [--name NAME] [--reliability FILE]\n"
	    "Abuses the reference servers (BINDIR/tcp-upper, BINDIR/udp-upper; default build/std/bin) and\n"
	    "reports, per case, the load held, the bytes verified, descriptors and memory before, at peak\n"
	    "and after, and the time to recover.\n"
	    "  -T SECONDS   time bound of the whole run (default 180), shared among the cases\n"
	    "  -o DIR       where soak.json, figures.md and per case CASE.csv (the server's memory and\n"
	    "               descriptors every 250 ms) and its chart CASE.svg go (default out/soak);\n"
	    "               CASE-N.csv with -r; charts need gnuplot ($GNUPLOT), without it soak says so\n"
	    "  -c CASES     only these cases: reset-storm unsent-bound backpressure slow-clients half-open\n"
	    "               descriptors udp-flood sigterm sigterm-udp\n"
	    "  -n CLIENTS   backpressure clients (default 500); -s BYTES each (default 10m)\n"
	    "  -r N         run each case N times (default 1)\n"
	    "  --client-buffer BYTES  SO_RCVBUF and SO_SNDBUF of each backpressure client (default 128k;\n"
	    "               0 leaves the kernel's default and its autotuning)\n"
	    "  --small      the short version (make check): fewer clients and bytes\n"
	    "  --tcp CMD, --udp CMD  run this server instead ({port} allowed), named --name NAME\n"
	    "  --identity   the server given echoes bytes unchanged (a comparison, such as bench/echo)\n"
	    "  --reliability FILE  also write the table into FILE between the markers\n"
	    "               <!-- soak figures LABEL begin --> and <!-- soak figures LABEL end -->\n"
	    "  --label LABEL  names the build in those markers (default std)\n"
	    "  -T and every duration take a unit too: 500ms, 90s, 3m. -o DIR is created when missing, its\n"
	    "  parent is not.\n"
	    "Examples (make soak runs every case, -T 3m each build):\n"
	    "  soak -b build/std/bin -T 2s --small -c sigterm,sigterm-udp -o /tmp/soak-sigterm\n"
	    "  soak -b build/std/bin -T 1s --small -c reset-storm -o /tmp/soak-resets\n");
}

/* Parses the command line into o. Returns CLI_OUTCOME_GO_ON, or what main should end with. */
static enum cli_outcome parse(int argc, char **argv, struct options *o)
{
	uint64_t clients = (uint64_t)o->plan.clients, repeat = (uint64_t)o->repeat;
	const struct cli_option table[] = {
	    {.short_name = 'b', .kind = CLI_STRING, .dest = &o->bindir},
	    {.short_name = 'o', .kind = CLI_STRING, .dest = &o->outdir},
	    {.short_name = 'c', .kind = CLI_STRING, .dest = &o->only},
	    {.short_name = 'T',
	     .kind = CLI_SECONDS,
	     .dest = &o->plan.seconds,
	     .min_seconds = 1,
	     .max_seconds = 86400},
	    {.short_name = 'n', .kind = CLI_UNSIGNED, CLI_INTEGER(clients), .min = 1, .max = 20000},
	    {.short_name = 's',
	     .kind = CLI_UNSIGNED,
	     CLI_INTEGER(o->plan.bytes),
	     .min = 1,
	     .max = 1u << 30,
	     .flags = CLI_SUFFIXES},
	    {.short_name = 'r', .kind = CLI_UNSIGNED, CLI_INTEGER(repeat), .min = 1, .max = 100},
	    {.long_name = "client-buffer",
	     .kind = CLI_UNSIGNED,
	     CLI_INTEGER(o->plan.socket_buffer),
	     .max = 64u << 20,
	     .flags = CLI_SUFFIXES},
	    {.long_name = "small", .kind = CLI_FLAG, CLI_INTEGER(o->plan.small)},
	    {.long_name = "identity", .kind = CLI_FLAG, CLI_INTEGER(o->plan.identity)},
	    {.long_name = "tcp", .kind = CLI_STRING, .dest = &o->tcp_command},
	    {.long_name = "udp", .kind = CLI_STRING, .dest = &o->udp_command},
	    {.long_name = "name", .kind = CLI_STRING, .dest = &o->name},
	    {.long_name = "label", .kind = CLI_STRING, .dest = &o->label},
	    {.long_name = "reliability", .kind = CLI_STRING, .dest = &o->reliability},
	    {.long_name = "help", .short_name = 'h', .kind = CLI_HELP},
	    CLI_TABLE_END};
	char err[256];
	enum cli_outcome r =
	    cli_outcome(cli_parse(table, argc, argv, err, sizeof err), "soak", err, usage, stdout, stderr);

	o->plan.clients = (int)clients;
	o->repeat = (int)repeat;
	if (r == CLI_OUTCOME_GO_ON && optind != argc) {
		cli_usage_errorf(stderr, "soak", "unexpected argument '%s'", argv[optind]);
		return CLI_OUTCOME_BAD;
	}
	if (r == CLI_OUTCOME_GO_ON && o->plan.identity && o->tcp_command == NULL && o->udp_command == NULL) {
		cli_usage_error(
		    stderr, "soak",
		    "--identity describes a server given with --tcp or --udp, not the reference ones");
		return CLI_OUTCOME_BAD;
	}
	return r;
}

static int wanted(const struct options *o, const char *name)
{
	size_t n = strlen(name);

	if (o->only == NULL)
		return 1;
	for (const char *p = o->only; (p = strstr(p, name)) != NULL; p += n)
		if ((p == o->only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

static void print_row(FILE *f, const struct soak_figures *r)
{
	fprintf(f, "| %s | %s | %s | %ld/%ld | %llu | %ld/%ld/%ld | %.1f/%.1f/%.1f | %ld | %.2f | %s |\n",
	        r->name, r->server, r->ok ? "held" : "FAILED", r->load, r->offered,
	        (unsigned long long)r->bytes_verified, r->fds_before, r->fds_peak, r->fds_after,
	        r->rss_before / 1024.0, r->rss_peak / 1024.0, r->rss_after / 1024.0, r->recover_ms, r->secs,
	        r->note);
}

static void print_table(FILE *f, const struct soak_figures *r, size_t n)
{
	fprintf(f, "| case | server | result | load held | bytes verified | fds before/peak/after | "
	           "RSS MB before/peak/after | recover ms | s | note |\n"
	           "|---|---|---|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < n; i++)
		print_row(f, &r[i]);
}

static void write_json(FILE *f, const struct soak_figures *r, size_t n)
{
	fprintf(f, "{\"cases\": [");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s\n  {\"case\": ", i ? "," : "");
		rep_json_str(f, r[i].name);
		fprintf(f, ", \"server\": ");
		rep_json_str(f, r[i].server);
		fprintf(f,
		        ", \"ok\": %s, \"load\": %ld, \"offered\": %ld, \"bytes_verified\": %llu, "
		        "\"fds\": [%ld, %ld, %ld], \"rss_kib\": [%ld, %ld, %ld], \"recover_ms\": %ld, "
		        "\"seconds\": %.2f, \"note\": ",
		        r[i].ok ? "true" : "false", r[i].load, r[i].offered,
		        (unsigned long long)r[i].bytes_verified, r[i].fds_before, r[i].fds_peak,
		        r[i].fds_after, r[i].rss_before, r[i].rss_peak, r[i].rss_after, r[i].recover_ms,
		        r[i].secs);
		rep_json_str(f, r[i].note);
		fprintf(f, "}");
	}
	fprintf(f, "\n]}\n");
}

/* Replaces the text between label's figure markers in path with the table. */
static int write_reliability(const char *path, const char *label, const struct soak_figures *r, size_t n)
{
	char begin[128], end[128];
	FILE *f = fopen(path, "r");
	char *text = NULL, *b, *e;
	size_t len = 0;

	snprintf(begin, sizeof begin, "<!-- soak figures %s begin -->\n", label);
	snprintf(end, sizeof end, "<!-- soak figures %s end -->", label);
	if (f == NULL || getdelim(&text, &len, '\0', f) < 0 || (b = strstr(text, begin)) == NULL ||
	    (e = strstr(b, end)) == NULL) {
		fprintf(stderr, "soak: %s: no soak figure markers found; not written\n", path);
		if (f != NULL)
			fclose(f);
		free(text);
		return -1;
	}
	fclose(f);
	f = fopen(path, "w");
	if (f == NULL) {
		free(text);
		return -1;
	}
	fwrite(text, 1, (size_t)(b - text) + strlen(begin), f);
	print_table(f, r, n);
	fputs(e, f);
	free(text);
	return util_flush_ok(f) == 0 && fclose(f) == 0 ? 0 : -1;
}

/* Draws the chart of a case's samples (csv, a name ending in .csv) beside them, as .svg. Says on stderr
 * why it drew none, which is never a failure of the case; after a missing gnuplot it tries no more. */
static void draw_case(struct options *o, const char *csv, const struct soak_figures *f)
{
	static const struct chart_series series[] = {
	    {"rss_kib", "server resident memory (KiB, left)", 0},
	    {"fds", "server descriptors (right)", 1},
	    {"harness_fds", "descriptors of soak, the clients (right)", 1},
	};
	char svg[1024], title[256], why[512];
	struct chart chart = {.csv = csv,
	                      .svg = svg,
	                      .title = title,
	                      .xlabel = "seconds since the case's server started",
	                      .ylabel = "resident memory (KiB)",
	                      .y2label = "open descriptors",
	                      .xcolumn = "elapsed_s",
	                      .style = CHART_LINES,
	                      .series = series,
	                      .nseries = sizeof series / sizeof series[0]};
	enum chart_result r;

	if (o->no_gnuplot)
		return;
	snprintf(svg, sizeof svg, "%.*s.svg", (int)strlen(csv) - 4, csv);
	snprintf(title, sizeof title, "soak %s: %s against %s (%s), every %d ms", o->label, f->name,
	         f->server, f->ok ? "held" : "FAILED", SOAK_SAMPLE_MS);
	r = chart_draw(&chart, why, sizeof why);
	if (r == CHART_NO_GNUPLOT)
		o->no_gnuplot = 1;
	if (r != CHART_DRAWN)
		fprintf(stderr, "soak: no chart drawn: %s; the figures are in CSV (%s)\n", why, csv);
}

/* Runs case k (its repetition rep) with the sampler beside it, then draws the samples. */
static int run_case(struct options *o, const struct soak_case *k, int rep, struct soak_figures *f)
{
	char command[1024], err[400], csv[1024];
	struct soak_sampler *sampler;
	long rows;
	const char *given = k->proto == CHILD_TCP ? o->tcp_command : o->udp_command;
	struct soak_server s = {.proto = k->proto, .nofile = k->nofile};
	struct soak_plan plan = o->plan;

	snprintf(command, sizeof command, "%s/%s -l 127.0.0.1:{port}", o->bindir,
	         k->proto == CHILD_TCP ? "tcp-upper" : "udp-upper");
	s.command = given != NULL ? given : command;
	s.name = o->name != NULL ? o->name : k->proto == CHILD_TCP ? "tcp-upper" : "udp-upper";
	plan.seconds = o->plan.seconds * k->share;
	memset(f, 0, sizeof *f);
	f->name = k->name;
	f->server = s.name;
	if (soak_server_start(&s, err, sizeof err) < 0) {
		snprintf(f->note, sizeof f->note, "cannot start: %s", err);
		return -1;
	}
	if (o->repeat > 1)
		snprintf(csv, sizeof csv, "%s/%s-%d.csv", o->outdir, k->name, rep + 1);
	else
		snprintf(csv, sizeof csv, "%s/%s.csv", o->outdir, k->name);
	sampler = soak_sampler_start(child_pid(s.child), csv, err, sizeof err);
	if (sampler == NULL)
		fprintf(stderr, "soak: %s: no samples: %s\n", k->name, err);
	uint64_t t0 = util_now_ns();
	int r = k->run(&s, &plan, f);
	if (f->secs == 0)
		f->secs = (double)(util_now_ns() - t0) / 1e9;
	if (child_dead(s.child, err, sizeof err) && k->run != soak_sigterm) {
		f->ok = 0;
		snprintf(f->note, sizeof f->note, "the server died: %s", err);
	}
	rows = sampler != NULL ? soak_sampler_stop(sampler, err, sizeof err) : 0;
	soak_server_stop(&s, 3000);
	if (rows < 0)
		fprintf(stderr, "soak: %s: %s\n", csv, err);
	else if (rows >= 2)
		draw_case(o, csv, f);
	return r;
}

static int write_outputs(const struct options *o, const struct soak_figures *r, size_t n)
{
	char path[1024];
	FILE *f;
	int rc = 0;

	print_table(stdout, r, n);
	snprintf(path, sizeof path, "%s/soak.json", o->outdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	write_json(f, r, n);
	rc |= fclose(f);
	snprintf(path, sizeof path, "%s/figures.md", o->outdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	print_table(f, r, n);
	rc |= fclose(f);
	if (o->reliability != NULL)
		rc |= write_reliability(o->reliability, o->label, r, n);
	return rc == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct options o = {.bindir = "build/std/bin",
	                    .outdir = "out/soak",
	                    .repeat = 1,
	                    .label = "std",
	                    .plan = {.seconds = 180,
	                             .clients = 500,
	                             .bytes = 10u << 20,
	                             .socket_buffer = 128 * 1024,
	                             .fill_quiet = 3,
	                             .stall = 20}};
	static struct soak_figures results[MAX_RESULTS];
	size_t n = 0;
	int failed = 0;

	enum cli_outcome parsed = parse(argc, argv, &o);
	if (parsed != CLI_OUTCOME_GO_ON)
		return parsed == CLI_OUTCOME_HELP ? 0 : 2;
	if (o.plan.small) {
		o.plan.clients = o.plan.clients < 40 ? o.plan.clients : 40;
		o.plan.bytes = o.plan.bytes < (1u << 20) ? o.plan.bytes : 1u << 20;
		o.plan.fill_quiet = 1;
	}
	signal(SIGPIPE, SIG_IGN);
	(void)util_raise_nofile(LONG_MAX);
	char err[512];
	/* -o DIR follows the one rule for output directories; the default's parent is made too */
	if ((strcmp(o.outdir, "out/soak") == 0 ? util_mkdir_p(o.outdir, 0777, err, sizeof err)
	                                       : util_mkdir_out(o.outdir, err, sizeof err)) < 0) {
		fprintf(stderr, "soak: -o %s\n", err);
		return 2;
	}
	for (int rep = 0; rep < o.repeat; rep++)
		for (size_t i = 0; i < NCASES && n < MAX_RESULTS; i++) {
			if (!wanted(&o, cases[i].name))
				continue;
			if (run_case(&o, &cases[i], rep, &results[n]) < 0 || !results[n].ok)
				failed = 1;
			fprintf(stderr, "soak: %s %s: %s%s%s\n", results[n].server, cases[i].name,
			        results[n].ok ? "held" : "FAILED", results[n].note[0] ? ": " : "",
			        results[n].note);
			n++;
		}
	if (write_outputs(&o, results, n) < 0) {
		fprintf(stderr, "soak: cannot write the figures to %s\n", o.outdir);
		return 2;
	}
	return failed;
}
