/* replay.c - bin/replay: replays captured TCP/UDP conversations against the reference servers or any
 * implementation of the uppercase protocol and checks the answers (harness/replay/README.md).
 *
 * main() parses the options (options.h), loads and decodes the captures, and then lists them, writes
 * them as fuzz seeds, or replays them: plan the jobs (one per flow) and their targets, start the
 * reference servers the plan needs (servers.h), play the flows on a pool of threads (play.h), probe the
 * servers, and report (reports.h). */
#include "replay.h"

#include <err.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "fuzzconv.h"
#include "net.h"
#include "pcapin.h"
#include "reports.h"
#include "util.h"

/* Standard output is a report too: a write error on it (a full disk, a closed pipe) must not pass
 * silently. Returns status, or REPLAY_EXIT_SETUP after a message when stdout could not be written. */
static int stdout_status(int status)
{
	if (util_flush_ok(stdout) < 0) {
		warn("standard output");
		return REPLAY_EXIT_SETUP;
	}
	return status;
}

/* ---- reading captures ------------------------------------------------------------------------------ */

/* Takes note text (of packet n) as cf's note: its expect= word decides how the flows are judged unless
 * --expect is given. Returns 0, or -1 after a message (a value replay does not know, or two notes that
 * disagree). */
static int take_note(struct replay_file *cf, const char *text, uint64_t n)
{
	char v[64];
	int expect = -1;

	if (dec_note_get(text, "expect", v, sizeof v)) {
		if (strcmp(v, "upper") != 0 && strcmp(v, "recorded") != 0) {
			warnx(
			    "%s: packet %llu: capslock note \"%s\": expect=%s is neither upper nor recorded",
			    cf->path, (unsigned long long)n, text, v);
			return -1;
		}
		expect = v[0] == 'u';
	}
	if (cf->note[0] && strcmp(cf->note, text) != 0) {
		warnx("%s: packet %llu: a second capslock note \"%s\", after \"%s\"", cf->path,
		      (unsigned long long)n, text, cf->note);
		return -1;
	}
	snprintf(cf->note, sizeof cf->note, "%s", text);
	cf->note_expect = expect;
	/* The writer stopped recording at a bound: the flows lack their ends, the capture is cut. */
	if (dec_note_get(text, "cut", v, sizeof v) && !cf->cut) {
		cf->cut = 1;
		snprintf(cf->cut_why, sizeof cf->cut_why, "the capture is cut: its note says cut=%s", v);
	}
	return 0;
}

/* Feeds every frame of the open capture to cf->ctx, and takes its capslock note. A file that ends inside
 * a packet, or a packet whose headers the snap length cut (its flow cannot be told), makes the capture
 * cut (cf->cut): a truncated artifact is not a whole capture. Returns 0, or -1 after a message. */
static int decode_frames(struct replay_file *cf, struct pcapin *in, int quiet)
{
	char err[512], derr[256], note[DEC_NOTE_MAX];
	const uint8_t *buf;
	size_t caplen, wirelen;
	uint64_t ts;
	int lt = pcapin_linktype(in), rc;

	while ((rc = pcapin_next(in, &buf, &caplen, &wirelen, &ts, err, sizeof err)) == PCAPIN_FRAME) {
		cf->frames++;
		rc = dec_feed(cf->ctx, lt, buf, caplen, wirelen, ts, derr, sizeof derr);
		if (rc == DEC_SKIP) {
			int nr = dec_note(lt, buf, caplen, note, sizeof note, derr, sizeof derr);
			if (nr < 0)
				warnx("%s: packet %llu: %s", cf->path, (unsigned long long)pcapin_count(in),
				      derr);
			if (nr < 0 || (nr > 0 && take_note(cf, note, pcapin_count(in)) < 0))
				return -1;
		} else if (rc == DEC_EMALFORMED) {
			cf->malformed++;
			if (caplen < wirelen && !cf->cut) {
				cf->cut = 1;
				snprintf(
				    cf->cut_why, sizeof cf->cut_why,
				    "the capture is cut: the snap length cut packet %llu inside its headers "
				    "(%zu of %zu bytes captured)",
				    (unsigned long long)pcapin_count(in), caplen, wirelen);
			}
			if (!quiet)
				warnx("%s: packet %llu: %s (packet skipped)", cf->path,
				      (unsigned long long)pcapin_count(in), derr);
		} else if (rc < 0) {
			warnx("%s: packet %llu: %s", cf->path, (unsigned long long)pcapin_count(in), derr);
			return -1;
		}
	}
	if (rc == PCAPIN_TRUNCATED) {
		cf->truncated = cf->cut = 1;
		snprintf(
		    cf->cut_why, sizeof cf->cut_why,
		    "the capture is cut: the file ends inside packet %llu (what came after packet %llu is "
		    "lost)",
		    (unsigned long long)pcapin_count(in) + 1, (unsigned long long)pcapin_count(in));
		warnx("%s (the %llu packets before it are read; the capture is cut, so its flows are not "
		      "checked unless --incomplete says otherwise)",
		      err, (unsigned long long)pcapin_count(in));
	} else if (rc == PCAPIN_ERROR) {
		warnx("%s", err);
		return -1;
	}
	return 0;
}

/* Reads and decodes the capture cf->path into cf. Returns 0, or -1 after a message. */
static int load(struct replay_file *cf, const struct dec_limits *lim, int quiet)
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
		warnx("%s: packet 1: unsupported link type %d (supported: %s)", cf->path, lt,
		      dec_link_list(err, sizeof err));
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
 * REPLAY_EXIT_SETUP when a file could not be read. */
static int load_files(struct replay_run *run)
{
	const struct options *o = run->o;
	struct dec_limits lim;
	size_t i;
	int status = 0;

	run->nfiles = o->npcaps;
	run->files = calloc(run->nfiles, sizeof *run->files);
	if (!run->files)
		errx(REPLAY_EXIT_SETUP, "out of memory");
	dec_limits_default(&lim);
	lim.server_ports = o->server_ports;
	lim.n_server_ports = o->nserver_ports;
	for (i = 0; i < run->nfiles; i++) {
		struct replay_file *cf = &run->files[i];
		uint64_t t0 = util_now_ns();
		cf->path = o->pcaps[i];
		cf->note_expect = -1;
		if (load(cf, &lim, o->quiet) < 0) {
			status = REPLAY_EXIT_SETUP;
		} else if (o->decode_only) {
			double secs = (double)(util_now_ns() - t0) / 1e9;
			printf("%s: %llu packets, %zu flows, %llu payload bytes read, decoded and "
			       "reassembled in %.3f s: "
			       "%.0f packets/s\n",
			       cf->path, (unsigned long long)cf->frames, dec_nflows(cf->ctx),
			       (unsigned long long)cf->bytes, secs,
			       secs > 0 ? (double)cf->frames / secs : 0.0);
		}
		cf->expect_upper = o->expect_upper >= 0 ? o->expect_upper : cf->note_expect > 0;
		if (o->decode_only && cf->ctx) {
			dec_free(cf->ctx); /* keep memory to one file at a time */
			cf->ctx = NULL;
		}
	}
	return status;
}

/* Replaying nothing would pass silently: a capture without flows is an error. Returns 0 or REPLAY_EXIT_SETUP.
 */
static int check_flows(const struct replay_run *run)
{
	size_t i;

	for (i = 0; i < run->nfiles; i++)
		if (!dec_nflows(run->files[i].ctx)) {
			warnx("%s: no TCP or UDP flow to replay in its %llu packets", run->files[i].path,
			      (unsigned long long)run->files[i].frames);
			return REPLAY_EXIT_SETUP;
		}
	return 0;
}

/* ---- planning, playing, probing ------------------------------------------------------------------ */

/* Why --only leaves flow f out (a reason into why), or NULL when it is replayed. */
static const char *left_out(const struct options *o, const struct dec_flow *f, char *why, size_t len)
{
	unsigned proto = f->proto == 6 ? OPTIONS_ONLY_TCP : OPTIONS_ONLY_UDP;
	size_t i;

	if (o->only_proto && !(o->only_proto & proto)) {
		snprintf(why, len, "left out by --only %s", o->only_proto & OPTIONS_ONLY_TCP ? "tcp" : "udp");
		return why;
	}
	for (i = 0; i < o->nonly_ports && o->only_ports[i] != f->sport; i++)
		;
	if (o->nonly_ports && i == o->nonly_ports) {
		snprintf(why, len,
		         "left out by --only: captured server port %u is not among the --only ports",
		         f->sport);
		return why;
	}
	return NULL;
}

/* One job per flow of every file, in order. A flow's target is --map's or --target's; flows without one
 * (returned as 1 << SERVERS_* bits) go to the reference servers. Flows --only leaves out are skipped;
 * incomplete and cut flows are skipped or failed here, as --incomplete says. */
static unsigned plan_jobs(struct replay_run *run)
{
	const struct options *o = run->o;
	unsigned needs = 0;
	size_t i, k, f, m;

	for (i = 0; i < run->nfiles; i++)
		run->njobs += dec_nflows(run->files[i].ctx);
	run->jobs = calloc(run->njobs ? run->njobs : 1, sizeof *run->jobs);
	if (!run->jobs)
		errx(REPLAY_EXIT_SETUP, "out of memory");
	run->cap0 = UINT64_MAX;
	for (i = 0, k = 0; i < run->nfiles; i++)
		for (f = 0; f < dec_nflows(run->files[i].ctx); f++, k++) {
			const struct replay_file *cf = &run->files[i];
			struct replay_job *j = &run->jobs[k];
			const struct dec_flow *fl = dec_flow(cf->ctx, f);
			j->file = i;
			j->play.f = fl;
			j->play.expect_upper = cf->expect_upper;
			if (fl->first_ns < run->cap0)
				run->cap0 = fl->first_ns;
			if (left_out(o, fl, j->why, sizeof j->why)) {
				j->result = REPLAY_SKIPPED;
				j->left_out = 1;
				continue;
			}
			j->cut = cf->cut || fl->dir[DEC_C2S].truncated || fl->dir[DEC_S2C].truncated;
			if ((cf->cut || (fl->flags & DEC_F_INCOMPLETE)) &&
			    o->incomplete != OPTIONS_INC_REPLAY) {
				j->result = o->incomplete == OPTIONS_INC_SKIP ? REPLAY_SKIPPED : REPLAY_ERROR;
				j->incomplete = 1;
				if (cf->cut)
					snprintf(j->why, sizeof j->why, "not checked: %s", cf->cut_why);
				else
					snprintf(j->why, sizeof j->why, "%s: %s",
					         j->cut ? "not checked" : "incomplete flow",
					         reports_incomplete_reason(fl));
				continue;
			}
			for (m = 0; m < o->nmaps; m++)
				if (o->maps[m].port == fl->sport)
					j->play.target = &o->maps[m].to;
			if (!j->play.target && o->target_spec)
				j->play.target = &o->target;
			if (!j->play.target)
				needs |= 1u << servers_index(fl);
			j->result = REPLAY_PENDING;
		}
	return needs;
}

/* Sends the flows that have no target to the reference servers, starting those they need; with --map
 * alone such a flow is an error instead. Returns 0, or -1 after a message. */
static int assign_references(struct replay_run *run, unsigned needs, const char *argv0)
{
	size_t k;
	int have6;

	if (!needs)
		return 0;
	if (run->o->nmaps && !run->o->target_spec) {
		/* An explicit mapping means a chosen implementation: do not mix in the reference one. */
		for (k = 0; k < run->njobs; k++)
			if (run->jobs[k].result == REPLAY_PENDING && !run->jobs[k].play.target) {
				run->jobs[k].result = REPLAY_ERROR;
				snprintf(
				    run->jobs[k].why, sizeof run->jobs[k].why,
				    "no --map for captured server port %u (map it, give --target, or leave "
				    "the flow out with --only)",
				    run->jobs[k].play.f->sport);
			}
		return 0;
	}
	have6 = servers_start(&run->refs, needs, argv0);
	if (have6 < 0)
		return -1;
	for (k = 0; k < run->njobs; k++) {
		struct replay_job *j = &run->jobs[k];
		if (j->result != REPLAY_PENDING || j->play.target)
			continue;
		if (j->play.f->family == 6 && !have6) {
			j->result = REPLAY_SKIPPED;
			snprintf(j->why, sizeof j->why,
			         "IPv6 flow: this host has no IPv6 loopback ([::1]) "
			         "to start the reference servers on");
		} else {
			j->play.target = servers_addr(&run->refs, servers_index(j->play.f));
		}
	}
	return 0;
}

/* Plays the pending jobs concurrently. Returns 0, or -1 after a message. */
static int run_jobs(struct replay_run *run)
{
	struct play_job **pending = calloc(run->njobs ? run->njobs : 1, sizeof *pending);
	struct play_opts po;
	char err[128];
	size_t k, n = 0;
	int rc;

	if (!pending)
		errx(REPLAY_EXIT_SETUP, "out of memory");
	for (k = 0; k < run->njobs; k++)
		if (run->jobs[k].result == REPLAY_PENDING)
			pending[n++] = &run->jobs[k].play;
	memset(&po, 0, sizeof po);
	po.timeout_ms = run->o->timeout_ms;
	po.speed = run->o->speed;
	po.cap0 = run->cap0;
	po.mono0 = util_now_ns();
	rc = play_all(pending, n, &po, run->o->jobs, err, sizeof err);
	free(pending);
	if (rc < 0) {
		warnx("%s", err);
		return -1;
	}
	for (k = 0; k < run->njobs; k++) {
		struct replay_job *j = &run->jobs[k];
		if (j->result == REPLAY_PENDING)
			j->result = j->play.r.status == PLAY_OK         ? REPLAY_OK
			            : j->play.r.status == PLAY_MISMATCH ? REPLAY_MISMATCH
			                                                : REPLAY_ERROR;
	}
	return 0;
}

/* After the replay: every TCP server the flows went to must still answer a probe, so a server that
 * crashed on a flow (a reset while it owed output, SPEC T6) fails the run even when its own flow passed.
 * A reference server started here must also still be running. Returns the number of dead servers. */
static int check_alive(struct replay_run *run)
{
	const struct net_addr *seen[256];
	size_t nseen = 0, k, i;
	int dead = servers_dead(&run->refs);

	for (k = 0; k < run->njobs; k++) {
		const struct replay_job *j = &run->jobs[k];
		const struct net_addr *t = j->play.target;
		char name[NET_ADDRSTRLEN], e[256];
		if ((j->result != REPLAY_OK && j->result != REPLAY_MISMATCH) || j->play.f->proto != 6 || !t)
			continue;
		for (i = 0; i < nseen && seen[i] != t; i++)
			;
		if (i < nseen || nseen == sizeof seen / sizeof seen[0])
			continue;
		seen[nseen++] = t;
		if (servers_probe(t, run->o->timeout_ms, e, sizeof e) < 0) {
			warnx("after the replay the server at %s fails a probe exchange (did it crash?): %s",
			      net_format((const struct sockaddr *)&t->ss, name, sizeof name), e);
			dead++;
		}
	}
	return dead;
}

/* Plans, plays and reports the flows of the loaded captures. Returns the exit status. */
static int replay_all(struct replay_run *run, const char *argv0)
{
	unsigned needs;

	if (check_flows(run))
		return REPLAY_EXIT_SETUP;
	needs = plan_jobs(run);
	if (assign_references(run, needs, argv0) < 0)
		return REPLAY_EXIT_SETUP;
	signal(SIGPIPE, SIG_IGN);
	if (run_jobs(run) < 0)
		return REPLAY_EXIT_SETUP;
	reports_flows(run);
	run->dead = check_alive(run);
	return reports_summary(run);
}

/* ---- modes ------------------------------------------------------------------------------------------ */

static int write_corpus(const struct replay_file *cf, const char *dir)
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
		if (util_mkdir_p(path, 0777, err, sizeof err) < 0) {
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

static int from_fuzz(const struct options *o)
{
	FILE *f = fopen(o->from_fuzz, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	uint64_t npk = 0;
	char emsg[512];
	int udp = o->fuzz_udp >= 0 ? o->fuzz_udp : strstr(o->from_fuzz, "udp") != NULL;

	if (!f)
		err(REPLAY_EXIT_SETUP, "--from-fuzz-input %s", o->from_fuzz);
	for (;;) {
		size_t k;
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			uint8_t *grown = cap > ((size_t)64 << 20) ? NULL : realloc(buf, cap);
			if (!grown) {
				free(buf);
				fclose(f);
				errx(REPLAY_EXIT_SETUP, "--from-fuzz-input %s: %s", o->from_fuzz,
				     cap > ((size_t)64 << 20) ? "larger than 64 MiB" : "out of memory");
			}
			buf = grown;
		}
		k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	if (ferror(f)) {
		int e = errno;
		free(buf); /* exit does not free it, and LeakSanitizer would count it */
		fclose(f);
		errx(REPLAY_EXIT_SETUP, "--from-fuzz-input %s: %s", o->from_fuzz, strerror(e));
	}
	fclose(f);
	int rc = fz_to_pcap(buf, n, udp, o->write_pcap, &npk, emsg, sizeof emsg);
	free(buf);
	if (rc < 0)
		errx(REPLAY_EXIT_SETUP, "--write-pcap: %s", emsg);
	if (!o->quiet) /* after a pcap on stdout ("-"), the line goes to stderr */
		fprintf(util_is_stdout(o->write_pcap) ? stderr : stdout,
		        "%s: %llu packets from %s (%s input)\n", o->write_pcap, (unsigned long long)npk,
		        o->from_fuzz, udp ? "fuzz_udp" : "fuzz_tcp");
	return 0;
}

/* --list: every file's flows. A capture with no flow is the same error as for a replay. */
static int list_all(const struct replay_run *run)
{
	size_t i;

	for (i = 0; i < run->nfiles; i++)
		reports_list(&run->files[i]);
	return check_flows(run);
}

/* --write-corpus: every file's flows as fuzz seeds. Returns 0 or REPLAY_EXIT_SETUP. */
static int corpus_all(const struct replay_run *run)
{
	size_t i;
	int status = check_flows(run);
	char err[PATH_MAX + 128];

	if (status)
		return status;
	if (util_mkdir_out(run->o->corpus, err, sizeof err) < 0) {
		warnx("--write-corpus %s", err);
		return REPLAY_EXIT_SETUP;
	}
	for (i = 0; i < run->nfiles; i++)
		if (write_corpus(&run->files[i], run->o->corpus) < 0)
			status = REPLAY_EXIT_SETUP;
	return status;
}

static void run_free(struct replay_run *run)
{
	size_t i;

	servers_stop(&run->refs, run->o->verbose);
	for (i = 0; i < run->nfiles; i++)
		dec_free(run->files[i].ctx);
	free(run->files);
	free(run->jobs);
}

/* --json - or --junit -: the report gets the real stdout, and every human line goes to stderr. */
static int report_to_stdout(struct options *o)
{
	int fd;

	if (!util_is_stdout(o->json) && !util_is_stdout(o->junit))
		return 0;
	fflush(stdout);
	fd = dup(1);
	if (fd < 0 || (o->report_out = fdopen(fd, "w")) == NULL || dup2(2, 1) < 0) {
		warn("standard output");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct replay_run run;
	char err[1024];
	int status;

	switch (options_parse(argc, argv, &o, err, sizeof err)) {
	case OPTIONS_RUN:
		break;
	case OPTIONS_HELP: {
		/* Held whole until the flush, so that a write error (a full disk) keeps its errno for the
		 * message whatever the help's length. */
		static char help[16384];
		setvbuf(stdout, help, _IOFBF, sizeof help);
		options_usage(stdout);
		return stdout_status(0);
	}
	case OPTIONS_VERSION:
		cli_print_version(stdout, "replay");
		return stdout_status(0);
	case OPTIONS_USAGE:
	case OPTIONS_INVALID:
		cli_usage_error(stderr, "replay", err);
		return REPLAY_EXIT_SETUP;
	}
	if (report_to_stdout(&o) < 0)
		return REPLAY_EXIT_SETUP;
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
