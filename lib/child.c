/* child.c - a server under test run as a child process (see child.h): its own process group, its
 * output in a log file (bounded by a drain process when asked), its listening addresses read from that
 * log, its death noticed, its group stopped. */
#include "child.h"
#include "report.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
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
	char **words;  /* argv with {port} unsubstituted (shell: the one command string) */
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

/* A port free for both TCP and UDP on 127.0.0.1 right now, 0 if none was found. */
static unsigned free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a;
		socklen_t l = sizeof a;
		int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (t < 0)
			return 0;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(t, (struct sockaddr *)&a, sizeof a) < 0 ||
		    getsockname(t, (struct sockaddr *)&a, &l) < 0) {
			close(t);
			return 0;
		}
		int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int ok = u >= 0 && bind(u, (struct sockaddr *)&a, sizeof a) == 0;
		if (u >= 0)
			close(u);
		close(t);
		if (ok)
			return ntohs(a.sin_port);
	}
	return 0;
}

/* s with every "{port}" replaced by port, or a copy of s; NULL when out of memory. */
static char *substitute(const char *s, unsigned port)
{
	size_t k = 0;
	for (const char *p = strstr(s, "{port}"); p != NULL; p = strstr(p + 6, "{port}"))
		k++;
	char *out = malloc(strlen(s) + 1 + k * 6);
	if (out == NULL)
		return NULL;
	char *o = out;
	for (const char *p = s; *p != '\0';) {
		if (strncmp(p, "{port}", 6) == 0) {
			o += sprintf(o, "%u", port);
			p += 6;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

/* Tells whether a shell command can be run as "exec COMMAND": no shell syntax, no assignment, not a
 * builtin ('exec exit 3' would report 127). */
static int simple_command(const char *cmd)
{
	static const char *const builtins[] = {"exit",   "cd",     "set",   "export", "eval", "exec",
	                                       "ulimit", "umask",  "trap",  "wait",   "read", "shift",
	                                       "unset",  "return", "alias", ".",      ":"};
	size_t word = strcspn(cmd, " \t");
	if (strpbrk(cmd, ";&|<>()$`\n\\\"'") != NULL || memchr(cmd, '=', word) != NULL)
		return 0;
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (strlen(builtins[i]) == word && strncmp(cmd, builtins[i], word) == 0)
			return 0;
	return 1;
}

static void free_words(char **w, size_t n)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

/* Splits command into words on spaces and tabs (shell: the whole command is one word). Returns the
 * NULL-terminated words and their count in *n (0 for a blank command), or NULL when out of memory. */
static char **split_words(const char *command, int shell, size_t *n)
{
	char **w = calloc(strlen(command) / 2 + 2, sizeof *w); /* at most one word every two characters */
	*n = 0;
	if (w == NULL)
		return NULL;
	if (shell) {
		if (strspn(command, " \t") < strlen(command) && (w[(*n)++] = strdup(command)) == NULL)
			goto oom;
		return w;
	}
	for (const char *p = command + strspn(command, " \t"); *p != '\0';) {
		size_t l = strcspn(p, " \t");
		if ((w[(*n)++] = strndup(p, l)) == NULL)
			goto oom;
		p += l + strspn(p + l, " \t");
	}
	return w;
oom:
	free_words(w, *n);
	return NULL;
}

/* A copy of argv (NULL-terminated, its count in *n), and in *joined its words joined by spaces. Returns
 * NULL when out of memory. */
static char **copy_argv(const char *const *argv, size_t *n, char **joined)
{
	size_t len = 1, count = 0;
	while (argv[count] != NULL)
		len += strlen(argv[count++]) + 1;
	char **w = calloc(count + 1, sizeof *w);
	*n = 0;
	*joined = calloc(1, len);
	for (size_t i = 0; w != NULL && *joined != NULL && i < count; i++) {
		if ((w[i] = strdup(argv[i])) == NULL)
			break;
		*n = i + 1;
		strcat(strcat(*joined, i ? " " : ""), argv[i]);
	}
	if (w == NULL || *joined == NULL || *n < count) {
		free_words(w, *n);
		free(*joined);
		*joined = NULL;
		return NULL;
	}
	return w;
}

/* Fills c->words (a copy of the argv, the words of the command, or the shell command) and c->command. */
static int set_command(struct child *c, const struct child_options *o, char *err, size_t errlen)
{
	if ((o->argv == NULL) == (o->command == NULL)) {
		snprintf(err, errlen, "give the server as argv or as a command string, not both or neither");
		return -1;
	}
	if (o->argv != NULL) {
		c->words = copy_argv(o->argv, &c->nwords, &c->command);
	} else {
		c->words = split_words(o->command, o->shell, &c->nwords);
		c->command = strdup(o->command);
	}
	if (c->words == NULL || c->command == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (c->nwords == 0) {
		snprintf(err, errlen, "the server command is empty");
		return -1;
	}
	return 0;
}

/* The argv to exec for this start, {port} substituted, its count in *count (free it with free_words). */
static char **build_argv(const struct child *c, size_t *count)
{
	size_t n = c->shell ? 3 : c->nwords;
	char **v = calloc(n + 1, sizeof *v);
	if (v == NULL)
		return NULL;
	*count = n;
	if (c->shell) {
		char *sub = substitute(c->words[0], c->port);
		v[0] = strdup("/bin/sh");
		v[1] = strdup("-c");
		v[2] = sub == NULL ? NULL : malloc(strlen(sub) + 6);
		if (v[2] != NULL)
			sprintf(v[2], "%s%s", simple_command(sub) ? "exec " : "", sub);
		free(sub);
	} else {
		for (size_t i = 0; i < n; i++)
			v[i] = substitute(c->words[i], c->port);
	}
	for (size_t i = 0; i < n; i++)
		if (v[i] == NULL) {
			free_words(v, n);
			return NULL;
		}
	return v;
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

/* Is a loopback address serving proto? A TCP connection accepted, or a datagram answered, within
 * timeout_ms. Returns 0, or -1 with a reason in err. */
static int probe_addr(const struct net_addr *a, int proto, int timeout_ms, char *err, size_t errlen)
{
	char name[NET_ADDRSTRLEN];
	if (proto == CHILD_TCP) {
		int fd = net_connect(a, SOCK_STREAM, timeout_ms, err, errlen);
		if (fd < 0)
			return -1;
		close(fd);
		return 0;
	}
	int fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), e = 0;
	ssize_t got = -1;
	if (fd < 0 || connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
	    send(fd, "probe", 5, 0) != 5) {
		e = errno;
	} else {
		struct pollfd p = {fd, POLLIN, 0};
		char b[16];
		if (poll(&p, 1, timeout_ms) == 1 && (got = recv(fd, b, sizeof b, MSG_DONTWAIT)) < 0)
			e = errno;
	}
	if (fd >= 0)
		close(fd);
	if (got >= 0)
		return 0;
	net_format((const struct sockaddr *)&a->ss, name, sizeof name);
	if (e != 0)
		snprintf(err, errlen, "udp %s: probe datagram: %s", name, strerror(e));
	else
		snprintf(err, errlen, "udp %s: no answer to a probe datagram within %d ms", name, timeout_ms);
	return -1;
}

/* Maps a wildcard address to loopback; refuses any other address that is not loopback. */
static int loopback_address(struct net_addr *a, char *err, size_t errlen)
{
	char name[NET_ADDRSTRLEN];
	if (a->ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
		if (in->sin_addr.s_addr == htonl(INADDR_ANY))
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((ntohl(in->sin_addr.s_addr) >> 24) == 127)
			return 0;
	} else if (a->ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return 0;
	}
	snprintf(err, errlen, "%s is not a loopback address: not probed",
	         net_format((const struct sockaddr *)&a->ss, name, sizeof name));
	return -1;
}

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
	if (loopback_address(&to, err, errlen) < 0)
		return -1;
	return probe_addr(&to, proto, timeout_ms, err, errlen);
}

/* With {port} and no listening line: does 127.0.0.1:port serve every protocol wanted? */
static int port_answers(const struct child *c, struct child_addrs *a)
{
	struct net_addr at;
	char name[32], err[256];
	snprintf(name, sizeof name, "127.0.0.1:%u", c->port);
	if (net_parse(name, &at, err, sizeof err) < 0)
		return 0;
	for (int p = CHILD_TCP; p <= CHILD_UDP; p <<= 1)
		if ((c->want & p) && probe_addr(&at, p, PROBE_MS, err, sizeof err) < 0)
			return 0;
	if (c->want & CHILD_TCP) {
		a->tcp = at;
		a->has_tcp = 1;
	}
	if (c->want & CHILD_UDP) {
		a->udp = at;
		a->has_udp = 1;
	}
	return 1;
}

/* ---- the process ------------------------------------------------------------------------------------ */

/* In the forked child: everything the server is to start with, then exec. Only async-signal-safe calls. */
static void exec_child(const struct child *c, char *const *argv, int out, int errpipe)
{
	struct sigaction dfl;
	sigset_t none;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* SIGPIPE above all: an ignored SIGPIPE would hide a bug */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	int nul = open("/dev/null", O_RDONLY);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	if (c->nofile > 0) {
		struct rlimit rl = {(rlim_t)c->nofile, (rlim_t)c->nofile};
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (c->has_affinity && sched_setaffinity(0, sizeof c->affinity, &c->affinity) < 0) {
		static const char msg[] = "child: cannot set the CPU affinity\n";
		(void)!write(2, msg, sizeof msg - 1);
	}
	close_except(errpipe, errpipe);
	execvp(argv[0], argv);
	int e = errno;
	(void)!write(errpipe, &e, sizeof e);
	_exit(127);
}

static int find_slot(void)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (!used[i])
			return i;
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
	size_t nargv = 0;
	int pipefd[2] = {-1, -1}, errpipe[2] = {-1, -1}, e = 0;
	c->port = 0;
	for (size_t i = 0; i < c->nwords && c->port == 0; i++)
		if (strstr(c->words[i], "{port}") != NULL && (c->port = free_port()) == 0) {
			snprintf(err, errlen, "no free port on 127.0.0.1 for {port}");
			return -1;
		}
	char **argv = build_argv(c, &nargv);
	if (argv == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int logfd = open_log(c, err, errlen);
	if (logfd < 0 || (c->log_max > 0 && pipe2(pipefd, O_CLOEXEC) < 0) || pipe2(errpipe, O_CLOEXEC) < 0) {
		if (logfd >= 0)
			snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	c->reaped = 0;
	c->gone = 0;
	c->drain = 0;
	c->pid = fork();
	if (c->pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		c->pid = 0;
		goto fail;
	}
	if (c->pid == 0)
		exec_child(c, argv, c->log_max > 0 ? pipefd[1] : logfd, errpipe[1]);
	setpgid(c->pid, c->pid);
	groups[c->slot] = c->pid;
	close(errpipe[1]);
	errpipe[1] = -1;
	if (c->log_max > 0)
		c->drain = start_drain(c, pipefd[0], pipefd[1], logfd);
	/* from here only the server and the drain hold the pipe: the drain sees its end when the server's
	 * group has gone */
	for (int i = 0; i < 2; i++) {
		if (pipefd[i] >= 0)
			close(pipefd[i]);
		pipefd[i] = -1;
	}
	ssize_t n;
	while ((n = read(errpipe[0], &e, sizeof e)) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof e) {
		snprintf(err, errlen, "cannot run '%s': %s", argv[0], strerror(e));
		child_stop(c, SIGKILL, 0, NULL);
		goto fail;
	}
	close(errpipe[0]);
	close(logfd);
	free_words(argv, nargv);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (pipefd[i] >= 0)
			close(pipefd[i]);
		if (errpipe[i] >= 0)
			close(errpipe[i]);
	}
	if (logfd >= 0)
		close(logfd);
	free_words(argv, nargv);
	return -1;
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
		    (found == 0 && c->port != 0 && port_answers(c, a))) {
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
			         c->port ? " and no answer on {port}" : "");
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
	c->shell = o->command != NULL && o->shell;
	c->want = o->want & (CHILD_TCP | CHILD_UDP);
	c->start_ms = o->start_ms > 0 ? o->start_ms : DEFAULT_START_MS;
	c->nofile = o->nofile;
	c->log_max = o->log_max;
	if (o->affinity != NULL) {
		c->affinity = *o->affinity;
		c->has_affinity = 1;
	}
	if ((c->slot = find_slot()) < 0) {
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
