/* options.c - conform's command line: the help text, parsing and the checks that refuse a run that
 * could not test what was meant (a mistyped --only, a host name, conflicting targets). */
#include "options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "case.h"
#include "cli.h"
#include "util.h"

/* The cases outside the table: the server's stop and the random sequences. */
#define STOP_CASE_ID "exec/stop/sigterm"
#define RANDOM_CASE_ID "random/seed-S"

void options_usage(FILE *f)
{
	/* clang-format off */
	fprintf(f,
		"usage: conform [--tcp HOST:PORT] [--udp HOST:PORT] [--exec CMD | --exec-tcp CMD | --exec-udp CMD]\n"
		"               [--only GLOB]... [--strict] [--timeout SECONDS] [--retries N] [--nofile N]\n"
		"               [--nofile-many N] [--start-timeout SECONDS]\n"
		"               [--resets N] [--pid PID]\n"
		"               [--junit FILE] [--json FILE] [--tap] [--pcap-dir DIR]\n"
		"               [--random N [--seed S] [--seeds-dir DIR]] [--patient] [--repeat N] [--list]\n"
		"Tests an uppercase-protocol server against SPEC.md, case by case.\n"
		"Targets (loopback only: 127.0.0.0/8 or ::1; any other address is refused):\n"
		"  --tcp HOST:PORT     a running TCP server ([::1]:PORT for IPv6)\n"
		"  --udp HOST:PORT     a running UDP server\n"
		"  --exec CMD          start the server under test (/bin/sh -c CMD) serving both TCP and UDP;\n"
		"  --exec-tcp CMD      ... serving TCP only;  --exec-udp CMD  ... serving UDP only (both may be given).\n"
		"                      '{port}' in CMD becomes a free port; the server may instead print\n"
		"                      'listening on tcp|udp ADDR:PORT' (stdout or stderr; IPv6 lines give the IPv6\n"
		"                      target). conform waits until it listens (with {port} and no line: a TCP\n"
		"                      connect completes, a UDP probe brings no ICMP port unreachable; a server\n"
		"                      that is up but never answers fails its cases), runs it with RLIMIT_NOFILE lowered\n"
		"                      (--nofile; --nofile-many for tcp/many/2000), notices when it dies (that case fails; it is restarted for the\n"
		"                      rest) and stops it at the end (SIGTERM to its process group, SIGKILL after 2 s).\n"
		"Cases:\n"
		"  --list              list the cases: id, SPEC rule, MUST/SHOULD, description\n"
		"  --only GLOB         run only cases whose id matches (fnmatch; repeatable)\n"
		"  --strict            failing SHOULD cases fail the run too\n"
		"  --timeout SECONDS   bound on every wait without progress (default 2; a unit is allowed: 500ms,\n"
		"                      2s, 1m; from 10ms to 10m); a case's whole run is\n"
		"                      bounded by 10 timeouts (the 16 MiB case by max(30 timeouts, 60 s))\n"
		"  --retries N         a case that timed out is run again up to N times (default 1); a wrong\n"
		"                      answer is never retried\n"
		"  --nofile N          soft descriptor limit of an --exec server once it listens, so that a leak\n"
		"                      shows soon (default 256, 0 leaves its limits)\n"
		"  --nofile-many N     its hard limit, to which the soft one is raised for tcp/many/2000 only\n"
		"                      (default 4096)\n"
		"  --pid PID           a running server (--tcp/--udp) whose memory, descriptors and threads the\n"
		"                      */resources/* cases measure (PID and its descendants, from /proc); an\n"
		"                      --exec server is measured without it\n"
		"  --resets N          resets done by tcp/reset/repeated (default 2*nofile+50, or 600)\n"
		"  --start-timeout SECONDS  how long an --exec server may take to listen (default 10)\n"
		"  --patient           run every case against a dead target too. Without it, after 3 failed cases\n"
		"                      in a row of one transport in which the server answered nothing (no byte, no\n"
		"                      datagram; 1 once the other transport was given up), that transport's other\n"
		"                      cases and the random phase are reported 'not reached' (exit 1), and a case\n"
		"                      that timed out with nothing answered after another such one is not retried\n"
		"  --repeat N          run the cases (and the random phase) N times against the same server and\n"
		"                      print how often each case failed (a flakiness table); exit 1 when any case\n"
		"                      failed in any round; the reports hold each case once, with its worst round\n"
		"Output:\n"
		"  a summary per case on stdout (on stderr when a report goes to stdout); --junit FILE,\n"
		"  --json FILE (FILE '-': stdout), --tap (stdout); one report at most on stdout\n"
		"  --pcap-dir DIR      a pcap of each failing case's exchange, DIR/<id with / as _>.pcap (DIR\n"
		"                      is created when missing, its parent is not)\n"
		"  -v                  print each case's note (server stop time, bytes before backpressure) too\n"
		"Random phase:\n"
		"  --random N          N random sequences over tens of TCP connections (and [::1] when the\n"
		"                      target has it): pipelined sends, half-closes and resets while output is\n"
		"                      owed, stalled readers beside served ones (T7), UDP bursts from many\n"
		"                      senders. A failure is shrunk, printed with its seed and written as fuzz\n"
		"                      inputs. --only 'random/*': this phase alone. --random 1000 against the\n"
		"                      reference servers takes about 40 s (65 s on a busy host)\n"
		"  --seed S            first sequence's seed (default: from the clock; printed)\n"
		"  --seeds-dir DIR     a failure's fuzz inputs, DIR/random_seed-S.tcp-K and .udp (default:\n"
		"                      --pcap-dir, else out/conform; created when missing, not its parent)\n"
		"Exit status: 0 every MUST case passed (and SHOULD with --strict), 1 a case failed, 2 could not\n"
		"test (bad options, an --only that matches no case, nothing listening, server did not start,\n"
		"every selected case skipped) or a report, pcap or stdout could not be written.\n"
		"Examples:\n"
		"  conform --exec-tcp 'tcp-upper -l 0' --exec-udp 'udp-upper -l 0' --only '*/transform/*' --timeout 500ms\n"
		"  conform --exec 'python3 servers/python/corrected.py {port}' --only 'udp/size/*' --json -\n"
		"  conform --list\n");
	/* clang-format on */
}

/* --seed S: the first random sequence's seed, and that one was given. */
static int take_seed(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	struct options *o = dest;
	const struct cli_option seed = {
	    "seed", 0, CLI_UNSIGNED, CLI_INTEGER(o->seed), .max = UINT64_MAX, .flags = CLI_NAME_SPACE};

	if (cli_take_value(&seed, name, arg, err, errlen) < 0)
		return -1;
	o->seed_given = 1;
	return 0;
}

/* Runs the option table over argv into o (only_list collects --only). */
static enum options_action take_options(int argc, char **argv, struct options *o, struct cli_list *only_list,
                                        char *err, size_t errlen)
{
	double timeout_s = o->timeout_ms / 1000.0, start_s = o->start_ms / 1000.0;
	const struct cli_option options[] = {
	    {"tcp", 0, CLI_STRING, .dest = &o->tcp},
	    {"udp", 0, CLI_STRING, .dest = &o->udp},
	    {"exec", 0, CLI_STRING, .dest = &o->exec_both},
	    {"exec-tcp", 0, CLI_STRING, .dest = &o->exec_tcp},
	    {"exec-udp", 0, CLI_STRING, .dest = &o->exec_udp},
	    {"timeout", 0, CLI_SECONDS, .dest = &timeout_s, .min_seconds = 0.01, .max_seconds = 600,
	     .flags = CLI_NAME_SPACE},
	    {"start-timeout", 0, CLI_SECONDS, .dest = &start_s, .min_seconds = 0.01, .max_seconds = 600,
	     .flags = CLI_NAME_SPACE},
	    {"retries", 0, CLI_UNSIGNED, CLI_INTEGER(o->retries), .max = 10, .flags = CLI_NAME_SPACE},
	    {"nofile", 0, CLI_UNSIGNED, CLI_INTEGER(o->nofile), .max = 1 << 20, .flags = CLI_NAME_SPACE},
	    {"resets", 0, CLI_UNSIGNED, CLI_INTEGER(o->resets), .min = 1, .max = 100000,
	     .flags = CLI_NAME_SPACE},
	    {"nofile-many", 0, CLI_UNSIGNED, CLI_INTEGER(o->nofile_many), .min = 32, .max = 1 << 20,
	     .flags = CLI_NAME_SPACE},
	    {"pid", 0, CLI_UNSIGNED, CLI_INTEGER(o->pid), .min = 2, .max = 1 << 22, .flags = CLI_NAME_SPACE},
	    {"list", 0, CLI_FLAG, CLI_INTEGER(o->list)},
	    {"only", 0, CLI_LIST, .dest = only_list},
	    {"strict", 0, CLI_FLAG, CLI_INTEGER(o->strict)},
	    {"junit", 0, CLI_STRING, .dest = &o->junit},
	    {"json", 0, CLI_STRING, .dest = &o->json},
	    {"tap", 0, CLI_FLAG, CLI_INTEGER(o->tap)},
	    {"pcap-dir", 0, CLI_STRING, .dest = &o->pcap_dir},
	    {"random", 0, CLI_UNSIGNED, CLI_INTEGER(o->random_count), .max = 1000000,
	     .flags = CLI_NAME_SPACE},
	    {"seed", 0, CLI_CUSTOM, .dest = o, .custom = take_seed},
	    {"seeds-dir", 0, CLI_STRING, .dest = &o->seeds_dir},
	    /* the dead-target exit and the flakiness table */
	    {"patient", 0, CLI_FLAG, CLI_INTEGER(o->patient)},
	    {"repeat", 0, CLI_UNSIGNED, CLI_INTEGER(o->repeat), .min = 1, .max = 1000,
	     .flags = CLI_NAME_SPACE},
	    {NULL, 'v', CLI_FLAG, CLI_INTEGER(o->verbose)},
	    {"help", 'h', CLI_HELP, .dest = NULL},
	    CLI_TABLE_END};

	switch (cli_parse(options, argc, argv, err, errlen)) {
	case CLI_PARSE_OK:
		break;
	case CLI_PARSE_HELP:
		return OPTIONS_HELP;
	case CLI_PARSE_VERSION:
		return OPTIONS_VERSION;
	case CLI_PARSE_MISSING_ARGUMENT:
	case CLI_PARSE_BAD_OPTION:
	case CLI_PARSE_BAD_VALUE:
		return OPTIONS_INVALID;
	}
	o->timeout_ms = (int)(timeout_s * 1000 + 0.5);
	o->start_ms = (int)(start_s * 1000 + 0.5);
	o->only_count = only_list->count;
	o->stdout_report = o->tap + util_is_stdout(o->json) + util_is_stdout(o->junit);
	if (o->stdout_report > 1) {
		snprintf(err, errlen, "--tap, --json - and --junit - each write to stdout: give one of them");
		return OPTIONS_INVALID;
	}
	if ((o->seed_given || o->seeds_dir) && o->random_count == 0) {
		snprintf(err, errlen, "%s applies to the random phase: give --random N too",
		         o->seed_given ? "--seed" : "--seeds-dir");
		return OPTIONS_INVALID;
	}
	if (o->nofile > 0 && o->nofile < 32) {
		snprintf(err, errlen, "--nofile %d: a server needs at least 32 descriptors", o->nofile);
		return OPTIONS_INVALID;
	}
	return OPTIONS_RUN;
}

/* An output directory's parent must exist (the one rule of every program: the directory itself is
 * created when missing, a mistyped path is refused); --pcap-dir is made and checked before the run, and
 * --seeds-dir, made only when a random sequence fails, is checked here so that a typo costs no run. */
static int check_out_parent(const char *option, const char *dir, char *err, size_t errlen)
{
	char parent[4096];
	struct stat st;
	char *slash;

	if (dir == NULL || stat(dir, &st) == 0 || strlen(dir) >= sizeof parent)
		return 0;
	snprintf(parent, sizeof parent, "%s", dir);
	while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' && slash != parent)
		*slash = '\0';
	slash = strrchr(parent, '/');
	if (slash == NULL)
		return 0;
	slash == parent ? (void)(slash[1] = '\0') : (void)(*slash = '\0');
	if (stat(parent, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	snprintf(err, errlen, "%s %s: its parent directory %s does not exist (create it first)", option, dir,
	         parent);
	return -1;
}

/* A mistyped --only would otherwise run nothing, or less than meant, and still pass. */
static int check_only(const struct options *o, char *err, size_t errlen)
{
	for (int i = 0; i < o->only_count; i++) {
		int hit =
		    fnmatch(o->only[i], STOP_CASE_ID, 0) == 0 || fnmatch(o->only[i], RANDOM_CASE_ID, 0) == 0;
		for (size_t k = 0; k < case_table_count && !hit; k++)
			hit = fnmatch(o->only[i], case_table[k].id, 0) == 0;
		if (!hit) {
			snprintf(err, errlen, "--only '%s' matches no case id (see --list)", o->only[i]);
			return -1;
		}
	}
	return 0;
}

/* A target given by name would need a DNS lookup, which is traffic to a resolver that may not be on
 * loopback: only numeric addresses (and localhost, from /etc/hosts) are taken. */
static int check_numeric(const char *option, const char *s, char *err, size_t errlen)
{
	const char *colon = s != NULL ? strrchr(s, ':') : NULL;
	char host[64];
	struct in_addr a4;
	if (s == NULL || s[0] == '[' || colon == NULL || (size_t)(colon - s) >= sizeof host)
		return 0; /* none, an IPv6 literal, or a form net_parse rejects with its own message */
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (host[0] == '\0' || strcmp(host, "localhost") == 0 || inet_pton(AF_INET, host, &a4) == 1)
		return 0;
	snprintf(err, errlen,
	         "%s '%s': give a numeric loopback address (127.0.0.1:PORT or [::1]:PORT); conform looks up "
	         "no names",
	         option, s);
	return -1;
}

/* The targets: at least one, each transport named once, no empty command, numeric addresses. */
static int check_targets(const struct options *o, char *err, size_t errlen)
{
	const char *const commands[3] = {o->exec_both, o->exec_tcp, o->exec_udp};
	const char *const names[3] = {"--exec", "--exec-tcp", "--exec-udp"};
	for (int i = 0; i < 3; i++)
		if (commands[i] != NULL && commands[i][strspn(commands[i], " \t\n")] == '\0') {
			snprintf(err, errlen, "%s: the server command is empty", names[i]);
			return -1;
		}
	if (o->exec_both && (o->exec_tcp || o->exec_udp))
		snprintf(err, errlen,
		         "--exec serves both transports; use --exec-tcp/--exec-udp instead of it");
	else if ((o->exec_both || o->exec_tcp) && o->tcp)
		snprintf(err, errlen, "--tcp and an --exec serving TCP both name the TCP target");
	else if ((o->exec_both || o->exec_udp) && o->udp)
		snprintf(err, errlen, "--udp and an --exec serving UDP both name the UDP target");
	else if (!o->tcp && !o->udp && !o->exec_both && !o->exec_tcp && !o->exec_udp)
		snprintf(err, errlen, "nothing to test: give --tcp, --udp or --exec (see --help)");
	else if (o->pid > 0 && (o->exec_both || o->exec_tcp || o->exec_udp))
		snprintf(err, errlen,
		         "--pid names a server conform did not start (--tcp/--udp); an --exec "
		         "server is measured without it");
	else if (o->pid > 0 && kill((pid_t)o->pid, 0) < 0 && errno == ESRCH)
		snprintf(err, errlen, "--pid %d: no such process", o->pid);
	else
		return check_numeric("--tcp", o->tcp, err, errlen) < 0 ||
		               check_numeric("--udp", o->udp, err, errlen) < 0
		           ? -1
		           : 0;
	return -1;
}

enum options_action options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
	struct cli_list only_list;
	enum options_action action;

	*o = (struct options){.timeout_ms = 2000,
	                      .start_ms = 10000,
	                      .retries = 1,
	                      .nofile = 256,
	                      .nofile_many = 4096,
	                      .repeat = 1};
	only_list = (struct cli_list){o->only, OPTIONS_MAX_ONLY, 0};
	action = take_options(argc, argv, o, &only_list, err, errlen);
	if (action != OPTIONS_RUN)
		return action;
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return OPTIONS_INVALID;
	}
	if (check_only(o, err, errlen) < 0)
		return OPTIONS_INVALID;
	if (check_out_parent("--seeds-dir", o->seeds_dir, err, errlen) < 0)
		return OPTIONS_INVALID;
	if (o->list)
		return OPTIONS_LIST;
	return check_targets(o, err, errlen) < 0 ? OPTIONS_INVALID : OPTIONS_RUN;
}

int options_selected(const struct options *o, const char *id)
{
	if (o->only_count == 0)
		return 1;
	for (int i = 0; i < o->only_count; i++)
		if (fnmatch(o->only[i], id, 0) == 0)
			return 1;
	return 0;
}
