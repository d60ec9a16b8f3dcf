/* loadgen.c - command-line load generator: one run of the load engine against a server (at an address, or
 * started here from a command), every byte of every reply verified, the figures printed as one JSON object.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "cli.h"
#include "load.h"
#include "report.h"
#include "util.h"

#define START_MS 10000 /* bound on a started server's "listening on" line */
#define STOP_MS 2000   /* bound on its end after SIGTERM, before SIGKILL */
#define LOG_MAX                                                                                              \
	(1 << 20) /* its log keeps the first MiB: a server that prints every message cannot fill the disk */

/* What the command line asks for besides the run itself. */
struct server_opts {
	const char *exec; /* --exec: the server's command line; NULL: ADDR:PORT given */
	const char *log;  /* --log: its output */
	int cpu;          /* --server-cpu: the CPU it runs on, -1: any */
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: loadgen [-m MODE] [-e] [-a] [-c N] [-s BYTES] [-w N] [-T SECONDS] [-p PID] ADDR:PORT\n"
	    "       loadgen [-m MODE] [...] --exec CMD [--log FILE] [--server-cpu N]\n"
	    "Drives a TCP or UDP uppercase server on loopback and verifies every byte it gets back.\n"
	    "  -m MODE     stream    TCP, N connections send and read continuously: MB/s (default)\n"
	    "              pingpong  TCP, N connections each send BYTES and wait for the reply: rt/s, p50, "
	    "p99\n"
	    "              udp       UDP, a window of N outstanding BYTES-byte datagrams: replies/s, losses\n"
	    "              accept    TCP, N at a time: connect, send BYTES, verify the reply, close: conn/s\n"
	    "              idle      TCP, open N connections, each answers once, keep them idle; the "
	    "server's\n"
	    "                        VmRSS (needs -p or --exec) before and after: bytes per connection\n"
	    "  -e          expect the echo (identity) instead of the uppercase transform (SPEC X1)\n"
	    "  -a          send printable ASCII text only (default: every byte value 0x00-0xff)\n"
	    "  -c N        connections (default 1; pingpong 8, accept 32, idle 10000)\n"
	    "  -s BYTES    message size (pingpong 64, accept 8, idle 8, udp 64; udp needs >= 16)\n"
	    "  -w N        UDP window of outstanding datagrams (default 64)\n"
	    "  -T SECONDS  measured duration (default 2; a unit is allowed: 500ms, 2s, 1m)\n"
	    "  -p PID      the server's process id (--exec knows it): idle mode needs it; others report\n"
	    "              its CPU time\n"
	    "  --exec CMD  start the server: CMD split on spaces (no shell), in a process group of\n"
	    "              its own, waited for (10 s) until it prints 'listening on tcp|udp ADDR:PORT',\n"
	    "              stopped after the run (SIGTERM, SIGKILL 2 s later); a server that ends during\n"
	    "              the run is an error\n"
	    "  --log FILE  the started server's output (its first MiB; default a temporary file)\n"
	    "  --server-cpu N  run the started server on CPU N only\n"
	    "Exit status: 0 figures printed, 1 a wrong reply (the reason is printed), 2 could not run.\n"
	    "Examples:\n"
	    "  loadgen -m pingpong -T 500ms --exec 'tcp-upper -l 0'\n"
	    "  loadgen -m udp -T 1s --exec 'udp-upper -l 127.0.0.1:0'\n"
	    "  loadgen -e -m accept -T 500ms --exec 'build/std/bin/bench/echo -l 0'\n");
}

/* -m MODE: one of the load engine's modes. */
static int take_mode(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	enum load_mode *mode = dest;

	*mode = load_mode_parse(arg);
	if (*mode != 0)
		return 0;
	snprintf(err, errlen, "%s %s: unknown mode (stream, pingpong, udp, accept, idle)", name, arg);
	return -1;
}

/* Parses the options into c and so (conns and size stay 0 when not given). Returns 0, 1 after --help, or
 * -1 after printing a usage error. */
static int parse_args(int argc, char **argv, struct load_cfg *c, struct server_opts *so)
{
	const struct cli_option options[] = {
	    {NULL, 'm', CLI_CUSTOM, .dest = &c->mode, .custom = take_mode},
	    {NULL, 'e', CLI_FLAG, CLI_INTEGER(c->expect), .set_to = LOAD_ECHO},
	    {NULL, 'a', CLI_FLAG, CLI_INTEGER(c->text)},
	    {NULL, 'c', CLI_UNSIGNED, CLI_INTEGER(c->conns), .min = 1, .max = 100000},
	    /* UDP: 65507 over IPv4, 65527 over IPv6 */
	    {NULL, 's', CLI_UNSIGNED, CLI_INTEGER(c->size), .min = 1, .max = 65527},
	    {NULL, 'w', CLI_UNSIGNED, CLI_INTEGER(c->window), .min = 1, .max = 4096},
	    {NULL, 'T', CLI_SECONDS, .dest = &c->seconds, .max_seconds = 3600, .flags = CLI_ABOVE_MIN,
	     .reason = "expected a duration above 0, at most 1h (500ms, 2s, 1m)"},
	    {NULL, 'p', CLI_UNSIGNED, CLI_INTEGER(c->pid), .min = 1, .max = 0x7fffffff},
	    {"exec", 0, CLI_STRING, .dest = &so->exec},
	    {"log", 0, CLI_STRING, .dest = &so->log},
	    {"server-cpu", 0, CLI_UNSIGNED, CLI_INTEGER(so->cpu), .min = 0, .max = CPU_SETSIZE - 1},
	    {"help", 'h', CLI_HELP, .dest = NULL},
	    CLI_TABLE_END};
	char err[512];

	switch (cli_outcome(cli_parse(options, argc, argv, err, sizeof err), "loadgen", err, usage, stdout,
	                    stderr)) {
	case CLI_OUTCOME_GO_ON:
		break;
	case CLI_OUTCOME_HELP:
		return 1;
	case CLI_OUTCOME_BAD:
		return -1;
	}
	if (so->exec != NULL && c->pid != 0) {
		cli_usage_error(stderr, "loadgen",
		                "-p names a running server; --exec starts one and knows its pid");
		return -1;
	}
	if (so->exec == NULL && (so->log != NULL || so->cpu >= 0)) {
		cli_usage_errorf(stderr, "loadgen", "%s applies to a server started by --exec",
		                 so->log != NULL ? "--log" : "--server-cpu");
		return -1;
	}
	if (optind != argc - (so->exec == NULL)) {
		cli_usage_error(stderr, "loadgen", "expected one ADDR:PORT, or --exec CMD and none");
		return -1;
	}
	if (so->exec == NULL && net_parse(argv[optind], &c->addr, err, sizeof err) < 0) {
		cli_usage_error(stderr, "loadgen", err);
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
	printf(", \"conns\": %d, \"size\": %zu, \"seconds\": %.6f, \"value\": %.6f, \"unit\": ", c->conns,
	       c->size, r->seconds, r->value);
	rep_json_str(stdout, r->unit);
	printf(", \"bytes\": %llu, \"ops\": %llu, \"sent\": %llu, \"lost\": %llu, \"late\": %llu, "
	       "\"failed\": %llu, "
	       "\"p50_us\": %.1f, \"p99_us\": %.1f, \"rss_before_kb\": %ld, \"rss_after_kb\": %ld, "
	       "\"server_cpu_s\": %.6f, \"client_cpu_s\": %.6f}\n",
	       (unsigned long long)r->bytes, (unsigned long long)r->ops, (unsigned long long)r->sent,
	       (unsigned long long)r->lost, (unsigned long long)r->late, (unsigned long long)r->failed,
	       r->p50_us, r->p99_us, r->rss_before_kb, r->rss_after_kb, r->server_cpu_s, r->client_cpu_s);
}

/* A stop signal stops the started server too: it runs in a process group of its own. */
static void on_stop_signal(int sig)
{
	child_kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Starts so->exec, runs c against it, stops it. Returns load_run()'s status, LOAD_ERR also when the
 * server could not start or ended during the run; the reason in err. */
static int run_started(const struct server_opts *so, struct load_cfg *c, struct load_result *r, char *err,
                       size_t errlen)
{
	cpu_set_t cpus;
	struct child_options co = {.command = so->exec,
	                           .want = c->mode == LOAD_UDP ? CHILD_UDP : CHILD_TCP,
	                           .start_ms = START_MS,
	                           .log_path = so->log,
	                           .log_max = LOG_MAX};
	struct child_addrs addrs;
	struct child_exit end;
	struct child *server;
	int rc;

	if (so->cpu >= 0) {
		CPU_ZERO(&cpus);
		CPU_SET(so->cpu, &cpus);
		co.affinity = &cpus;
	}
	signal(SIGINT, on_stop_signal);
	signal(SIGTERM, on_stop_signal);
	signal(SIGHUP, on_stop_signal);
	if (child_start(&co, &server, &addrs, err, errlen) < 0)
		return LOAD_ERR;
	c->addr = c->mode == LOAD_UDP ? addrs.udp : addrs.tcp;
	c->pid = child_pid(server);
	rc = load_run(c, r, err, errlen);
	child_stop(server, SIGTERM, STOP_MS, &end);
	if (end.end == CHILD_END_BEFORE && rc == LOAD_OK) {
		snprintf(err, errlen, "the server %.100s during the run; see %.300s", end.why,
		         child_log_path(server));
		rc = LOAD_ERR;
	}
	child_free(server);
	return rc;
}

int main(int argc, char **argv)
{
	struct load_cfg c = {.mode = LOAD_STREAM, .expect = LOAD_UPPER, .window = 64, .seconds = 2};
	struct server_opts so = {.cpu = -1};
	struct load_result r;
	char err[512];
	int rc;

	rc = parse_args(argc, argv, &c, &so);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (c.conns == 0)
		c.conns = c.mode == LOAD_PINGPONG ? 8
		          : c.mode == LOAD_ACCEPT ? 32
		          : c.mode == LOAD_IDLE   ? 10000
		                                  : 1;
	if (c.size == 0)
		c.size = c.mode == LOAD_ACCEPT || c.mode == LOAD_IDLE ? 8 : 64;
	if (c.mode == LOAD_IDLE && c.pid == 0 && so.exec == NULL) {
		fprintf(stderr, "loadgen: -m idle needs the server's pid (-p PID) or --exec\n");
		return 2;
	}
	/* Idle mode holds one descriptor per connection here and in a started server (which inherits the
	 * limit): as many as the hard limit allows. */
	util_raise_nofile(LONG_MAX);
	rc = so.exec != NULL ? run_started(&so, &c, &r, err, sizeof err) : load_run(&c, &r, err, sizeof err);
	if (rc != LOAD_OK) {
		fprintf(stderr, "loadgen: %s: %s\n", so.exec != NULL ? so.exec : argv[optind], err);
		return rc == LOAD_WRONG ? 1 : 2;
	}
	print_json(&c, &r);
	if (util_flush_ok(stdout) < 0) {
		fprintf(stderr, "loadgen: cannot write to stdout: %s\n", strerror(errno));
		return 2;
	}
	return 0;
}
