/* cli.h - the one command-line parser and its conventions: a program describes its options in a table
 * (long name, short letter, kind, destination) and cli_parse runs getopt_long over argv, checks and
 * stores each value; --version comes with every table. A bad option or value comes back as a result
 * code with a message naming the option; cli_outcome and cli_usage_error print it the one way every
 * program does (one line, then "Try 'PROG --help' for more information.", exit 2). Writes only to the
 * streams it is given; no exit. */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What an option takes and how its destination is filled. */
enum cli_kind {
	CLI_END = 0,  /* ends a table (CLI_TABLE_END) */
	CLI_FLAG,     /* no argument: stores set_to (1 when set_to is 0) in the integer at dest */
	CLI_STRING,   /* stores the argument in the const char * at dest (the last one given wins) */
	CLI_LIST,     /* repeatable string: appends the argument to the struct cli_list at dest */
	CLI_UNSIGNED, /* whole number in [min, max] (util_parse_u64) stored in the integer at dest */
	CLI_SECONDS,  /* a duration in [min_seconds, max_seconds] (util_parse_duration: a bare number is
	               * seconds, or 500ms, 2s, 1m, 1h) stored in seconds in the double at dest */
	CLI_NUMBER, /* a plain decimal number (no unit) in [min_seconds, max_seconds] in the double at dest */
	CLI_CUSTOM, /* the argument is given to custom(name, arg, dest, err, errlen) */
	CLI_HELP    /* no argument: cli_parse returns CLI_PARSE_HELP at once */
};

/* Flags of an option. */
enum cli_flag {
	CLI_SUFFIXES = 1,   /* CLI_UNSIGNED: k, m, g multiply by 1024, 1024^2, 1024^3 */
	CLI_ABOVE_MIN = 2,  /* CLI_SECONDS, CLI_NUMBER: min_seconds itself is refused */
	CLI_NAME_SPACE = 4, /* a bad number without reason reads "NAME why" rather than "NAME: why" */
	CLI_QUOTE_VALUE = 8 /* a bad number with reason reads "NAME 'ARG': reason" */
};

/* A repeatable option's values: items has room for capacity of them, count are taken. */
struct cli_list {
	const char **items;
	int capacity;
	int count;
};

/* One option. An option is named in messages by its short letter ("-T") when it has one, else by
 * its long name ("--timeout"). */
struct cli_option {
	const char *long_name; /* NULL: short letter only */
	int short_name;        /* 0: long name only */
	enum cli_kind kind;
	void *dest;
	size_t size;                     /* CLI_FLAG, CLI_UNSIGNED: sizeof the integer at dest (1, 2, 4, 8) */
	uint64_t min, max;               /* CLI_UNSIGNED bounds */
	double min_seconds, max_seconds; /* CLI_SECONDS bounds */
	unsigned flags;                  /* enum cli_flag bits */
	int set_to;                      /* CLI_FLAG value */
	/* CLI_UNSIGNED, CLI_SECONDS: when set, a bad value is reported as "NAME ARG: reason" instead of
	 * "NAME: why" with the number parser's own why. */
	const char *reason;
	/* CLI_CUSTOM: takes arg into dest (name is how messages name the option); returns 0, or -1 with
	 * the whole message in err. */
	int (*custom)(const char *name, const char *arg, void *dest, char *err, size_t errlen);
};

/* The destination of a CLI_FLAG or CLI_UNSIGNED option: its address and size. */
#define CLI_INTEGER(lvalue) .dest = &(lvalue), .size = sizeof(lvalue)

/* The entry that ends a table. */
#define CLI_TABLE_END                                                                                        \
	{                                                                                                    \
		.kind = CLI_END                                                                              \
	}

/* The outcome of cli_parse. */
enum cli_parse_result {
	CLI_PARSE_OK,               /* every option taken; operands start at argv[optind] */
	CLI_PARSE_HELP,             /* a CLI_HELP option was given (options after it are not looked at) */
	CLI_PARSE_BAD_OPTION,       /* an unknown option, or an argument given to a flag */
	CLI_PARSE_MISSING_ARGUMENT, /* an option that takes an argument came last without it */
	CLI_PARSE_BAD_VALUE,        /* an option's argument was refused */
	CLI_PARSE_VERSION           /* --version was given (every table has it unless it names its own) */
};

/* Runs getopt_long over argv (from argv[1], afresh each call) with the options of table (ended by
 * CLI_TABLE_END, at most 64 options), storing each value as it comes; options and operands may be
 * mixed (GNU order). getopt's own messages are off: a bad option is named in err, for example
 * "-x: unknown option", "--tcp: missing argument", "--list: takes no argument"; a bad value too, for
 * example "-c: '0' is not a number from 1 to 64". optind and optopt are left where getopt_long left
 * them (argv[optind - 1] is the offending word after CLI_PARSE_BAD_OPTION). A "--version" that the
 * table does not name itself returns CLI_PARSE_VERSION. */
enum cli_parse_result cli_parse(const struct cli_option *table, int argc, char **argv, char *err,
                                size_t errlen);

/* What a program does with cli_parse()'s result, writing only to the streams it is given: for
 * CLI_PARSE_OK nothing, returns CLI_OUTCOME_GO_ON; for CLI_PARSE_HELP writes the usage to out, for
 * CLI_PARSE_VERSION the version line (cli_print_version), and returns CLI_OUTCOME_HELP (the program
 * ends with 0 once out is flushed); for an unknown option, a missing argument or a refused value
 * writes the message as cli_usage_error() does and returns CLI_OUTCOME_BAD (the program ends with 2).
 * The usage is never written to err. */
enum cli_outcome { CLI_OUTCOME_GO_ON, CLI_OUTCOME_HELP, CLI_OUTCOME_BAD };
enum cli_outcome cli_outcome(enum cli_parse_result r, const char *prog, const char *message,
                             void (*usage)(FILE *), FILE *out, FILE *err);

/* Writes a usage error the one way: "PROG: MESSAGE" on one line, then "Try 'PROG --help' for more
 * information." (a program that found a bad operand or contradictory options after cli_parse, then
 * exits 2). */
void cli_usage_error(FILE *err, const char *prog, const char *message);

/* The same with a printf format. */
void cli_usage_errorf(FILE *err, const char *prog, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* The version of capslock, from the VERSION file at the top of the tree ("X.Y.Z"). */
const char *cli_version(void);

/* Writes "PROG (capslock) X.Y.Z" and a newline to out. */
void cli_print_version(FILE *out, const char *prog);

/* Takes one value for option as cli_parse would, naming it name in a message (for example an
 * environment variable that stands in for the option). Returns 0, or -1 with the message in err. */
int cli_take_value(const struct cli_option *option, const char *name, const char *arg, char *err,
                   size_t errlen);

#endif
