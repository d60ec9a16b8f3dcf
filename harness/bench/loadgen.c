/* loadgen.c - command-line load generator: one run of the load engine against a server, every byte of
 * every reply verified, the figures printed as one JSON object. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "report.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: loadgen [-m MODE] [-e] [-a] [-c N] [-s BYTES] [-w N] [-T SECONDS] [-p PID] ADDR:PORT\n"
	    "Drives a TCP or UDP uppercase server on loopback and verifies every byte it gets back.\n"
	    "  -m MODE     stream    TCP, N connections send and read continuously: MB/s (default)\n"
	    "              pingpong  TCP, N connections each send BYTES and wait for the reply: rt/s, p50, "
	    "p99\n"
	    "              udp       UDP, a window of N outstanding BYTES-byte datagrams: replies/s, losses\n"
	    "              accept    TCP, N at a time: connect, send BYTES, verify the reply, close: conn/s\n"
	    "              idle      TCP, open N connections, each answers once, keep them idle; the "
	    "server's\n"
	    "                        VmRSS (needs -p) before and after: bytes per connection\n"
	    "  -e          expect the echo (identity) instead of the uppercase transform (SPEC X1)\n"
	    "  -a          send printable ASCII text only (default: every byte value 0x00-0xff)\n"
	    "  -c N        connections (default 1; pingpong 8, accept 32, idle 10000)\n"
	    "  -s BYTES    message size (pingpong 64, accept 8, idle 8, udp 64; udp needs >= 16)\n"
	    "  -w N        UDP window of outstanding datagrams (default 64)\n"
	    "  -T SECONDS  measured duration (default 2)\n"
	    "  -p PID      the server's process id: idle mode needs it; others report its CPU time\n"
	    "Exit status: 0 figures printed, 1 a wrong reply (the reason is printed), 2 could not run.\n");
}

/* Parses the value of option opt as a whole number in [min, max]. Returns 0, or -1 after printing why
 * not. */
static int number(const char *s, const char *opt, uint64_t min, uint64_t max, uint64_t *out)
{
	char err[160];

	if (util_parse_u64(s, min, max, 0, out, err, sizeof err) < 0) {
		fprintf(stderr, "loadgen: %s: %s\n", opt, err);
		return -1;
	}
	return 0;
}

/* Parses the options into c (conns and size stay 0 when not given). Returns 0, 1 after --help, or -1
 * after printing a usage error. */
static int parse_args(int argc, char **argv, struct load_cfg *c)
{
	static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	char err[160];
	uint64_t v;
	int opt, bad = 0;

	while (!bad && (opt = getopt_long(argc, argv, "m:eac:s:w:T:p:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'm':
			c->mode = load_mode_parse(optarg);
			if (c->mode == 0) {
				fprintf(
				    stderr,
				    "loadgen: -m %s: unknown mode (stream, pingpong, udp, accept, idle)\n",
				    optarg);
				bad = 1;
			}
			break;
		case 'e':
			c->expect = LOAD_ECHO;
			break;
		case 'a':
			c->text = 1;
			break;
		case 'c':
			bad = number(optarg, "-c", 1, 100000, &v) < 0;
			c->conns = (int)v;
			break;
		case 's': /* UDP: 65507 over IPv4, 65527 over IPv6 */
			bad = number(optarg, "-s", 1, 65527, &v) < 0;
			c->size = (size_t)v;
			break;
		case 'w':
			bad = number(optarg, "-w", 1, 4096, &v) < 0;
			c->window = (int)v;
			break;
		case 'T':
			if (util_parse_seconds(optarg, 0, 3600, &c->seconds, err, sizeof err) < 0 ||
			    !(c->seconds > 0)) {
				fprintf(stderr, "loadgen: -T %s: expected seconds in (0, 3600]\n", optarg);
				bad = 1;
			}
			break;
		case 'p':
			bad = number(optarg, "-p", 1, 0x7fffffff, &v) < 0;
			c->pid = (pid_t)v;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (bad)
		return -1;
	if (optind != argc - 1) {
		fprintf(stderr, "loadgen: expected one ADDR:PORT (see --help)\n");
		return -1;
	}
	if (net_parse(argv[optind], &c->addr, err, sizeof err) < 0) {
		fprintf(stderr, "loadgen: %s\n", err);
		return -1;
	}
	return 0;
}

/* Prints the run's figures as one JSON object on one line. */
static void print_json(const struct load_cfg *c, const struct load_result *r)
{
	printf("{\"mode\": ");
	rep_json_str(stdout, load_mode_name(c->mode));
	printf(", \"expect\": ");
	rep_json_str(stdout, c->expect == LOAD_ECHO ? "echo" : "upper");
	printf(", \"conns\": %d, \"size\": %zu, \"seconds\": %.3f, \"value\": %.3f, \"unit\": ", c->conns,
	       c->size, r->seconds, r->value);
	rep_json_str(stdout, r->unit);
	printf(", \"bytes\": %llu, \"ops\": %llu, \"sent\": %llu, \"lost\": %llu, \"late\": %llu, "
	       "\"failed\": %llu, "
	       "\"p50_us\": %.1f, \"p99_us\": %.1f, \"rss_before_kb\": %ld, \"rss_after_kb\": %ld, "
	       "\"server_cpu_s\": %.2f, \"client_cpu_s\": %.2f}\n",
	       (unsigned long long)r->bytes, (unsigned long long)r->ops, (unsigned long long)r->sent,
	       (unsigned long long)r->lost, (unsigned long long)r->late, (unsigned long long)r->failed,
	       r->p50_us, r->p99_us, r->rss_before_kb, r->rss_after_kb, r->server_cpu_s, r->client_cpu_s);
}

int main(int argc, char **argv)
{
	struct load_cfg c = {.mode = LOAD_STREAM, .expect = LOAD_UPPER, .window = 64, .seconds = 2};
	struct load_result r;
	char err[512];
	int rc;

	rc = parse_args(argc, argv, &c);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (c.conns == 0)
		c.conns = c.mode == LOAD_PINGPONG ? 8
		          : c.mode == LOAD_ACCEPT ? 32
		          : c.mode == LOAD_IDLE   ? 10000
		                                  : 1;
	if (c.size == 0)
		c.size = c.mode == LOAD_ACCEPT || c.mode == LOAD_IDLE ? 8 : 64;
	if (c.mode == LOAD_IDLE && c.pid == 0) {
		fprintf(stderr, "loadgen: -m idle needs the server's pid (-p PID)\n");
		return 2;
	}
	/* Idle mode holds one descriptor per connection: as many as the hard limit allows. */
	util_raise_nofile(LONG_MAX);
	rc = load_run(&c, &r, err, sizeof err);
	if (rc != LOAD_OK) {
		fprintf(stderr, "loadgen: %s: %s\n", argv[optind], err);
		return rc == LOAD_WRONG ? 1 : 2;
	}
	print_json(&c, &r);
	if (util_flush_ok(stdout) < 0) {
		fprintf(stderr, "loadgen: cannot write to stdout: %s\n", strerror(errno));
		return 2;
	}
	return 0;
}
