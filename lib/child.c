/* child.c - the one process runner (see child.h): a server under test in its own process group, its
 * output in a log file (bounded by a drain process when asked), its listening addresses read from that
 * log, its death noticed, its group stopped; and a helper command run to its end within a bound, whole
 * (child_run) or in two halves (child_spawn, child_finish). */
#include "child.h"
#include "report.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 64  /* started and not yet freed, at one time */
#define SCAN_BYTES 16384 /* the part of the log searched for "listening on" lines */
#define TAIL_BYTES 65536 /* the part of the log child_tail() shows lines from */
#define DEFAULT_START_MS 5000
#define PROBE_MS 100  /* the readiness probe of {port} */
#define GONE_MS 1000  /* bound on waiting for a killed group to be gone */
#define DRAIN_MS 2000 /* bound on waiting for the drain process's last bytes */

struct child {
	char *command; /* as given, for messages: argv joined by spaces, {port} unsubstituted */
	char **words;  /* argv, {port} unsubstituted; NULL for a command string */
	size_t nwords;
	int shell;
	int want, start_ms;
	long nofile;
	size_t log_max;
	cpu_set_t affinity;
	int has_affinity;
	char log_path[PATH_MAX];
	int temp_log; /* log_path is ours, removed by child_free() */
	int log_fd;   /* read side of the log, -1 when none */
	int slot;     /* index in the registry below */
	pid_t pid;    /* server, leader of its process group */
	pid_t drain;  /* the log-bounding process, 0 when none (or reaped) */
	int reaped, status;
	int gone; /* the server was reaped and its group seen empty: its id is never signalled again */
	int restarts;
	unsigned port;
	struct child_addrs addrs; /* of the last start, for child_probe() */
};

/* Process groups and temporary logs, for child_kill_all() from a signal handler. */
static volatile pid_t groups[MAX_CHILDREN];
static volatile sig_atomic_t used[MAX_CHILDREN];
static char temp_logs[MAX_CHILDREN][PATH_MAX];

void child_kill_all(void)
{
	for (size_t i = 0; i < MAX_CHILDREN; i++) {
		if (!used[i])
			continue;
		if (groups[i] > 0)
			kill(-groups[i], SIGKILL);
		if (temp_logs[i][0] != '\0')
			unlink(temp_logs[i]);
	}
}

/* ---- small helpers ---------------------------------------------------------------------------------- */

static long ms_since(uint64_t t0)
{
	return (long)((util_now_ns() - t0) / 1000000u);
}

/* Sleeps *pause_ms, then doubles it up to 10 ms: a wait that ends soon costs about a millisecond, a
 * long one polls every 10 ms. */
static void backoff(int *pause_ms)
{
	util_sleep_ms(*pause_ms);
	*pause_ms = *pause_ms >= 5 ? 10 : *pause_ms * 2;
}

/* Appends printf-style text to the message in err. */
static void append(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void append(char *err, size_t errlen, const char *fmt, ...)
{
	size_t l = strnlen(err, errlen);
	va_list ap;
	if (l + 1 >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + l, errlen - l, fmt, ap);
	va_end(ap);
}

void child_describe(int status, int shell, char *why, size_t whylen)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		snprintf(why, whylen, "killed by signal %d (SIG%s)", sig,
		         sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	} else if (shell && WIFEXITED(status) && WEXITSTATUS(status) > 128 && WEXITSTATUS(status) < 160) {
		int sig = WEXITSTATUS(status) - 128;
		snprintf(why, whylen, "exited with status %d (its shell reports signal %d, SIG%s)",
		         WEXITSTATUS(status), sig, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	} else {
		snprintf(why, whylen, "exited with status %d", WEXITSTATUS(status));
	}
}

/* ---- the command ------------------------------------------------------------------------------------ */

/* s with every "{port}" replaced by port (port 0: left as it is), or NULL when out of memory. */
static char *substitute(const char *s, unsigned port)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	for (const char *p = s; f != NULL && *p != '\0';) {
		if (port != 0 && strncmp(p, "{port}", 6) == 0) {
			fprintf(f, "%u", port);
			p += 6;
		} else {
			fputc(*p++, f);
		}
	}
	if (f == NULL || fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Tells whether a command string needs the shell: a byte other than a letter, a digit, a blank or one of
 * _@%+=:,./- (the ones Python's shlex.quote leaves unquoted), or an assignment ('=' in its first word). */
static int needs_shell(const char *cmd)
{
	static const char plain[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./- \t";
	const char *first = cmd + strspn(cmd, " \t");
	return cmd[strspn(cmd, plain)] != '\0' || memchr(first, '=', strcspn(first, " \t")) != NULL;
}

static void free_words(char **w, size_t n)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

/* Splits command into words on spaces and tabs. Returns the NULL-terminated words and their count in
 * *n, or NULL when out of memory. */
static char **split_words(const char *command, size_t *n)
{
	char **w = calloc(strlen(command) / 2 + 2, sizeof *w); /* at most one word every two characters */
	*n = 0;
	for (const char *p = command + strspn(command, " \t"); w != NULL && *p != '\0';) {
		size_t l = strcspn(p, " \t");
		if ((w[(*n)++] = strndup(p, l)) == NULL) {
			free_words(w, *n);
			return NULL;
		}
		p += l + strspn(p + l, " \t");
	}
	return w;
}

/* Fills c->command (the command string, or argv joined by spaces), c->words (a copy of argv; NULL for a
 * command string, which is split at each start) and c->shell. Returns 0, or -1 with a reason in err. */
static int set_command(struct child *c, const struct child_options *o, char *err, size_t errlen)
{
	if ((o->argv == NULL) == (o->command == NULL)) {
		snprintf(err, errlen, "give the server as argv or as a command string, not both or neither");
		return -1;
	}
	c->shell = o->command != NULL && o->shell;
	if (o->command != NULL) {
		c->command = strdup(o->command);
	} else {
		size_t len = 1;
		while (o->argv[c->nwords] != NULL)
			len += strlen(o->argv[c->nwords++]) + 1;
		c->words = calloc(c->nwords + 1, sizeof *c->words);
		c->command = calloc(1, len);
		for (size_t i = 0; c->words != NULL && c->command != NULL && i < c->nwords; i++) {
			c->words[i] = strdup(o->argv[i]);
			strcat(strcat(c->command, i ? " " : ""), o->argv[i]);
		}
	}
	int oom = c->command == NULL || (o->argv != NULL && c->words == NULL);
	for (size_t i = 0; !oom && i < c->nwords; i++)
		oom = c->words[i] == NULL;
	if (oom || c->command[strspn(c->command, " \t")] == '\0') {
		snprintf(err, errlen, oom ? "out of memory" : "the server command is empty");
		return -1;
	}
	return 0;
}

/* What a forked process is to run and with what: argv (through PATH), then, when that cannot be run and
 * sh[0] is set, sh (/bin/sh -c cmd); argv is sh itself when the command needs the shell. Its
 * descriptors 0, 1 and 2 (-1: /dev/null) and its limits. */
struct launch {
	char **argv, *sh[4], *cmd;
	size_t argc;
	int fd[3];
	long nofile;
	const cpu_set_t *affinity;
};

static void free_launch(struct launch *l)
{
	if (l->argv != l->sh)
		free_words(l->argv, l->argc);
	free(l->cmd);
}

/* The argv of the command for this start, {port} substituted, in l. A shell command without shell
 * syntax runs directly, so that the server is the very process started (the pid that conform limits
 * and soak samples, its own death by a signal): dash, Debian's sh, keeps itself as the parent of a
 * command it runs, and an "exec" put before every command would break compound ones and builtins.
 * When the command cannot be run directly (a builtin such as exit or exec, or no such program), the
 * shell runs it, which gives a builtin its meaning and a missing program the shell's "not found"
 * (status 127) without a list of builtins here. Returns 0, or -1 when out of memory (free_launch frees
 * what was built). */
static int build_argv(const struct child *c, struct launch *l)
{
	if (c->words != NULL) {
		l->argv = calloc(c->nwords + 1, sizeof *l->argv);
		for (size_t i = 0; l->argv != NULL && i < c->nwords; i++)
			if ((l->argv[l->argc++] = substitute(c->words[i], c->port)) == NULL)
				return -1;
		return l->argv != NULL ? 0 : -1;
	}
	if ((l->cmd = substitute(c->command, c->port)) == NULL)
		return -1;
	if (c->shell) {
		l->sh[0] = (char *)"/bin/sh";
		l->sh[1] = (char *)"-c";
		l->sh[2] = l->cmd;
	}
	l->argv = c->shell && needs_shell(l->cmd) ? l->sh : split_words(l->cmd, &l->argc);
	return l->argv != NULL ? 0 : -1;
}

/* ---- the log ---------------------------------------------------------------------------------------- */

/* Creates (again) the log file and opens its read side. Returns the write descriptor, or -1 with a reason
 * in err. */
static int open_log(struct child *c, char *err, size_t errlen)
{
	/* a new file, not a truncated one: a drain process of an earlier run may still write to the old one,
	 * and its first line must not be read as this server's */
	if (unlink(c->log_path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove the old log %.300s: %s", c->log_path, strerror(errno));
		return -1;
	}
	int wfd = open(c->log_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, c->temp_log ? 0600 : 0644);
	if (wfd < 0) {
		snprintf(err, errlen, "cannot create the log %.300s: %s", c->log_path, strerror(errno));
		return -1;
	}
	if (c->log_fd >= 0)
		close(c->log_fd);
	c->log_fd = open(c->log_path, O_RDONLY | O_CLOEXEC);
	if (c->log_fd < 0) {
		snprintf(err, errlen, "cannot read the log %.300s: %s", c->log_path, strerror(errno));
		close(wfd);
		return -1;
	}
	return wfd;
}

/* In a forked child: closes every descriptor from 3 up but keep1 and keep2. */
static void close_except(int keep1, int keep2)
{
	unsigned lo = (unsigned)(keep1 < keep2 ? keep1 : keep2),
	         hi = (unsigned)(keep1 < keep2 ? keep2 : keep1);
	if (lo > 3)
		close_range(3, lo - 1, 0);
	if (hi > lo + 1)
		close_range(lo + 1, hi - 1, 0);
	close_range(hi + 1, ~0u, 0);
}

/* The log-bounding process: copies the first max bytes from in to out, drops the rest, until every
 * writer has closed in. It ignores the stop signals, so the server's last words reach the log. */
static void drain_main(int in, int out, size_t max, const char *cut)
{
	char buf[16384];
	size_t kept = 0;
	ssize_t n;
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	close_except(in, out);
	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (kept >= max)
			continue;
		size_t k = (size_t)n < max - kept ? (size_t)n : max - kept;
		if (write(out, buf, k) != (ssize_t)k) {
			kept = max; /* a full disk: read and drop the rest */
			continue;
		}
		kept += k;
		if (kept == max && write(out, cut, strlen(cut)) < 0)
			continue;
	}
	_exit(0);
}

/* Log bytes [from, from + len) into buf (NUL-terminated). Returns the count read. */
static size_t read_log(const struct child *c, char *buf, size_t len, off_t from)
{
	if (c->log_fd < 0 || len == 0)
		return 0;
	ssize_t n = pread(c->log_fd, buf, len - 1, from);
	n = n < 0 ? 0 : n;
	buf[n] = '\0';
	return (size_t)n;
}

/* The offset from which the last len - 1 bytes of the log start. */
static off_t tail_from(const struct child *c, size_t len)
{
	off_t end = c->log_fd >= 0 ? lseek(c->log_fd, 0, SEEK_END) : 0;
	return end > (off_t)len - 1 ? end - (off_t)len + 1 : 0;
}

void child_add_last_line(const struct child *c, char *err, size_t errlen)
{
	char buf[1024], esc[200];
	size_t n = read_log(c, buf, sizeof buf, tail_from(c, sizeof buf));
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (n == 0) {
		append(err, errlen, "; it printed nothing");
		return;
	}
	char *line = strrchr(buf, '\n');
	line = line != NULL ? line + 1 : buf;
	rep_escape(esc, sizeof esc, line, strlen(line));
	append(err, errlen, "; its last output: %s", esc);
}

void child_tail(const struct child *c, FILE *f, const char *prefix, int lines)
{
	char *buf = malloc(TAIL_BYTES), *esc = malloc(4096), *save = NULL;
	off_t from = tail_from(c, TAIL_BYTES);
	size_t n = buf != NULL && esc != NULL ? read_log(c, buf, TAIL_BYTES, from) : 0;
	char *start = buf;
	int total = 0, index = 0;
	if (from > 0 && n > 0) /* the window starts inside a line: from the next one */
		start = strchr(buf, '\n') != NULL ? strchr(buf, '\n') + 1 : buf + n;
	for (char *p = start; n > 0 && *p != '\0'; p++) /* the non-empty lines */
		total += *p != '\n' && (p == start || p[-1] == '\n');
	for (char *line = n > 0 ? strtok_r(start, "\n", &save) : NULL; line != NULL;
	     line = strtok_r(NULL, "\n", &save), index++) {
		if (lines > 0 && index < total - lines)
			continue;
		rep_escape(esc, 4096, line, strlen(line));
		fprintf(f, "%s%s\n", prefix, esc);
	}
	free(esc);
	free(buf);
}

/* Keeps the first address of a protocol, but lets an IPv4 one replace an IPv6 one; IPv6 ones are also
 * kept apart. */
static void note_addr(struct net_addr *any, int *has_any, struct net_addr *v6, int *has_v6,
                      const struct net_addr *a)
{
	int is_v6 = a->ss.ss_family == AF_INET6;
	if (is_v6 && !*has_v6) {
		*v6 = *a;
		*has_v6 = 1;
	}
	if (!*has_any || (any->ss.ss_family == AF_INET6 && !is_v6)) {
		*any = *a;
		*has_any = 1;
	}
}

/* Reads the "listening on tcp|udp ADDR:PORT" lines of the log's start into a. Returns the protocols
 * found (CHILD_TCP | CHILD_UDP bits). */
static int scan_log(const struct child *c, struct child_addrs *a)
{
	char buf[SCAN_BYTES], word[128], perr[128];
	int found = 0;
	if (read_log(c, buf, sizeof buf, 0) == 0)
		return 0;
	for (char *p = strstr(buf, "listening on "); p != NULL; p = strstr(p + 1, "listening on ")) {
		char *q = p + 13;
		int proto = strncmp(q, "tcp ", 4) == 0   ? CHILD_TCP
		            : strncmp(q, "udp ", 4) == 0 ? CHILD_UDP
		                                         : 0;
		if (proto == 0)
			continue;
		q += 4;
		size_t l = strcspn(q, " \t\r\n");
		if (l == 0 || l >= sizeof word || q[l] == '\0')
			continue; /* not a whole line yet */
		memcpy(word, q, l);
		word[l] = '\0';
		struct net_addr addr;
		/* numeric addresses only: a name would need a DNS lookup (the server's output is not trusted)
		 */
		if (strspn(word, "0123456789.:[]abcdefABCDEF") != l ||
		    net_parse(word, &addr, perr, sizeof perr) < 0)
			continue;
		if (proto == CHILD_TCP)
			note_addr(&a->tcp, &a->has_tcp, &a->tcp6, &a->has_tcp6, &addr);
		else
			note_addr(&a->udp, &a->has_udp, &a->udp6, &a->has_udp6, &addr);
		found |= proto;
	}
	return found;
}

/* ---- probing ---------------------------------------------------------------------------------------- */

int child_probe(struct child *c, int proto, int timeout_ms, char *err, size_t errlen)
{
	char why[128];
	const struct child_addrs *a = &c->addrs;
	if (child_dead(c, why, sizeof why)) {
		snprintf(err, errlen, "'%s' %s", c->command, why);
		return -1;
	}
	if ((proto == CHILD_TCP && !a->has_tcp) || (proto == CHILD_UDP && !a->has_udp) ||
	    (proto != CHILD_TCP && proto != CHILD_UDP)) {
		snprintf(err, errlen, "'%s' gave no %s address to probe", c->command,
		         proto == CHILD_UDP ? "udp" : "tcp");
		return -1;
	}
	struct net_addr to = proto == CHILD_TCP ? a->tcp : a->udp;
	if (net_loopback(&to, err, errlen) < 0)
		return -1;
	return net_probe(&to, proto == CHILD_TCP ? SOCK_STREAM : SOCK_DGRAM, timeout_ms, err, errlen);
}

/* With {port}: is 127.0.0.1:port listening for every protocol in missing (those without a line)? TCP
 * first, so that UDP's silence is taken as listening only once the server's TCP side is up. */
static int port_answers(const struct child *c, struct child_addrs *a, int missing)
{
	struct net_addr at;
	char name[32], err[256];
	snprintf(name, sizeof name, "127.0.0.1:%u", c->port);
	if (net_parse(name, &at, err, sizeof err) < 0)
		return 0;
	if ((missing & CHILD_TCP) && !net_tcp_listening(&at, PROBE_MS))
		return 0;
	if ((missing & CHILD_UDP) && !net_udp_bound(&at, PROBE_MS))
		return 0;
	if (missing & CHILD_TCP) {
		a->tcp = at;
		a->has_tcp = 1;
	}
	if (missing & CHILD_UDP) {
		a->udp = at;
		a->has_udp = 1;
	}
	return 1;
}

/* ---- the process ------------------------------------------------------------------------------------ */

/* In the forked child: becomes what l describes, in its own process group with every signal at its
 * default and none blocked; writes exec's errno to errpipe if it fails. Only async-signal-safe calls. */
static void exec_launch(const struct launch *l, int errpipe)
{
	struct sigaction dfl;
	sigset_t none;
	int fd[3];
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* SIGPIPE above all: an ignored SIGPIPE would hide a bug */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	/* first every source above 2, so that putting one in place cannot close another */
	for (int i = 0; i < 3; i++) {
		int from = l->fd[i] >= 0 ? l->fd[i] : open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
		if (from < 0 || (fd[i] = fcntl(from, F_DUPFD, 3)) < 0)
			_exit(126);
	}
	for (int i = 0; i < 3; i++)
		if (dup2(fd[i], i) < 0)
			_exit(126);
	if (l->nofile > 0) {
		struct rlimit rl = {(rlim_t)l->nofile, (rlim_t)l->nofile};
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (l->affinity != NULL && sched_setaffinity(0, sizeof *l->affinity, l->affinity) < 0) {
		static const char msg[] = "child: cannot set the CPU affinity\n";
		(void)!write(2, msg, sizeof msg - 1);
	}
	close_except(errpipe, errpipe);
	execvp(l->argv[0], l->argv);
	if (l->argv != l->sh && l->sh[0] != NULL)
		execv(l->sh[0], l->sh);
	int e = errno;
	(void)!write(errpipe, &e, sizeof e);
	_exit(127);
}

/* Starts what l describes in a new process group (its id stored in *group, when given, as soon as it
 * exists). Returns its pid once it runs the program, or -1 with errno and a reason in err, nothing left
 * running. */
static pid_t launch(const struct launch *l, volatile pid_t *group, char *err, size_t errlen)
{
	int errpipe[2], e = 0;
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(e = errno));
		errno = e;
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0)
		exec_launch(l, errpipe[1]);
	e = errno;
	close(errpipe[1]);
	if (pid > 0) {
		setpgid(pid, pid);
		if (group != NULL)
			*group = pid;
		ssize_t n;
		while ((n = read(errpipe[0], &e, sizeof e)) < 0 && errno == EINTR)
			;
		if (n != (ssize_t)sizeof e) {
			close(errpipe[0]);
			return pid;
		}
		waitpid(pid, NULL, 0);
		if (group != NULL)
			*group = 0;
		snprintf(err, errlen, "cannot run '%s': %s", l->argv[0], strerror(e));
	} else {
		snprintf(err, errlen, "fork: %s", strerror(e));
	}
	close(errpipe[0]);
	errno = e;
	return -1;
}

/* Forks the drain process that copies the pipe's read side to the log, into the server's group. */
static pid_t start_drain(const struct child *c, int pipe_in, int pipe_out, int logfd)
{
	char cut[80];
	snprintf(cut, sizeof cut, "\n[log cut here: more than %zu bytes]\n", c->log_max);
	pid_t d = fork();
	if (d == 0) {
		close(pipe_out);
		setpgid(0, c->pid);
		drain_main(pipe_in, logfd, c->log_max, cut);
	}
	if (d > 0)
		setpgid(d, c->pid);
	return d < 0 ? 0 : d;
}

/* Runs the command once: log, fork, exec. Returns 0, or -1 with a reason in err (nothing left running). */
static int spawn(struct child *c, char *err, size_t errlen)
{
	struct launch l = {.nofile = c->nofile, .affinity = c->has_affinity ? &c->affinity : NULL};
	int pipefd[2] = {-1, -1}, rc = -1;
	c->port = 0;
	if (strstr(c->command, "{port}") != NULL && (c->port = net_free_port()) == 0) {
		snprintf(err, errlen, "no free port on 127.0.0.1 for {port}");
		return -1;
	}
	if (build_argv(c, &l) < 0) {
		snprintf(err, errlen, "out of memory");
		free_launch(&l);
		return -1;
	}
	int logfd = open_log(c, err, errlen);
	if (logfd >= 0 && c->log_max > 0 && pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
	} else if (logfd >= 0) {
		l.fd[0] = -1;
		l.fd[1] = l.fd[2] = c->log_max > 0 ? pipefd[1] : logfd;
		c->reaped = c->gone = 0;
		c->drain = 0;
		pid_t pid = launch(&l, &groups[c->slot], err, errlen);
		c->pid = pid > 0 ? pid : 0;
		/* from here only the server and the drain hold the pipe: the drain sees its end when the
		 * server's group has gone */
		if (pid > 0 && c->log_max > 0)
			c->drain = start_drain(c, pipefd[0], pipefd[1], logfd);
		rc = pid > 0 ? 0 : -1;
	}
	for (int i = 0; i < 2; i++)
		if (pipefd[i] >= 0)
			close(pipefd[i]);
	if (logfd >= 0)
		close(logfd);
	free_launch(&l);
	return rc;
}

/* Waits, bounded by start_ms, for the listening lines wanted (or {port} answering). Returns 0 with a
 * filled, or -1 with a reason in err. */
static int wait_ready(struct child *c, struct child_addrs *a, char *err, size_t errlen)
{
	uint64_t t0 = util_now_ns();
	int want = c->want, pause = 1;
	memset(a, 0, sizeof *a);
	a->port = c->port;
	for (;;) {
		int found = scan_log(c, a);
		if (want == 0 || (found & want) == want ||
		    (c->port != 0 && port_answers(c, a, want & ~found))) {
			c->addrs = *a;
			return 0;
		}
		char why[128];
		if (child_dead(c, why, sizeof why)) {
			snprintf(err, errlen, "'%s' %s before it was listening", c->command, why);
			child_add_last_line(c, err, errlen);
			return -1;
		}
		if (ms_since(t0) >= c->start_ms) {
			int missing = want & ~found;
			snprintf(err, errlen,
			         "'%s' did not start listening%s within %d ms (no 'listening on %s "
			         "ADDR:PORT' line%s)",
			         c->command, want == (CHILD_TCP | CHILD_UDP) ? " on tcp and udp" : "",
			         c->start_ms,
			         missing == CHILD_UDP   ? "udp"
			         : missing == CHILD_TCP ? "tcp"
			                                : "tcp|udp",
			         c->port ? " and nothing listening on {port}" : "");
			child_add_last_line(c, err, errlen);
			return -1;
		}
		backoff(&pause);
	}
}

int child_dead(struct child *c, char *why, size_t whylen)
{
	/* reap the whole group: a caller that is a child subreaper gets the server's own children when
	 * their parent dies, and a zombie no one reaps would look alive to kill(-pgid, 0) */
	if (c->pid <= 0)
		return 0;
	while (!c->gone) {
		int st;
		pid_t r = waitpid(-c->pid, &st, WNOHANG);
		if (r <= 0)
			break;
		if (r == c->pid && !c->reaped) {
			c->reaped = 1;
			c->status = st;
		} else if (r == c->drain) {
			c->drain = 0;
		}
	}
	/* the group is gone (ECHILD) but the leader not seen: reaped by someone else */
	if (!c->reaped && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->reaped = 1;
	if (c->reaped && why != NULL)
		child_describe(c->status, c->shell, why, whylen);
	return c->reaped;
}

int child_wait(struct child *c, int timeout_ms)
{
	uint64_t t0 = util_now_ns();
	int pause = 1;
	while (!child_dead(c, NULL, 0)) {
		if (ms_since(t0) >= timeout_ms)
			return 0;
		backoff(&pause);
	}
	return 1;
}

/* Is anything of the group left? Once the server is reaped and the group empty, the group's id may
 * be reused by an unrelated process: from then on it is never signalled again. */
static int group_alive(struct child *c)
{
	if (c->gone)
		return 0;
	if (kill(-c->pid, 0) == 0 || errno == EPERM)
		return 1;
	if (c->reaped) {
		c->gone = 1;
		groups[c->slot] = 0;
	}
	return 0;
}

/* Sends sig to the server's process group, unless it is gone. */
static void signal_group(struct child *c, int sig)
{
	if (!c->gone)
		kill(-c->pid, sig);
}

/* Waits at most ms for the server to be reaped and its group to be empty. Returns 1 when both. */
static int wait_gone(struct child *c, long ms, uint64_t t0)
{
	int pause = 1;
	for (;;) {
		if (child_dead(c, NULL, 0) && !group_alive(c))
			return 1;
		if (ms_since(t0) >= ms)
			return 0;
		backoff(&pause);
	}
}

/* Waits for the drain process's last bytes (DRAIN_MS), then kills it: a process outside the group may
 * still hold the pipe. */
static void reap_drain(struct child *c)
{
	if (c->drain <= 0)
		return;
	uint64_t t0 = util_now_ns();
	int pause = 1;
	while (waitpid(c->drain, NULL, WNOHANG) == 0 && ms_since(t0) < DRAIN_MS)
		backoff(&pause);
	if (ms_since(t0) >= DRAIN_MS) {
		kill(c->drain, SIGKILL);
		waitpid(c->drain, NULL, 0);
	}
	c->drain = 0;
}

void child_stop(struct child *c, int sig, int wait_ms, struct child_exit *e)
{
	struct child_exit x = {CHILD_END_BEFORE, -1, 0, ""};
	if (c->pid > 0) {
		uint64_t t0 = util_now_ns();
		if (!child_dead(c, NULL, 0)) {
			signal_group(c, sig);
			if (wait_gone(c, wait_ms, t0)) {
				x.end = CHILD_END_SIGNAL;
			} else {
				signal_group(c, SIGKILL);
				wait_gone(c, ms_since(t0) + GONE_MS, t0);
				x.end = CHILD_END_KILLED;
			}
			x.ms = ms_since(t0);
		}
		reap_drain(c);        /* it sees the end of its pipe once the group's writers are gone */
		if (group_alive(c)) { /* what the server left behind in its group */
			signal_group(c, SIGKILL);
			wait_gone(c, GONE_MS, util_now_ns());
		}
		groups[c->slot] = 0;
	}
	if (c->reaped) {
		x.status = c->status;
		child_describe(c->status, c->shell, x.why, sizeof x.why);
	} else {
		snprintf(x.why, sizeof x.why, "could not be reaped");
	}
	if (e != NULL)
		*e = x;
}

int child_restart(struct child *c, struct child_addrs *addrs, char *err, size_t errlen)
{
	child_stop(c, SIGKILL, 0, NULL);
	c->restarts++;
	if (spawn(c, err, errlen) < 0)
		return -1;
	if (wait_ready(c, addrs, err, errlen) < 0) {
		child_stop(c, SIGKILL, 0, NULL);
		return -1;
	}
	return 0;
}

void child_free(struct child *c)
{
	if (c == NULL)
		return;
	child_stop(c, SIGKILL, 0, NULL);
	if (c->log_fd >= 0)
		close(c->log_fd);
	if (c->temp_log)
		unlink(c->log_path);
	if (c->slot >= 0) {
		temp_logs[c->slot][0] = '\0';
		used[c->slot] = 0;
	}
	free_words(c->words, c->nwords);
	free(c->command);
	free(c);
}

/* A new handle with the options copied and its registry slot and log path taken. */
static struct child *child_new(const struct child_options *o, char *err, size_t errlen)
{
	struct child *c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->log_fd = -1;
	c->slot = -1;
	if (set_command(c, o, err, errlen) < 0) {
		child_free(c);
		return NULL;
	}
	c->want = o->want & (CHILD_TCP | CHILD_UDP);
	c->start_ms = o->start_ms > 0 ? o->start_ms : DEFAULT_START_MS;
	c->nofile = o->nofile;
	c->log_max = o->log_max;
	if (o->affinity != NULL) {
		c->affinity = *o->affinity;
		c->has_affinity = 1;
	}
	for (c->slot = 0; c->slot < MAX_CHILDREN && used[c->slot]; c->slot++)
		;
	if (c->slot == MAX_CHILDREN) {
		c->slot = -1;
		snprintf(err, errlen, "more than %d servers started at once", MAX_CHILDREN);
		child_free(c);
		return NULL;
	}
	used[c->slot] = 1;
	if (o->log_path != NULL) {
		snprintf(c->log_path, sizeof c->log_path, "%s", o->log_path);
		return c;
	}
	const char *dir = getenv("TMPDIR");
	if (dir == NULL || *dir == '\0' || strlen(dir) > PATH_MAX - 32)
		dir = "/tmp";
	snprintf(c->log_path, sizeof c->log_path, "%s/child-log-XXXXXX", dir);
	int fd = mkostemp(c->log_path, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "temporary log %.300s: %s", c->log_path, strerror(errno));
		child_free(c);
		return NULL;
	}
	close(fd);
	c->temp_log = 1;
	/* its first byte last: child_kill_all() never sees a partly written path */
	memcpy(temp_logs[c->slot] + 1, c->log_path + 1, sizeof c->log_path - 1);
	temp_logs[c->slot][0] = c->log_path[0];
	return c;
}

int child_start(const struct child_options *o, struct child **out, struct child_addrs *addrs, char *err,
                size_t errlen)
{
	struct child_addrs scratch;
	struct child *c = child_new(o, err, errlen);
	*out = NULL;
	if (c == NULL)
		return -1;
	if (addrs == NULL)
		addrs = &scratch;
	/* the orphans of the server's group come to this process, which reaps them (child_dead): one that
	 * only init would reap could linger as a zombie and look alive to kill(-pgid, 0) */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (spawn(c, err, errlen) < 0 || wait_ready(c, addrs, err, errlen) < 0) {
		child_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

pid_t child_pid(const struct child *c)
{
	return c->pid;
}

const char *child_command(const struct child *c)
{
	return c->command;
}

const char *child_log_path(const struct child *c)
{
	return c->log_path;
}

int child_restarts(const struct child *c)
{
	return c->restarts;
}

int child_status(const struct child *c, int *status)
{
	if (c->reaped && status != NULL)
		*status = c->status;
	return c->reaped;
}

/* The start child_spawn and child_run share. Returns the pid, or -1 with errno and a reason in err; the
 * command in words, for messages, goes to *command (the caller frees it, also after a failure). */
static pid_t run_start(const struct child_options *o, const int fd[3], char **command, char *err,
                       size_t errlen)
{
	struct child c;
	struct launch l = {.fd = {fd[0], fd[1], fd[2]}, .nofile = o->nofile, .affinity = o->affinity};
	int e = EINVAL;
	pid_t pid = -1;
	memset(&c, 0, sizeof c);
	int ok = set_command(&c, o, err, errlen) == 0;
	if (ok && build_argv(&c, &l) < 0) {
		snprintf(err, errlen, "out of memory");
		ok = 0;
		e = ENOMEM;
	}
	/* as in child_start: the group's orphans come back here, and child_finish reaps them */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (ok && (pid = launch(&l, NULL, err, errlen)) < 0)
		e = errno;
	free_launch(&l);
	free_words(c.words, c.nwords);
	*command = c.command;
	if (pid < 0)
		errno = e;
	return pid;
}

pid_t child_spawn(const struct child_options *o, const int fd[3], char *err, size_t errlen)
{
	char *command;
	pid_t pid = run_start(o, fd, &command, err, errlen);
	int e = errno;
	free(command);
	errno = e;
	return pid;
}

enum child_run_end child_finish(pid_t pid, int timeout_ms, int *status)
{
	siginfo_t si;
	int pause = 1, ended = 0;
	*status = -1;
	if (pid <= 0) { /* kill(-pid) below would signal this process's own group, or every process */
		errno = EINVAL;
		return CHILD_RUN_NOT_STARTED;
	}
	/* WNOWAIT: the ended command stays a zombie, so its group id is not reused before the kill below */
	for (uint64_t t0 = util_now_ns(); !ended && (timeout_ms <= 0 || ms_since(t0) < timeout_ms);) {
		memset(&si, 0, sizeof si);
		int r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
		ended = (r == 0 && si.si_pid == pid) || (r < 0 && errno == ECHILD);
		if (!ended)
			backoff(&pause);
	}
	kill(-pid, SIGKILL); /* on time-out the command, and in any case whatever it left in its group */
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	/* the orphans of the group come back to this process, the subreaper: reaped here */
	pause = 1;
	for (uint64_t t0 = util_now_ns(); kill(-pid, 0) == 0 && ms_since(t0) < GONE_MS;)
		if (waitpid(-pid, NULL, WNOHANG) <= 0)
			backoff(&pause);
	return ended ? CHILD_RUN_ENDED : CHILD_RUN_TIMED_OUT;
}

enum child_run_end child_run(const struct child_options *o, const int fd[3], int timeout_ms, int *status,
                             char *err, size_t errlen)
{
	char *command;
	enum child_run_end end = CHILD_RUN_NOT_STARTED;
	pid_t pid = run_start(o, fd, &command, err, errlen);
	int e = errno;
	*status = -1;
	if (pid > 0)
		end = child_finish(pid, timeout_ms, status);
	if (end == CHILD_RUN_TIMED_OUT)
		snprintf(err, errlen, "'%s' did not end within %d ms and was killed", command, timeout_ms);
	free(command);
	if (pid < 0)
		errno = e;
	return end;
}
