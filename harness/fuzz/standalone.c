/* standalone.c - runs a fuzz target over files and directories without a fuzzing engine, so that any
 * compiler (gcc, the sanitizer build, the coverage build) can replay a corpus and its regressions. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fuzz.h"

static unsigned long nfiles, repeat = 1;
static int verbose;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;

	if (f == NULL) {
		fprintf(stderr, "standalone: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			unsigned char *nb = realloc(buf, ncap);
			if (nb == NULL) {
				fprintf(stderr, "standalone: %s: out of memory\n", path);
				rc = -1;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		size_t k = fread(buf + len, 1, cap - len, f);
		len += k;
		if (k == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "standalone: %s: read error\n", path);
		rc = -1;
		goto out;
	}
	if (verbose)
		fprintf(stderr, "standalone: %s (%zu bytes)\n", path, len);
	/* An exact-size copy, so a sanitizer sees any read past the input's end. */
	unsigned char *exact = malloc(len > 0 ? len : 1);
	if (exact == NULL) {
		rc = -1;
		goto out;
	}
	memcpy(exact, buf, len);
	for (unsigned long r = 0; r < repeat; r++)
		(void)LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	nfiles++;
out:
	free(buf);
	fclose(f);
	return rc;
}

static int compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file under path, recursively, in name order (reproducible). */
static int run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "standalone: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "standalone: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof *names);
			if (nn == NULL) {
				rc = -1;
				break;
			}
			names = nn;
		}
		size_t l = strlen(path) + strlen(e->d_name) + 2;
		names[n] = malloc(l);
		if (names[n] == NULL) {
			rc = -1;
			break;
		}
		snprintf(names[n], l, "%s/%s", path, e->d_name);
		n++;
	}
	closedir(d);
	if (rc != 0)
		fprintf(stderr, "standalone: %s: out of memory\n", path);
	if (n > 0)
		qsort(names, n, sizeof *names, compare);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && run_path(names[i]) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0, first = 1;
	struct timespec t0, t1;

	for (; first < argc; first++) {
		if (strcmp(argv[first], "-v") == 0) {
			verbose = 1;
		} else if (strcmp(argv[first], "-n") == 0 && first + 1 < argc) {
			char *end;
			repeat = strtoul(argv[++first], &end, 10);
			if (*end != '\0' || repeat == 0) {
				fprintf(stderr, "standalone: -n %s: expected a count >= 1\n", argv[first]);
				return 2;
			}
		} else {
			break;
		}
	}
	if (argc <= first || strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0) {
		printf(
		    "usage: %s [-v] [-n COUNT] FILE|DIR...\n"
		    "Runs this fuzz target once over each file, and over every file under each directory\n"
		    "(recursively, in name order), without a fuzzing engine. A SPEC breach or a sanitizer\n"
		    "report aborts; exit 0 when every input ran, 1 when a file could not be read, 2 on "
		    "usage.\n"
		    "  -v        name each input on stderr before running it\n"
		    "  -n COUNT  run each input COUNT times and report executions per second (benchmark)\n",
		    argv[0]);
		return argc <= first ? 2 : 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = first; i < argc; i++)
		if (run_path(argv[i]) != 0)
			rc = 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (repeat > 1)
		printf("%s: ran %lu inputs x %lu in %.3f s: %.0f exec/s\n", argv[0], nfiles, repeat, secs,
		       secs > 0 ? (double)nfiles * (double)repeat / secs : 0.0);
	else
		printf("%s: ran %lu inputs\n", argv[0], nfiles);
	return rc;
}
