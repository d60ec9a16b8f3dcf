/* sampler.c - a thread that samples, while a case runs, the server's resident memory and open
 * descriptors and the descriptors this process holds (its clients' connections), every
 * SOAK_SAMPLE_MS, into a CSV file (soak.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "soak.h"
#include "util.h"

struct soak_sampler {
	pid_t server;
	FILE *csv;
	uint64_t start_ns;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop; /* under lock */
	long rows;
};

/* Writes one row; none once the server is gone. */
static void sample(struct soak_sampler *s)
{
	long rss = util_rss_kib(s->server);
	int fds = util_count_fds(s->server), own = util_count_fds(getpid());

	if (rss < 0 || fds < 0)
		return;
	fprintf(s->csv, "%.3f,%ld,%d,%d\n", (double)(util_now_ns() - s->start_ns) / 1e9, rss, fds, own);
	s->rows++;
}

static void *sampler_main(void *arg)
{
	struct soak_sampler *s = arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		pthread_mutex_unlock(&s->lock);
		sample(s);
		next.tv_nsec += SOAK_SAMPLE_MS * 1000000L;
		next.tv_sec += next.tv_nsec / 1000000000L;
		next.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&s->lock);
		while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock, &next) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct soak_sampler *soak_sampler_start(pid_t server, const char *csv_path, char *err, size_t errlen)
{
	struct soak_sampler *s = calloc(1, sizeof *s);
	pthread_condattr_t attr;
	int rc;

	if (s == NULL || (s->csv = fopen(csv_path, "w")) == NULL) {
		snprintf(err, errlen, "cannot write %s: %s", csv_path, strerror(errno));
		free(s);
		return NULL;
	}
	s->server = server;
	s->start_ns = util_now_ns();
	fprintf(s->csv, "%s\n", SOAK_SAMPLE_COLUMNS);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &attr);
	pthread_condattr_destroy(&attr);
	rc = pthread_create(&s->thread, NULL, sampler_main, s);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the sampling thread: %s", strerror(rc));
		fclose(s->csv);
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	return s;
}

long soak_sampler_stop(struct soak_sampler *s, char *err, size_t errlen)
{
	long rows;

	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	sample(s); /* the last figures, when the server is still there */
	rows = s->rows;
	if (util_flush_ok(s->csv) < 0) {
		snprintf(err, errlen, "cannot write the samples: %s", strerror(errno));
		rows = -1;
	}
	fclose(s->csv);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return rows;
}
