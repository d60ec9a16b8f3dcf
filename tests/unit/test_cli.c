/* test_cli.c - lib/cli.c: each kind of option, the messages of bad options and values, --help,
 * --version, durations with units, and the one format every program prints a usage error in. */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "unit.h"

/* What the test table fills. */
struct values {
	int flag, count;
	long jobs;
	uint64_t size;
	double seconds, factor;
	const char *name, *custom;
	const char *items[2];
	struct cli_list list;
};

static int take_custom(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	if (strcmp(arg, "yes") != 0 && strcmp(arg, "no") != 0) {
		snprintf(err, errlen, "%s %s: expected yes or no", name, arg);
		return -1;
	}
	*(const char **)dest = arg;
	return 0;
}

/* Parses the words (argv[0] "prog" added) into v with the test table. */
static enum cli_parse_result parse(struct values *v, char *err, size_t errlen, const char *const *words)
{
	const struct cli_option table[] = {
	    {"flag", 'f', CLI_FLAG, CLI_INTEGER(v->flag), .set_to = 7},
	    {"count", 'c', CLI_UNSIGNED, CLI_INTEGER(v->count), .min = 1, .max = 64},
	    {"jobs", 0, CLI_UNSIGNED, CLI_INTEGER(v->jobs), .min = 1, .max = 256,
	     .reason = "expected 1..256"},
	    {"size", 0, CLI_UNSIGNED, CLI_INTEGER(v->size), .min = 1, .max = UINT64_MAX,
	     .flags = CLI_SUFFIXES | CLI_NAME_SPACE},
	    {"time", 'T', CLI_SECONDS, .dest = &v->seconds, .max_seconds = 60, .flags = CLI_ABOVE_MIN},
	    {"factor", 0, CLI_NUMBER, .dest = &v->factor, .max_seconds = 100, .flags = CLI_ABOVE_MIN},
	    {"name", 'n', CLI_STRING, .dest = &v->name},
	    {"only", 0, CLI_LIST, .dest = &v->list},
	    {"answer", 0, CLI_CUSTOM, .dest = &v->custom, .custom = take_custom},
	    {"help", 'h', CLI_HELP, .dest = NULL},
	    CLI_TABLE_END};
	char *argv[24];
	int argc = 0;

	memset(v, 0, sizeof *v);
	v->list = (struct cli_list){v->items, 2, 0};
	argv[argc++] = (char *)"prog";
	while (*words != NULL && argc < 23)
		argv[argc++] = (char *)*words++;
	argv[argc] = NULL;
	err[0] = '\0';
	return cli_parse(table, argc, argv, err, errlen);
}

static void test_values(void)
{
	const char *words[] = {"-f",     "--count=12", "--jobs",   "8",   "--size", "2k",
	                       "-T",     "0.5",        "-n",       "x",   "--only", "a",
	                       "--only", "b",          "--answer", "yes", NULL};
	struct values v;
	char err[256];

	CHECK(parse(&v, err, sizeof err, words) == CLI_PARSE_OK, "parse: %s", err);
	CHECK(v.flag == 7, "flag %d", v.flag);
	CHECK(v.count == 12, "count %d", v.count);
	CHECK(v.jobs == 8, "jobs %ld", v.jobs);
	CHECK(v.size == 2048, "size %llu", (unsigned long long)v.size);
	CHECK(v.seconds == 0.5, "seconds %g", v.seconds);
	CHECK(v.name && strcmp(v.name, "x") == 0, "name");
	CHECK(v.list.count == 2 && strcmp(v.items[1], "b") == 0, "list %d", v.list.count);
	CHECK(v.custom && strcmp(v.custom, "yes") == 0, "custom");
}

static void test_operands(void)
{
	const char *words[] = {"one", "-c", "3", "two", NULL};
	struct values v;
	char err[256];

	CHECK(parse(&v, err, sizeof err, words) == CLI_PARSE_OK, "parse: %s", err);
	CHECK(v.count == 3, "count %d", v.count);
	CHECK(optind == 3, "operands start at %d", optind);
}

static void test_errors(void)
{
	static const struct {
		const char *words[4];
		enum cli_parse_result result;
		const char *message;
	} rows[] = {
	    {{"-x"}, CLI_PARSE_BAD_OPTION, "-x: unknown option"},
	    {{"--bogus"}, CLI_PARSE_BAD_OPTION, "--bogus: unknown option"},
	    {{"--name"}, CLI_PARSE_MISSING_ARGUMENT, "--name: missing argument"},
	    {{"-c"}, CLI_PARSE_MISSING_ARGUMENT, "-c: missing argument"},
	    {{"--flag=1"}, CLI_PARSE_BAD_OPTION, "--flag: takes no argument"},
	    {{"-c", "0"}, CLI_PARSE_BAD_VALUE, "-c: '0' is not a number from 1 to 64"},
	    {{"--jobs", "300"}, CLI_PARSE_BAD_VALUE, "--jobs 300: expected 1..256"},
	    {{"--size", "x"}, CLI_PARSE_BAD_VALUE, "--size 'x'"},
	    {{"-T", "0"}, CLI_PARSE_BAD_VALUE, "-T: '0' is not more than 0 s"},
	    {{"-T", "0ms"}, CLI_PARSE_BAD_VALUE, "-T: '0ms' is not more than 0 s"},
	    {{"-T", "abc"}, CLI_PARSE_BAD_VALUE, "-T: 'abc' is not a duration from 0 to 60 s"},
	    {{"-T", "5x"}, CLI_PARSE_BAD_VALUE, "-T: '5x' is not a duration"},
	    {{"-T", "2m"}, CLI_PARSE_BAD_VALUE, "-T: '2m' is not a duration from 0 to 60 s"},
	    {{"-T", "ms"}, CLI_PARSE_BAD_VALUE, "-T: 'ms' is not a duration"},
	    {{"-T", "-1s"}, CLI_PARSE_BAD_VALUE, "-T: '-1s' is not a duration"},
	    {{"--factor", "2s"}, CLI_PARSE_BAD_VALUE, "--factor: '2s' is not a number above 0 to 100"},
	    {{"--factor", "0"}, CLI_PARSE_BAD_VALUE, "--factor: '0' is not a number above 0"},
	    {{"--version"}, CLI_PARSE_VERSION, ""},
	    {{"-c", "3", "--version", "-x"}, CLI_PARSE_VERSION, ""},
	    {{"--version=1"}, CLI_PARSE_BAD_OPTION, "--version: takes no argument"},
	    {{"--answer", "maybe"}, CLI_PARSE_BAD_VALUE, "--answer maybe: expected yes or no"},
	    {{"--only", "a", "--only", "b"}, CLI_PARSE_OK, ""},
	    {{"-h", "-x"}, CLI_PARSE_HELP, ""},
	    {{"-x", "-h"}, CLI_PARSE_BAD_OPTION, "-x: unknown option"},
	};
	struct values v;
	char err[256];

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		enum cli_parse_result r = parse(&v, err, sizeof err, rows[i].words);
		CHECK(r == rows[i].result, "row %zu: result %d, want %d (%s)", i, (int)r, (int)rows[i].result,
		      err);
		CHECK(strncmp(err, rows[i].message, strlen(rows[i].message)) == 0, "row %zu: '%s', want '%s'",
		      i, err, rows[i].message);
	}
}

/* A duration is seconds, or a number with ms, s, m or h. */
static void test_durations(void)
{
	static const struct {
		const char *arg;
		double seconds;
	} rows[] = {{"2", 2},   {"0.5", 0.5}, {"500ms", 0.5}, {"2s", 2},
	            {"1m", 60}, {"0.5m", 30}, {"1e1s", 10}};
	struct values v;
	char err[256];

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const char *words[] = {"-T", rows[i].arg, NULL};
		CHECK(parse(&v, err, sizeof err, words) == CLI_PARSE_OK, "-T %s: %s", rows[i].arg, err);
		CHECK(v.seconds > rows[i].seconds - 1e-9 && v.seconds < rows[i].seconds + 1e-9,
		      "-T %s: %g, want %g", rows[i].arg, v.seconds, rows[i].seconds);
	}
	const char *factor[] = {"--factor", "2.5", NULL};
	CHECK(parse(&v, err, sizeof err, factor) == CLI_PARSE_OK && v.factor == 2.5, "--factor 2.5: %s", err);
}

static void usage_text(FILE *f)
{
	fputs("usage: prog [-c N]\n", f);
}

/* Runs cli_outcome for r and message; what it wrote to out and err lands in the two buffers. */
static enum cli_outcome outcome(enum cli_parse_result r, const char *message, char *out, char *err,
                                size_t len)
{
	FILE *o, *e;
	enum cli_outcome oc;

	memset(out, 0, len);
	memset(err, 0, len);
	o = fmemopen(out, len, "w");
	e = fmemopen(err, len, "w");
	CU_ASSERT_FATAL(o != NULL && e != NULL);
	oc = cli_outcome(r, "prog", message, usage_text, o, e);
	fclose(o);
	fclose(e);
	return oc;
}

/* Every usage error reads the same: one line naming the option, then where help is; never the usage. */
static void test_outcome(void)
{
	static const enum cli_parse_result bad[] = {CLI_PARSE_BAD_OPTION, CLI_PARSE_MISSING_ARGUMENT,
	                                            CLI_PARSE_BAD_VALUE};
	char out[256], err[256], want[128];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(outcome(bad[i], "-x: unknown option", out, err, sizeof out) == CLI_OUTCOME_BAD,
		      "bad %zu", i);
		CHECK(out[0] == '\0', "bad %zu: wrote '%s' to out", i, out);
		CHECK(strcmp(err, "prog: -x: unknown option\nTry 'prog --help' for more information.\n") == 0,
		      "bad %zu: '%s'", i, err);
	}
	CHECK(outcome(CLI_PARSE_HELP, "", out, err, sizeof out) == CLI_OUTCOME_HELP, "help");
	CHECK(strcmp(out, "usage: prog [-c N]\n") == 0 && err[0] == '\0', "help: '%.100s' '%.100s'", out,
	      err);
	CHECK(outcome(CLI_PARSE_VERSION, "", out, err, sizeof out) == CLI_OUTCOME_HELP, "version");
	snprintf(want, sizeof want, "prog (capslock) %s\n", cli_version());
	CHECK(strcmp(out, want) == 0 && err[0] == '\0', "version: '%.100s' '%.100s'", out, err);
	CHECK(strcmp(cli_version(), "unknown") != 0 && strchr(cli_version(), '.') != NULL, "version '%s'",
	      cli_version());
	CHECK(outcome(CLI_PARSE_OK, "", out, err, sizeof out) == CLI_OUTCOME_GO_ON, "ok");
	CHECK(out[0] == '\0' && err[0] == '\0', "ok wrote '%.100s' '%.100s'", out, err);

	FILE *e = fmemopen(err, sizeof err, "w");
	CU_ASSERT_FATAL(e != NULL);
	cli_usage_errorf(e, "prog", "unexpected argument '%s'", "z");
	fclose(e);
	CHECK(strcmp(err, "prog: unexpected argument 'z'\nTry 'prog --help' for more information.\n") == 0,
	      "usage error: '%s'", err);
}

static void test_list_full(void)
{
	const char *words[] = {"--only", "a", "--only", "b", "--only", "c", NULL};
	struct values v;
	char err[256];

	CHECK(parse(&v, err, sizeof err, words) == CLI_PARSE_BAD_VALUE, "a third --only is refused");
	CHECK(strcmp(err, "at most 2 --only options") == 0, "message '%s'", err);
}

static void test_take_value(void)
{
	uint64_t runs = 0;
	const struct cli_option runs_option = {"runs",   'n',     CLI_UNSIGNED, CLI_INTEGER(runs),
	                                       .min = 1, .max = 9};
	char err[256];

	CHECK(cli_take_value(&runs_option, "RUNS", "4", err, sizeof err) == 0 && runs == 4, "RUNS=4");
	CHECK(cli_take_value(&runs_option, "RUNS", "10", err, sizeof err) < 0 &&
	          strncmp(err, "RUNS: ", 6) == 0,
	      "RUNS=10: '%s'", err);
}

int main(void)
{
	static const struct unit_test tests[] = {
	    {"values of each kind", test_values},
	    {"operands mixed with options", test_operands},
	    {"bad options and values", test_errors},
	    {"a full repeatable option", test_list_full},
	    {"one value outside argv", test_take_value},
	    {"durations with units", test_durations},
	    {"the usage error's one format, --version", test_outcome},
	};

	return unit_run("cli", tests, sizeof tests / sizeof tests[0]);
}
