/* replay.c - bin/replay: replays captured TCP/UDP conversations against the reference servers or any
 * implementation of the uppercase protocol and checks the answers (issue 4, harness/replay/README.md). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "decode.h"
#include "fuzzconv.h"
#include "net.h"
#include "pcapin.h"
#include "play.h"
#include "oracle.h"
#include "upper.h"

enum { EXIT_MISMATCH = 1, EXIT_SETUP = 2 };
enum { INC_SKIP, INC_REPLAY, INC_FAIL };
enum { RES_OK, RES_MISMATCH, RES_ERROR, RES_SKIPPED };

struct map {
	unsigned port;
	struct net_addr to;
	char spec[128];
};

struct opts {
	const char *target_spec;
	struct net_addr target;
	struct map maps[64];
	size_t nmaps;
	uint16_t server_ports[64];
	size_t nserver_ports;
	int expect_upper;
	double speed;
	int jobs;
	int timeout_ms;
	int incomplete;
	int list;
	int decode_only;
	int quiet;
	int verbose;
	const char *junit, *json, *corpus, *from_fuzz, *write_pcap;
	int fuzz_udp; /* -1: guess from the file name */
};

/* One flow to replay and what became of it. */
struct job {
	size_t file;
	const struct dec_flow *f;
	const struct net_addr *target;
	struct play_result r;
	int result;
	char why[160]; /* skipped/error reason */
	double secs;
};

struct capfile {
	const char *path;
	struct dec_ctx *ctx;
	uint64_t frames, malformed, bytes;
	int truncated;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: replay [options] PCAP...\n"
		"       replay --list PCAP...\n"
		"       replay --write-corpus DIR PCAP...\n"
		"       replay --from-fuzz-input FILE --write-pcap OUT [--fuzz-format tcp|udp]\n"
		"\n"
		"Replays the TCP and UDP conversations of pcap/pcapng captures (link types EN10MB, 802.1Q,\n"
		"LINUX_SLL, LINUX_SLL2, NULL, LOOP, RAW; IPv4 and IPv6) against a server of the uppercase protocol\n"
		"and checks its answers. With no --target or --map it starts the reference servers tcp-upper and\n"
		"udp-upper (next to this program) on free loopback ports, 127.0.0.1 and for IPv6 flows [::1] (IPv6\n"
		"flows are skipped, with a reason, on a host without an IPv6 loopback), and maps every captured\n"
		"server to them. After the replay each TCP server must still answer a probe, so a server that\n"
		"crashed on a flow (a reset while it owed output, say) fails the run.\n"
		"\n"
		"  --target HOST:PORT     replay every flow against HOST:PORT (TCP and UDP)\n"
		"  --map PORT=HOST:PORT   flows whose captured server port is PORT go to HOST:PORT (repeatable;\n"
		"                         other flows go to --target, or to the reference servers)\n"
		"  --server-port PORT     PORT is a server port in the capture: decides the client side of flows\n"
		"                         without a SYN and of UDP flows (default: SYN initiator, first UDP sender)\n"
		"  --expect recorded|upper  recorded (default): TCP reply stream = the recorded server stream,\n"
		"                         each UDP reply = its recorded reply datagram (the protocol rule only\n"
		"                         where the capture has no reply); upper: the transform of what was sent\n"
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
		"  -v                     also pass the reference servers' stderr through\n"
		"  -h, --help             this help\n"
		"\n"
		"Exit status: 0 every replayed flow matched, 1 a mismatch or a server that failed the probe,\n"
		"2 a setup or input error (a capture with no TCP or UDP flow, a target nothing listens on, a bad\n"
		"option, a report or standard output that could not be written).\n");
}

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || end == s || *end || *v > max || s[0] == '-' ? -1 : 0;
}

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

/* ---- reading captures ------------------------------------------------------------------------------ */

static int load(struct capfile *cf, const struct dec_limits *lim, int quiet)
{
	char err[512], derr[256];
	struct pcapin *in;
	const uint8_t *buf;
	size_t caplen, wirelen;
	uint64_t ts;
	int lt, rc;

	in = pcapin_open(cf->path, err, sizeof err);
	if (!in) {
		warnx("%s", err);
		return -1;
	}
	lt = pcapin_linktype(in);
	if (!dec_link_supported(lt)) {
		warnx("%s: packet 1: unsupported link type %d (supported: EN10MB, LINUX_SLL, LINUX_SLL2, NULL, "
		      "LOOP, RAW)", cf->path, lt);
		pcapin_close(in);
		return -1;
	}
	cf->ctx = dec_new(lim, err, sizeof err);
	if (!cf->ctx) {
		warnx("%s: %s", cf->path, err);
		pcapin_close(in);
		return -1;
	}
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
			pcapin_close(in);
			return -1;
		}
	}
	if (rc == PCAPIN_TRUNCATED) {
		cf->truncated = 1;
		warnx("%s (the %llu packets before it are used)", err, (unsigned long long)pcapin_count(in));
	} else if (rc == PCAPIN_ERROR) {
		warnx("%s", err);
		pcapin_close(in);
		return -1;
	}
	pcapin_close(in);
	dec_finish(cf->ctx);
	{
		struct dec_stats st;
		dec_stats(cf->ctx, &st);
		cf->bytes = st.bytes;
	}
	return 0;
}

/* ---- reference servers ----------------------------------------------------------------------------- */

struct child {
	pid_t pid;
	int fd;
	int pass;
	pthread_t drain;
	int drain_started;
	int exited; /* already reaped by check_alive() */
};

static void *drain_main(void *arg)
{
	struct child *c = arg;
	char buf[4096];
	ssize_t n;

	while ((n = read(c->fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && c->pass && write(2, buf, (size_t)n) < 0)
			break;
	return NULL;
}

/* Starts DIR/prog -l LISTEN (127.0.0.1:0 or [::1]:0) and reads "listening on PROTO ADDR:PORT" from its
 * stderr. */
static int spawn(const char *dir, const char *prog, const char *listen, const char *proto, int pass,
		 struct child *c, struct net_addr *addr, char *err, size_t errlen)
{
	char path[PATH_MAX], line[256], prefix[32], perr[128];
	size_t n = 0;
	int p[2];
	uint64_t deadline = play_now_ns() + 5000000000ull;

	snprintf(path, sizeof path, "%s/%s", dir, prog);
	if (access(path, X_OK) < 0) {
		snprintf(err, errlen, "reference server %.300s: %s (build it with make, or give --target)", path,
			 strerror(errno));
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	c->pid = fork();
	if (c->pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (c->pid == 0) {
		dup2(p[1], 2);
		/* replay ignores SIGPIPE; the server must not inherit that, or a SIGPIPE bug would hide */
		signal(SIGPIPE, SIG_DFL);
		execl(path, prog, "-l", listen, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	c->fd = p[0];
	c->pass = pass;
	while (n < sizeof line - 1) {
		struct pollfd pf = {.fd = c->fd, .events = POLLIN};
		uint64_t now = play_now_ns();
		ssize_t k;
		if (now >= deadline || poll(&pf, 1, (int)((deadline - now) / 1000000u) + 1) <= 0) {
			snprintf(err, errlen, "%.300s -l %s did not say where it listens within 5 s", path, listen);
			return -1;
		}
		k = read(c->fd, line + n, 1);
		if (k <= 0) {
			snprintf(err, errlen, "%.300s -l %s exited before saying where it listens", path, listen);
			return -1;
		}
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = 0;
	snprintf(prefix, sizeof prefix, "listening on %s ", proto);
	if (strncmp(line, prefix, strlen(prefix)) != 0 ||
	    net_parse(line + strlen(prefix), addr, perr, sizeof perr) < 0) {
		snprintf(err, errlen, "%.300s: unexpected first line \"%.150s\"", path, line);
		return -1;
	}
	if (pthread_create(&c->drain, NULL, drain_main, c) == 0)
		c->drain_started = 1;
	return 0;
}

/* 1 when a socket can be bound to [::1] (the host has an IPv6 loopback), 0 otherwise. */
static int have_loopback6(void)
{
	struct sockaddr_in6 a;
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	memset(&a, 0, sizeof a);
	a.sin6_family = AF_INET6;
	a.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

/* One exchange on a connected TCP socket: "probe" must come back as its transform within timeout_ms (a
 * listen backlog accepts connections for a server that has just died, so connecting proves nothing).
 * Returns 0, or -1 with a reason in err. */
static int probe(int fd, int timeout_ms, char *err, size_t errlen)
{
	static const unsigned char q[] = "probe";
	unsigned char got[sizeof q - 1];
	size_t n = 0;
	uint64_t deadline = play_now_ns() + (uint64_t)timeout_ms * 1000000u;

	if (send(fd, q, sizeof q - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof q - 1)) {
		snprintf(err, errlen, "send: %s", strerror(errno));
		return -1;
	}
	shutdown(fd, SHUT_WR);
	while (n < sizeof got) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now = play_now_ns();
		ssize_t k;
		if (now >= deadline || poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) <= 0) {
			snprintf(err, errlen, "no answer to a probe within %d ms", timeout_ms);
			return -1;
		}
		k = recv(fd, got + n, sizeof got - n, 0);
		if (k <= 0) {
			snprintf(err, errlen, "probe: %s", k == 0 ? "connection closed before the answer" : strerror(errno));
			return -1;
		}
		n += (size_t)k;
	}
	if (oracle_mismatch(q, sizeof q - 1, got, n) != n) {
		snprintf(err, errlen, "wrong answer to a probe");
		return -1;
	}
	return 0;
}

/* After the replay: every TCP server the flows went to must still answer a probe, so a server that
 * crashed on a flow (a reset while it owed output, SPEC T6) fails the run even when its own flow passed.
 * A reference server started here must also still be running. Returns the number of dead servers. */
static int check_alive(const struct job *jobs, size_t njobs, struct child *kids[], size_t nkids,
		       int timeout_ms)
{
	const struct net_addr *seen[256];
	size_t nseen = 0, k, i;
	int dead = 0;

	for (i = 0; i < nkids; i++) {
		int st;
		if (kids[i]->pid > 0 && !kids[i]->exited && waitpid(kids[i]->pid, &st, WNOHANG) == kids[i]->pid) {
			if (WIFSIGNALED(st))
				warnx("the reference server (pid %ld) died during the replay: signal %d", (long)kids[i]->pid,
				      WTERMSIG(st));
			else
				warnx("the reference server (pid %ld) exited during the replay with status %d",
				      (long)kids[i]->pid, WEXITSTATUS(st));
			kids[i]->exited = 1;
			dead++;
		}
	}
	for (k = 0; k < njobs; k++) {
		const struct net_addr *t = jobs[k].target;
		char name[NET_ADDRSTRLEN], e[256];
		int fd;
		if ((jobs[k].result != RES_OK && jobs[k].result != RES_MISMATCH) || jobs[k].f->proto != 6 || !t)
			continue;
		for (i = 0; i < nseen && seen[i] != t; i++)
			;
		if (i < nseen || nseen == sizeof seen / sizeof seen[0])
			continue;
		seen[nseen++] = t;
		fd = net_connect(t, SOCK_STREAM, timeout_ms, e, sizeof e);
		if (fd < 0 || probe(fd, timeout_ms, e, sizeof e) < 0) {
			warnx("after the replay the server at %s fails a probe exchange (did it crash?): %s",
			      net_format((const struct sockaddr *)&t->ss, name, sizeof name), e);
			dead++;
		}
		if (fd >= 0)
			close(fd);
	}
	return dead;
}

static void reap(struct child *c)
{
	int st, i;

	if (c->pid <= 0)
		return;
	if (c->exited)
		goto done;
	kill(c->pid, SIGTERM);
	for (i = 0; i < 200; i++) {
		if (waitpid(c->pid, &st, WNOHANG) == c->pid)
			goto done;
		usleep(10000);
	}
	kill(c->pid, SIGKILL);
	waitpid(c->pid, &st, 0);
done:
	if (c->drain_started)
		pthread_join(c->drain, NULL);
	close(c->fd);
	c->pid = 0;
}

/* ---- replaying ------------------------------------------------------------------------------------- */

struct pool {
	struct job *jobs;
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
		j = &p->jobs[p->next++];
		pthread_mutex_unlock(&p->mu);
		t0 = play_now_ns();
		play_flow(j->f, j->target, p->po, &j->r);
		j->secs = (double)(play_now_ns() - t0) / 1e9;
		j->result = j->r.status == PLAY_OK ? RES_OK : j->r.status == PLAY_MISMATCH ? RES_MISMATCH : RES_ERROR;
		pthread_mutex_lock(&p->mu);
		p->done++;
		pthread_mutex_unlock(&p->mu);
	}
}

static int run_pool(struct job *jobs, size_t njobs, const struct play_opts *po, int nthreads)
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

/* ---- reports ----------------------------------------------------------------------------------------- */

static const char *result_name(int r)
{
	return r == RES_OK ? "ok" : r == RES_MISMATCH ? "MISMATCH" : r == RES_ERROR ? "ERROR" : "skipped";
}

static void xml_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '<')
			fputs("&lt;", f);
		else if (ch == '>')
			fputs("&gt;", f);
		else if (ch == '&')
			fputs("&amp;", f);
		else if (ch == '"')
			fputs("&quot;", f);
		else if (ch < 0x20 && ch != '\n' && ch != '\t')
			fputc('?', f);
		else if (ch >= 0x80)
			fputc('?', f); /* reports are ASCII; keep the XML valid whatever a message holds */
		else
			fputc(ch, f);
	}
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch < 0x20 || ch >= 0x80)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static const char *job_text(const struct job *j)
{
	return j->result == RES_SKIPPED || (j->result == RES_ERROR && j->why[0]) ? j->why : j->r.msg;
}

static int write_junit(const char *path, const struct capfile *files, size_t nfiles, const struct job *jobs,
		       size_t njobs)
{
	FILE *f = fopen(path, "w");
	size_t i, k;
	char name[256];

	if (!f) {
		warn("--junit %s", path);
		return -1;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"replay\">\n");
	for (i = 0; i < nfiles; i++) {
		size_t n = 0, fail = 0, errs = 0, skip = 0;
		for (k = 0; k < njobs; k++)
			if (jobs[k].file == i) {
				n++;
				fail += jobs[k].result == RES_MISMATCH;
				errs += jobs[k].result == RES_ERROR;
				skip += jobs[k].result == RES_SKIPPED;
			}
		fprintf(f, "  <testsuite name=\"");
		xml_esc(f, files[i].path);
		fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\">\n", n, fail, errs, skip);
		for (k = 0; k < njobs; k++) {
			const struct job *j = &jobs[k];
			if (j->file != i)
				continue;
			flow_name(name, sizeof name, j->f);
			fprintf(f, "    <testcase classname=\"replay\" name=\"");
			xml_esc(f, name);
			fprintf(f, "\" time=\"%.3f\">", j->secs);
			if (j->result != RES_OK) {
				const char *tag = j->result == RES_MISMATCH ? "failure" : j->result == RES_ERROR ? "error" : "skipped";
				fprintf(f, "\n      <%s message=\"", tag);
				xml_esc(f, job_text(j));
				fprintf(f, "\">");
				xml_esc(f, j->r.detail);
				fprintf(f, "</%s>\n    ", tag);
			}
			fprintf(f, "</testcase>\n");
		}
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	if (fclose(f) != 0) {
		warn("--junit %s", path);
		return -1;
	}
	return 0;
}

static int write_json(const char *path, const struct capfile *files, size_t nfiles, const struct job *jobs,
		      size_t njobs, const size_t count[4])
{
	FILE *f = fopen(path, "w");
	size_t i, k;
	char c[NET_ADDRSTRLEN], s[NET_ADDRSTRLEN];

	if (!f) {
		warn("--json %s", path);
		return -1;
	}
	fprintf(f, "{\n  \"files\": [");
	for (i = 0; i < nfiles; i++) {
		int first = 1;
		fprintf(f, "%s\n    {\"file\": ", i ? "," : "");
		json_str(f, files[i].path);
		fprintf(f, ", \"frames\": %llu, \"flows\": [", (unsigned long long)files[i].frames);
		for (k = 0; k < njobs; k++) {
			const struct job *j = &jobs[k];
			if (j->file != i)
				continue;
			fmt_addr(c, sizeof c, j->f->family, j->f->caddr, j->f->cport);
			fmt_addr(s, sizeof s, j->f->family, j->f->saddr, j->f->sport);
			fprintf(f, "%s\n      {\"flow\": %zu, \"proto\": \"%s\", \"client\": \"%s\", \"server\": \"%s\", "
				   "\"result\": \"%s\", \"message\": ",
				first ? "" : ",", j->f->index + 1, j->f->proto == 6 ? "tcp" : "udp", c, s,
				j->result == RES_OK ? "ok" : j->result == RES_MISMATCH ? "mismatch" :
				j->result == RES_ERROR ? "error" : "skipped");
			json_str(f, job_text(j));
			if (j->result == RES_MISMATCH)
				fprintf(f, ", \"direction\": \"%s\", \"offset\": %zu, \"detail\": ",
					j->r.dir == DEC_C2S ? "client->server" : "server->client", j->r.offset),
					json_str(f, j->r.detail);
			fprintf(f, ", \"sent\": %zu, \"received\": %zu, \"seconds\": %.3f}", j->r.sent, j->r.got, j->secs);
			first = 0;
		}
		fprintf(f, "\n    ]}");
	}
	fprintf(f, "\n  ],\n  \"summary\": {\"flows\": %zu, \"ok\": %zu, \"mismatch\": %zu, \"error\": %zu, "
		   "\"skipped\": %zu}\n}\n",
		njobs, count[RES_OK], count[RES_MISMATCH], count[RES_ERROR], count[RES_SKIPPED]);
	if (fclose(f) != 0) {
		warn("--json %s", path);
		return -1;
	}
	return 0;
}

/* ---- modes ------------------------------------------------------------------------------------------ */

static void list_flows(const struct capfile *cf)
{
	size_t i, n = dec_nflows(cf->ctx);
	struct dec_stats st;
	char name[256];

	dec_stats(cf->ctx, &st);
	printf("%s: %llu frames, %llu tcp, %llu udp, %llu other, %llu duplicates, %llu malformed, %zu flows%s\n",
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
			printf("    %s %zu bytes in %zu %s%s%s, packets %llu dups %llu retrans %llu overlaps %llu "
			       "conflicts %llu ooo %llu cut %llu gap %llu\n",
			       d == DEC_C2S ? "c2s" : "s2c", dd->len, w[d], f->proto == 6 ? "writes" : "datagrams",
			       dd->fin ? " FIN" : "", dd->rst ? " RST" : "", (unsigned long long)dd->packets,
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
		printf("%s: %llu packets from %s (%s input)\n", o->write_pcap, (unsigned long long)npk, o->from_fuzz,
		       udp ? "fuzz_udp" : "fuzz_tcp");
	return 0;
}

/* Standard output is a report too: a write error on it (a full disk, a closed pipe) must not pass
 * silently. Returns status, or EXIT_SETUP after a message when stdout could not be written. */
static int stdout_ok(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warn("standard output");
		return EXIT_SETUP;
	}
	return status;
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

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"target", required_argument, NULL, 't'},   {"map", required_argument, NULL, 'm'},
		{"server-port", required_argument, NULL, 'p'}, {"expect", required_argument, NULL, 'e'},
		{"timing", required_argument, NULL, 'T'},   {"speed", required_argument, NULL, 's'},
		{"timeout", required_argument, NULL, 'w'},  {"incomplete", required_argument, NULL, 'i'},
		{"junit", required_argument, NULL, 'J'},    {"json", required_argument, NULL, 'S'},
		{"list", no_argument, NULL, 'l'},           {"decode-only", no_argument, NULL, 'D'},           {"write-corpus", required_argument, NULL, 'C'},
		{"from-fuzz-input", required_argument, NULL, 'F'}, {"write-pcap", required_argument, NULL, 'P'},
		{"fuzz-format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	struct opts o;
	struct capfile *files;
	struct dec_limits lim;
	struct job *jobs = NULL;
	size_t nfiles, i, k, njobs = 0, count[4] = {0, 0, 0, 0};
	struct child tcpc = {0}, udpc = {0}, tcpc6 = {0}, udpc6 = {0};
	struct net_addr tcp_ref, udp_ref, tcp_ref6, udp_ref6;
	struct play_opts po;
	int c, need_tcp = 0, need_udp = 0, need_tcp6 = 0, need_udp6 = 0, status = 0, timing_original = 0;
	int have6 = 0, dead = 0;
	unsigned long v;
	char err[512], dir[PATH_MAX], name[256];
	uint64_t cap0 = UINT64_MAX;

	memset(&o, 0, sizeof o);
	o.jobs = 8;
	o.timeout_ms = 5000;
	o.fuzz_udp = -1;
	while ((c = getopt_long(argc, argv, ":j:qvh", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.target_spec = optarg;
			if (net_parse(optarg, &o.target, err, sizeof err) < 0)
				errx(EXIT_SETUP, "--target %s: %s", optarg, err);
			break;
		case 'm': {
			char *eq = strchr(optarg, '=');
			struct map *m = &o.maps[o.nmaps];
			if (o.nmaps == sizeof o.maps / sizeof o.maps[0])
				errx(EXIT_SETUP, "--map %s: too many mappings", optarg);
			if (!eq)
				errx(EXIT_SETUP, "--map %s: expected PORT=HOST:PORT", optarg);
			*eq = 0;
			if (parse_uint(optarg, 65535, &v) < 0)
				errx(EXIT_SETUP, "--map %s=%s: bad port %s", optarg, eq + 1, optarg);
			m->port = (unsigned)v;
			if (net_parse(eq + 1, &m->to, err, sizeof err) < 0)
				errx(EXIT_SETUP, "--map %s=%s: %s", optarg, eq + 1, err);
			snprintf(m->spec, sizeof m->spec, "%s", eq + 1);
			if (o.nserver_ports < 64)
				o.server_ports[o.nserver_ports++] = (uint16_t)v;
			o.nmaps++;
			break;
		}
		case 'p':
			if (parse_uint(optarg, 65535, &v) < 0 || !v)
				errx(EXIT_SETUP, "--server-port %s: not a port number", optarg);
			if (o.nserver_ports == 64)
				errx(EXIT_SETUP, "--server-port %s: too many server ports", optarg);
			o.server_ports[o.nserver_ports++] = (uint16_t)v;
			break;
		case 'e':
			if (!strcmp(optarg, "upper"))
				o.expect_upper = 1;
			else if (strcmp(optarg, "recorded"))
				errx(EXIT_SETUP, "--expect %s: expected recorded or upper", optarg);
			break;
		case 'T':
			if (!strcmp(optarg, "original"))
				timing_original = 1;
			else if (strcmp(optarg, "fast"))
				errx(EXIT_SETUP, "--timing %s: expected fast or original", optarg);
			break;
		case 's': {
			char *end;
			o.speed = strtod(optarg, &end);
			if (end == optarg || *end || !(o.speed > 0) || o.speed > 1e9)
				errx(EXIT_SETUP, "--speed %s: expected a positive factor", optarg);
			break;
		}
		case 'w':
			if (parse_uint(optarg, 3600000, &v) < 0 || !v)
				errx(EXIT_SETUP, "--timeout %s: expected 1..3600000 ms", optarg);
			o.timeout_ms = (int)v;
			break;
		case 'i':
			if (!strcmp(optarg, "skip"))
				o.incomplete = INC_SKIP;
			else if (!strcmp(optarg, "replay"))
				o.incomplete = INC_REPLAY;
			else if (!strcmp(optarg, "fail"))
				o.incomplete = INC_FAIL;
			else
				errx(EXIT_SETUP, "--incomplete %s: expected skip, replay or fail", optarg);
			break;
		case 'J': o.junit = optarg; break;
		case 'S': o.json = optarg; break;
		case 'l': o.list = 1; break;
		case 'D': o.decode_only = 1; break;
		case 'C': o.corpus = optarg; break;
		case 'F': o.from_fuzz = optarg; break;
		case 'P': o.write_pcap = optarg; break;
		case 'f':
			if (!strcmp(optarg, "udp"))
				o.fuzz_udp = 1;
			else if (!strcmp(optarg, "tcp"))
				o.fuzz_udp = 0;
			else
				errx(EXIT_SETUP, "--fuzz-format %s: expected tcp or udp", optarg);
			break;
		case 'j':
			if (parse_uint(optarg, 256, &v) < 0 || !v)
				errx(EXIT_SETUP, "-j %s: expected 1..256", optarg);
			o.jobs = (int)v;
			break;
		case 'q': o.quiet = 1; break;
		case 'v': o.verbose = 1; break;
		case 'h': usage(stdout); return stdout_ok(0);
		default: {
			/* For a long option optopt is its internal code, so it is named from argv. */
			const char *bad = argv[optind - 1];
			int len = (int)strcspn(bad, "="), known = 0, n;
			for (n = 0; lopts[n].name && len > 2; n++)
				known |= !strncmp(lopts[n].name, bad + 2, (size_t)len - 2);
			if (!strncmp(bad, "--", 2))
				warnx("%.*s: %s", len, bad,
				      c == ':' ? "missing argument" : known && bad[len] ? "takes no argument" : "unknown option");
			else
				warnx("-%c: %s", optopt, c == ':' ? "missing argument" : "unknown option");
			fprintf(stderr, "usage: replay [options] PCAP... (replay --help lists the options)\n");
			return EXIT_SETUP;
		}
		}
	}
	if (timing_original && !o.speed)
		o.speed = 1;
	if (o.from_fuzz || o.write_pcap) {
		if (!o.from_fuzz || !o.write_pcap)
			errx(EXIT_SETUP, "--from-fuzz-input and --write-pcap go together");
		if (optind != argc)
			errx(EXIT_SETUP, "--from-fuzz-input takes no PCAP arguments");
		return stdout_ok(from_fuzz(&o));
	}
	if (optind == argc) {
		fprintf(stderr, "replay: no PCAP given\nusage: replay [options] PCAP... (replay --help lists the "
			"options)\n");
		return EXIT_SETUP;
	}
	nfiles = (size_t)(argc - optind);
	files = calloc(nfiles, sizeof *files);
	if (!files)
		errx(EXIT_SETUP, "out of memory");
	dec_limits_default(&lim);
	lim.server_ports = o.server_ports;
	lim.n_server_ports = o.nserver_ports;
	for (i = 0; i < nfiles; i++) {
		uint64_t t0 = play_now_ns();
		files[i].path = argv[optind + (int)i];
		if (load(&files[i], &lim, o.quiet) < 0)
			status = EXIT_SETUP;
		else if (o.decode_only) {
			double secs = (double)(play_now_ns() - t0) / 1e9;
			printf("%s: %llu packets, %zu flows, %llu payload bytes read, decoded and reassembled in %.3f s: "
			       "%.0f packets/s\n", files[i].path, (unsigned long long)files[i].frames,
			       dec_nflows(files[i].ctx), (unsigned long long)files[i].bytes, secs,
			       secs > 0 ? (double)files[i].frames / secs : 0.0);
		}
		if (o.decode_only && files[i].ctx) {
			dec_free(files[i].ctx); /* keep memory to one file at a time */
			files[i].ctx = NULL;
		}
	}
	if (o.decode_only)
		goto out;
	for (i = 0; i < nfiles && !status && !o.list; i++)
		if (!dec_nflows(files[i].ctx)) {
			/* Replaying nothing would pass silently. */
			warnx("%s: no TCP or UDP flow to replay in its %llu packets", files[i].path,
			      (unsigned long long)files[i].frames);
			status = EXIT_SETUP;
		}
	if (status)
		goto out;
	if (o.list) {
		for (i = 0; i < nfiles; i++)
			list_flows(&files[i]);
		goto out;
	}
	if (o.corpus) {
		for (i = 0; i < nfiles; i++)
			if (write_corpus(&files[i], o.corpus) < 0)
				status = EXIT_SETUP;
		goto out;
	}
	/* Jobs: every flow of every file, in order; the targets are known once the servers are up. */
	for (i = 0; i < nfiles; i++)
		njobs += dec_nflows(files[i].ctx);
	jobs = calloc(njobs ? njobs : 1, sizeof *jobs);
	if (!jobs)
		errx(EXIT_SETUP, "out of memory");
	for (i = 0, k = 0; i < nfiles; i++) {
		size_t f;
		for (f = 0; f < dec_nflows(files[i].ctx); f++, k++) {
			struct job *j = &jobs[k];
			size_t m;
			j->file = i;
			j->f = dec_flow(files[i].ctx, f);
			if (j->f->first_ns < cap0)
				cap0 = j->f->first_ns;
			if ((j->f->flags & DEC_F_INCOMPLETE) && o.incomplete != INC_REPLAY) {
				j->result = o.incomplete == INC_SKIP ? RES_SKIPPED : RES_ERROR;
				snprintf(j->why, sizeof j->why, "incomplete flow: %s", incomplete_reason(j->f));
				continue;
			}
			for (m = 0; m < o.nmaps; m++)
				if (o.maps[m].port == j->f->sport)
					j->target = &o.maps[m].to;
			if (!j->target && o.target_spec)
				j->target = &o.target;
			if (!j->target) {
				need_tcp |= j->f->proto == 6 && j->f->family == 4;
				need_udp |= j->f->proto == 17 && j->f->family == 4;
				need_tcp6 |= j->f->proto == 6 && j->f->family == 6;
				need_udp6 |= j->f->proto == 17 && j->f->family == 6;
			}
			j->result = -1;
		}
	}
	if (need_tcp || need_udp || need_tcp6 || need_udp6) {
		if (o.nmaps && !o.target_spec) {
			/* An explicit mapping means a chosen implementation: do not mix in the reference one. */
			for (k = 0; k < njobs; k++)
				if (jobs[k].result == -1 && !jobs[k].target) {
					jobs[k].result = RES_ERROR;
					snprintf(jobs[k].why, sizeof jobs[k].why, "no --map for captured server port %u",
						 jobs[k].f->sport);
				}
		} else {
			self_dir(argv[0], dir, sizeof dir);
			signal(SIGPIPE, SIG_IGN);
			if ((need_tcp && spawn(dir, "tcp-upper", "127.0.0.1:0", "tcp", o.verbose, &tcpc, &tcp_ref, err,
					       sizeof err) < 0) ||
			    (need_udp && spawn(dir, "udp-upper", "127.0.0.1:0", "udp", o.verbose, &udpc, &udp_ref, err,
					       sizeof err) < 0)) {
				warnx("%s", err);
				status = EXIT_SETUP;
				goto out;
			}
			/* IPv6 flows go to reference servers on [::1], so they are replayed over IPv6 (SPEC B1).
			 * A host without an IPv6 loopback skips them (B1 is a SHOULD there). */
			if (need_tcp6 || need_udp6) {
				have6 = have_loopback6();
				if (have6 && ((need_tcp6 && spawn(dir, "tcp-upper", "[::1]:0", "tcp", o.verbose, &tcpc6,
								  &tcp_ref6, err, sizeof err) < 0) ||
					      (need_udp6 && spawn(dir, "udp-upper", "[::1]:0", "udp", o.verbose, &udpc6,
								  &udp_ref6, err, sizeof err) < 0))) {
					warnx("%s", err);
					status = EXIT_SETUP;
					goto out;
				}
			}
			for (k = 0; k < njobs; k++) {
				struct job *j = &jobs[k];
				if (j->result != -1 || j->target)
					continue;
				if (j->f->family == 6 && !have6) {
					j->result = RES_SKIPPED;
					snprintf(j->why, sizeof j->why, "IPv6 flow: this host has no IPv6 loopback ([::1]) "
						 "to start the reference servers on");
				} else if (j->f->family == 6) {
					j->target = j->f->proto == 6 ? &tcp_ref6 : &udp_ref6;
				} else {
					j->target = j->f->proto == 6 ? &tcp_ref : &udp_ref;
				}
			}
		}
	}
	signal(SIGPIPE, SIG_IGN);
	/* Replay the runnable jobs (result -1) concurrently. */
	{
		struct job *run = calloc(njobs ? njobs : 1, sizeof *run);
		size_t nrun = 0;
		if (!run)
			errx(EXIT_SETUP, "out of memory");
		for (k = 0; k < njobs; k++)
			if (jobs[k].result == -1)
				run[nrun++] = jobs[k];
		memset(&po, 0, sizeof po);
		po.timeout_ms = o.timeout_ms;
		po.expect_upper = o.expect_upper;
		po.speed = o.speed;
		po.cap0 = cap0;
		po.mono0 = play_now_ns();
		if (run_pool(run, nrun, &po, o.jobs) < 0) {
			free(run);
			status = EXIT_SETUP;
			goto out;
		}
		for (k = 0, i = 0; k < njobs; k++)
			if (jobs[k].result == -1)
				jobs[k] = run[i++];
		free(run);
	}
	for (k = 0; k < njobs; k++) {
		const struct job *j = &jobs[k];
		count[j->result]++;
		if (o.quiet && (j->result == RES_OK || j->result == RES_SKIPPED))
			continue;
		flow_name(name, sizeof name, j->f);
		printf("%s %s: %s: %s\n", files[j->file].path, name, result_name(j->result), job_text(j));
		if (j->result == RES_MISMATCH && j->r.detail[0])
			fputs(j->r.detail, stdout);
	}
	{
		struct child *kids[] = {&tcpc, &udpc, &tcpc6, &udpc6};
		dead = check_alive(jobs, njobs, kids, 4, o.timeout_ms);
	}
	printf("replay: %zu flows in %zu files: %zu ok, %zu mismatch, %zu error, %zu skipped%s\n", njobs, nfiles,
	       count[RES_OK], count[RES_MISMATCH], count[RES_ERROR], count[RES_SKIPPED],
	       dead ? "; a server failed the probe after the replay" : "");
	if (o.junit && write_junit(o.junit, files, nfiles, jobs, njobs) < 0)
		status = EXIT_SETUP;
	if (o.json && write_json(o.json, files, nfiles, jobs, njobs, count) < 0)
		status = EXIT_SETUP;
	if (!status)
		status = count[RES_ERROR] ? EXIT_SETUP : count[RES_MISMATCH] || dead ? EXIT_MISMATCH : 0;
	/* Incomplete flows counted as failures (--incomplete fail) are mismatches, not setup errors. */
	if (status == EXIT_SETUP && o.incomplete == INC_FAIL) {
		int only_incomplete = 1;
		for (k = 0; k < njobs; k++)
			if (jobs[k].result == RES_ERROR && strncmp(jobs[k].why, "incomplete", 10))
				only_incomplete = 0;
		if (only_incomplete)
			status = EXIT_MISMATCH;
	}
out:
	status = stdout_ok(status);
	reap(&tcpc);
	reap(&udpc);
	reap(&tcpc6);
	reap(&udpc6);
	for (i = 0; i < nfiles; i++)
		dec_free(files[i].ctx);
	free(files);
	free(jobs);
	return status;
}
