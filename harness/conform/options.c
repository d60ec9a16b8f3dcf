/* options.c - conform's command line: the help text, parsing and the checks that refuse a run that
 * could not test what was meant (a mistyped --only, a host name, conflicting targets). */
#include "options.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <getopt.h>
#include <string.h>

#include "case.h"
#include "util.h"

/* The cases outside the table: the server's stop and the random sequences. */
#define STOP_CASE_ID "exec/stop/sigterm"
#define RANDOM_CASE_ID "random/seed-S"

void options_usage(FILE *f)
{
	/* clang-format off */
	fprintf(f,
		"usage: conform [--tcp HOST:PORT] [--udp HOST:PORT] [--exec CMD | --exec-tcp CMD | --exec-udp CMD]\n"
		"               [--only GLOB]... [--strict] [--timeout MS] [--retries N] [--nofile N] [--resets N]\n"
		"               [--junit FILE] [--json FILE] [--tap] [--pcap-dir DIR] [--random N [--seed S]] [--list]\n"
		"Tests an uppercase-protocol server against SPEC.md, case by case.\n"
		"Targets (loopback only: 127.0.0.0/8 or ::1; any other address is refused):\n"
		"  --tcp HOST:PORT     a running TCP server ([::1]:PORT for IPv6)\n"
		"  --udp HOST:PORT     a running UDP server\n"
		"  --exec CMD          start the server under test (/bin/sh -c CMD) serving both TCP and UDP;\n"
		"  --exec-tcp CMD      ... serving TCP only;  --exec-udp CMD  ... serving UDP only (both may be given).\n"
		"                      '{port}' in CMD becomes a free port; the server may instead print\n"
		"                      'listening on tcp|udp ADDR:PORT' (stdout or stderr; IPv6 lines give the IPv6\n"
		"                      target). conform waits until it listens, runs it with RLIMIT_NOFILE lowered\n"
		"                      (--nofile), notices when it dies (that case fails; it is restarted for the\n"
		"                      rest) and stops it at the end (SIGTERM to its process group, SIGKILL after 2 s).\n"
		"Cases:\n"
		"  --list              list the cases: id, SPEC rule, MUST/SHOULD, description\n"
		"  --only GLOB         run only cases whose id matches (fnmatch; repeatable)\n"
		"  --strict            failing SHOULD cases fail the run too\n"
		"  --timeout MS        bound on every wait without progress (default 2000); a case's whole run is\n"
		"                      bounded by 10 timeouts (the 16 MiB case by max(30 timeouts, 60 s))\n"
		"  --retries N         a case that timed out is run again up to N times (default 1); a wrong\n"
		"                      answer is never retried\n"
		"  --nofile N          descriptor limit of an --exec server (default 256, 0 leaves it)\n"
		"  --resets N          resets done by tcp/reset/repeated (default 2*nofile+50, or 600)\n"
		"  --start-timeout MS  how long an --exec server may take to listen (default 10000)\n"
		"Output:\n"
		"  a summary per case on stdout (stderr with --tap); --junit FILE, --json FILE, --tap (stdout);\n"
		"  --pcap-dir DIR      a pcap of each failing case's exchange, DIR/<id with / as _>.pcap\n"
		"  -v                  print each case's note (server stop time, bytes before backpressure) too\n"
		"Random phase:\n"
		"  --random N          N random sequences of sends, half-closes and resets over several\n"
		"                      connections and UDP senders, checked by the core's oracle; a failure is\n"
		"                      shrunk to a minimal sequence and printed with its seed\n"
		"  --seed S            first sequence's seed (default: from the clock; printed)\n"
		"Exit status: 0 every MUST case passed (and SHOULD with --strict), 1 a case failed, 2 could not\n"
		"test (bad options, an --only that matches no case, nothing listening, server did not start,\n"
		"every selected case skipped) or a report, pcap or stdout could not be written.\n");
	/* clang-format on */
}

enum option_code {
	OPTION_TCP = 256,
	OPTION_UDP,
	OPTION_EXEC,
	OPTION_EXEC_TCP,
	OPTION_EXEC_UDP,
	OPTION_TIMEOUT,
	OPTION_START,
	OPTION_RETRIES,
	OPTION_NOFILE,
	OPTION_RESETS,
	OPTION_LIST,
	OPTION_ONLY,
	OPTION_STRICT,
	OPTION_JUNIT,
	OPTION_JSON,
	OPTION_TAP,
	OPTION_PCAP_DIR,
	OPTION_RANDOM,
	OPTION_SEED,
	OPTION_HELP
};

/* clang-format off */
static const struct option long_options[] = {
	{"tcp", required_argument, 0, OPTION_TCP}, {"udp", required_argument, 0, OPTION_UDP},
	{"exec", required_argument, 0, OPTION_EXEC}, {"exec-tcp", required_argument, 0, OPTION_EXEC_TCP},
	{"exec-udp", required_argument, 0, OPTION_EXEC_UDP}, {"timeout", required_argument, 0, OPTION_TIMEOUT},
	{"start-timeout", required_argument, 0, OPTION_START}, {"retries", required_argument, 0, OPTION_RETRIES},
	{"nofile", required_argument, 0, OPTION_NOFILE}, {"resets", required_argument, 0, OPTION_RESETS},
	{"list", no_argument, 0, OPTION_LIST}, {"only", required_argument, 0, OPTION_ONLY},
	{"strict", no_argument, 0, OPTION_STRICT}, {"junit", required_argument, 0, OPTION_JUNIT},
	{"json", required_argument, 0, OPTION_JSON}, {"tap", no_argument, 0, OPTION_TAP},
	{"pcap-dir", required_argument, 0, OPTION_PCAP_DIR}, {"random", required_argument, 0, OPTION_RANDOM},
	{"seed", required_argument, 0, OPTION_SEED}, {"help", no_argument, 0, OPTION_HELP}, {0, 0, 0, 0}};
/* clang-format on */

/* Parses a number option into *out. Returns 0 or -1 with err ("--timeout 'abc' is not a number ..."). */
static int number(const char *option, const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
                  size_t errlen)
{
	char why[160];
	if (util_parse_u64(s, min, max, 0, out, why, sizeof why) == 0)
		return 0;
	snprintf(err, errlen, "%s %s", option, why);
	return -1;
}

static int int_option(const char *option, const char *s, int min, int max, int *out, char *err, size_t errlen)
{
	uint64_t v;
	if (number(option, s, (uint64_t)min, (uint64_t)max, &v, err, errlen) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

/* Takes one option with a number argument. Returns 0 or -1 with err. */
static int number_option(int code, const char *arg, struct options *o, char *err, size_t errlen)
{
	uint64_t v;
	switch (code) {
	case OPTION_TIMEOUT:
		return int_option("--timeout", arg, 10, 600000, &o->timeout_ms, err, errlen);
	case OPTION_START:
		return int_option("--start-timeout", arg, 10, 600000, &o->start_ms, err, errlen);
	case OPTION_RETRIES:
		return int_option("--retries", arg, 0, 10, &o->retries, err, errlen);
	case OPTION_RESETS:
		return int_option("--resets", arg, 1, 100000, &o->resets, err, errlen);
	case OPTION_NOFILE:
		if (int_option("--nofile", arg, 0, 1 << 20, &o->nofile, err, errlen) < 0)
			return -1;
		if (o->nofile > 0 && o->nofile < 32) {
			snprintf(err, errlen, "--nofile %d: a server needs at least 32 descriptors",
			         o->nofile);
			return -1;
		}
		return 0;
	case OPTION_RANDOM:
		if (number("--random", arg, 0, 1000000, &v, err, errlen) < 0)
			return -1;
		o->random_count = (long)v;
		return 0;
	case OPTION_SEED:
		o->seed_given = 1;
		return number("--seed", arg, 0, UINT64_MAX, &o->seed, err, errlen);
	default:
		return 0;
	}
}

/* Takes one option. Returns OPTIONS_RUN to go on, OPTIONS_HELP, or OPTIONS_INVALID with err. */
static enum options_action take_option(int code, const char *arg, struct options *o, char *err, size_t errlen)
{
	switch (code) {
	case OPTION_TCP:
		o->tcp = arg;
		break;
	case OPTION_UDP:
		o->udp = arg;
		break;
	case OPTION_EXEC:
		o->exec_both = arg;
		break;
	case OPTION_EXEC_TCP:
		o->exec_tcp = arg;
		break;
	case OPTION_EXEC_UDP:
		o->exec_udp = arg;
		break;
	case OPTION_LIST:
		o->list = 1;
		break;
	case OPTION_STRICT:
		o->strict = 1;
		break;
	case OPTION_JUNIT:
		o->junit = arg;
		break;
	case OPTION_JSON:
		o->json = arg;
		break;
	case OPTION_TAP:
		o->tap = 1;
		break;
	case OPTION_PCAP_DIR:
		o->pcap_dir = arg;
		break;
	case 'v':
		o->verbose = 1;
		break;
	case 'h':
	case OPTION_HELP:
		return OPTIONS_HELP;
	case OPTION_ONLY:
		if (o->only_count == OPTIONS_MAX_ONLY) {
			snprintf(err, errlen, "at most %d --only options", OPTIONS_MAX_ONLY);
			return OPTIONS_INVALID;
		}
		o->only[o->only_count++] = arg;
		break;
	default:
		if (number_option(code, arg, o, err, errlen) < 0)
			return OPTIONS_INVALID;
	}
	return OPTIONS_RUN;
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
	else
		return check_numeric("--tcp", o->tcp, err, errlen) < 0 ||
		               check_numeric("--udp", o->udp, err, errlen) < 0
		           ? -1
		           : 0;
	return -1;
}

enum options_action options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
	int code;
	memset(o, 0, sizeof *o);
	o->timeout_ms = 2000;
	o->start_ms = 10000;
	o->retries = 1;
	o->nofile = 256;
	opterr = 0;
	while ((code = getopt_long(argc, argv, "vh", long_options, NULL)) != -1) {
		if (code == '?' || code == ':') {
			snprintf(err, errlen, "unknown option or missing argument: '%s'", argv[optind - 1]);
			return OPTIONS_INVALID;
		}
		enum options_action action = take_option(code, optarg, o, err, errlen);
		if (action != OPTIONS_RUN)
			return action;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return OPTIONS_INVALID;
	}
	if (check_only(o, err, errlen) < 0)
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
