/* loadgen.c - command-line load generator: one run of the load engine against a server, every byte of
 * every reply verified, the figures printed as one JSON object. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "load.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: loadgen [-m MODE] [-e] [-a] [-c N] [-s BYTES] [-w N] [-T SECONDS] [-p PID] ADDR:PORT\n"
		"Drives a TCP or UDP uppercase server on loopback and verifies every byte it gets back.\n"
		"  -m MODE     stream    TCP, N connections send and read continuously: MB/s (default)\n"
		"              pingpong  TCP, N connections each send BYTES and wait for the reply: rt/s, p50, p99\n"
		"              udp       UDP, a window of N outstanding BYTES-byte datagrams: replies/s, losses\n"
		"              accept    TCP, N at a time: connect, send BYTES, verify the reply, close: conn/s\n"
		"              idle      TCP, open N connections, each answers once, keep them idle; the server's\n"
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

static long num(const char *s, const char *opt, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "loadgen: %s %s: expected an integer in %ld..%ld\n", opt, s, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct load_cfg c = {.mode = LOAD_STREAM, .expect = LOAD_UPPER, .window = 64, .seconds = 2};
	struct load_result r;
	char err[512], *end;
	int opt, conns = 0;
	long size = 0;

	while ((opt = getopt_long(argc, argv, "m:eac:s:w:T:p:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'm':
			c.mode = load_mode_parse(optarg);
			if (c.mode == 0) {
				fprintf(stderr, "loadgen: -m %s: unknown mode (stream, pingpong, udp, accept, idle)\n",
					optarg);
				return 2;
			}
			break;
		case 'e':
			c.expect = LOAD_ECHO;
			break;
		case 'a':
			c.text = 1;
			break;
		case 'c':
			conns = (int)num(optarg, "-c", 1, 100000);
			break;
		case 's':
			size = num(optarg, "-s", 1, 65527); /* UDP: 65507 over IPv4, 65527 over IPv6 */
			break;
		case 'w':
			c.window = (int)num(optarg, "-w", 1, 4096);
			break;
		case 'T':
			errno = 0;
			c.seconds = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(c.seconds > 0 && c.seconds <= 3600)) {
				fprintf(stderr, "loadgen: -T %s: expected seconds in (0, 3600]\n", optarg);
				return 2;
			}
			break;
		case 'p':
			c.pid = (pid_t)num(optarg, "-p", 1, 0x7fffffff);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "loadgen: expected one ADDR:PORT (see --help)\n");
		return 2;
	}
	if (net_parse(argv[optind], &c.addr, err, sizeof err) < 0) {
		fprintf(stderr, "loadgen: %s\n", err);
		return 2;
	}
	c.conns = conns ? conns
			: c.mode == LOAD_PINGPONG ? 8
			: c.mode == LOAD_ACCEPT	  ? 32
			: c.mode == LOAD_IDLE	  ? 10000
						  : 1;
	c.size = size ? (size_t)size : (c.mode == LOAD_ACCEPT || c.mode == LOAD_IDLE) ? 8 : 64;
	if (c.mode == LOAD_IDLE && c.pid == 0) {
		fprintf(stderr, "loadgen: -m idle needs the server's pid (-p PID)\n");
		return 2;
	}
	/* Idle mode holds one descriptor per connection. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	int rc = load_run(&c, &r, err, sizeof err);
	if (rc != LOAD_OK) {
		fprintf(stderr, "loadgen: %s: %s\n", argv[optind], err);
		return rc == LOAD_WRONG ? 1 : 2;
	}
	printf("{\"mode\": \"%s\", \"expect\": \"%s\", \"conns\": %d, \"size\": %zu, \"seconds\": %.3f, "
	       "\"value\": %.3f, \"unit\": \"%s\", \"bytes\": %llu, \"ops\": %llu, \"sent\": %llu, "
	       "\"lost\": %llu, \"late\": %llu, \"failed\": %llu, \"p50_us\": %.1f, \"p99_us\": %.1f, "
	       "\"rss_before_kb\": %ld, \"rss_after_kb\": %ld, \"server_cpu_s\": %.2f, "
	       "\"client_cpu_s\": %.2f}\n",
	       load_mode_name(c.mode),
	       c.expect == LOAD_ECHO ? "echo" : "upper", c.conns, c.size, r.seconds, r.value, r.unit,
	       (unsigned long long)r.bytes, (unsigned long long)r.ops, (unsigned long long)r.sent,
	       (unsigned long long)r.lost, (unsigned long long)r.late, (unsigned long long)r.failed, r.p50_us,
	       r.p99_us, r.rss_before_kb, r.rss_after_kb, r.server_cpu_s,
	       r.client_cpu_s);
	return 0;
}
