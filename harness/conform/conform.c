/* conform.c - the conformance checker: runs the case table (cases.c) and the random phase (random.c)
 * against a TCP and/or UDP uppercase server and reports per case; the CI gate for other implementations. */
#include "cf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "upper.h"

#define MAX_ONLY 32

struct opts {
	const char *tcp, *udp;
	const char *exec_both, *exec_tcp, *exec_udp;
	int timeout_ms, start_ms, retries, nofile, resets;
	int list, strict, tap, verbose;
	const char *only[MAX_ONLY];
	int nonly;
	const char *junit, *json, *pcap_dir;
	long random_n;
	uint64_t seed;
	int seed_set;
};

static void usage(FILE *f)
{
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
}

static int num(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
		fprintf(stderr, "conform: %s '%s': expected a number from %ld to %ld\n", opt, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_TCP = 256, O_UDP, O_EXEC, O_EXEC_TCP, O_EXEC_UDP, O_TIMEOUT, O_START, O_RETRIES, O_NOFILE,
	       O_RESETS, O_LIST, O_ONLY, O_STRICT, O_JUNIT, O_JSON, O_TAP, O_PCAP, O_RANDOM, O_SEED, O_HELP };
	static const struct option lo[] = {
		{"tcp", required_argument, 0, O_TCP}, {"udp", required_argument, 0, O_UDP},
		{"exec", required_argument, 0, O_EXEC}, {"exec-tcp", required_argument, 0, O_EXEC_TCP},
		{"exec-udp", required_argument, 0, O_EXEC_UDP}, {"timeout", required_argument, 0, O_TIMEOUT},
		{"start-timeout", required_argument, 0, O_START}, {"retries", required_argument, 0, O_RETRIES},
		{"nofile", required_argument, 0, O_NOFILE}, {"resets", required_argument, 0, O_RESETS},
		{"list", no_argument, 0, O_LIST}, {"only", required_argument, 0, O_ONLY},
		{"strict", no_argument, 0, O_STRICT}, {"junit", required_argument, 0, O_JUNIT},
		{"json", required_argument, 0, O_JSON}, {"tap", no_argument, 0, O_TAP},
		{"pcap-dir", required_argument, 0, O_PCAP}, {"random", required_argument, 0, O_RANDOM},
		{"seed", required_argument, 0, O_SEED}, {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0}};
	long v;
	int ch;

	memset(o, 0, sizeof *o);
	o->timeout_ms = 2000;
	o->start_ms = 10000;
	o->retries = 1;
	o->nofile = 256;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (ch) {
		case O_TCP: o->tcp = optarg; break;
		case O_UDP: o->udp = optarg; break;
		case O_EXEC: o->exec_both = optarg; break;
		case O_EXEC_TCP: o->exec_tcp = optarg; break;
		case O_EXEC_UDP: o->exec_udp = optarg; break;
		case O_TIMEOUT:
			if (num("--timeout", optarg, 10, 600000, &v) < 0)
				return -1;
			o->timeout_ms = (int)v;
			break;
		case O_START:
			if (num("--start-timeout", optarg, 10, 600000, &v) < 0)
				return -1;
			o->start_ms = (int)v;
			break;
		case O_RETRIES:
			if (num("--retries", optarg, 0, 10, &v) < 0)
				return -1;
			o->retries = (int)v;
			break;
		case O_NOFILE:
			if (num("--nofile", optarg, 0, 1 << 20, &v) < 0)
				return -1;
			if (v > 0 && v < 32) {
				fprintf(stderr, "conform: --nofile %ld: a server needs at least 32 descriptors\n", v);
				return -1;
			}
			o->nofile = (int)v;
			break;
		case O_RESETS:
			if (num("--resets", optarg, 1, 100000, &v) < 0)
				return -1;
			o->resets = (int)v;
			break;
		case O_LIST: o->list = 1; break;
		case O_ONLY:
			if (o->nonly == MAX_ONLY) {
				fprintf(stderr, "conform: at most %d --only options\n", MAX_ONLY);
				return -1;
			}
			o->only[o->nonly++] = optarg;
			break;
		case O_STRICT: o->strict = 1; break;
		case O_JUNIT: o->junit = optarg; break;
		case O_JSON: o->json = optarg; break;
		case O_TAP: o->tap = 1; break;
		case O_PCAP: o->pcap_dir = optarg; break;
		case O_RANDOM:
			if (num("--random", optarg, 0, 1000000, &v) < 0)
				return -1;
			o->random_n = v;
			break;
		case O_SEED: {
			char *end;
			errno = 0;
			o->seed = strtoull(optarg, &end, 0);
			if (*optarg == '\0' || *end != '\0' || errno != 0) {
				fprintf(stderr, "conform: --seed '%s': expected a number\n", optarg);
				return -1;
			}
			o->seed_set = 1;
			break;
		}
		case 'v': o->verbose = 1; break;
		case 'h':
		case O_HELP: return 1;
		default:
			fprintf(stderr, "conform: unknown option or missing argument: '%s'\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "conform: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	/* a mistyped --only would otherwise run nothing, or less than meant, and still pass */
	for (int i = 0; i < o->nonly; i++) {
		int hit = fnmatch(o->only[i], "exec/stop/sigterm", 0) == 0 || fnmatch(o->only[i], "random/seed-S", 0) == 0;
		for (size_t k = 0; k < cf_ncases && !hit; k++)
			hit = fnmatch(o->only[i], cf_cases[k].id, 0) == 0;
		if (!hit) {
			fprintf(stderr, "conform: --only '%s' matches no case id (see --list)\n", o->only[i]);
			return -1;
		}
	}
	if (o->list)
		return 0;
	const char *const execs[3] = {o->exec_both, o->exec_tcp, o->exec_udp};
	const char *const enames[3] = {"--exec", "--exec-tcp", "--exec-udp"};
	for (int i = 0; i < 3; i++)
		if (execs[i] != NULL && execs[i][strspn(execs[i], " \t\n")] == '\0') {
			fprintf(stderr, "conform: %s: the server command is empty\n", enames[i]);
			return -1;
		}
	if (o->exec_both && (o->exec_tcp || o->exec_udp)) {
		fprintf(stderr, "conform: --exec serves both transports; use --exec-tcp/--exec-udp instead of it\n");
		return -1;
	}
	if ((o->exec_both || o->exec_tcp) && o->tcp) {
		fprintf(stderr, "conform: --tcp and an --exec serving TCP both name the TCP target\n");
		return -1;
	}
	if ((o->exec_both || o->exec_udp) && o->udp) {
		fprintf(stderr, "conform: --udp and an --exec serving UDP both name the UDP target\n");
		return -1;
	}
	if (!o->tcp && !o->udp && !o->exec_both && !o->exec_tcp && !o->exec_udp) {
		fprintf(stderr, "conform: nothing to test: give --tcp, --udp or --exec (see --help)\n");
		return -1;
	}
	return 0;
}

static int selected(const struct opts *o, const char *id)
{
	if (o->nonly == 0)
		return 1;
	for (int i = 0; i < o->nonly; i++)
		if (fnmatch(o->only[i], id, 0) == 0)
			return 1;
	return 0;
}

static void list_cases(void)
{
	printf("%-34s %-4s %-6s %s\n", "ID", "RULE", "LEVEL", "DESCRIPTION");
	for (size_t i = 0; i < cf_ncases; i++)
		printf("%-34s %-4s %-6s %s\n", cf_cases[i].id, cf_cases[i].rule, cf_cases[i].must ? "MUST" : "SHOULD",
		       cf_cases[i].desc);
	printf("%-34s %-4s %-6s %s\n", "exec/stop/sigterm", "B2", "MUST",
	       "--exec: the server (its process group) stops within 2 s of SIGTERM (after the cases)");
	printf("%-34s %-4s %-6s %s\n", "random/seed-S", "T1", "MUST",
	       "--random: one random sequence of sends, half-closes and resets (TCP) and datagrams (UDP)");
	printf("\nSPEC rules (SPEC.md):\n");
	static const char *ids[] = {"X1", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9",
				    "U1", "U2", "U3", "U4", "U5", "U6", "B1", "B2"};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		const char *t = upper_rule_text(ids[i]);
		if (t != NULL)
			printf("  %-3s %s\n", ids[i], t);
	}
}

/* conform talks to loopback only (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104): it is a test tool, and
 * its resets, bursts and floods are not for other hosts. */
static int loopback(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr) >> 24) == 127;
	if (a->ss.ss_family == AF_INET6) {
		const struct in6_addr *x = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(x) || (IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127);
	}
	return 0;
}

static int check_loopback(const struct cf_target *t)
{
	char name[NET_ADDRSTRLEN];
	const struct net_addr *as[4] = {&t->tcp, &t->udp, &t->tcp6, &t->udp6};
	const int has[4] = {t->has_tcp, t->has_udp, t->has_tcp6, t->has_udp6};
	for (int i = 0; i < 4; i++)
		if (has[i] && !loopback(as[i])) {
			fprintf(stderr, "conform: %s %s is not a loopback address: conform tests servers on 127.0.0.1 or ::1 "
					"only\n", i % 2 ? "udp" : "tcp",
				net_format((const struct sockaddr *)&as[i]->ss, name, sizeof name));
			return -1;
		}
	return 0;
}

/* A target given by name would need a DNS lookup, which is traffic to a resolver that may not be on
 * loopback: only numeric addresses (and localhost, from /etc/hosts) are taken. 0 or -1 (printed). */
static int numeric_target(const char *opt, const char *s)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	struct in_addr a4;
	if (s[0] == '[' || colon == NULL || (size_t)(colon - s) >= sizeof host)
		return 0; /* IPv6 literal, or a form net_parse rejects with its own message */
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (host[0] == '\0' || strcmp(host, "localhost") == 0 || inet_pton(AF_INET, host, &a4) == 1)
		return 0;
	fprintf(stderr, "conform: %s '%s': give a numeric loopback address (127.0.0.1:PORT or [::1]:PORT); "
			"conform looks up no names\n", opt, s);
	return -1;
}

/* Output that could not be written is an error, not a pass (stdout on a full disk, a closed pipe). */
static int stdout_ok(void)
{
	int e = fflush(stdout) != 0 ? errno : 0;
	if (e == 0 && !ferror(stdout))
		return 1;
	fprintf(stderr, "conform: standard output: %s\n", strerror(e ? e : EIO));
	return 0;
}

/* A report file is created (emptied) before the run, so that a missing directory or a read-only
 * place fails at once, not after minutes of testing, and no stale report of an earlier run remains. */
static int report_writable(const char *opt, const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fclose(f) != 0) {
		fprintf(stderr, "conform: %s %s: %s\n", opt, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Is anything listening? 0 yes, -1 no (message printed). */
static int preflight(const struct cf_target *t, int timeout_ms)
{
	char err[256], name[NET_ADDRSTRLEN];
	if (t->has_tcp) {
		int fd = net_connect(&t->tcp, SOCK_STREAM, timeout_ms, err, sizeof err);
		if (fd < 0) {
			fprintf(stderr, "conform: cannot test tcp %s: %s\n",
				net_format((const struct sockaddr *)&t->tcp.ss, name, sizeof name), err);
			return -1;
		}
		close(fd);
	}
	if (t->has_udp) {
		int fd = net_connect(&t->udp, SOCK_DGRAM, timeout_ms, err, sizeof err);
		if (fd < 0) {
			fprintf(stderr, "conform: cannot test udp: %s\n", err);
			return -1;
		}
		/* a connected UDP socket hears ICMP port unreachable: nothing listening */
		for (int i = 0; i < 3; i++) {
			char b[64];
			struct pollfd p = {fd, POLLIN, 0};
			if (send(fd, "conform probe", 13, 0) < 0 && errno == ECONNREFUSED)
				goto refused;
			if (poll(&p, 1, timeout_ms / 3 + 1) == 1) {
				if (recv(fd, b, sizeof b, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED)
					goto refused;
				break;
			}
		}
		close(fd);
		return 0;
refused:
		fprintf(stderr, "conform: cannot test udp %s: nothing listening (ICMP port unreachable)\n",
			net_format((const struct sockaddr *)&t->udp.ss, name, sizeof name));
		close(fd);
		return -1;
	}
	return 0;
}

static void print_item(FILE *f, const struct cf_report_item *x, int strict, int verbose)
{
	const char *st = x->r.status == CF_PASS ? "PASS" : x->r.status == CF_SKIP ? "SKIP" : "FAIL";
	fprintf(f, "%s  %-34s %-3s %-6s %6.3fs%s%s\n", st, x->id, x->rule, x->must ? "MUST" : "SHOULD", x->r.secs,
		x->r.retried ? "  (retried after a timeout)" : "",
		x->r.status == CF_FAIL && !x->must && !strict ? "  (SHOULD: not counted)" : "");
	if (x->r.status == CF_SKIP) {
		fprintf(f, "      %s\n", x->r.msg);
		return;
	}
	if (x->r.status == CF_FAIL) {
		const char *rt = upper_rule_text(x->rule);
		fprintf(f, "      rule %s: %s\n", x->rule, rt ? rt : "?");
		fprintf(f, "      %s\n", x->r.msg);
		if (x->r.offset >= 0 && x->r.expected[0] != '\0') {
			fprintf(f, "      first difference at offset %lld\n", x->r.offset);
			fprintf(f, "        expected %s\n", x->r.expected);
			fprintf(f, "        actual   %s\n", x->r.actual);
		}
	}
	if (x->r.note[0] != '\0' && (verbose || x->r.status == CF_FAIL))
		fprintf(f, "      note: %s\n", x->r.note);
}

/* ---- the run ---- */

struct run {
	struct opts *o;
	struct cf_target t;
	struct cf_server *srv[2];
	int nsrv;
	int srv_proto[2];
	int fatal; /* a server could not be restarted */
	char fatal_msg[CF_MSG];
};

/* After a case: did a server die? Then note it in r (the case fails) and start it again. */
static void check_servers(struct run *R, struct cf_result *r, int proto)
{
	/* a server that is dying (a signal on its way, its shell reaping it) is given a moment to be seen
	 * dead, so the death is charged to the case that caused it */
	int grace = r != NULL && r->status == CF_FAIL ? 300 : 20;
	uint64_t until = cf_now_ns() + (uint64_t)grace * 1000000u;
	for (;;) {
		int dead = 0;
		char w[128];
		for (int i = 0; i < R->nsrv; i++)
			dead |= cf_server_dead(R->srv[i], w, sizeof w);
		if (dead || cf_ms_left(until) == 0)
			break;
		usleep(2000);
	}
	for (int i = 0; i < R->nsrv; i++) {
		char why[128], err[CF_MSG];
		if (!cf_server_dead(R->srv[i], why, sizeof why))
			continue;
		if (r != NULL) {
			if (r->status != CF_FAIL || (R->srv_proto[i] & proto)) {
				char prev[CF_MSG];
				snprintf(prev, sizeof prev, "%s", r->msg);
				snprintf(r->msg, sizeof r->msg, "the server died during this case: %s%s%.300s", why,
					 prev[0] ? "; " : "", prev);
			}
			r->status = CF_FAIL;
			r->timeout = 0;
		}
		fprintf(stderr, "conform: server '%s' %s; its last output:\n", cf_server_cmd(R->srv[i]), why);
		cf_server_tail(R->srv[i], stderr, "  | ", 6);
		struct cf_target nt;
		if (cf_server_restart(R->srv[i], R->o->start_ms, &nt, err, sizeof err) < 0) {
			R->fatal = 1;
			snprintf(R->fatal_msg, sizeof R->fatal_msg, "could not restart the server: %.400s", err);
			continue;
		}
		if (R->srv_proto[i] & CF_TCP) {
			R->t.tcp = nt.tcp;
			R->t.has_tcp = nt.has_tcp;
			R->t.tcp6 = nt.tcp6;
			R->t.has_tcp6 = nt.has_tcp6;
		}
		if (R->srv_proto[i] & CF_UDP) {
			R->t.udp = nt.udp;
			R->t.has_udp = nt.has_udp;
			R->t.udp6 = nt.udp6;
			R->t.has_udp6 = nt.has_udp6;
		}
	}
}

static int restart_cb(void *arg)
{
	struct run *R = arg;
	check_servers(R, NULL, 0);
	return R->fatal ? -1 : 0;
}

static int pcap_failed;

static void write_pcap(const struct opts *o, const char *id, const struct cf_rec *rec, struct cf_result *r)
{
	char path[4096], name[128], err[256];
	snprintf(name, sizeof name, "%s", id);
	for (char *p = name; *p != '\0'; p++)
		if (*p == '/')
			*p = '_';
	snprintf(path, sizeof path, "%s/%s.pcap", o->pcap_dir, name);
	if (cf_rec_write_pcap(rec, path, err, sizeof err) < 0) {
		fprintf(stderr, "conform: --pcap-dir: %s%s\n", err, errno == ENOSPC ? " (No space left on device)" : "");
		unlink(path); /* a cut pcap would read as a whole exchange */
		pcap_failed = 1;
		return;
	}
	size_t l = strlen(r->note);
	snprintf(r->note + l, sizeof r->note - l, "%spcap: %s%s", l ? "; " : "", path,
		 rec->truncated ? " (cut: longer than the recording bound)" : "");
}

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
	cf_server_kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run R;
	struct cf_report_item *items = NULL;
	size_t nitems = 0;
	struct cf_rec rec;
	char err[CF_MSG], tname[256] = "", name[NET_ADDRSTRLEN];
	int rc = 2;

	int pr = parse(argc, argv, &o);
	if (pr == 1) {
		usage(stdout);
		return stdout_ok() ? 0 : 2;
	}
	if (pr < 0) {
		fprintf(stderr, "conform: see --help\n");
		return 2;
	}
	if (o.list) {
		list_cases();
		return stdout_ok() ? 0 : 2;
	}
	if ((o.tcp != NULL && numeric_target("--tcp", o.tcp) < 0) || (o.udp != NULL && numeric_target("--udp", o.udp) < 0))
		return 2;
	if ((o.junit != NULL && report_writable("--junit", o.junit) < 0) ||
	    (o.json != NULL && report_writable("--json", o.json) < 0))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	/* conform itself holds up to ~1100 connections (tcp/many/thousand): raise its own soft limit */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* orphans of the server under test come to conform, which reaps them (server.c) */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	memset(&R, 0, sizeof R);
	R.o = &o;
	cf_rec_init(&rec, 40u << 20); /* the 16 MiB case both ways fits */

	if (o.pcap_dir != NULL) {
		struct stat st;
		if (stat(o.pcap_dir, &st) < 0 && (mkdir(o.pcap_dir, 0777) < 0 || stat(o.pcap_dir, &st) < 0)) {
			fprintf(stderr, "conform: --pcap-dir %s: %s\n", o.pcap_dir, strerror(errno));
			return 2;
		}
		if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr, "conform: --pcap-dir %s: not a directory\n", o.pcap_dir);
			return 2;
		}
		if (access(o.pcap_dir, W_OK | X_OK) < 0) {
			fprintf(stderr, "conform: --pcap-dir %s: cannot write there: %s\n", o.pcap_dir, strerror(errno));
			return 2;
		}
	}
	if (o.tcp != NULL) {
		if (net_parse(o.tcp, &R.t.tcp, err, sizeof err) < 0) {
			fprintf(stderr, "conform: --tcp: %s\n", err);
			return 2;
		}
		R.t.has_tcp = 1;
	}
	if (o.udp != NULL) {
		if (net_parse(o.udp, &R.t.udp, err, sizeof err) < 0) {
			fprintf(stderr, "conform: --udp: %s\n", err);
			return 2;
		}
		R.t.has_udp = 1;
	}
	const char *cmds[3] = {o.exec_both, o.exec_tcp, o.exec_udp};
	const int protos[3] = {CF_TCP | CF_UDP, CF_TCP, CF_UDP};
	for (int i = 0; i < 3; i++) {
		struct cf_target nt;
		if (cmds[i] == NULL)
			continue;
		R.srv[R.nsrv] = cf_server_start(cmds[i], protos[i], o.nofile, o.start_ms, &nt, err, sizeof err);
		if (R.srv[R.nsrv] == NULL) {
			fprintf(stderr, "conform: %s\n", err);
			goto out;
		}
		R.srv_proto[R.nsrv++] = protos[i];
		if (protos[i] & CF_TCP) {
			R.t.tcp = nt.tcp, R.t.has_tcp = 1;
			R.t.tcp6 = nt.tcp6, R.t.has_tcp6 = nt.has_tcp6;
		}
		if (protos[i] & CF_UDP) {
			R.t.udp = nt.udp, R.t.has_udp = 1;
			R.t.udp6 = nt.udp6, R.t.has_udp6 = nt.has_udp6;
		}
	}
	if (check_loopback(&R.t) < 0 || preflight(&R.t, o.timeout_ms) < 0)
		goto out;
	if (R.t.has_tcp)
		snprintf(tname, sizeof tname, "tcp %s", net_format((struct sockaddr *)&R.t.tcp.ss, name, sizeof name));
	if (R.t.has_udp) {
		size_t l = strlen(tname);
		snprintf(tname + l, sizeof tname - l, "%sudp %s", l ? ", " : "",
			 net_format((struct sockaddr *)&R.t.udp.ss, name, sizeof name));
	}

	FILE *out = o.tap ? stderr : stdout;
	fprintf(out, "conform: %s%s%s (timeout %d ms%s)\n", tname, R.nsrv ? " started by --exec" : "", "",
		o.timeout_ms, R.nsrv && o.nofile ? ", server RLIMIT_NOFILE lowered" : "");
	items = calloc(cf_ncases + (size_t)o.random_n + 3, sizeof *items);
	if (items == NULL) {
		fprintf(stderr, "conform: out of memory\n");
		goto out;
	}
	uint64_t t0 = cf_now_ns();
	for (size_t i = 0; i < cf_ncases; i++) {
		const struct cf_case *cs = &cf_cases[i];
		if (!selected(&o, cs->id))
			continue;
		if ((cs->proto == CF_TCP && !R.t.has_tcp) || (cs->proto == CF_UDP && !R.t.has_udp))
			continue;
		struct cf_report_item *x = &items[nitems++];
		snprintf(x->id, sizeof x->id, "%s", cs->id);
		x->cs = cs;
		x->rule = cs->rule;
		x->must = cs->must;
		x->desc = cs->desc;
		if (R.fatal) {
			x->r.status = CF_FAIL;
			x->r.offset = -1;
			snprintf(x->r.msg, sizeof x->r.msg, "not run: %.480s", R.fatal_msg);
			print_item(out, x, o.strict, o.verbose);
			continue;
		}
		for (int attempt = 0;; attempt++) {
			struct cf_ctx c;
			int retried = attempt;
			memset(&x->r, 0, sizeof x->r);
			x->r.offset = -1;
			x->r.retried = retried;
			memset(&c, 0, sizeof c);
			c.t = &R.t;
			c.timeout_ms = o.timeout_ms;
			c.nofile = R.nsrv ? o.nofile : 0;
			c.resets = o.resets;
			c.r = &x->r;
			c.deadline_ns = cf_now_ns() + (uint64_t)(30 * o.timeout_ms < 60000 ? 60000 : 30 * o.timeout_ms) * 1000000u;
			cf_rec_reset(&rec);
			c.rec = o.pcap_dir ? &rec : NULL;
			uint64_t s0 = cf_now_ns();
			int r = cs->run(&c);
			x->r.secs = (double)(cf_now_ns() - s0) / 1e9;
			if (r == 0 && x->r.status == CF_FAIL)
				r = -1;
			check_servers(&R, &x->r, cs->proto);
			if (x->r.status == CF_FAIL && x->r.timeout && attempt < o.retries && !R.fatal)
				continue;
			break;
		}
		if (x->r.status == CF_FAIL && x->r.timeout) {
			size_t l = strlen(x->r.msg);
			if (x->r.retried)
				snprintf(x->r.msg + l, sizeof x->r.msg - l, " (timed out %d times)", x->r.retried + 1);
		}
		if (x->r.status == CF_FAIL && o.pcap_dir)
			write_pcap(&o, x->id, &rec, &x->r);
		print_item(out, x, o.strict, o.verbose);
		if (stop_sig)
			break;
	}

	if (o.random_n > 0 && !R.fatal) {
		uint64_t seed = o.seed_set ? o.seed : (cf_now_ns() ^ (uint64_t)getpid()) % 1000000000u;
		fprintf(out, "conform: random phase: %ld sequences from seed %llu\n", o.random_n,
			(unsigned long long)seed);
		for (long i = 0; i < o.random_n && !R.fatal; i++) {
			struct cf_report_item *x = &items[nitems++];
			struct cf_ctx c;
			snprintf(x->id, sizeof x->id, "random/seed-%llu", (unsigned long long)(seed + (uint64_t)i));
			x->rule = "T1";
			x->must = 1;
			x->desc = "a random sequence of sends, half-closes and resets, and datagrams";
			memset(&x->r, 0, sizeof x->r);
			x->r.offset = -1;
			memset(&c, 0, sizeof c);
			c.t = &R.t;
			c.timeout_ms = o.timeout_ms;
			c.r = &x->r;
			uint64_t s0 = cf_now_ns();
			int r = cf_random_run(&c, seed + (uint64_t)i, R.nsrv ? restart_cb : NULL, &R);
			x->r.secs = (double)(cf_now_ns() - s0) / 1e9;
			(void)r;
			check_servers(&R, &x->r, CF_TCP | CF_UDP);
			if (x->r.status != CF_PASS || o.verbose)
				print_item(out, x, o.strict, o.verbose);
		}
	}
	/* B2, for the servers conform started: SIGTERM stops them promptly */
	for (int i = 0; i < R.nsrv; i++) {
		int restarts = cf_server_restarts(R.srv[i]);
		int ms = cf_server_stop(R.srv[i]);
		R.srv[i] = NULL;
		if (restarts > 0)
			fprintf(out, "conform: the server was restarted %d time(s) after dying\n", restarts);
		if (!selected(&o, "exec/stop/sigterm") || stop_sig)
			continue;
		struct cf_report_item *x = &items[nitems++];
		snprintf(x->id, sizeof x->id, "exec/stop/sigterm");
		x->rule = "B2";
		x->must = 1;
		x->desc = "--exec: the server (its process group) stops within 2 s of SIGTERM";
		x->r.offset = -1;
		x->r.secs = ms < 0 ? 2.0 : ms / 1000.0;
		if (ms < 0) {
			x->r.status = CF_FAIL;
			snprintf(x->r.msg, sizeof x->r.msg, "the server still ran 2 s after SIGTERM; it was killed (SIGKILL)");
		}
		print_item(out, x, o.strict, o.verbose);
	}
	R.nsrv = 0;
	double secs = (double)(cf_now_ns() - t0) / 1e9;

	size_t pass = 0, fail = 0, skip = 0, counted = 0, retried = 0;
	for (size_t i = 0; i < nitems; i++) {
		pass += items[i].r.status == CF_PASS;
		fail += items[i].r.status == CF_FAIL;
		skip += items[i].r.status == CF_SKIP;
		counted += items[i].r.status == CF_FAIL && (items[i].must || o.strict);
		retried += items[i].r.retried > 0;
	}
	fprintf(out, "conform: %zu passed, %zu failed (%zu counted), %zu skipped, %zu retried after a timeout, in "
		     "%.2f s\n", pass, fail, counted, skip, retried, secs);
	rc = counted > 0 ? 1 : 0;
	if (nitems == 0) {
		fprintf(stderr, "conform: no case selected (--only matched nothing for the targets given)\n");
		rc = 2;
	} else if (pass == 0 && fail == 0) {
		fprintf(stderr, "conform: every selected case was skipped: nothing was tested\n");
		rc = 2;
	}
	if (o.tap)
		cf_write_tap(stdout, items, nitems, o.strict);
	if (o.junit && cf_write_junit(o.junit, items, nitems, o.strict, secs, err, sizeof err) < 0) {
		fprintf(stderr, "conform: %s\n", err);
		rc = 2;
	}
	if (o.json && cf_write_json(o.json, items, nitems, o.strict, secs, tname, err, sizeof err) < 0) {
		fprintf(stderr, "conform: %s\n", err);
		rc = 2;
	}
	if (pcap_failed) {
		fprintf(stderr, "conform: --pcap-dir %s: some failing cases have no pcap (see above)\n", o.pcap_dir);
		rc = 2;
	}
	if (!stdout_ok())
		rc = 2;
	if (stop_sig)
		rc = 2;
out:
	for (int i = 0; i < R.nsrv; i++)
		cf_server_stop(R.srv[i]);
	cf_rec_free(&rec);
	free(items);
	return rc;
}
