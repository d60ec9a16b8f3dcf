/* cli.c - the table-driven command-line parser over getopt_long. */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* The Makefile passes it from the VERSION file; a build that does not (an outside fuzz build) says so. */
#ifndef CAPSLOCK_VERSION
#define CAPSLOCK_VERSION "unknown"
#endif

#define CLI_MAX_OPTIONS 64
#define CLI_VERSION_CODE 255 /* getopt code of the --version every table gets */
#define CLI_LONG_CODE                                                                                        \
	256 /* getopt code of table entry i without a short letter: CLI_LONG_CODE +                          \
	       i */

/* Stores value in the integer of size bytes at dest. */
static void store_integer(void *dest, size_t size, uint64_t value)
{
	if (size == sizeof(uint8_t)) {
		uint8_t v = (uint8_t)value;
		memcpy(dest, &v, size);
	} else if (size == sizeof(uint16_t)) {
		uint16_t v = (uint16_t)value;
		memcpy(dest, &v, size);
	} else if (size == sizeof(uint32_t)) {
		uint32_t v = (uint32_t)value;
		memcpy(dest, &v, size);
	} else {
		memcpy(dest, &value, sizeof value);
	}
}

/* Writes a bad number's message: "NAME ARG: reason" with the option's own reason, else the number
 * parser's reason after the name. */
static void bad_number(const struct cli_option *option, const char *name, const char *arg, const char *why,
                       char *err, size_t errlen)
{
	if (option->reason != NULL)
		snprintf(err, errlen, option->flags & CLI_QUOTE_VALUE ? "%s '%s': %s" : "%s %s: %s", name,
		         arg, option->reason);
	else
		snprintf(err, errlen, "%s%s%s", name, option->flags & CLI_NAME_SPACE ? " " : ": ", why);
}

int cli_take_value(const struct cli_option *option, const char *name, const char *arg, char *err,
                   size_t errlen)
{
	struct cli_list *list;
	char why[256];
	uint64_t number;
	double seconds;

	switch (option->kind) {
	case CLI_FLAG:
		store_integer(option->dest, option->size, (uint64_t)(option->set_to ? option->set_to : 1));
		return 0;
	case CLI_STRING:
		*(const char **)option->dest = arg;
		return 0;
	case CLI_LIST:
		list = option->dest;
		if (list->count >= list->capacity) {
			snprintf(err, errlen, "at most %d %s options", list->capacity, name);
			return -1;
		}
		list->items[list->count++] = arg;
		return 0;
	case CLI_UNSIGNED:
		if (util_parse_u64(arg, option->min, option->max, (option->flags & CLI_SUFFIXES) != 0,
		                   &number, why, sizeof why) < 0) {
			bad_number(option, name, arg, why, err, errlen);
			return -1;
		}
		store_integer(option->dest, option->size, number);
		return 0;
	case CLI_SECONDS:
		if (util_parse_duration(arg, option->min_seconds, option->max_seconds, &seconds, why,
		                        sizeof why) < 0) {
			bad_number(option, name, arg, why, err, errlen);
			return -1;
		}
		if ((option->flags & CLI_ABOVE_MIN) && !(seconds > option->min_seconds)) {
			snprintf(why, sizeof why, "'%s' is not more than %g s", arg, option->min_seconds);
			bad_number(option, name, arg, why, err, errlen);
			return -1;
		}
		*(double *)option->dest = seconds;
		return 0;
	case CLI_NUMBER:
		if (util_parse_seconds(arg, option->min_seconds, option->max_seconds, &seconds, why,
		                       sizeof why) < 0 ||
		    ((option->flags & CLI_ABOVE_MIN) && !(seconds > option->min_seconds))) {
			snprintf(why, sizeof why, "'%s' is not a number %s %g to %g", arg,
			         option->flags & CLI_ABOVE_MIN ? "above" : "from", option->min_seconds,
			         option->max_seconds);
			bad_number(option, name, arg, why, err, errlen);
			return -1;
		}
		*(double *)option->dest = seconds;
		return 0;
	case CLI_CUSTOM:
		return option->custom(name, arg, option->dest, err, errlen);
	case CLI_HELP:
	case CLI_END:
		break;
	}
	return 0;
}

/* The name of table entry option in messages: "-x", or "--long" without a short letter. */
static const char *option_name(const struct cli_option *option, char *buf, size_t len)
{
	if (option->short_name != 0)
		snprintf(buf, len, "-%c", option->short_name);
	else
		snprintf(buf, len, "--%s", option->long_name);
	return buf;
}

/* Names the word getopt_long refused (code '?' or ':'): for a long option optopt is no help, so it
 * is named from argv. */
static void bad_option(const struct option *longs, char **argv, int code, char *err, size_t errlen)
{
	const char *word = argv[optind - 1];
	int length = (int)strcspn(word, "="), known = 0;

	if (strncmp(word, "--", 2) != 0) {
		snprintf(err, errlen, "-%c: %s", optopt, code == ':' ? "missing argument" : "unknown option");
		return;
	}
	for (int n = 0; longs[n].name != NULL && length > 2; n++)
		known |= strncmp(longs[n].name, word + 2, (size_t)length - 2) == 0;
	snprintf(err, errlen, "%.*s: %s", length, word,
	         code == ':'             ? "missing argument"
	         : known && word[length] ? "takes no argument"
	                                 : "unknown option");
}

/* Builds getopt_long's short string and long table from table, with --version unless the table
 * names it. Returns the number of entries, or -1 when the table is too long. */
static int build(const struct cli_option *table, char *shorts, struct option *longs)
{
	int n, s = 0, l = 0, version = 1;

	shorts[s++] = ':';
	for (n = 0; table[n].kind != CLI_END; n++) {
		int has_argument = table[n].kind != CLI_FLAG && table[n].kind != CLI_HELP;
		if (n == CLI_MAX_OPTIONS)
			return -1;
		if (table[n].short_name != 0) {
			shorts[s++] = (char)table[n].short_name;
			if (has_argument)
				shorts[s++] = ':';
		}
		if (table[n].long_name != NULL)
			longs[l++] = (struct option){
			    table[n].long_name, has_argument ? required_argument : no_argument, NULL,
			    table[n].short_name ? table[n].short_name : CLI_LONG_CODE + n};
		if (table[n].long_name != NULL && strcmp(table[n].long_name, "version") == 0)
			version = 0;
	}
	if (version)
		longs[l++] = (struct option){"version", no_argument, NULL, CLI_VERSION_CODE};
	shorts[s] = '\0';
	longs[l] = (struct option){NULL, 0, NULL, 0};
	return n;
}

/* The table entry getopt_long's code stands for, or NULL. */
static const struct cli_option *find(const struct cli_option *table, int count, int code)
{
	if (code >= CLI_LONG_CODE && code < CLI_LONG_CODE + count)
		return &table[code - CLI_LONG_CODE];
	for (int n = 0; n < count; n++)
		if (code != 0 && table[n].short_name == code)
			return &table[n];
	return NULL;
}

enum cli_parse_result cli_parse(const struct cli_option *table, int argc, char **argv, char *err,
                                size_t errlen)
{
	char shorts[3 * CLI_MAX_OPTIONS + 2], name[64];
	struct option longs[CLI_MAX_OPTIONS + 2];
	int count = build(table, shorts, longs), code;

	if (count < 0) {
		snprintf(err, errlen, "more than %d options in the table", CLI_MAX_OPTIONS);
		return CLI_PARSE_BAD_OPTION;
	}
	opterr = 0;
	optind = 0; /* glibc: start afresh at argv[1], even after an earlier parse */
	while ((code = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct cli_option *option = find(table, count, code);
		if (code == CLI_VERSION_CODE)
			return CLI_PARSE_VERSION;
		if (code == '?' || code == ':' || option == NULL) {
			bad_option(longs, argv, code, err, errlen);
			return code == ':' ? CLI_PARSE_MISSING_ARGUMENT : CLI_PARSE_BAD_OPTION;
		}
		if (option->kind == CLI_HELP)
			return CLI_PARSE_HELP;
		if (cli_take_value(option, option_name(option, name, sizeof name), optarg, err, errlen) < 0)
			return CLI_PARSE_BAD_VALUE;
	}
	return CLI_PARSE_OK;
}

void cli_usage_error(FILE *err, const char *prog, const char *message)
{
	fprintf(err, "%s: %s\nTry '%s --help' for more information.\n", prog, message, prog);
}

void cli_usage_errorf(FILE *err, const char *prog, const char *format, ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, format);
	vsnprintf(message, sizeof message, format, ap);
	va_end(ap);
	cli_usage_error(err, prog, message);
}

const char *cli_version(void)
{
	return CAPSLOCK_VERSION;
}

void cli_print_version(FILE *out, const char *prog)
{
	fprintf(out, "%s (capslock) %s\n", prog, CAPSLOCK_VERSION);
}

enum cli_outcome cli_outcome(enum cli_parse_result r, const char *prog, const char *message,
                             void (*usage)(FILE *), FILE *out, FILE *err)
{
	switch (r) {
	case CLI_PARSE_OK:
		return CLI_OUTCOME_GO_ON;
	case CLI_PARSE_HELP:
		usage(out);
		return CLI_OUTCOME_HELP;
	case CLI_PARSE_VERSION:
		cli_print_version(out, prog);
		return CLI_OUTCOME_HELP;
	case CLI_PARSE_MISSING_ARGUMENT:
	case CLI_PARSE_BAD_OPTION:
	case CLI_PARSE_BAD_VALUE:
		break;
	}
	cli_usage_error(err, prog, message);
	return CLI_OUTCOME_BAD;
}
