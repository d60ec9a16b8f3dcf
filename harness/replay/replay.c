/* replay.c - bin/replay: replays captured TCP/UDP conversations against the reference servers or any
 * implementation of the uppercase protocol and checks the answers (harness/replay/README.md).
 *
 * main() parses the options, loads and decodes the captures, and then lists them, writes them as fuzz
 * seeds, or replays them: plan the jobs (one per flow) and their targets, start the reference servers
 * the plan needs, play the flows on a thread pool (play.h), and report. */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "cli.h"
#include "decode.h"
#include "exchange.h"
#include "fuzzconv.h"
#include "net.h"
#include "oracle.h"
#include "pcapin.h"
#include "play.h"
#include "report.h"
#include "util.h"

enum { EXIT_MISMATCH = 1, EXIT_SETUP = 2 };

/* What --incomplete does with a flow that has gaps or no SYN. */
enum replay_incomplete { INC_SKIP, INC_REPLAY, INC_FAIL };

/* What became of a flow; RES_PENDING: still to be played. */
enum replay_result { RES_PENDING = -1, RES_OK, RES_MISMATCH, RES_ERROR, RES_SKIPPED, RES_COUNT };

struct map {
	unsigned port;
	struct net_addr to;
};

struct opts {
	const char *target_spec;
	struct net_addr target;
	struct map maps[64];
	size_t nmaps;
	uint16_t server_ports[64];
	size_t nserver_ports;
	int expect_upper;
	int timing_original;
	double speed;
	int jobs;
	int timeout_ms;
	enum replay_incomplete incomplete;
	int list;
	int decode_only;
	int quiet;
	int verbose;
	const char *junit, *json, *corpus, *from_fuzz, *write_pcap;
	int fuzz_udp; /* -1: guess from the file name */
	char **pcaps; /* the PCAP arguments */
	size_t npcaps;
};

/* One flow to replay and what became of it. */
struct job {
	size_t file;
	const struct dec_flow *f;
	const struct net_addr *target;
	struct play_result r;
	enum replay_result result;
	char why[160];  /* skipped/error reason */
	int incomplete; /* failed as incomplete (--incomplete fail) */
	double secs;
};

struct capfile {
	const char *path;
	struct dec_ctx *ctx;
	uint64_t frames, malformed, bytes;
	int truncated;
};

/* The reference servers, one per protocol and address family, indexed by ref_index(). */
enum { REF_TCP4, REF_UDP4, REF_TCP6, REF_UDP6, REF_COUNT };

static const struct {
	const char *prog, *listen;
	int proto; /* CHILD_TCP or CHILD_UDP */
} ref_programs[REF_COUNT] = {
    {"tcp-upper", "127.0.0.1:0", CHILD_TCP},
    {"udp-upper", "127.0.0.1:0", CHILD_UDP},
    {"tcp-upper", "[::1]:0", CHILD_TCP},
    {"udp-upper", "[::1]:0", CHILD_UDP},
};

/* A reference server replay started (child is NULL when it was not needed). */
struct ref_server {
	struct child *child;
	struct net_addr addr;
};

/* Everything one run works on, from the loaded captures to the results. */
struct run {
	const struct opts *o;
	struct capfile *files;
	size_t nfiles;
	struct job *jobs;
	size_t njobs;
	uint64_t cap0; /* the earliest capture time of any flow: --timing original starts there */
	struct ref_server refs[REF_COUNT];
	size_t count[RES_COUNT];
	int dead; /* servers that failed the probe after the replay */
};

static int ref_index(const struct dec_flow *f)
{
	return (f->family == 6 ? REF_TCP6 : REF_TCP4) + (f->proto == 17);
}

/* ---- options --------------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: replay [options] PCAP...\n"
	    "       replay --list PCAP...\n"
	    "       replay --write-corpus DIR PCAP...\n"
	    "       replay --from-fuzz-input FILE --write-pcap OUT [--fuzz-format tcp|udp]\n"
	    "\n"
	    "Replays the TCP and UDP conversations of pcap/pcapng captures (link types EN10MB, 802.1Q,\n"
	    "LINUX_SLL, LINUX_SLL2, NULL, LOOP, RAW; IPv4 and IPv6) against a server of the uppercase "
	    "protocol\n"
	    "and checks its answers. With no --target or --map it starts the reference servers tcp-upper "
	    "and\n"
	    "udp-upper (next to this program) on free loopback ports, 127.0.0.1 and for IPv6 flows [::1] "
	    "(IPv6\n"
	    "flows are skipped, with a reason, on a host without an IPv6 loopback), and maps every captured\n"
	    "server to them. After the replay each TCP server must still answer a probe, so a server that\n"
	    "crashed on a flow (a reset while it owed output, say) fails the run.\n"
	    "\n"
	    "  --target HOST:PORT     replay every flow against HOST:PORT (TCP and UDP)\n"
	    "  --map PORT=HOST:PORT   flows whose captured server port is PORT go to HOST:PORT (repeatable;\n"
	    "                         other flows go to --target, or to the reference servers)\n"
	    "  --server-port PORT     PORT is a server port in the capture: decides the client side of "
	    "flows\n"
	    "                         without a SYN and of UDP flows (default: SYN initiator, first UDP "
	    "sender)\n"
	    "  --expect recorded|upper  recorded (default): TCP reply stream = the recorded server stream,\n"
	    "                         each UDP reply = its recorded reply datagram (the protocol rule only\n"
	    "                         where the capture has no reply); upper: the transform of what was "
	    "sent\n"
	    "  --timing fast|original  as fast as causality allows (default) or the capture's timing\n"
	    "  --speed FACTOR         original timing, FACTOR times faster (2 = twice as fast)\n"
	    "  -j N                   replay up to N flows at once (default 8)\n"
	    "  --timeout MS           longest wait for one expected server action (default 5000)\n"
	    "  --incomplete skip|replay|fail  flows with gaps or no SYN: skip them (default), replay them,\n"
	    "                         or count them as failures\n"
	    "  --junit FILE           write a JUnit XML report\n"
	    "  --json FILE            write a JSON report\n"
	    "  --list                 decode and list the flows with reassembly counts; replay nothing\n"
	    "  --decode-only          decode and reassemble, print packets per second; replay nothing\n"
	    "  --write-corpus DIR     write each flow's client side as a fuzz seed, DIR/fuzz_tcp/NAME or\n"
	    "                         DIR/fuzz_udp/NAME (format: lib/script.h); replay nothing\n"
	    "  --from-fuzz-input FILE --write-pcap OUT\n"
	    "                         write the conversation a fuzz input describes as a pcap (EN10MB)\n"
	    "  --fuzz-format tcp|udp  the input's format (default: udp if its path contains \"udp\")\n"
	    "  -q                     print only mismatches, errors and the summary\n"
	    "  -v                     also show the reference servers' output (after the replay)\n"
	    "  -h, --help             this help\n"
	    "\n"
	    "Exit status: 0 every replayed flow matched, 1 a mismatch or a server that failed the probe,\n"
	    "2 a setup or input error (a capture with no TCP or UDP flow, a run whose every flow was\n"
	    "skipped so that nothing was checked, a target nothing listens on, a bad option, a report or\n"
	    "standard output that could not be written).\n");
}

/* Standard output is a report too: a write error on it (a full disk, a closed pipe) must not pass
 * silently. Returns status, or EXIT_SETUP after a message when stdout could not be written. */
static int stdout_status(int status)
{
	if (util_flush_ok(stdout) < 0) {
		warn("standard output");
		return EXIT_SETUP;
	}
	return status;
}

/* The argument of an option that names one of several words: their index goes to *index. */
struct choice {
	const char *const *names; /* NULL-terminated */
	const char *expected;     /* how the message lists them */
	int *index;
};

static int take_choice(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	const struct choice *c = dest;

	for (int i = 0; c->names[i] != NULL; i++)
		if (strcmp(arg, c->names[i]) == 0) {
			*c->index = i;
			return 0;
		}
	snprintf(err, errlen, "%s %s: expected %s", name, arg, c->expected);
	return -1;
}

/* --target HOST:PORT */
static int take_target(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	struct opts *o = dest;
	char why[512];

	o->target_spec = arg;
	if (net_parse(arg, &o->target, why, sizeof why) == 0)
		return 0;
	snprintf(err, errlen, "%s %s: %s", name, arg, why);
	return -1;
}

/* --map PORT=HOST:PORT */
static int take_map(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	struct opts *o = dest;
	struct map *m = &o->maps[o->nmaps];
	const char *eq = strchr(arg, '=');
	char why[512];
	uint64_t v;

	if (o->nmaps == sizeof o->maps / sizeof o->maps[0])
		snprintf(err, errlen, "%s %s: too many mappings", name, arg);
	else if (!eq)
		snprintf(err, errlen, "%s %s: expected PORT=HOST:PORT", name, arg);
	else {
		char port[16];
		snprintf(port, sizeof port, "%.*s", (int)(eq - arg), arg);
		if ((size_t)(eq - arg) >= sizeof port ||
		    util_parse_u64(port, 0, 65535, 0, &v, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s %s: bad port %.*s", name, arg, (int)(eq - arg), arg);
			return -1;
		}
		m->port = (unsigned)v;
		if (net_parse(eq + 1, &m->to, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s %s: %s", name, arg, why);
			return -1;
		}
		if (o->nserver_ports < 64)
			o->server_ports[o->nserver_ports++] = (uint16_t)v;
		o->nmaps++;
		return 0;
	}
	return -1;
}

/* --server-port PORT */
static int take_server_port(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	struct opts *o = dest;
	char why[128];
	uint64_t v;

	if (util_parse_u64(arg, 1, 65535, 0, &v, why, sizeof why) < 0)
		snprintf(err, errlen, "%s %s: not a port number", name, arg);
	else if (o->nserver_ports == 64)
		snprintf(err, errlen, "%s %s: too many server ports", name, arg);
	else {
		o->server_ports[o->nserver_ports++] = (uint16_t)v;
		return 0;
	}
	return -1;
}

enum parse_outcome { PARSE_RUN, PARSE_EXIT };

/* Fills *o from the command line. Returns PARSE_RUN, or PARSE_EXIT with the exit status in *status
 * (after --help, or a bad command line). */
static enum parse_outcome parse_options(int argc, char **argv, struct opts *o, int *status)
{
	static const char *const expects[] = {"recorded", "upper", NULL};
	static const char *const timings[] = {"fast", "original", NULL};
	static const char *const incompletes[] = {"skip", "replay", "fail", NULL};
	static const char *const formats[] = {"tcp", "udp", NULL};
	int incomplete = 0;
	struct choice expect = {expects, "recorded or upper", &o->expect_upper},
	              timing = {timings, "fast or original", &o->timing_original},
	              incomplete_choice = {incompletes, "skip, replay or fail", &incomplete},
	              format = {formats, "tcp or udp", &o->fuzz_udp};
	const struct cli_option options[] = {
	    {"target", 0, CLI_CUSTOM, .dest = o, .custom = take_target},
	    {"map", 0, CLI_CUSTOM, .dest = o, .custom = take_map},
	    {"server-port", 0, CLI_CUSTOM, .dest = o, .custom = take_server_port},
	    {"expect", 0, CLI_CUSTOM, .dest = &expect, .custom = take_choice},
	    {"timing", 0, CLI_CUSTOM, .dest = &timing, .custom = take_choice},
	    {"speed", 0, CLI_SECONDS, .dest = &o->speed, .max_seconds = 1e9, .flags = CLI_ABOVE_MIN,
	     .reason = "expected a positive factor"},
	    {"timeout", 0, CLI_UNSIGNED, CLI_INTEGER(o->timeout_ms), .min = 1, .max = 3600000,
	     .reason = "expected 1..3600000 ms"},
	    {"incomplete", 0, CLI_CUSTOM, .dest = &incomplete_choice, .custom = take_choice},
	    {"junit", 0, CLI_STRING, .dest = &o->junit},
	    {"json", 0, CLI_STRING, .dest = &o->json},
	    {"list", 0, CLI_FLAG, CLI_INTEGER(o->list)},
	    {"decode-only", 0, CLI_FLAG, CLI_INTEGER(o->decode_only)},
	    {"write-corpus", 0, CLI_STRING, .dest = &o->corpus},
	    {"from-fuzz-input", 0, CLI_STRING, .dest = &o->from_fuzz},
	    {"write-pcap", 0, CLI_STRING, .dest = &o->write_pcap},
	    {"fuzz-format", 0, CLI_CUSTOM, .dest = &format, .custom = take_choice},
	    {NULL, 'j', CLI_UNSIGNED, CLI_INTEGER(o->jobs), .min = 1, .max = 256,
	     .reason = "expected 1..256"},
	    {NULL, 'q', CLI_FLAG, CLI_INTEGER(o->quiet)},
	    {NULL, 'v', CLI_FLAG, CLI_INTEGER(o->verbose)},
	    {"help", 'h', CLI_HELP, .dest = NULL},
	    CLI_TABLE_END};
	char err[1024];

	memset(o, 0, sizeof *o);
	o->jobs = 8;
	o->timeout_ms = 5000;
	o->fuzz_udp = -1;
	switch (cli_parse(options, argc, argv, err, sizeof err)) {
	case CLI_PARSE_OK:
		break;
	case CLI_PARSE_HELP:
		usage(stdout);
		*status = stdout_status(0);
		return PARSE_EXIT;
	case CLI_PARSE_MISSING_ARGUMENT:
	case CLI_PARSE_BAD_OPTION:
		warnx("%s", err);
		fprintf(stderr, "usage: replay [options] PCAP... (replay --help lists the options)\n");
		*status = EXIT_SETUP;
		return PARSE_EXIT;
	case CLI_PARSE_BAD_VALUE:
		warnx("%s", err);
		*status = EXIT_SETUP;
		return PARSE_EXIT;
	}
	o->incomplete = (enum replay_incomplete)incomplete;
	if (o->timing_original && !o->speed)
		o->speed = 1;
	if (o->from_fuzz || o->write_pcap) {
		if (!o->from_fuzz || !o->write_pcap)
			errx(EXIT_SETUP, "--from-fuzz-input and --write-pcap go together");
		if (optind != argc)
			errx(EXIT_SETUP, "--from-fuzz-input takes no PCAP arguments");
		return PARSE_RUN;
	}
	if (optind == argc) {
		fprintf(stderr,
		        "replay: no PCAP given\nusage: replay [options] PCAP... (replay --help lists the "
		        "options)\n");
		*status = EXIT_SETUP;
		return PARSE_EXIT;
	}
	o->pcaps = argv + optind;
	o->npcaps = (size_t)(argc - optind);
	return PARSE_RUN;
}

/* ---- names ------------------------------------------------------------------------------------------ */

static void fmt_addr(char *buf, size_t len, int family, const uint8_t *a, unsigned port)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, ip, sizeof ip);
	snprintf(buf, len, family == 6 ? "[%s]:%u" : "%s:%u", ip, port);
}

static void flow_name(char *buf, size_t len, const struct dec_flow *f)
{
	char c[NET_ADDRSTRLEN], s[NET_ADDRSTRLEN];

	fmt_addr(c, sizeof c, f->family, f->caddr, f->cport);
	fmt_addr(s, sizeof s, f->family, f->saddr, f->sport);
	snprintf(buf, len, "flow %zu %s %s > %s", f->index + 1, f->proto == 6 ? "tcp" : "udp", c, s);
}

static const char *incomplete_reason(const struct dec_flow *f)
{
	if (f->flags & DEC_F_GAP)
		return "bytes missing in a stream";
	if (f->dir[0].truncated || f->dir[1].truncated)
		return "payload cut by the capture's snap length";
	if (f->proto == 6 && !(f->flags & DEC_F_SYN))
		return "no SYN: the capture starts mid-connection";
	return "incomplete";
}

static const char *result_name(enum replay_result r)
{
	return r == RES_OK ? "ok" : r == RES_MISMATCH ? "MISMATCH" : r == RES_ERROR ? "ERROR" : "skipped";
}

static const char *job_text(const struct job *j)
{
	return j->result == RES_SKIPPED || (j->result == RES_ERROR && j->why[0]) ? j->why : j->r.msg;
}

/* ---- reading captures ------------------------------------------------------------------------------ */

/* Feeds every frame of the open capture to cf->ctx. Returns 0, or -1 after a message. */
static int decode_frames(struct capfile *cf, struct pcapin *in, int quiet)
{
	char err[512], derr[256];
	const uint8_t *buf;
	size_t caplen, wirelen;
	uint64_t ts;
	int lt = pcapin_linktype(in), rc;

	while ((rc = pcapin_next(in, &buf, &caplen, &wirelen, &ts, err, sizeof err)) == PCAPIN_FRAME) {
		cf->frames++;
		rc = dec_feed(cf->ctx, lt, buf, caplen, wirelen, ts, derr, sizeof derr);
		if (rc == DEC_EMALFORMED) {
			cf->malformed++;
			if (!quiet)
				warnx("%s: packet %llu: %s (packet skipped)", cf->path,
				      (unsigned long long)pcapin_count(in), derr);
		} else if (rc < 0) {
			warnx("%s: packet %llu: %s", cf->path, (unsigned long long)pcapin_count(in), derr);
			return -1;
		}
	}
	if (rc == PCAPIN_TRUNCATED) {
		cf->truncated = 1;
		warnx("%s (the %llu packets before it are used)", err, (unsigned long long)pcapin_count(in));
	} else if (rc == PCAPIN_ERROR) {
		warnx("%s", err);
		return -1;
	}
	return 0;
}

/* Reads and decodes the capture cf->path into cf. Returns 0, or -1 after a message. */
static int load(struct capfile *cf, const struct dec_limits *lim, int quiet)
{
	char err[512];
	struct pcapin *in;
	struct dec_stats st;
	int lt, rc;

	in = pcapin_open(cf->path, err, sizeof err);
	if (!in) {
		warnx("%s", err);
		return -1;
	}
	lt = pcapin_linktype(in);
	if (!dec_link_supported(lt)) {
		warnx(
		    "%s: packet 1: unsupported link type %d (supported: EN10MB, LINUX_SLL, LINUX_SLL2, NULL, "
		    "LOOP, RAW)",
		    cf->path, lt);
		pcapin_close(in);
		return -1;
	}
	cf->ctx = dec_new(lim, err, sizeof err);
	if (!cf->ctx) {
		warnx("%s: %s", cf->path, err);
		pcapin_close(in);
		return -1;
	}
	rc = decode_frames(cf, in, quiet);
	pcapin_close(in);
	if (rc < 0)
		return -1;
	dec_finish(cf->ctx);
	dec_stats(cf->ctx, &st);
	cf->bytes = st.bytes;
	return 0;
}

/* Loads every PCAP argument (with --decode-only: prints its speed and frees it again). Returns 0, or
 * EXIT_SETUP when a file could not be read. */
static int load_files(struct run *run)
{
	const struct opts *o = run->o;
	struct dec_limits lim;
	size_t i;
	int status = 0;

	run->nfiles = o->npcaps;
	run->files = calloc(run->nfiles, sizeof *run->files);
	if (!run->files)
		errx(EXIT_SETUP, "out of memory");
	dec_limits_default(&lim);
	lim.server_ports = o->server_ports;
	lim.n_server_ports = o->nserver_ports;
	for (i = 0; i < run->nfiles; i++) {
		struct capfile *cf = &run->files[i];
		uint64_t t0 = util_now_ns();
		cf->path = o->pcaps[i];
		if (load(cf, &lim, o->quiet) < 0) {
			status = EXIT_SETUP;
		} else if (o->decode_only) {
			double secs = (double)(util_now_ns() - t0) / 1e9;
			printf("%s: %llu packets, %zu flows, %llu payload bytes read, decoded and "
			       "reassembled in %.3f s: "
			       "%.0f packets/s\n",
			       cf->path, (unsigned long long)cf->frames, dec_nflows(cf->ctx),
			       (unsigned long long)cf->bytes, secs,
			       secs > 0 ? (double)cf->frames / secs : 0.0);
		}
		if (o->decode_only && cf->ctx) {
			dec_free(cf->ctx); /* keep memory to one file at a time */
			cf->ctx = NULL;
		}
	}
	return status;
}

/* Replaying nothing would pass silently: a capture without flows is an error. Returns 0 or EXIT_SETUP. */
static int check_flows(const struct run *run)
{
	size_t i;

	for (i = 0; i < run->nfiles; i++)
		if (!dec_nflows(run->files[i].ctx)) {
			warnx("%s: no TCP or UDP flow to replay in its %llu packets", run->files[i].path,
			      (unsigned long long)run->files[i].frames);
			return EXIT_SETUP;
		}
	return 0;
}

/* ---- reference servers ----------------------------------------------------------------------------- */

/* A fatal signal stops the reference servers too: they run in process groups of their own. */
static void on_fatal_signal(int sig)
{
	child_kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Starts DIR/prog -l LISTEN (127.0.0.1:0 or [::1]:0), ref_programs[i], and waits until it says where it
 * listens. Returns 0, or -1 with a reason in err. */
static int spawn(const char *dir, int i, struct ref_server *s, char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *argv[] = {path, "-l", ref_programs[i].listen, NULL};
	struct child_options co;
	struct child_addrs addrs;

	snprintf(path, sizeof path, "%.4000s/%s", dir, ref_programs[i].prog);
	if (access(path, X_OK) < 0) {
		snprintf(err, errlen, "reference server %.300s: %s (build it with make, or give --target)",
		         path, strerror(errno));
		return -1;
	}
	memset(&co, 0, sizeof co);
	co.argv = argv;
	co.want = ref_programs[i].proto;
	co.start_ms = 5000;
	if (child_start(&co, &s->child, &addrs, err, errlen) < 0)
		return -1;
	s->addr = ref_programs[i].proto == CHILD_TCP ? addrs.tcp : addrs.udp;
	return 0;
}

static void self_dir(const char *argv0, char *dir, size_t len)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);

	if (n > 0)
		buf[n] = 0;
	else
		snprintf(buf, sizeof buf, "%s", argv0);
	snprintf(dir, len, "%s", dirname(buf));
}

/* Starts the reference servers of the bits set in needs (1 << REF_*), IPv4 first; the IPv6 ones only
 * where the host has an IPv6 loopback. Returns 1 when the IPv6 ones run, 0 when there are none, or -1
 * after a message. */
static int start_references(struct run *run, unsigned needs, const char *argv0)
{
	char dir[PATH_MAX], err[512];
	int i, have6 = 0;

	self_dir(argv0, dir, sizeof dir);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGHUP, on_fatal_signal);
	/* IPv6 flows go to reference servers on [::1], so they are replayed over IPv6 (SPEC B1). A host
	 * without an IPv6 loopback skips them (B1 is a SHOULD there). */
	for (i = 0; i < REF_COUNT; i++) {
		struct ref_server *s = &run->refs[i];
		if (!(needs & (1u << i)))
			continue;
		if (i >= REF_TCP6 && !have6 && !(have6 = util_have_ipv6_loopback(SOCK_DGRAM)))
			break;
		if (spawn(dir, i, s, err, sizeof err) < 0) {
			warnx("%s", err);
			return -1;
		}
	}
	return have6;
}

/* Sends the flows that have no target to the reference servers, starting those they need; with --map
 * alone such a flow is an error instead. Returns 0, or -1 after a message. */
static int assign_references(struct run *run, unsigned needs, const char *argv0)
{
	size_t k;
	int have6;

	if (!needs)
		return 0;
	if (run->o->nmaps && !run->o->target_spec) {
		/* An explicit mapping means a chosen implementation: do not mix in the reference one. */
		for (k = 0; k < run->njobs; k++)
			if (run->jobs[k].result == RES_PENDING && !run->jobs[k].target) {
				run->jobs[k].result = RES_ERROR;
				snprintf(run->jobs[k].why, sizeof run->jobs[k].why,
				         "no --map for captured server port %u", run->jobs[k].f->sport);
			}
		return 0;
	}
	have6 = start_references(run, needs, argv0);
	if (have6 < 0)
		return -1;
	for (k = 0; k < run->njobs; k++) {
		struct job *j = &run->jobs[k];
		if (j->result != RES_PENDING || j->target)
			continue;
		if (j->f->family == 6 && !have6) {
			j->result = RES_SKIPPED;
			snprintf(j->why, sizeof j->why,
			         "IPv6 flow: this host has no IPv6 loopback ([::1]) "
			         "to start the reference servers on");
		} else {
			j->target = &run->refs[ref_index(j->f)].addr;
		}
	}
	return 0;
}

/* One exchange on a connected TCP socket: "probe", then the client's FIN, must come back as its
 * transform within timeout_ms (a listen backlog accepts connections for a server that has just died, so
 * connecting proves nothing). Returns 0, or -1 with a reason in err. */
static int probe(int fd, int timeout_ms, char *err, size_t errlen)
{
	static const unsigned char q[] = "probe";
	struct xchg_expect e = {.mode = XCHG_MODE_X1,
	                        .sent = q,
	                        .sent_len = sizeof q - 1,
	                        .half_close = 1,
	                        .close = XCHG_CLOSE_ANY};
	struct xchg_limits l = {.budget_ms = timeout_ms};
	struct xchg_run_result res;
	struct xchg_conn c;
	const struct xchg_oracle *o = &c.oracle;

	xchg_conn_init(&c, fd, 1, &e);
	c.until = XCHG_UNTIL_GOT;
	c.until_got = sizeof q - 1;
	if (xchg_run(&c, 1, &l, &res, err, errlen) == XCHG_RUN_ERROR)
		return -1;
	if (o->verdict == XCHG_WRONG_BYTE || o->verdict == XCHG_EXTRA_BYTES)
		snprintf(err, errlen, "wrong answer to a probe");
	else if (o->got >= sizeof q - 1)
		return 0;
	else if (c.reset_on_send)
		snprintf(err, errlen, "send: %s", strerror(c.error));
	else if (o->fin || o->rst)
		snprintf(err, errlen, "probe: %s",
		         o->rst && c.error ? strerror(c.error) : "connection closed before the answer");
	else
		snprintf(err, errlen, "no answer to a probe within %d ms", timeout_ms);
	return -1;
}

/* Returns the number of reference servers that are no longer running (each named in a message). */
static int references_dead(struct run *run)
{
	char why[128];
	int dead = 0, i, st;

	for (i = 0; i < REF_COUNT; i++) {
		struct child *c = run->refs[i].child;
		if (!c || !child_dead(c, why, sizeof why) || !child_status(c, &st))
			continue;
		if (WIFSIGNALED(st))
			warnx("the reference server (pid %ld) died during the replay: signal %d",
			      (long)child_pid(c), WTERMSIG(st));
		else
			warnx("the reference server (pid %ld) exited during the replay with status %d",
			      (long)child_pid(c), WEXITSTATUS(st));
		dead++;
	}
	return dead;
}

/* After the replay: every TCP server the flows went to must still answer a probe, so a server that
 * crashed on a flow (a reset while it owed output, SPEC T6) fails the run even when its own flow passed.
 * A reference server started here must also still be running. Returns the number of dead servers. */
static int check_alive(struct run *run)
{
	const struct net_addr *seen[256];
	size_t nseen = 0, k, i;
	int dead = references_dead(run);

	for (k = 0; k < run->njobs; k++) {
		const struct job *j = &run->jobs[k];
		const struct net_addr *t = j->target;
		char name[NET_ADDRSTRLEN], e[256];
		int fd;
		if ((j->result != RES_OK && j->result != RES_MISMATCH) || j->f->proto != 6 || !t)
			continue;
		for (i = 0; i < nseen && seen[i] != t; i++)
			;
		if (i < nseen || nseen == sizeof seen / sizeof seen[0])
			continue;
		seen[nseen++] = t;
		fd = net_connect(t, SOCK_STREAM, run->o->timeout_ms, e, sizeof e);
		if (fd < 0 || probe(fd, run->o->timeout_ms, e, sizeof e) < 0) {
			warnx("after the replay the server at %s fails a probe exchange (did it crash?): %s",
			      net_format((const struct sockaddr *)&t->ss, name, sizeof name), e);
			dead++;
		}
		if (fd >= 0)
			close(fd);
	}
	return dead;
}

/* Stops a reference server; with -v its output goes to stderr first. */
static void stop_reference(struct ref_server *s, int verbose)
{
	if (!s->child)
		return;
	child_stop(s->child, SIGTERM, 2000, NULL);
	if (verbose)
		child_tail(s->child, stderr, "", 0);
	child_free(s->child);
	s->child = NULL;
}

/* ---- replaying ------------------------------------------------------------------------------------- */

/* One job per flow of every file, in order. A flow's target is --map's or --target's; flows without one
 * (returned as 1 << REF_* bits) go to the reference servers. Incomplete flows are skipped or failed
 * here, as --incomplete says. */
static unsigned plan_jobs(struct run *run)
{
	const struct opts *o = run->o;
	unsigned needs = 0;
	size_t i, k, f, m;

	for (i = 0; i < run->nfiles; i++)
		run->njobs += dec_nflows(run->files[i].ctx);
	run->jobs = calloc(run->njobs ? run->njobs : 1, sizeof *run->jobs);
	if (!run->jobs)
		errx(EXIT_SETUP, "out of memory");
	run->cap0 = UINT64_MAX;
	for (i = 0, k = 0; i < run->nfiles; i++)
		for (f = 0; f < dec_nflows(run->files[i].ctx); f++, k++) {
			struct job *j = &run->jobs[k];
			j->file = i;
			j->f = dec_flow(run->files[i].ctx, f);
			if (j->f->first_ns < run->cap0)
				run->cap0 = j->f->first_ns;
			if ((j->f->flags & DEC_F_INCOMPLETE) && o->incomplete != INC_REPLAY) {
				j->result = o->incomplete == INC_SKIP ? RES_SKIPPED : RES_ERROR;
				j->incomplete = 1;
				snprintf(j->why, sizeof j->why, "incomplete flow: %s",
				         incomplete_reason(j->f));
				continue;
			}
			for (m = 0; m < o->nmaps; m++)
				if (o->maps[m].port == j->f->sport)
					j->target = &o->maps[m].to;
			if (!j->target && o->target_spec)
				j->target = &o->target;
			if (!j->target)
				needs |= 1u << ref_index(j->f);
			j->result = RES_PENDING;
		}
	return needs;
}

struct pool {
	struct job **jobs;
	size_t njobs, next, done;
	const struct play_opts *po;
	pthread_mutex_t mu;
};

static void *worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		struct job *j;
		uint64_t t0;
		pthread_mutex_lock(&p->mu);
		if (p->next == p->njobs) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		j = p->jobs[p->next++];
		pthread_mutex_unlock(&p->mu);
		t0 = util_now_ns();
		play_flow(j->f, j->target, p->po, &j->r);
		j->secs = (double)(util_now_ns() - t0) / 1e9;
		j->result = j->r.status == PLAY_OK         ? RES_OK
		            : j->r.status == PLAY_MISMATCH ? RES_MISMATCH
		                                           : RES_ERROR;
		pthread_mutex_lock(&p->mu);
		p->done++;
		pthread_mutex_unlock(&p->mu);
	}
}

/* Plays jobs[0..njobs) on up to nthreads threads. Returns 0, or -1 after a message. */
static int run_pool(struct job **jobs, size_t njobs, const struct play_opts *po, int nthreads)
{
	struct pool p = {.jobs = jobs, .njobs = njobs, .po = po};
	pthread_t th[256];
	int i, started = 0, tty = isatty(2);
	size_t last = (size_t)-1;

	pthread_mutex_init(&p.mu, NULL);
	if (nthreads > (int)njobs)
		nthreads = (int)njobs;
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, &p) == 0)
			started++;
	if (!started && njobs) {
		warnx("cannot start replay threads");
		return -1;
	}
	/* Progress on long runs, on a terminal only: the golden outputs stay clean. */
	for (;;) {
		size_t d;
		pthread_mutex_lock(&p.mu);
		d = p.done;
		pthread_mutex_unlock(&p.mu);
		if (d == njobs)
			break;
		if (tty && njobs >= 20 && d != last) {
			fprintf(stderr, "\rreplay: %zu/%zu flows", d, njobs);
			last = d;
		}
		usleep(50000);
	}
	if (tty && last != (size_t)-1)
		fprintf(stderr, "\r\033[K");
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&p.mu);
	return 0;
}

/* Plays the pending jobs concurrently. Returns 0, or -1 after a message. */
static int run_jobs(struct run *run)
{
	struct job **pending = calloc(run->njobs ? run->njobs : 1, sizeof *pending);
	struct play_opts po;
	size_t k, n = 0;
	int rc;

	if (!pending)
		errx(EXIT_SETUP, "out of memory");
	for (k = 0; k < run->njobs; k++)
		if (run->jobs[k].result == RES_PENDING)
			pending[n++] = &run->jobs[k];
	memset(&po, 0, sizeof po);
	po.timeout_ms = run->o->timeout_ms;
	po.expect_upper = run->o->expect_upper;
	po.speed = run->o->speed;
	po.cap0 = run->cap0;
	po.mono0 = util_now_ns();
	rc = run_pool(pending, n, &po, run->o->jobs);
	free(pending);
	return rc;
}

/* ---- reports ----------------------------------------------------------------------------------------- */

static enum rep_status rep_status_of(enum replay_result r)
{
	return r == RES_OK ? REP_PASS : r == RES_MISMATCH ? REP_FAIL : r == RES_ERROR ? REP_ERROR : REP_SKIP;
}

/* Writes the JUnit report: one <testsuite> per capture file, one <testcase> per flow. Returns 0, or -1
 * after a message. */
static int write_junit(const char *path, const struct run *run)
{
	struct rep_case *cases = calloc(run->njobs ? run->njobs : 1, sizeof *cases);
	char(*names)[256] = calloc(run->njobs ? run->njobs : 1, sizeof *names);
	double total = 0;
	size_t i, k, first;
	FILE *f = NULL;
	int rc = -1;

	if (!cases || !names) {
		warnx("--junit %s: out of memory", path);
		goto out;
	}
	for (k = 0; k < run->njobs; k++) {
		const struct job *j = &run->jobs[k];
		flow_name(names[k], sizeof names[k], j->f);
		cases[k] = (struct rep_case){.classname = "replay",
		                             .name = names[k],
		                             .status = rep_status_of(j->result),
		                             .message = job_text(j),
		                             .detail = j->r.detail,
		                             .secs = j->secs};
		total += j->secs;
	}
	f = fopen(path, "w");
	if (!f) {
		warn("--junit %s", path);
		goto out;
	}
	rep_junit_begin(f, "replay", cases, run->njobs, total);
	/* The jobs are in file order, so each file's cases are one run of them. */
	for (i = 0, first = 0; i < run->nfiles; i++, first = k) {
		double secs = 0;
		for (k = first; k < run->njobs && run->jobs[k].file == i; k++)
			secs += run->jobs[k].secs;
		rep_junit_suite(f, run->files[i].path, cases + first, k - first, secs);
	}
	rc = rep_junit_end(f);
	if (fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		warn("--junit %s", path);
out:
	free(cases);
	free(names);
	return rc;
}

static void json_flow(FILE *f, const struct job *j)
{
	char c[NET_ADDRSTRLEN], s[NET_ADDRSTRLEN];

	fmt_addr(c, sizeof c, j->f->family, j->f->caddr, j->f->cport);
	fmt_addr(s, sizeof s, j->f->family, j->f->saddr, j->f->sport);
	fprintf(f,
	        "\n      {\"flow\": %zu, \"proto\": \"%s\", \"client\": \"%s\", \"server\": \"%s\", "
	        "\"result\": \"%s\", \"message\": ",
	        j->f->index + 1, j->f->proto == 6 ? "tcp" : "udp", c, s,
	        j->result == RES_OK         ? "ok"
	        : j->result == RES_MISMATCH ? "mismatch"
	        : j->result == RES_ERROR    ? "error"
	                                    : "skipped");
	rep_json_str(f, job_text(j));
	if (j->result == RES_MISMATCH) {
		fprintf(f, ", \"direction\": \"%s\", \"offset\": %zu, \"detail\": ",
		        j->r.dir == DEC_C2S ? "client->server" : "server->client", j->r.offset);
		rep_json_str(f, j->r.detail);
	}
	fprintf(f, ", \"sent\": %zu, \"received\": %zu, \"seconds\": %.3f}", j->r.sent, j->r.got, j->secs);
}

static int write_json(const char *path, const struct run *run)
{
	FILE *f = fopen(path, "w");
	size_t i, k;

	if (!f) {
		warn("--json %s", path);
		return -1;
	}
	fprintf(f, "{\n  \"files\": [");
	for (i = 0; i < run->nfiles; i++) {
		int first = 1;
		fprintf(f, "%s\n    {\"file\": ", i ? "," : "");
		rep_json_str(f, run->files[i].path);
		fprintf(f, ", \"frames\": %llu, \"flows\": [", (unsigned long long)run->files[i].frames);
		for (k = 0; k < run->njobs; k++) {
			if (run->jobs[k].file != i)
				continue;
			if (!first)
				fputc(',', f);
			json_flow(f, &run->jobs[k]);
			first = 0;
		}
		fprintf(f, "\n    ]}");
	}
	fprintf(f,
	        "\n  ],\n  \"summary\": {\"flows\": %zu, \"ok\": %zu, \"mismatch\": %zu, \"error\": %zu, "
	        "\"skipped\": %zu}\n}\n",
	        run->njobs, run->count[RES_OK], run->count[RES_MISMATCH], run->count[RES_ERROR],
	        run->count[RES_SKIPPED]);
	if (fclose(f) != 0) {
		warn("--json %s", path);
		return -1;
	}
	return 0;
}

/* Says why a run checked no flow (every flow was skipped) and what to do about it. Returns EXIT_SETUP. */
static int nothing_checked(const struct run *run)
{
	size_t k, incomplete = 0;

	for (k = 0; k < run->njobs; k++)
		incomplete += run->jobs[k].incomplete;
	if (incomplete == run->njobs)
		warnx(
		    "no flow was checked: all %zu flows are incomplete (packets the capture missed, or a "
		    "capture started after the connection): capture with a larger buffer (tcpdump -B 65536) "
		    "and start it before the client, or replay them anyway with --incomplete replay",
		    run->njobs);
	else
		warnx("no flow was checked: all %zu flows were skipped (%zu incomplete; the lines above say "
		      "why)",
		      run->njobs, incomplete);
	return EXIT_SETUP;
}

/* Prints one line per flow (with -q only the failed ones) and the summary, after probing the servers;
 * writes --junit and --json. Returns the exit status. */
static int report(struct run *run)
{
	const struct opts *o = run->o;
	char name[256];
	size_t k;
	int status;

	for (k = 0; k < run->njobs; k++) {
		const struct job *j = &run->jobs[k];
		run->count[j->result]++;
		if (o->quiet && (j->result == RES_OK || j->result == RES_SKIPPED))
			continue;
		flow_name(name, sizeof name, j->f);
		printf("%s %s: %s: %s\n", run->files[j->file].path, name, result_name(j->result),
		       job_text(j));
		if (j->result == RES_MISMATCH && j->r.detail[0])
			fputs(j->r.detail, stdout);
	}
	run->dead = check_alive(run);
	printf("replay: %zu flows in %zu files: %zu ok, %zu mismatch, %zu error, %zu skipped%s\n", run->njobs,
	       run->nfiles, run->count[RES_OK], run->count[RES_MISMATCH], run->count[RES_ERROR],
	       run->count[RES_SKIPPED], run->dead ? "; a server failed the probe after the replay" : "");
	status = run->count[RES_ERROR]                   ? EXIT_SETUP
	         : run->count[RES_MISMATCH] || run->dead ? EXIT_MISMATCH
	                                                 : 0;
	/* Incomplete flows counted as failures (--incomplete fail) are mismatches, not setup errors. */
	if (status == EXIT_SETUP && o->incomplete == INC_FAIL) {
		int only_incomplete = 1;
		for (k = 0; k < run->njobs; k++)
			if (run->jobs[k].result == RES_ERROR && !run->jobs[k].incomplete)
				only_incomplete = 0;
		if (only_incomplete)
			status = EXIT_MISMATCH;
	}
	/* A run that checked no flow passes nothing: every flow was skipped. */
	if (status == 0 && run->count[RES_OK] == 0)
		status = nothing_checked(run);
	/* A report that could not be written is a setup error whatever the flows did. */
	if (o->junit && write_junit(o->junit, run) < 0)
		status = EXIT_SETUP;
	if (o->json && write_json(o->json, run) < 0)
		status = EXIT_SETUP;
	return status;
}

/* Plans, plays and reports the flows of the loaded captures. Returns the exit status. */
static int replay_all(struct run *run, const char *argv0)
{
	unsigned needs;

	if (check_flows(run))
		return EXIT_SETUP;
	needs = plan_jobs(run);
	if (assign_references(run, needs, argv0) < 0)
		return EXIT_SETUP;
	signal(SIGPIPE, SIG_IGN);
	if (run_jobs(run) < 0)
		return EXIT_SETUP;
	return report(run);
}

/* ---- modes ------------------------------------------------------------------------------------------ */

static void list_flows(const struct capfile *cf)
{
	size_t i, n = dec_nflows(cf->ctx);
	struct dec_stats st;
	char name[256];

	dec_stats(cf->ctx, &st);
	printf(
	    "%s: %llu frames, %llu tcp, %llu udp, %llu other, %llu duplicates, %llu malformed, %zu flows%s\n",
	    cf->path, (unsigned long long)st.frames, (unsigned long long)st.tcp, (unsigned long long)st.udp,
	    (unsigned long long)st.skipped, (unsigned long long)st.dups, (unsigned long long)cf->malformed, n,
	    cf->truncated ? ", last packet truncated" : "");
	for (i = 0; i < n; i++) {
		const struct dec_flow *f = dec_flow(cf->ctx, i);
		size_t k, w[2] = {0, 0};
		int d;
		for (k = 0; k < f->nev; k++)
			if (f->ev[k].kind == DEC_EV_DATA || f->ev[k].kind == DEC_EV_DGRAM)
				w[f->ev[k].dir]++;
		flow_name(name, sizeof name, f);
		printf("  %s%s%s%s\n", name, f->flags & DEC_F_INCOMPLETE ? " incomplete" : "",
		       f->flags & DEC_F_GAP ? " gap" : "", f->flags & DEC_F_GUESSED ? " client-guessed" : "");
		for (d = 0; d < 2; d++) {
			const struct dec_dir *dd = &f->dir[d];
			printf("    %s %zu bytes in %zu %s%s%s, packets %llu dups %llu retrans %llu overlaps "
			       "%llu "
			       "conflicts %llu ooo %llu cut %llu gap %llu\n",
			       d == DEC_C2S ? "c2s" : "s2c", dd->len, w[d],
			       f->proto == 6 ? "writes" : "datagrams", dd->fin ? " FIN" : "",
			       dd->rst ? " RST" : "", (unsigned long long)dd->packets,
			       (unsigned long long)dd->dups, (unsigned long long)dd->retrans,
			       (unsigned long long)dd->overlaps, (unsigned long long)dd->conflicts,
			       (unsigned long long)dd->ooo, (unsigned long long)dd->truncated,
			       (unsigned long long)dd->gap_bytes);
		}
	}
}

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];
	char *p;

	snprintf(tmp, sizeof tmp, "%.4000s", dir);
	for (p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0777) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(tmp, 0777) < 0 && errno != EEXIST ? -1 : 0;
}

static int write_corpus(const struct capfile *cf, const char *dir)
{
	size_t i, n;
	char base[PATH_MAX], *b, *dot, path[PATH_MAX * 2], err[256];

	snprintf(base, sizeof base, "%s", cf->path);
	b = basename(base);
	dot = strrchr(b, '.');
	if (dot && dot != b)
		*dot = 0;
	for (i = 0; i < dec_nflows(cf->ctx); i++) {
		const struct dec_flow *f = dec_flow(cf->ctx, i);
		const char *target;
		size_t len;
		uint8_t *seed = fz_seed(f, &len, &target, err, sizeof err);
		FILE *out;
		if (!seed) {
			warnx("%s: flow %zu: %s", cf->path, i + 1, err);
			return -1;
		}
		snprintf(path, sizeof path, "%s/%s", dir, target);
		if (mkdir_p(path) < 0) {
			warn("--write-corpus %s", path);
			free(seed);
			return -1;
		}
		snprintf(path, sizeof path, "%s/%s/%s-flow%zu", dir, target, b, i + 1);
		out = fopen(path, "wb");
		n = out ? fwrite(seed, 1, len, out) : 0;
		free(seed);
		if (!out || n != len || fclose(out) != 0) {
			warn("--write-corpus %s", path);
			return -1;
		}
		printf("%s\n", path);
	}
	return 0;
}

static int from_fuzz(const struct opts *o)
{
	FILE *f = fopen(o->from_fuzz, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	uint64_t npk = 0;
	char emsg[512];
	int udp = o->fuzz_udp >= 0 ? o->fuzz_udp : strstr(o->from_fuzz, "udp") != NULL;

	if (!f)
		err(EXIT_SETUP, "--from-fuzz-input %s", o->from_fuzz);
	for (;;) {
		size_t k;
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			if (cap > ((size_t)64 << 20))
				errx(EXIT_SETUP, "--from-fuzz-input %s: larger than 64 MiB", o->from_fuzz);
			buf = realloc(buf, cap);
			if (!buf)
				errx(EXIT_SETUP, "out of memory");
		}
		k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	if (ferror(f))
		err(EXIT_SETUP, "--from-fuzz-input %s", o->from_fuzz);
	fclose(f);
	if (fz_to_pcap(buf, n, udp, o->write_pcap, &npk, emsg, sizeof emsg) < 0)
		errx(EXIT_SETUP, "--write-pcap: %s", emsg);
	free(buf);
	if (!o->quiet)
		printf("%s: %llu packets from %s (%s input)\n", o->write_pcap, (unsigned long long)npk,
		       o->from_fuzz, udp ? "fuzz_udp" : "fuzz_tcp");
	return 0;
}

/* --list: every file's flows. A capture with no flow is the same error as for a replay. */
static int list_all(const struct run *run)
{
	size_t i;

	for (i = 0; i < run->nfiles; i++)
		list_flows(&run->files[i]);
	return check_flows(run);
}

/* --write-corpus: every file's flows as fuzz seeds. Returns 0 or EXIT_SETUP. */
static int corpus_all(const struct run *run)
{
	size_t i;
	int status = check_flows(run);

	if (status)
		return status;
	for (i = 0; i < run->nfiles; i++)
		if (write_corpus(&run->files[i], run->o->corpus) < 0)
			status = EXIT_SETUP;
	return status;
}

static void run_free(struct run *run)
{
	size_t i;

	for (i = 0; i < REF_COUNT; i++)
		stop_reference(&run->refs[i], run->o->verbose);
	for (i = 0; i < run->nfiles; i++)
		dec_free(run->files[i].ctx);
	free(run->files);
	free(run->jobs);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run run;
	int status;

	if (parse_options(argc, argv, &o, &status) == PARSE_EXIT)
		return status;
	if (o.from_fuzz)
		return stdout_status(from_fuzz(&o));
	memset(&run, 0, sizeof run);
	run.o = &o;
	status = load_files(&run);
	if (!status && !o.decode_only)
		status = o.list ? list_all(&run) : o.corpus ? corpus_all(&run) : replay_all(&run, argv[0]);
	status = stdout_status(status);
	run_free(&run);
	return status;
}
