/* engine.c - starting and watching fuzzing engines for fuzz-run and fuzz-bench (engine.h). */
#include "engine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

#define ENG_CAPTURE_MAX (4u << 20)

pid_t eng_spawn(char *const argv[], int in_fd, int out_fd, int err_fd, char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	const int fds[3] = {in_fd, out_fd, err_fd};
	pid_t pid;
	int rc;

	if (posix_spawn_file_actions_init(&fa) != 0) {
		snprintf(err, errlen, "%s: %s", argv[0], strerror(errno));
		return -1;
	}
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", argv[0], strerror(rc));
		return -1;
	}
	return pid;
}

/* Appends p[0..n) to the buffer, keeping its last ENG_CAPTURE_MAX bytes. */
static int keep(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t want = *cap ? *cap * 2 : 65536;
		while (want < *len + n + 1)
			want *= 2;
		char *b = realloc(*buf, want);
		if (b == NULL)
			return -1;
		*buf = b;
		*cap = want;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
	if (*len > ENG_CAPTURE_MAX) {
		memmove(*buf, *buf + *len - ENG_CAPTURE_MAX, ENG_CAPTURE_MAX + 1);
		*len = ENG_CAPTURE_MAX;
	}
	return 0;
}

/* Opens stdin_path (or /dev/null), /dev/null and a pipe for a child of eng_run(). fds: stdin, null,
 * pipe read end, pipe write end. */
static int run_files(const char *stdin_path, int fds[4], char *err, size_t errlen)
{
	int p[2];
	const char *in = stdin_path ? stdin_path : "/dev/null";

	fds[0] = open(in, O_RDONLY | O_CLOEXEC);
	if (fds[0] < 0) {
		snprintf(err, errlen, "%s: %s", in, strerror(errno));
		return -1;
	}
	fds[1] = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fds[1] < 0 || pipe2(p, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "/dev/null or a pipe: %s", strerror(errno));
		close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		return -1;
	}
	fds[2] = p[0];
	fds[3] = p[1];
	return 0;
}

/* Reads the pipe until the child has ended and the pipe is drained, or the deadline passes. Returns 1
 * when the child ended (status in *wstatus), 0 at the deadline. */
static int collect(pid_t pid, int fd, uint64_t deadline, char **out, size_t *len, size_t *cap, int *wstatus)
{
	char chunk[65536];
	int ended = 0;

	for (;;) {
		int r = 0;
		if (fd >= 0) {
			struct pollfd pfd = {fd, POLLIN, 0};
			int ms = util_ms_left(deadline);
			r = poll(&pfd, 1, ms > 200 ? 200 : ms);
			if (r > 0) {
				ssize_t n = read(fd, chunk, sizeof chunk);
				if (n > 0 && keep(out, len, cap, chunk, (size_t)n) != 0)
					fd = -1;
				else if (n == 0 || (n < 0 && errno != EINTR))
					fd = -1;
			}
		} else if (!ended) {
			util_sleep_ms(50);
		}
		if (!ended && waitpid(pid, wstatus, WNOHANG) == pid)
			ended = 1;
		/* A grandchild may hold the pipe open: once the child is gone, what is there is all. */
		if (ended && (fd < 0 || r == 0))
			return 1;
		if (util_ms_left(deadline) == 0)
			return 0;
	}
}

enum eng_run_result eng_run(char *const argv[], const char *stdin_path, enum eng_capture capture,
                            double timeout_s, char **out, size_t *outlen, int *wstatus, char *err,
                            size_t errlen)
{
	int fds[4];
	size_t cap = 0;
	pid_t pid;
	int ended;

	*out = NULL;
	*outlen = 0;
	*wstatus = 0;
	if (run_files(stdin_path, fds, err, errlen) != 0)
		return ENG_RUN_ERROR;
	pid = eng_spawn(argv, fds[0], (capture & ENG_CAPTURE_STDOUT) ? fds[3] : fds[1],
	                (capture & ENG_CAPTURE_STDERR) ? fds[3] : fds[1], err, errlen);
	close(fds[0]);
	close(fds[1]);
	close(fds[3]);
	if (pid < 0) {
		close(fds[2]);
		return ENG_RUN_ERROR;
	}
	if (keep(out, outlen, &cap, "", 0) != 0) {
		snprintf(err, errlen, "out of memory");
		kill(pid, SIGKILL);
		waitpid(pid, wstatus, 0);
		close(fds[2]);
		return ENG_RUN_ERROR;
	}
	ended = collect(pid, fds[2], util_now_ns() + (uint64_t)(timeout_s * 1e9), out, outlen, &cap, wstatus);
	close(fds[2]);
	if (!ended) {
		kill(pid, SIGKILL);
		waitpid(pid, wstatus, 0);
		return ENG_RUN_TIMEOUT;
	}
	return ENG_RUN_EXITED;
}

char *eng_status_text(char *buf, size_t len, int wstatus)
{
	if (WIFSIGNALED(wstatus))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(wstatus));
	else
		snprintf(buf, len, "exit status %d", WEXITSTATUS(wstatus));
	return buf;
}

size_t eng_count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				n += eng_count_files(path);
		} else if (e->d_name[0] != '.' && strcmp(e->d_name, "README.txt") != 0) {
			n++;
		}
	}
	closedir(d);
	return n;
}

int eng_mkdirs(const char *path, char *err, size_t errlen)
{
	char p[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof p) {
		snprintf(err, errlen, "'%s': not a usable directory name", path);
		return -1;
	}
	memcpy(p, path, n + 1);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", p, strerror(errno));
			return -1;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	struct stat st;
	if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", p, stat(p, &st) != 0 ? strerror(errno) : strerror(ENOTDIR));
		return -1;
	}
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void eng_remove_tree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void eng_format(char *out, size_t len, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsnprintf(out, len, format, ap);
	va_end(ap);
}

char *eng_fmt_count(char *buf, size_t len, uint64_t n)
{
	char digits[32];
	int nd = snprintf(digits, sizeof digits, "%" PRIu64, n);
	size_t o = 0;

	for (int i = 0; i < nd && o + 2 < len; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			buf[o++] = ' ';
		buf[o++] = digits[i];
	}
	if (len > 0)
		buf[o < len ? o : len - 1] = '\0';
	return buf;
}

void eng_afl_environment(void)
{
	setenv("AFL_SKIP_CPUFREQ", "1", 1);
	setenv("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1", 1);
	setenv("AFL_NO_UI", "1", 1);
	setenv("AFL_NO_AFFINITY", "1", 1);
}

int eng_afl_read(const char *path, struct eng_afl_stats *st)
{
	char line[512];
	int have_saved = 0;
	FILE *f;

	memset(st, 0, sizeof *st);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		char key[64], value[256];
		if (sscanf(line, " %63[^: ] : %255s", key, value) != 2)
			continue;
		if (strcmp(key, "execs_done") == 0) {
			st->execs = strtoull(value, NULL, 10);
			st->has_execs = 1;
		} else if (strcmp(key, "execs_per_sec") == 0) {
			st->rate = strtod(value, NULL);
		} else if (strcmp(key, "corpus_count") == 0) {
			st->corpus = strtoull(value, NULL, 10);
		} else if (strcmp(key, "saved_crashes") == 0) {
			st->crashes = strtoull(value, NULL, 10);
			have_saved = 1;
		} else if (strcmp(key, "unique_crashes") == 0 && !have_saved) {
			st->crashes = strtoull(value, NULL, 10);
		} else if (strcmp(key, "run_time") == 0) {
			st->run_time = strtod(value, NULL);
		} else if (strcmp(key, "bitmap_cvg") == 0) {
			snprintf(st->coverage, sizeof st->coverage, "%.31s", value);
		}
	}
	fclose(f);
	return 0;
}
