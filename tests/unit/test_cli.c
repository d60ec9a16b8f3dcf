/* test_cli.c - lib/cli.c: each kind of option, the messages of bad options and values, --help. */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "unit.h"

/* What the test table fills. */
struct values {
	int flag, count;
	long jobs;
	uint64_t size;
	double seconds;
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
	    {{"-T", "0"}, CLI_PARSE_BAD_VALUE, "-T: '0' is not more than 0 seconds"},
	    {{"-T", "abc"}, CLI_PARSE_BAD_VALUE, "-T: "},
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
	    {"values of each kind", test_values},        {"operands mixed with options", test_operands},
	    {"bad options and values", test_errors},     {"a full repeatable option", test_list_full},
	    {"one value outside argv", test_take_value},
	};

	return unit_run("cli", tests, sizeof tests / sizeof tests[0]);
}
