/* options.h - conform's command line. */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OPTIONS_MAX_ONLY 32

struct options {
	const char *tcp, *udp;                       /* --tcp, --udp: running servers */
	const char *exec_both, *exec_tcp, *exec_udp; /* --exec, --exec-tcp, --exec-udp: server commands */
	int timeout_ms, start_ms, retries, nofile, resets;
	int nofile_many; /* --nofile-many: an --exec server's hard descriptor limit (room for tcp/many/2000)
	                  */
	int pid;         /* --pid: a running server's process, measured by the resource cases (0: none) */
	int list, strict, tap, verbose;
	const char *only[OPTIONS_MAX_ONLY];
	int only_count;
	const char *junit, *json, *pcap_dir;
	long random_count;
	const char *seeds_dir; /* --seeds-dir: a failing random sequence's fuzz inputs (NULL: default) */
	uint64_t seed;
	int seed_given;
	int stdout_report; /* a report (--tap, --json -, --junit -) goes to stdout: the summary to stderr */
	int patient;       /* --patient: run every case against a dead target too */
	int repeat;        /* --repeat N: rounds of the suite (1: once) */
};

/* What the command line asks for. */
enum options_action {
	OPTIONS_RUN = 0, /* test the target */
	OPTIONS_LIST,    /* --list */
	OPTIONS_HELP,    /* --help */
	OPTIONS_VERSION, /* --version */
	OPTIONS_INVALID  /* a usage error; the reason is in err */
};

/* Parses and checks the command line into o. */
enum options_action options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);

/* Writes the help text to f. */
void options_usage(FILE *f);

/* Whether a case id is selected by the --only globs (every id when none was given). */
int options_selected(const struct options *o, const char *id);

#endif
