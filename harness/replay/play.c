/* play.c - plays flows against a live server (see play.h): one flow by its protocol's player
 * (play_tcp.c, play_udp.c), many on a pool of threads; original timing and the hexdumps of a mismatch. */
#include "play.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* Sleeps until t, a CLOCK_MONOTONIC time in nanoseconds (util_now_ns). */
static void sleep_until(uint64_t t)
{
	struct timespec ts = {.tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

void play_pace(const struct play_opts *o, uint64_t ts)
{
	if (o->speed > 0 && ts > o->cap0)
		sleep_until(o->mono0 + (uint64_t)((double)(ts - o->cap0) / o->speed));
}

void play_hexdiff(char *out, size_t outlen, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                  size_t off)
{
	size_t start = off / 16 * 16, used = 0;
	int side;

	start = start >= 16 ? start - 16 : 0;
	if (!outlen)
		return;
	out[0] = 0;
	for (side = 0; side < 2; side++) {
		const uint8_t *p = side ? b : a;
		size_t n = side ? blen : alen, line;
		for (line = start; line < start + 48; line += 16) {
			char hex[16 * 3 + 1], asc[17];
			size_t i;
			if (line >= n && line > start)
				break;
			for (i = 0; i < 16; i++) {
				if (line + i < n) {
					snprintf(hex + i * 3, 4, "%02x ", p[line + i]);
					asc[i] = p[line + i] >= 0x20 && p[line + i] < 0x7f ? (char)p[line + i]
					                                                   : '.';
				} else {
					memcpy(hex + i * 3, "   ", 4);
					asc[i] = ' ';
				}
			}
			asc[16] = 0;
			if (used < outlen) {
				int k = snprintf(out + used, outlen - used, "  %-9s %08zx  %s |%s|%s\n",
				                 line == start ? (side ? "got:" : "expected:") : "", line,
				                 hex, asc, line <= off && off < line + 16 ? " <-" : "");
				used += k > 0 ? (size_t)k : 0;
			}
		}
		if (n <= start && used < outlen) {
			int k = snprintf(out + used, outlen - used, "  %-9s (stream ends at %zu)\n",
			                 side ? "got:" : "expected:", n);
			used += k > 0 ? (size_t)k : 0;
		}
	}
}

int play_flow(const struct dec_flow *f, const struct net_addr *target, const struct play_opts *o,
              struct play_result *r)
{
	memset(r, 0, sizeof *r);
	return f->proto == 6 ? play_tcp(f, target, o, r) : play_udp(f, target, o, r);
}

struct pool {
	struct play_job **jobs;
	size_t njobs, next, done;
	const struct play_opts *po;
	pthread_mutex_t mu;
};

static void *worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		struct play_job *j;
		uint64_t t0;
		pthread_mutex_lock(&p->mu);
		if (p->next == p->njobs) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		j = p->jobs[p->next++];
		pthread_mutex_unlock(&p->mu);
		struct play_opts po = *p->po;
		po.expect_upper = j->expect_upper;
		t0 = util_now_ns();
		play_flow(j->f, j->target, &po, &j->r);
		j->secs = (double)(util_now_ns() - t0) / 1e9;
		pthread_mutex_lock(&p->mu);
		p->done++;
		pthread_mutex_unlock(&p->mu);
	}
}

int play_all(struct play_job **jobs, size_t njobs, const struct play_opts *po, int nthreads, char *err,
             size_t errlen)
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
		snprintf(err, errlen, "cannot start replay threads");
		pthread_mutex_destroy(&p.mu);
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
