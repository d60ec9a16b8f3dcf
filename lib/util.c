/* util.c - the monotonic clock, strict number parsing, the stdout check, mkdir -p, the IPv6-loopback
 * probe and the descriptor-limit raise. */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t util_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double util_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int util_ms_left(uint64_t deadline_ns)
{
	uint64_t now = util_now_ns();
	uint64_t ms;

	if (now >= deadline_ns)
		return 0;
	/* rounded up: a poll() of the result does not wake before the deadline */
	ms = (deadline_ns - now) / 1000000u + ((deadline_ns - now) % 1000000u != 0);
	return ms > (uint64_t)INT_MAX ? INT_MAX : (int)ms;
}

void util_sleep_ms(int ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The multiplier of a size suffix character, or 0 when c is none. */
static uint64_t suffix_unit(char c)
{
	switch (c) {
	case 'k':
	case 'K':
		return 1024u;
	case 'm':
	case 'M':
		return 1024u * 1024u;
	case 'g':
	case 'G':
		return 1024u * 1024u * 1024u;
	default:
		return 0;
	}
}

int util_parse_u64(const char *s, uint64_t min, uint64_t max, int suffixes, uint64_t *out, char *err,
                   size_t errlen)
{
	uint64_t v = 0, unit = 1;
	const char *p = s;

	if (s == NULL)
		s = p = "";
	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10u)
			goto bad; /* does not fit in 64 bits */
		v = v * 10u + d;
	}
	if (suffixes && *p != '\0' && suffix_unit(*p) != 0)
		unit = suffix_unit(*p++);
	if (*p != '\0' || v > UINT64_MAX / unit)
		goto bad;
	v *= unit;
	if (v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not a number from %llu to %llu", s, (unsigned long long)min,
	         (unsigned long long)max);
	return -1;
}

int util_parse_seconds(const char *s, double min, double max, double *out, char *err, size_t errlen)
{
	char *end;
	double v;

	if (s == NULL)
		s = "";
	/* digits, one point and an exponent only: no sign or space in front, no hex, nan or inf */
	if (((*s < '0' || *s > '9') && *s != '.') || strspn(s, "0123456789.eE+-") != strlen(s))
		goto bad;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v) || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not a number of seconds from %g to %g", s, min, max);
	return -1;
}

int util_parse_duration(const char *s, double min, double max, double *out, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		double seconds;
	} units[] = {{"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}, {"", 1}};
	char number[64], why[128];
	size_t n;
	double v;

	if (s == NULL)
		s = "";
	n = strspn(s, "0123456789.eE+-"); /* the number; the unit follows (none starts with e) */
	for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
		if (strcmp(s + n, units[u].name) != 0 || n == 0 || n >= sizeof number)
			continue;
		memcpy(number, s, n);
		number[n] = '\0';
		if (util_parse_seconds(number, 0, HUGE_VAL, &v, why, sizeof why) < 0)
			break;
		v *= units[u].seconds;
		if (!(v >= min && v <= max))
			break;
		*out = v;
		return 0;
	}
	snprintf(err, errlen,
	         "'%s' is not a duration from %g to %g s (a number of seconds, or with a unit: "
	         "500ms, 2s, 1m)",
	         s, min, max);
	return -1;
}

FILE *util_open_output(const char *path, const char *mode)
{
	if (util_is_stdout(path))
		return stdout;
	return fopen(path, mode);
}

int util_is_stdout(const char *path)
{
	return path != NULL && strcmp(path, "-") == 0;
}

int util_close_output(FILE *f)
{
	if (f == stdout)
		return util_flush_ok(f);
	errno = 0;
	if (ferror(f)) {
		fclose(f);
		errno = EIO;
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

int util_flush_ok(FILE *f)
{
	errno = 0;
	if (fflush(f) != 0) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	if (ferror(f)) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Fails with errno e and "what: strerror(e)" in err; errno survives the formatting. */
static int mkdir_fail(int e, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, strerror(e));
	errno = e;
	return -1;
}

int util_mkdir_p(const char *path, mode_t mode, char *err, size_t errlen)
{
	char p[PATH_MAX];
	size_t n = strlen(path);
	struct stat st;

	if (n == 0)
		return mkdir_fail(ENOENT, "an empty directory name", err, errlen);
	if (n >= sizeof p)
		return mkdir_fail(ENAMETOOLONG, path, err, errlen);
	memcpy(p, path, n + 1);
	for (char *s = p + 1;; s++) {
		char c = *s;
		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		/* A part that exists may be a file: the next mkdir() says ENOTDIR, or the stat() below. */
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return mkdir_fail(errno, p, err, errlen);
		*s = c;
		if (c == '\0')
			break;
	}
	if (stat(p, &st) < 0)
		return mkdir_fail(errno, p, err, errlen);
	if (!S_ISDIR(st.st_mode))
		return mkdir_fail(ENOTDIR, p, err, errlen);
	return 0;
}

int util_mkdir_out(const char *path, char *err, size_t errlen)
{
	char parent[PATH_MAX];
	struct stat st;
	char *slash;

	if (path == NULL || *path == '\0')
		return mkdir_fail(ENOENT, "an empty directory name", err, errlen);
	if (strlen(path) >= sizeof parent)
		return mkdir_fail(ENAMETOOLONG, path, err, errlen);
	if (mkdir(path, 0777) == 0)
		return 0;
	if (errno == ENOENT) {
		snprintf(parent, sizeof parent, "%s", path);
		while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' && slash != parent)
			*slash = '\0'; /* "dir/" names dir */
		slash = strrchr(parent, '/');
		if (slash != NULL)
			slash == parent ? (void)(slash[1] = '\0') : (void)(*slash = '\0');
		snprintf(err, errlen, "%s: its parent directory %s does not exist (create it first)", path,
		         slash != NULL ? parent : ".");
		errno = ENOENT;
		return -1;
	}
	if (errno != EEXIST)
		return mkdir_fail(errno, path, err, errlen);
	if (stat(path, &st) < 0)
		return mkdir_fail(errno, path, err, errlen);
	if (!S_ISDIR(st.st_mode))
		return mkdir_fail(ENOTDIR, path, err, errlen);
	return 0;
}

int util_have_ipv6_loopback(int type)
{
	struct sockaddr_in6 a;
	int fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0);
	int ok;

	if (fd < 0)
		return 0;
	memset(&a, 0, sizeof a);
	a.sin6_family = AF_INET6;
	a.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

long util_raise_nofile(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (want > 0 && rl.rlim_cur != RLIM_INFINITY && (rlim_t)want > rl.rlim_cur) {
		struct rlimit up = rl;
		up.rlim_cur =
		    rl.rlim_max != RLIM_INFINITY && (rlim_t)want > rl.rlim_max ? rl.rlim_max : (rlim_t)want;
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)LONG_MAX)
		return LONG_MAX;
	return (long)rl.rlim_cur;
}

long util_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int util_count_fds(pid_t pid)
{
	char path[64];
	int n = 0;
	DIR *d;

	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int util_proc_stat(pid_t pid, struct util_proc_stat *st)
{
	char path[64], line[1024];
	unsigned long long user, sys;
	long parent, group, threads;
	size_t n;
	char *after;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(line, 1, sizeof line - 1, f);
	fclose(f);
	line[n] = '\0';
	after = strrchr(line, ')');
	/* fields from 3 (state): ppid 4, pgrp 5, utime 14, stime 15, num_threads 20 */
	if (after == NULL ||
	    sscanf(after + 1, " %*c %ld %ld %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %ld",
	           &parent, &group, &user, &sys, &threads) != 5)
		return -1;
	st->parent = (pid_t)parent;
	st->group = (pid_t)group;
	st->threads = threads;
	st->cpu_s = (double)(user + sys) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

char *util_read_proc_table(const char *path)
{
	size_t cap = 1u << 20, used = 0;
	char *text = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (text == NULL || fd < 0) {
		free(text);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (;;) {
		if (cap - used < 65536) {
			char *bigger = realloc(text, 2 * cap);
			if (bigger == NULL)
				break;
			text = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, text + used, cap - used - 1);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	text[used] = '\0';
	return text;
}

/* Adds the drops of the sockets in one /proc/net/udp* file bound to one of ports[0..n) to *sum; *found
 * counts them. A missing file (no IPv6) adds nothing. */
static void add_drops(const char *path, const unsigned *ports, size_t n, long long *sum, int *found)
{
	char *text = util_read_proc_table(path), *save = NULL;
	if (text == NULL)
		return;
	strtok_r(text, "\n", &save); /* the header */
	for (char *line; (line = strtok_r(NULL, "\n", &save)) != NULL;) {
		char local[128];
		unsigned long long drops;
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops */
		if (sscanf(line, " %*s %127s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu", local, &drops) !=
		    2)
			continue;
		char *colon = strrchr(local, ':');
		unsigned port;
		if (colon == NULL || sscanf(colon + 1, "%x", &port) != 1)
			continue;
		for (size_t i = 0; i < n; i++)
			if (ports[i] == port) {
				*sum += (long long)drops;
				(*found)++;
				break;
			}
	}
	free(text);
}

long long util_udp_drops(const unsigned *ports, size_t n)
{
	long long sum = 0;
	int found = 0;
	add_drops("/proc/net/udp", ports, n, &sum, &found);
	add_drops("/proc/net/udp6", ports, n, &sum, &found);
	return found ? sum : -1;
}
