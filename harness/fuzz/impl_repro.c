/* impl_repro.c - impl-repro: replays fuzz inputs against a freshly started implementation over real
 * loopback sockets, with the judge of fuzz-impl-tcp and fuzz-impl-udp (impl.h), and prints each finding
 * as the fuzz targets do. The one-command reproducer of a finding of `make fuzz IMPL=...`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "impl.h"

#define MAX_INPUT (1024 * 1024)

static void usage(FILE *f)
{
	fputs(
	    "usage: impl-repro --exec 'CMD {port}' [--tcp | --udp] [options] INPUT...\n"
	    "       impl-repro --address 127.0.0.1:PORT [--tcp | --udp] [options] INPUT...\n"
	    "\n"
	    "Starts the server CMD ({port} becomes a free loopback port, as with conform --exec), plays "
	    "each\n"
	    "INPUT against it over real loopback sockets and judges every exchange with SPEC.md's rules, as\n"
	    "fuzz-impl-tcp and fuzz-impl-udp do. An INPUT is a fuzz_tcp script (--tcp, the default) or a\n"
	    "fuzz_udp sequence (--udp), the formats of lib/script.h: a crash file of fuzz-impl-*, a file of\n"
	    "corpus/fuzz_tcp or corpus/fuzz_udp. A server that dies is a finding, and is started again for\n"
	    "the next input. Each finding is one line on stdout:\n"
	    "  capslock-finding: RULE WHERE: WHAT\n"
	    "then 'impl-repro: INPUT: finding'. RULE is a SPEC rule (X1, T1-T9, U1-U6), DEATH, ASAN, UBSAN\n"
	    "or LEAK; WHERE a short place that stays the same for the same bug.\n"
	    "\n"
	    "options:\n"
	    "  --exec CMD        the server to start (run through /bin/sh when it has shell syntax)\n"
	    "  --address A:P     a running server instead (loopback only; no death, log or leak checks)\n"
	    "  --tcp, --udp      the protocol and input format (default --tcp)\n"
	    "  --idle-ms N       no progress for N ms is a finding (default 2000)\n"
	    "  --repeat N        play each input N times (a leak shows over many connections: LEAK is\n"
	    "                    judged at the end, against the server after the first input)\n"
	    "  --log FILE        keep the server's output there (default: a temporary file)\n"
	    "  --no-map          do not give the server an edge map (__AFL_SHM_ID)\n"
	    "  -v, --verbose     a line for every input, also when it passes\n"
	    "  -h, --help        this text\n"
	    "\n"
	    "examples:\n"
	    "  impl-repro --exec 'python3 servers/python/corrected.py {port}' corpus/fuzz_tcp/seed-*\n"
	    "  impl-repro --exec 'build/std/bin/udp-upper -l 127.0.0.1:{port}' --udp "
	    "out/fuzz-impl/crash-1f2e\n"
	    "  impl-repro --exec './myserver {port}' --repeat 2000 corpus/fuzz_tcp/seed-four-clients\n"
	    "\n"
	    "Exit status: 0 no finding; 1 a finding; 2 usage or set-up error (the server does not start,\n"
	    "an input cannot be read).\n",
	    f);
}

static unsigned char *read_input(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(MAX_INPUT);
	if (f == NULL || buf == NULL) {
		if (f != NULL)
			fclose(f);
		free(buf);
		return NULL;
	}
	*n = fread(buf, 1, MAX_INPUT, f);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	return buf;
}

static void print_finding(const struct impl_finding *f, const char *path)
{
	printf("capslock-finding: %s %s: %s\n", f->rule, f->where, f->what);
	printf("impl-repro: %s: finding\n", path);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *command = NULL, *address = NULL, *log = NULL;
	int tcp = 0, udp = 0, verbose = 0, no_map = 0;
	unsigned idle = 0, repeat = 1;
	char err[1024];
	const struct cli_option table[] = {
	    {"exec", 0, CLI_STRING, .dest = &command},
	    {"address", 0, CLI_STRING, .dest = &address},
	    {"tcp", 0, CLI_FLAG, CLI_INTEGER(tcp)},
	    {"udp", 0, CLI_FLAG, CLI_INTEGER(udp)},
	    {"idle-ms", 0, CLI_UNSIGNED, CLI_INTEGER(idle), .min = 1, .max = 600000},
	    {"repeat", 0, CLI_UNSIGNED, CLI_INTEGER(repeat), .min = 1, .max = 1000000},
	    {"log", 0, CLI_STRING, .dest = &log},
	    {"no-map", 0, CLI_FLAG, CLI_INTEGER(no_map)},
	    {"verbose", 'v', CLI_FLAG, CLI_INTEGER(verbose)},
	    {"help", 'h', CLI_HELP, .dest = NULL},
	    CLI_TABLE_END};
	enum cli_outcome outcome = cli_outcome(cli_parse(table, argc, argv, err, sizeof err), "impl-repro",
	                                       err, usage, stdout, stderr);
	if (outcome != CLI_OUTCOME_GO_ON)
		return outcome == CLI_OUTCOME_HELP ? 0 : 2;
	if ((command == NULL) == (address == NULL)) {
		fprintf(
		    stderr,
		    "impl-repro: give the server with --exec 'CMD {port}' or --address ADDR:PORT (one)\n");
		return 2;
	}
	if (tcp && udp) {
		fprintf(stderr, "impl-repro: --tcp and --udp: one protocol at a time\n");
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "impl-repro: no INPUT given: nothing to play\n");
		return 2;
	}
	struct impl_options o = {.proto = udp ? IMPL_UDP : IMPL_TCP,
	                         .command = command,
	                         .address = address,
	                         .idle_ms = (int)idle,
	                         .map_size = no_map ? 0 : IMPL_MAP_DEFAULT,
	                         .log_path = log};
	struct impl *m = impl_open(&o, err, sizeof err);
	if (m == NULL) {
		fprintf(stderr, "impl-repro: %s\n", err);
		return 2;
	}
	impl_describe(m, err, sizeof err);
	fprintf(stderr, "capslock-impl: %s\n", err);
	int findings = 0, status = 0, played = 0, inputs = argc - optind;
	struct impl_finding f;
	for (int i = optind; i < argc && status != 2; i++) {
		size_t n = 0;
		unsigned char *data = read_input(argv[i], &n);
		int found = 0;
		if (data == NULL) {
			fprintf(stderr, "impl-repro: %s: %s\n", argv[i], strerror(errno));
			status = 2;
			break;
		}
		for (unsigned r = 0; r < repeat && !found; r++) {
			int rc = impl_run(m, data, n, &f);
			if (rc < 0) {
				fprintf(stderr, "impl-repro: %s: %s\n", argv[i], f.what);
				status = 2;
				break;
			}
			if (rc > 0) {
				print_finding(&f, argv[i]);
				found = 1;
			} else if (i == optind && r == 0 && (repeat > 1 || inputs > 1))
				impl_check_resources(m, &f); /* the baseline, after one input's warm-up */
		}
		if (!found && status != 2 && (repeat > 1 || inputs > 1) && i == argc - 1 &&
		    impl_check_resources(m, &f) > 0) {
			print_finding(&f, argv[i]);
			found = 1;
		}
		findings += found;
		played += status != 2;
		if (!found && verbose && status != 2)
			printf("impl-repro: %s: passed%s\n", argv[i], repeat > 1 ? " every time" : "");
		free(data);
	}
	fprintf(stderr, "impl-repro: %d of %d inputs played, %d with a finding; %lu connections%s\n", played,
	        inputs, findings, impl_connections(m), o.proto == IMPL_UDP ? " or datagrams" : "");
	impl_close(m);
	if (status == 2)
		return 2;
	return findings > 0 ? 1 : 0;
}
