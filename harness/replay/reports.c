/* reports.c - replay's reports (see reports.h). */
#include "reports.h"

#include <arpa/inet.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "report.h"
#include "util.h"

static void fmt_addr(char *buf, size_t len, int family, const uint8_t *a, unsigned port)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, ip, sizeof ip);
	snprintf(buf, len, family == 6 ? "[%s]:%u" : "%s:%u", ip, port);
}

void reports_flow_name(char *buf, size_t len, const struct dec_flow *f)
{
	char c[NET_ADDRSTRLEN], s[NET_ADDRSTRLEN];

	fmt_addr(c, sizeof c, f->family, f->caddr, f->cport);
	fmt_addr(s, sizeof s, f->family, f->saddr, f->sport);
	snprintf(buf, len, "flow %zu %s %s > %s", f->index + 1, f->proto == 6 ? "tcp" : "udp", c, s);
}

const char *reports_incomplete_reason(const struct dec_flow *f)
{
	if (f->dir[0].truncated || f->dir[1].truncated)
		return "payload cut by the capture's snap length";
	if (f->flags & DEC_F_GAP)
		return "bytes missing in a stream";
	if (f->proto == 6 && !(f->flags & DEC_F_SYN))
		return "no SYN: the capture starts mid-connection";
	return "incomplete";
}

static const char *result_name(enum replay_result r)
{
	return r == REPLAY_OK         ? "ok"
	       : r == REPLAY_MISMATCH ? "MISMATCH"
	       : r == REPLAY_ERROR    ? "ERROR"
	                              : "skipped";
}

static const char *job_text(const struct replay_job *j)
{
	return j->result == REPLAY_SKIPPED || (j->result == REPLAY_ERROR && j->why[0]) ? j->why
	                                                                               : j->play.r.msg;
}

static enum rep_status rep_status_of(enum replay_result r)
{
	return r == REPLAY_OK         ? REP_PASS
	       : r == REPLAY_MISMATCH ? REP_FAIL
	       : r == REPLAY_ERROR    ? REP_ERROR
	                              : REP_SKIP;
}

/* Writes the JUnit report: one <testsuite> per capture file, one <testcase> per flow. Returns 0, or -1
 * after a message. */
static int write_junit(const char *path, const struct replay_run *run)
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
		const struct replay_job *j = &run->jobs[k];
		reports_flow_name(names[k], sizeof names[k], j->play.f);
		cases[k] = (struct rep_case){.classname = "replay",
		                             .name = names[k],
		                             .status = rep_status_of(j->result),
		                             .message = job_text(j),
		                             .detail = j->play.r.detail,
		                             .secs = j->play.secs};
		total += j->play.secs;
	}
	f = util_is_stdout(path) ? run->o->report_out : fopen(path, "w");
	if (!f) {
		warn("--junit %s", path);
		goto out;
	}
	rep_junit_begin(f, "replay", cases, run->njobs, total);
	/* The jobs are in file order, so each file's cases are one run of them. */
	for (i = 0, first = 0; i < run->nfiles; i++, first = k) {
		double secs = 0;
		for (k = first; k < run->njobs && run->jobs[k].file == i; k++)
			secs += run->jobs[k].play.secs;
		rep_junit_suite(f, run->files[i].path, cases + first, k - first, secs);
	}
	rc = rep_junit_end(f);
	if ((f == run->o->report_out ? util_flush_ok(f) : fclose(f)) != 0)
		rc = -1;
	if (rc < 0)
		warn("--junit %s", path);
out:
	free(cases);
	free(names);
	return rc;
}

static void json_flow(FILE *f, const struct replay_job *j)
{
	char c[NET_ADDRSTRLEN], s[NET_ADDRSTRLEN];

	fmt_addr(c, sizeof c, j->play.f->family, j->play.f->caddr, j->play.f->cport);
	fmt_addr(s, sizeof s, j->play.f->family, j->play.f->saddr, j->play.f->sport);
	fprintf(f,
	        "\n      {\"flow\": %zu, \"proto\": \"%s\", \"client\": \"%s\", \"server\": \"%s\", "
	        "\"result\": \"%s\", \"message\": ",
	        j->play.f->index + 1, j->play.f->proto == 6 ? "tcp" : "udp", c, s,
	        j->result == REPLAY_OK         ? "ok"
	        : j->result == REPLAY_MISMATCH ? "mismatch"
	        : j->result == REPLAY_ERROR    ? "error"
	                                       : "skipped");
	rep_json_str(f, job_text(j));
	if (j->result == REPLAY_MISMATCH) {
		fprintf(f, ", \"direction\": \"%s\", \"offset\": %zu, \"detail\": ",
		        j->play.r.dir == DEC_C2S ? "client->server" : "server->client", j->play.r.offset);
		rep_json_str(f, j->play.r.detail);
	}
	fprintf(f, ", \"sent\": %zu, \"received\": %zu, \"seconds\": %.3f}", j->play.r.sent, j->play.r.got,
	        j->play.secs);
}

static int write_json(const char *path, const struct replay_run *run)
{
	FILE *f = util_is_stdout(path) ? run->o->report_out : fopen(path, "w");
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
		fprintf(f, ", \"frames\": %llu, \"expect\": \"%s\", \"note\": ",
		        (unsigned long long)run->files[i].frames,
		        run->files[i].expect_upper ? "upper" : "recorded");
		rep_json_str(f, run->files[i].note);
		fprintf(f, ", \"cut\": %s, \"flows\": [", run->files[i].cut ? "true" : "false");
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
	        run->njobs, run->count[REPLAY_OK], run->count[REPLAY_MISMATCH], run->count[REPLAY_ERROR],
	        run->count[REPLAY_SKIPPED]);
	if ((f == run->o->report_out ? util_flush_ok(f) : fclose(f)) != 0) {
		warn("--json %s", path);
		return -1;
	}
	return 0;
}

/* Says why a run checked no flow (every flow was skipped) and what to do about it. Returns REPLAY_EXIT_SETUP.
 */
static int nothing_checked(const struct replay_run *run)
{
	size_t k, incomplete = 0, cut = 0, left_out = 0;

	for (k = 0; k < run->njobs; k++) {
		incomplete += run->jobs[k].incomplete && !run->jobs[k].cut;
		cut += run->jobs[k].cut && run->jobs[k].result == REPLAY_SKIPPED;
		left_out += run->jobs[k].left_out;
	}
	if (incomplete == run->njobs)
		warnx(
		    "no flow was checked: all %zu flows are incomplete (packets the capture missed, or a "
		    "capture started after the connection): capture with a larger buffer (tcpdump -B 65536) "
		    "and start it before the client, or replay them anyway with --incomplete replay",
		    run->njobs);
	else if (cut == run->njobs)
		warnx(
		    "no flow was checked: the capture is cut (a file that ends inside a packet, or a snap "
		    "length shorter than the packets), and a cut capture is not a pass: capture again "
		    "with tcpdump -s 0 and let it finish, or replay what it holds with --incomplete replay");
	else if (left_out == run->njobs)
		warnx("no flow was checked: --only left out all %zu flows (the lines above give their "
		      "transports and ports)",
		      run->njobs);
	else
		warnx(
		    "no flow was checked: all %zu flows were skipped (%zu incomplete, %zu cut, %zu left out "
		    "by --only; the lines above say why)",
		    run->njobs, incomplete, cut, left_out);
	return REPLAY_EXIT_SETUP;
}

/* A cut capture (a file that ends inside a packet, a payload or headers cut by the snap length) is not
 * a pass: its skipped flows were not checked. Returns REPLAY_EXIT_SETUP after a message when some were,
 * otherwise 0. */
static int cut_not_checked(const struct replay_run *run)
{
	size_t k, cut = 0;

	for (k = 0; k < run->njobs; k++)
		cut += run->jobs[k].cut && run->jobs[k].result == REPLAY_SKIPPED;
	if (!cut)
		return 0;
	warnx(
	    "%zu flows not checked: the capture is cut (a file that ends inside a packet, or a snap length "
	    "shorter than the packets): a cut capture is not a pass; replay what it holds with --incomplete "
	    "replay, or count its flows as failures with --incomplete fail",
	    cut);
	return REPLAY_EXIT_SETUP;
}

void reports_flows(struct replay_run *run)
{
	const struct options *o = run->o;
	char name[256];
	size_t k;

	for (k = 0; k < run->njobs; k++) {
		const struct replay_job *j = &run->jobs[k];
		const struct replay_file *cf = &run->files[j->file];
		if (!o->quiet && cf->note[0] && (k == 0 || run->jobs[k - 1].file != j->file))
			printf("%s: note \"%s\": %s%s\n", cf->path, cf->note,
			       o->expect_upper >= 0 && cf->note_expect >= 0 ? "--expect overrides it: " : "",
			       cf->expect_upper
			           ? "the replies are judged by the protocol rule (SPEC), not by the "
			             "recorded ones"
			           : "the replies must equal the recorded ones");
		run->count[j->result]++;
		if (o->quiet && (j->result == REPLAY_OK || j->result == REPLAY_SKIPPED))
			continue;
		reports_flow_name(name, sizeof name, j->play.f);
		printf("%s %s: %s: %s\n", run->files[j->file].path, name, result_name(j->result),
		       job_text(j));
		if (j->result == REPLAY_MISMATCH && j->play.r.detail[0])
			fputs(j->play.r.detail, stdout);
	}
}

int reports_summary(const struct replay_run *run)
{
	const struct options *o = run->o;
	size_t k;
	int status;

	printf("replay: %zu flows in %zu files: %zu ok, %zu mismatch, %zu error, %zu skipped%s\n", run->njobs,
	       run->nfiles, run->count[REPLAY_OK], run->count[REPLAY_MISMATCH], run->count[REPLAY_ERROR],
	       run->count[REPLAY_SKIPPED], run->dead ? "; a server failed the probe after the replay" : "");
	status = run->count[REPLAY_ERROR]                   ? REPLAY_EXIT_SETUP
	         : run->count[REPLAY_MISMATCH] || run->dead ? REPLAY_EXIT_MISMATCH
	                                                    : 0;
	/* Incomplete flows counted as failures (--incomplete fail) are mismatches, not setup errors. */
	if (status == REPLAY_EXIT_SETUP && o->incomplete == OPTIONS_INC_FAIL) {
		int only_incomplete = 1;
		for (k = 0; k < run->njobs; k++)
			if (run->jobs[k].result == REPLAY_ERROR && !run->jobs[k].incomplete)
				only_incomplete = 0;
		if (only_incomplete)
			status = REPLAY_EXIT_MISMATCH;
	}
	/* A run that checked no flow passes nothing: every flow was skipped. */
	if (status == 0 && run->count[REPLAY_OK] == 0)
		status = nothing_checked(run);
	else if (status == 0)
		status = cut_not_checked(run);
	/* A report that could not be written is a setup error whatever the flows did. */
	if (o->junit && write_junit(o->junit, run) < 0)
		status = REPLAY_EXIT_SETUP;
	if (o->json && write_json(o->json, run) < 0)
		status = REPLAY_EXIT_SETUP;
	return status;
}

void reports_list(const struct replay_file *cf)
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
	if (cf->note[0])
		printf("  note \"%s\"\n", cf->note);
	if (cf->cut)
		printf("  %s\n", cf->cut_why);
	for (i = 0; i < n; i++) {
		const struct dec_flow *f = dec_flow(cf->ctx, i);
		size_t k, w[2] = {0, 0};
		int d;
		for (k = 0; k < f->nev; k++)
			if (f->ev[k].kind == DEC_EV_DATA || f->ev[k].kind == DEC_EV_DGRAM)
				w[f->ev[k].dir]++;
		reports_flow_name(name, sizeof name, f);
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
