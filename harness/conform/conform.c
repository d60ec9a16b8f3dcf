/* conform.c - the conformance checker: runs the case table (case_table.c) and the random phase
 * (random_phase.c) against a TCP and/or UDP uppercase server and reports per case; the CI gate for other
 * implementations. main() parses, plans (targets, servers, outputs), runs and reports. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "case.h"
#include "cli.h"
#include "options.h"
#include "random_phase.h"
#include "recording.h"
#include "reports.h"
#include "server.h"
#include "upper.h"
#include "util.h"

/* A case's recording holds up to this much: the 16 MiB case both ways fits. */
#define RECORDING_MAX_BYTES (40u << 20)
#define MAX_SERVERS 2
/* Failed cases in a row of one transport in which the server answered nothing (no byte, no datagram),
 * after which that transport's remaining cases are not reached (without --patient). */
#define DEAD_AFTER 3

/* A run: the options, the target, the servers conform started and what was reported. */
struct run {
	const struct options *o;
	struct case_target target;
	char target_name[256];
	struct server *servers[MAX_SERVERS];
	int server_transports[MAX_SERVERS];
	int server_count;
	int restart_failed; /* a server could not be restarted: the remaining cases are not run */
	char restart_failure[CASE_MESSAGE_MAX];
	FILE *out;                  /* the per-case lines: stdout, or stderr with --tap */
	struct reports_item *items; /* this round's */
	size_t item_count;
	struct reports_item *merged; /* every case once, over the rounds (--repeat): what is reported */
	size_t merged_count;
	uint64_t seed; /* the random phase's first seed, the same in every round */
	/* the dead-target exit, per transport (index 0 tcp, 1 udp) */
	int silent[2];           /* failed cases in a row in which the server answered nothing */
	char silent_ids[2][400]; /* their ids */
	int dead;                /* transports given up on: CASE_TCP | CASE_UDP bits */
	int last_silent;         /* the last case run failed with nothing answered (either transport) */
	char dead_why[2][CASE_MESSAGE_MAX];
	struct recording recording;
	int pcap_failed; /* a failing case's pcap could not be written */
	double seconds;
	long long kernel_drops; /* datagrams the kernel dropped at the server's socket (udp/buffer/drops) */
	char drops_where[256];  /* the cases they were dropped in */
};

/* The finding reported when the kernel dropped datagrams at the server's socket. */
#define DROPS_ID "udp/buffer/drops"
#define DROPS_DESCRIPTION                                                                                    \
	"(only when it happened) datagrams the kernel dropped at the server's socket, receive buffer full: " \
	"the host's loss, not a U1 failure"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
	server_kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Output that could not be written is an error, not a pass (stdout on a full disk, a closed pipe). */
static int stdout_written(void)
{
	if (util_flush_ok(stdout) == 0)
		return 1;
	fprintf(stderr, "conform: standard output: %s\n", strerror(errno));
	return 0;
}

static void list_cases(void)
{
	static const char *const rules[] = {"X1", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8",
	                                    "T9", "U1", "U2", "U3", "U4", "U5", "U6", "B1", "B2"};
	printf("%-34s %-4s %-6s %s\n", "ID", "RULE", "LEVEL", "DESCRIPTION");
	for (size_t i = 0; i < case_table_count; i++)
		printf("%-34s %-4s %-6s %s\n", case_table[i].id, case_table[i].rule,
		       case_table[i].level == CASE_MUST ? "MUST" : "SHOULD", case_table[i].description);
	printf("%-34s %-4s %-6s %s\n", "exec/stop/sigterm", "B2", "MUST",
	       "--exec: the server (its process group) stops within 2 s of SIGTERM (after the cases)");
	printf("%-34s %-4s %-6s %s\n", DROPS_ID, "U5", "SHOULD", DROPS_DESCRIPTION);
	printf("%-34s %-4s %-6s %s\n", "random/seed-S", "T1", "MUST",
	       "--random: one random sequence (pipelined sends, half-closes, resets, stalled readers; UDP "
	       "bursts)");
	printf("\nSPEC rules (SPEC.md):\n");
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		const char *text = upper_rule_text(rules[i]);
		if (text != NULL)
			printf("  %-3s %s\n", rules[i], text);
	}
}

/* ---- plan: outputs, targets, servers ---- */

/* A report file is created (emptied) before the run, so that a missing directory or a read-only
 * place fails at once, not after minutes of testing, and no stale report of an earlier run remains. */
static int report_writable(const char *option, const char *path)
{
	FILE *f = path != NULL && !util_is_stdout(path) ? fopen(path, "w") : NULL;
	if (path != NULL && !util_is_stdout(path) && (f == NULL || fclose(f) != 0)) {
		fprintf(stderr, "conform: %s %s: %s\n", option, path, strerror(errno));
		return -1;
	}
	return 0;
}

static int pcap_dir_writable(const char *dir)
{
	char err[512];
	if (dir == NULL)
		return 0;
	if (util_mkdir_out(dir, err, sizeof err) < 0) {
		fprintf(stderr, "conform: --pcap-dir %s\n", err);
		return -1;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		fprintf(stderr, "conform: --pcap-dir %s: cannot write there: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* conform talks to loopback only (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104): it is a test tool, and
 * its resets, bursts and floods are not for other hosts. */
static int is_loopback(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr) >> 24) == 127;
	if (a->ss.ss_family == AF_INET6) {
		const struct in6_addr *x = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(x) || (IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127);
	}
	return 0;
}

static int check_loopback(const struct case_target *t)
{
	char name[NET_ADDRSTRLEN];
	const struct net_addr *addrs[4] = {&t->tcp, &t->udp, &t->tcp6, &t->udp6};
	const int has[4] = {t->has_tcp, t->has_udp, t->has_tcp6, t->has_udp6};
	for (int i = 0; i < 4; i++)
		if (has[i] && !is_loopback(addrs[i])) {
			fprintf(stderr,
			        "conform: %s %s is not a loopback address: conform tests servers on "
			        "127.0.0.1 or ::1 only\n",
			        i % 2 ? "udp" : "tcp",
			        net_format((const struct sockaddr *)&addrs[i]->ss, name, sizeof name));
			return -1;
		}
	return 0;
}

/* Is a UDP server listening at a? A connected UDP socket hears ICMP port unreachable. 0 yes (or no
 * answer either way), -1 no (message printed). */
static int udp_listening(const struct net_addr *a, int timeout_ms)
{
	char err[256], name[NET_ADDRSTRLEN];
	int fd = net_connect(a, SOCK_DGRAM, timeout_ms, err, sizeof err);
	if (fd < 0) {
		fprintf(stderr, "conform: cannot test udp: %s\n", err);
		return -1;
	}
	int refused = 0;
	for (int i = 0; i < 3 && !refused; i++) {
		char b[64];
		struct pollfd p = {fd, POLLIN, 0};
		if (send(fd, "conform probe", 13, 0) < 0 && errno == ECONNREFUSED)
			refused = 1;
		else if (poll(&p, 1, timeout_ms / 3 + 1) == 1) {
			refused = recv(fd, b, sizeof b, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED;
			break;
		}
	}
	close(fd);
	if (refused)
		fprintf(stderr, "conform: cannot test udp %s: nothing listening (ICMP port unreachable)\n",
		        net_format((const struct sockaddr *)&a->ss, name, sizeof name));
	return refused ? -1 : 0;
}

/* Is anything listening? 0 yes, -1 no (message printed). */
static int preflight(const struct case_target *t, int timeout_ms)
{
	char err[256], name[NET_ADDRSTRLEN];
	if (t->has_tcp) {
		int fd = net_connect(&t->tcp, SOCK_STREAM, timeout_ms, err, sizeof err);
		/* a reset that comes before the connection is seen complete still means a server accepted it
		 */
		if (fd < 0 && errno != ECONNRESET) {
			fprintf(stderr, "conform: cannot test tcp %s: %s\n",
			        net_format((const struct sockaddr *)&t->tcp.ss, name, sizeof name), err);
			return -1;
		}
		if (fd >= 0)
			close(fd);
	}
	return t->has_udp ? udp_listening(&t->udp, timeout_ms) : 0;
}

/* Takes a started server's addresses for the transports it serves into the run's target. */
static void take_addresses(struct case_target *t, int transports, const struct case_target *from)
{
	if (transports & CASE_TCP) {
		t->tcp = from->tcp;
		t->has_tcp = from->has_tcp;
		t->tcp6 = from->tcp6;
		t->has_tcp6 = from->has_tcp6;
	}
	if (transports & CASE_UDP) {
		t->udp = from->udp;
		t->has_udp = from->has_udp;
		t->udp6 = from->udp6;
		t->has_udp6 = from->has_udp6;
	}
}

static int parse_target(const char *option, const char *s, struct net_addr *a, int *has)
{
	char err[CASE_MESSAGE_MAX];
	if (s == NULL)
		return 0;
	if (net_parse(s, a, err, sizeof err) < 0) {
		fprintf(stderr, "conform: %s: %s\n", option, err);
		return -1;
	}
	*has = 1;
	return 0;
}

static int start_servers(struct run *run)
{
	const char *const commands[3] = {run->o->exec_both, run->o->exec_tcp, run->o->exec_udp};
	const int transports[3] = {CASE_TCP | CASE_UDP, CASE_TCP, CASE_UDP};
	char err[CASE_MESSAGE_MAX];
	for (int i = 0; i < 3; i++) {
		struct case_target started;
		if (commands[i] == NULL)
			continue;
		run->servers[run->server_count] =
		    server_start(commands[i], transports[i], run->o->nofile, run->o->nofile_many,
		                 run->o->start_ms, &started, err, sizeof err);
		if (run->servers[run->server_count] == NULL) {
			fprintf(stderr, "conform: %s\n", err);
			return -1;
		}
		run->server_transports[run->server_count++] = transports[i];
		take_addresses(&run->target, transports[i], &started);
	}
	return 0;
}

static void name_target(struct run *run)
{
	char name[NET_ADDRSTRLEN];
	if (run->target.has_tcp)
		snprintf(run->target_name, sizeof run->target_name, "tcp %s",
		         net_format((struct sockaddr *)&run->target.tcp.ss, name, sizeof name));
	if (run->target.has_udp) {
		size_t len = strlen(run->target_name);
		snprintf(run->target_name + len, sizeof run->target_name - len, "%sudp %s", len ? ", " : "",
		         net_format((struct sockaddr *)&run->target.udp.ss, name, sizeof name));
	}
}

/* Everything before the first case: outputs writable, signals, targets parsed or servers started, all
 * on loopback and listening. Returns 0 or -1 (message printed). */
static int plan(struct run *run)
{
	const struct options *o = run->o;
	if (report_writable("--junit", o->junit) < 0 || report_writable("--json", o->json) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	/* conform itself holds over 2000 connections (tcp/many/2000): raise its own soft limit */
	util_raise_nofile(1L << 30);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (pcap_dir_writable(o->pcap_dir) < 0 ||
	    parse_target("--tcp", o->tcp, &run->target.tcp, &run->target.has_tcp) < 0 ||
	    parse_target("--udp", o->udp, &run->target.udp, &run->target.has_udp) < 0 ||
	    start_servers(run) < 0 || check_loopback(&run->target) < 0 ||
	    preflight(&run->target, o->timeout_ms) < 0)
		return -1;
	name_target(run);
	run->out = o->stdout_report ? stderr : stdout;
	fprintf(run->out, "conform: %s%s (timeout %d ms%s)\n", run->target_name,
	        run->server_count ? " started by --exec" : "", o->timeout_ms,
	        run->server_count && o->nofile ? ", server RLIMIT_NOFILE lowered" : "");
	size_t most = case_table_count + (size_t)o->random_count + MAX_SERVERS + 2;
	run->items = calloc(most, sizeof *run->items);
	run->merged = calloc(most, sizeof *run->merged);
	run->seed = o->seed_given ? o->seed : (util_now_ns() ^ (uint64_t)getpid()) % 1000000000u;
	if (run->items == NULL || run->merged == NULL) {
		fprintf(stderr, "conform: out of memory\n");
		return -1;
	}
	return 0;
}

/* ---- run ---- */

/* Waits a moment for a server that is dying (a signal on its way, its shell reaping it) to be seen
 * dead, so that its death is charged to the case that caused it. */
static void let_deaths_show(struct run *run, int grace_ms)
{
	uint64_t until = util_now_ns() + (uint64_t)grace_ms * 1000000u;
	for (;;) {
		int dead = 0;
		char why[128];
		for (int i = 0; i < run->server_count; i++)
			dead |= server_has_exited(run->servers[i], why, sizeof why);
		if (dead || util_ms_left(until) == 0)
			return;
		util_sleep_ms(2);
	}
}

/* The server died during the case of r (NULL between random attempts): that case fails. */
static void charge_death(struct case_result *r, int case_transports, int server_transports, const char *why)
{
	if (r == NULL)
		return;
	if (r->status != CASE_FAIL || (server_transports & case_transports)) {
		char previous[CASE_MESSAGE_MAX];
		snprintf(previous, sizeof previous, "%s", r->message);
		snprintf(r->message, sizeof r->message, "the server died during this case: %s%s%.300s", why,
		         previous[0] ? "; " : "", previous);
	}
	r->status = CASE_FAIL;
	r->timed_out = 0;
}

/* After a case: did a server die? Then the case fails (r), its output is shown, and it is started again
 * for the remaining cases. */
static void check_servers(struct run *run, struct case_result *r, int case_transports)
{
	let_deaths_show(run, r != NULL && r->status == CASE_FAIL ? 300 : 20);
	for (int i = 0; i < run->server_count; i++) {
		char why[128], err[CASE_MESSAGE_MAX];
		struct case_target restarted;
		if (!server_has_exited(run->servers[i], why, sizeof why))
			continue;
		charge_death(r, case_transports, run->server_transports[i], why);
		fprintf(stderr, "conform: server '%s' %s; its last output:\n",
		        server_command(run->servers[i]), why);
		server_print_log_tail(run->servers[i], stderr, "  | ", 6);
		if (server_restart(run->servers[i], &restarted, err, sizeof err) < 0) {
			run->restart_failed = 1;
			snprintf(run->restart_failure, sizeof run->restart_failure,
			         "could not restart the server: %.400s", err);
			continue;
		}
		take_addresses(&run->target, run->server_transports[i], &restarted);
	}
}

static int restart_dead_servers(void *arg)
{
	struct run *run = arg;
	check_servers(run, NULL, 0);
	return run->restart_failed ? -1 : 0;
}

/* Writes the failing case's exchange to DIR/<id with / as _>.pcap and names it in the note. */
static void write_pcap(struct run *run, struct reports_item *x)
{
	char path[4096], name[128], err[256];
	snprintf(name, sizeof name, "%s", x->id);
	for (char *p = name; *p != '\0'; p++)
		if (*p == '/')
			*p = '_';
	snprintf(path, sizeof path, "%s/%s.pcap", run->o->pcap_dir, name);
	recording_label(&run->recording, x->id, x->rule);
	if (recording_write_pcap(&run->recording, path, err, sizeof err) < 0) {
		fprintf(stderr, "conform: --pcap-dir: %s%s\n", err,
		        errno == ENOSPC ? " (No space left on device)" : "");
		unlink(path); /* a cut pcap would read as a whole exchange */
		run->pcap_failed = 1;
		return;
	}
	size_t len = strlen(x->result.note);
	snprintf(x->result.note + len, sizeof x->result.note - len, "%spcap: %s%s", len ? "; " : "", path,
	         run->recording.truncated ? " (cut: longer than the recording bound)" : "");
}

static struct reports_item *new_item(struct run *run, const char *id, const char *rule, enum case_level level,
                                     const char *description)
{
	struct reports_item *x = &run->items[run->item_count++];
	snprintf(x->id, sizeof x->id, "%s", id);
	x->rule = rule;
	x->level = level;
	x->description = description;
	case_result_clear(&x->result);
	return x;
}

static void context_init(struct run *run, struct case_context *c, struct case_result *r)
{
	memset(c, 0, sizeof *c);
	c->target = &run->target;
	c->timeout_ms = run->o->timeout_ms;
	c->result = r;
}

/* The servers conform started, for the cases that pause or measure them. */
static void context_servers(struct run *run, struct case_context *c)
{
	c->watched_pid = (pid_t)run->o->pid;
	for (int i = 0; i < run->server_count; i++) {
		if (run->server_transports[i] & CASE_UDP)
			c->udp_server_group = server_process_group(run->servers[i]);
		if (run->server_transports[i] & CASE_TCP)
			c->tcp_server_group = server_process_group(run->servers[i]);
	}
}

/* Datagrams the kernel dropped at the server's socket during a case: counted for udp/buffer/drops. */
static void count_drops(struct run *run, const struct reports_item *x)
{
	size_t used = strlen(run->drops_where);
	if (x->result.kernel_drops <= 0)
		return;
	run->kernel_drops += x->result.kernel_drops;
	if (used + strlen(x->id) + 8 < sizeof run->drops_where)
		snprintf(run->drops_where + used, sizeof run->drops_where - used, "%s%s (%lld)",
		         used ? ", " : "", x->id, x->result.kernel_drops);
}

/* Runs one case of the table, again after a timeout (--retries), and checks the servers after each
 * attempt. */
static void run_case(struct run *run, const struct case_definition *definition, struct reports_item *x)
{
	const struct options *o = run->o;
	int budget_ms = 30 * o->timeout_ms < 60000 ? 60000 : 30 * o->timeout_ms;
	for (int attempt = 0;; attempt++) {
		struct case_context c;
		case_result_clear(&x->result);
		x->result.retries = attempt;
		context_init(run, &c, &x->result);
		c.server_nofile = run->server_count ? o->nofile : 0;
		c.server_many_nofile = run->server_count && o->nofile ? o->nofile_many : 0;
		context_servers(run, &c);
		c.resets = o->resets;
		c.deadline_ns = util_now_ns() + (uint64_t)budget_ms * 1000000u;
		recording_clear(&run->recording);
		c.recording = o->pcap_dir ? &run->recording : NULL;
		uint64_t start = util_now_ns();
		definition->run(&c);
		x->result.seconds = (double)(util_now_ns() - start) / 1e9;
		check_servers(run, &x->result, definition->transport);
		/* a timeout is retried, unless the server answered nothing in it nor in the case before */
		int dead_again = !o->patient && x->result.answered == 0 && run->last_silent;
		if (!(x->result.status == CASE_FAIL && x->result.timed_out && attempt < o->retries &&
		      !run->restart_failed && !dead_again))
			break;
	}
	if (x->result.status == CASE_FAIL && x->result.timed_out && x->result.retries) {
		size_t len = strlen(x->result.message);
		snprintf(x->result.message + len, sizeof x->result.message - len, " (timed out %d times)",
		         x->result.retries + 1);
	}
	if (x->result.status == CASE_FAIL && o->pcap_dir)
		write_pcap(run, x);
	count_drops(run, x);
}

/* The dead-target exit: counts a transport's failed cases in a row in which the server answered nothing.
 * After DEAD_AFTER of them, or after one once the other transport was given up (the server has answered
 * nothing in more than DEAD_AFTER cases in a row then), that transport's remaining cases are not reached
 * (without --patient). */
static void note_silence(struct run *run, int transport, const struct reports_item *x)
{
	int t = transport == CASE_UDP;
	const char *name = t ? "udp" : "tcp";
	if (x->result.status == CASE_SKIP)
		return;
	run->last_silent = x->result.status == CASE_FAIL && x->result.answered == 0;
	if (!run->last_silent) {
		run->silent[t] = 0;
		run->silent_ids[t][0] = '\0';
		return;
	}
	char ids[sizeof run->silent_ids[t]];
	snprintf(ids, sizeof ids, "%s%s%s", run->silent_ids[t], run->silent_ids[t][0] ? ", " : "", x->id);
	memcpy(run->silent_ids[t], ids, sizeof ids);
	int other_dead = (run->dead & ~transport & (CASE_TCP | CASE_UDP)) != 0;
	if ((++run->silent[t] < DEAD_AFTER && !other_dead) || run->o->patient || (run->dead & transport))
		return;
	run->dead |= transport;
	snprintf(
	    run->dead_why[t], sizeof run->dead_why[t],
	    "not reached: the server answered nothing (no byte, no datagram) in %d failed %s case(s) in a "
	    "row (%.300s)%s; --patient runs every case",
	    run->silent[t], name, ids, other_dead ? ", nor over the other transport" : "");
	fprintf(run->out, "conform: %s: the remaining %s cases are %s\n", name, name, run->dead_why[t]);
}

static void run_table(struct run *run)
{
	for (size_t i = 0; i < case_table_count && !stop_signal; i++) {
		const struct case_definition *definition = &case_table[i];
		if (!options_selected(run->o, definition->id))
			continue;
		if ((definition->transport == CASE_TCP && !run->target.has_tcp) ||
		    (definition->transport == CASE_UDP && !run->target.has_udp))
			continue;
		struct reports_item *x = new_item(run, definition->id, definition->rule, definition->level,
		                                  definition->description);
		if (run->restart_failed) {
			x->result.status = CASE_FAIL;
			snprintf(x->result.message, sizeof x->result.message, "not run: %.480s",
			         run->restart_failure);
		} else if (run->dead & definition->transport) {
			x->result.status = CASE_NOT_REACHED;
			snprintf(x->result.message, sizeof x->result.message, "%s",
			         run->dead_why[definition->transport == CASE_UDP]);
		} else {
			run_case(run, definition, x);
		}
		if (x->result.status != CASE_NOT_REACHED || run->o->verbose)
			reports_print_item(run->out, x, run->o->strict, run->o->verbose);
		if (x->result.status != CASE_NOT_REACHED && !run->restart_failed)
			note_silence(run, definition->transport, x);
	}
}

/* The random phase: sequences seed, seed+1, ...; only failures are printed (all with -v). */
static void run_random(struct run *run)
{
	const struct options *o = run->o;
	struct random_phase_options phase = {.seeds_dir = o->seeds_dir  ? o->seeds_dir
	                                                  : o->pcap_dir ? o->pcap_dir
	                                                                : "out/conform",
	                                     .restart = run->server_count ? restart_dead_servers : NULL,
	                                     .restart_arg = run};
	struct case_context probe;
	struct case_result unused;
	char why[128];
	if (o->random_count == 0 || run->restart_failed)
		return;
	uint64_t seed = run->seed;
	if (run->dead) {
		fprintf(run->out,
		        "conform: random phase: %ld sequences not reached (the server answers nothing)\n",
		        o->random_count);
		for (long i = 0; i < o->random_count; i++) {
			char id[64];
			snprintf(id, sizeof id, "random/seed-%llu", (unsigned long long)(seed + (uint64_t)i));
			struct reports_item *x = new_item(run, id, "T1", CASE_MUST, "a random sequence");
			x->result.status = CASE_NOT_REACHED;
			snprintf(x->result.message, sizeof x->result.message, "%s",
			         run->dead_why[(run->dead & CASE_TCP) ? 0 : 1]);
		}
		return;
	}
	fprintf(run->out, "conform: random phase: %ld sequences from seed %llu\n", o->random_count,
	        (unsigned long long)seed);
	context_init(run, &probe, &unused);
	if (!random_phase_ipv6(&probe, why, sizeof why))
		fprintf(run->out, "conform: random phase: IPv6 part skipped (%s): it runs over %s\n", why,
		        run->target_name);
	for (long i = 0; i < o->random_count && !run->restart_failed && !stop_signal; i++) {
		struct case_context c;
		char id[64];
		const char *rule = NULL;
		snprintf(id, sizeof id, "random/seed-%llu", (unsigned long long)(seed + (uint64_t)i));
		struct reports_item *x = new_item(
		    run, id, "T1", CASE_MUST,
		    "a random sequence: pipelined sends, half-closes, resets and stalled readers over many "
		    "connections, UDP bursts from many senders");
		context_init(run, &c, &x->result);
		context_servers(run, &c);
		uint64_t start = util_now_ns();
		if (random_phase_run(&c, seed + (uint64_t)i, &phase, &rule) < 0 && rule != NULL)
			x->rule = rule;
		x->result.seconds = (double)(util_now_ns() - start) / 1e9;
		check_servers(run, &x->result, CASE_TCP | CASE_UDP);
		count_drops(run, x);
		if (x->result.status != CASE_PASS || o->verbose)
			reports_print_item(run->out, x, o->strict, o->verbose);
	}
}

/* B2, for the servers conform started: SIGTERM stops them promptly. One case for all of them (--exec-tcp
 * and --exec-udp), failing when any had to be killed; its time is the slowest stop. */
static void stop_servers(struct run *run)
{
	struct reports_item *x = NULL;
	int two = run->server_count > 1;
	for (int i = 0; i < run->server_count; i++) {
		int restarts = server_restart_count(run->servers[i]);
		const char *which = !two ? "" : run->server_transports[i] == CASE_TCP ? "tcp " : "udp ";
		char command[256];
		long stop_ms;
		snprintf(command, sizeof command, "%s", server_command(run->servers[i]));
		int killed = server_stop(run->servers[i], &stop_ms) < 0;
		run->servers[i] = NULL;
		if (restarts > 0)
			fprintf(run->out, "conform: the %sserver was restarted %d time(s) after dying\n",
			        which, restarts);
		if (!options_selected(run->o, "exec/stop/sigterm") || stop_signal)
			continue;
		if (x == NULL)
			x = new_item(
			    run, "exec/stop/sigterm", "B2", CASE_MUST,
			    two ? "--exec-tcp and --exec-udp: each server (its process group) stops within "
			          "2 s of SIGTERM"
			        : "--exec: the server (its process group) stops within 2 s of SIGTERM");
		double seconds = killed ? 2.0 : (double)stop_ms / 1000.0;
		if (seconds > x->result.seconds)
			x->result.seconds = seconds;
		if (killed) {
			size_t len = strlen(x->result.message);
			x->result.status = CASE_FAIL;
			snprintf(
			    x->result.message + len, sizeof x->result.message - len,
			    "%sthe %sserver%s%.200s%s still ran 2 s after SIGTERM; it was killed (SIGKILL)",
			    len ? "; " : "", which, two ? " '" : "", two ? command : "", two ? "'" : "");
		}
	}
	if (x != NULL)
		reports_print_item(run->out, x, run->o->strict, run->o->verbose);
	run->server_count = 0;
}

/* Takes the round's items into the reported ones (--repeat: each case once, counted per round). */
static void merge_round(struct run *run)
{
	for (size_t i = 0; i < run->item_count; i++)
		reports_merge(run->merged, &run->merged_count, &run->items[i]);
	run->item_count = 0;
}

/* ---- report ---- */

/* udp/buffer/drops, when the kernel dropped datagrams at the server's socket: a SHOULD finding (the
 * server's receive buffer is too small for the bursts it gets), not the U1 failure of a lost datagram. */
static void report_drops(struct run *run)
{
	if (run->kernel_drops <= 0)
		return;
	struct reports_item *x = new_item(run, DROPS_ID, "U5", CASE_SHOULD, DROPS_DESCRIPTION);
	x->result.status = CASE_FAIL;
	snprintf(x->result.message, sizeof x->result.message,
	         "the kernel dropped %lld datagram%s at the server's socket (receive buffer full): size "
	         "SO_RCVBUF for bursts (SPEC U5); in %.300s",
	         run->kernel_drops, run->kernel_drops == 1 ? "" : "s", run->drops_where);
	reports_print_item(run->out, x, run->o->strict, run->o->verbose);
}

/* The summary and the report files. Returns the exit status. */
static int report(struct run *run)
{
	const struct options *o = run->o;
	const struct reports_item *items = run->merged;
	size_t n = run->merged_count;
	char err[CASE_MESSAGE_MAX];
	struct reports_counts k = reports_count(items, n, o->strict);
	int rc = k.counted > 0 ? 1 : 0;
	reports_print_resources(run->out, items, n);
	if (o->repeat > 1)
		reports_print_rounds(run->out, items, n, o->repeat);
	reports_print_summary(run->out, items, n, o->strict, run->seconds);
	if (n == 0) {
		fprintf(stderr, "conform: no case selected (--only matched nothing for the targets given)\n");
		rc = 2;
	} else if (k.passed == 0 && k.failed == 0) {
		fprintf(stderr, "conform: every selected case was skipped: nothing was tested\n");
		rc = 2;
	}
	int stdout_failed = 0;
	if (o->tap && reports_write_tap(stdout, items, n, o->strict) < 0) {
		fprintf(stderr, "conform: standard output: %s\n", strerror(errno));
		stdout_failed = 1;
	}
	if (o->junit &&
	    reports_write_junit(o->junit, items, n, o->strict, run->seconds, err, sizeof err) < 0) {
		fprintf(stderr, "conform: %s\n", err);
		rc = 2;
	}
	if (o->json && reports_write_json(o->json, items, n, o->strict, run->seconds, run->target_name, err,
	                                  sizeof err) < 0) {
		fprintf(stderr, "conform: %s\n", err);
		rc = 2;
	}
	if (run->pcap_failed) {
		fprintf(stderr, "conform: --pcap-dir %s: some failing cases have no pcap (see above)\n",
		        o->pcap_dir);
		rc = 2;
	}
	if (stdout_failed || !stdout_written() || stop_signal)
		rc = 2;
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;
	struct run run;
	char err[CASE_MESSAGE_MAX];
	int rc = 2;

	/* the help and the list fit in one buffer: a write that fails is seen by the one flush, with its
	 * errno (ENOSPC), not as an earlier stream error without one */
	static char out_buffer[1 << 16];
	switch (options_parse(argc, argv, &o, err, sizeof err)) {
	case OPTIONS_HELP:
		setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
		options_usage(stdout);
		return stdout_written() ? 0 : 2;
	case OPTIONS_LIST:
		setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
		list_cases();
		return stdout_written() ? 0 : 2;
	case OPTIONS_VERSION:
		cli_print_version(stdout, "conform");
		return stdout_written() ? 0 : 2;
	case OPTIONS_INVALID:
		cli_usage_error(stderr, "conform", err);
		return 2;
	case OPTIONS_RUN:
		break;
	}
	memset(&run, 0, sizeof run);
	run.o = &o;
	recording_init(&run.recording, RECORDING_MAX_BYTES);
	if (plan(&run) == 0) {
		uint64_t start = util_now_ns();
		for (int round = 1; round <= o.repeat && !stop_signal; round++) {
			if (o.repeat > 1)
				fprintf(run.out, "conform: round %d of %d\n", round, o.repeat);
			run_table(&run);
			run_random(&run);
			merge_round(&run);
		}
		stop_servers(&run);
		report_drops(&run);
		merge_round(&run);
		run.seconds = (double)(util_now_ns() - start) / 1e9;
		rc = report(&run);
	}
	for (int i = 0; i < run.server_count; i++)
		server_stop(run.servers[i], NULL);
	recording_free(&run.recording);
	free(run.items);
	free(run.merged);
	return rc;
}
