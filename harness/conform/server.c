/* server.c - conform's server under test (--exec): started under /bin/sh in its own process group with
 * a lowered descriptor limit, its output kept in a log file, its listening addresses read from that
 * output (loopback only), its death noticed, and stopped at the end. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"
#include "util.h"

#define STOP_MS 2000

struct server {
	char *command;   /* as given, with {port} */
	int transports;  /* CASE_TCP | CASE_UDP expected */
	int nofile;
	int start_ms;
	pid_t pid;       /* also its process group */
	int exited;
	int status;
	int restarts;
	int log_fd;      /* read side of the log (the file itself is already removed) */
	unsigned port;   /* substituted for {port}, 0 if none */
};

/* Process groups started, for server_kill_all() from a signal handler. */
static volatile pid_t groups[8];

void server_kill_all(void)
{
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if (groups[i] > 0)
			kill(-groups[i], SIGKILL);
}

static void remember_group(pid_t old, pid_t pid)
{
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if (groups[i] == old) {
			groups[i] = pid;
			return;
		}
}

const char *server_command(const struct server *s)
{
	return s->command;
}

int server_restart_count(const struct server *s)
{
	return s->restarts;
}

/* A port free for both TCP and UDP on 127.0.0.1 right now, 0 if none was found. */
static unsigned free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a;
		socklen_t len = sizeof a;
		int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (tcp < 0)
			return 0;
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(tcp, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(tcp, (struct sockaddr *)&a, &len) < 0) {
			close(tcp);
			return 0;
		}
		int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int ok = udp >= 0 && bind(udp, (struct sockaddr *)&a, sizeof a) == 0;
		if (udp >= 0)
			close(udp);
		close(tcp);
		if (ok)
			return ntohs(a.sin_port);
	}
	return 0;
}

/* The command for /bin/sh -c: {port} replaced, and "exec " in front of a simple command so that its
 * death (a signal) is seen first-hand, not through its shell. NULL when out of memory. */
static char *shell_command(const char *command, unsigned port)
{
	static const char *const builtins[] = {"exit", "cd", "set", "export", "eval", "exec", "ulimit", "umask", "trap",
					       "wait", "read", "shift", "unset", "return", "alias", ".", ":"};
	size_t word = strcspn(command, " \t");
	int simple = strpbrk(command, ";&|<>()$`\n\\\"'") == NULL && memchr(command, '=', word) == NULL;
	/* ... but not a shell builtin, which 'exec' cannot run ('exec exit 3' would report 127) */
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (strlen(builtins[i]) == word && strncmp(command, builtins[i], word) == 0)
			simple = 0;
	size_t ports = 0;
	for (const char *p = strstr(command, "{port}"); p != NULL; p = strstr(p + 6, "{port}"))
		ports++;
	char *out = malloc(strlen(command) + ports * 6 + 6);
	if (out == NULL)
		return NULL;
	char *o = out + sprintf(out, "%s", simple ? "exec " : "");
	for (const char *p = command; *p != '\0';) {
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

static void describe_status(int status, char *why, size_t whylen)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		snprintf(why, whylen, "killed by signal %d (SIG%s)", sig, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	} else if (WIFEXITED(status) && WEXITSTATUS(status) > 128 && WEXITSTATUS(status) < 160) {
		int sig = WEXITSTATUS(status) - 128;
		snprintf(why, whylen, "exited with status %d (its shell reports signal %d, SIG%s)", WEXITSTATUS(status),
			 sig, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	} else {
		snprintf(why, whylen, "exited with status %d", WEXITSTATUS(status));
	}
}

int server_has_exited(struct server *s, char *why, size_t whylen)
{
	/* reap the whole group: conform is a child subreaper (conform.c), so the server's own children
	 * come to it when their parent dies, and a zombie no one reaps would look alive to kill(-pgid, 0) */
	for (;;) {
		int status;
		pid_t r = waitpid(-s->pid, &status, WNOHANG);
		if (r <= 0)
			break;
		if (r == s->pid && !s->exited) {
			s->exited = 1;
			s->status = status;
		}
	}
	if (s->exited)
		describe_status(s->status, why, whylen);
	return s->exited;
}

/* Whether anything of its process group is still there. */
static int group_alive(const struct server *s)
{
	return kill(-s->pid, 0) == 0;
}

/* Maps a wildcard address to loopback: conform only talks to 127.0.0.1 and ::1. */
static void wildcard_to_loopback(struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
		if (in->sin_addr.s_addr == htonl(INADDR_ANY))
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (a->ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
	}
}

/* Takes one address a server printed for transport into t: the first IPv6 one as the IPv6 target,
 * and an IPv4 one over an earlier IPv6 one as the main target. */
static void add_address(struct case_target *t, int transport, const struct net_addr *a)
{
	int v6 = a->ss.ss_family == AF_INET6;
	struct net_addr *main_addr = transport == CASE_TCP ? &t->tcp : &t->udp;
	struct net_addr *v6_addr = transport == CASE_TCP ? &t->tcp6 : &t->udp6;
	int *has_main = transport == CASE_TCP ? &t->has_tcp : &t->has_udp;
	int *has_v6 = transport == CASE_TCP ? &t->has_tcp6 : &t->has_udp6;
	if (v6 && !*has_v6) {
		*v6_addr = *a;
		*has_v6 = 1;
	}
	if (!*has_main || (main_addr->ss.ss_family == AF_INET6 && !v6)) {
		*main_addr = *a;
		*has_main = 1;
	}
}

/* Scans the log for "listening on tcp|udp ADDR:PORT" lines; fills t. Returns the transports found. */
static int scan_log(struct server *s, struct case_target *t)
{
	char buf[16384];
	int found = 0;
	ssize_t n = pread(s->log_fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (char *p = strstr(buf, "listening on "); p != NULL; p = strstr(p + 1, "listening on ")) {
		char *q = p + 13, word[128];
		int transport = strncmp(q, "tcp ", 4) == 0 ? CASE_TCP : strncmp(q, "udp ", 4) == 0 ? CASE_UDP : 0;
		if (transport == 0)
			continue;
		q += 4;
		size_t len = strcspn(q, " \t\r\n");
		if (len == 0 || len >= sizeof word || q[len] == '\0')
			continue; /* not a whole line yet */
		memcpy(word, q, len);
		word[len] = '\0';
		struct net_addr a;
		char err[128];
		/* numeric addresses only: a name would need a DNS lookup, off loopback (the server's output
		 * is not trusted) */
		if (strspn(word, "0123456789.:[]abcdefABCDEF") != len || net_parse(word, &a, err, sizeof err) < 0)
			continue;
		wildcard_to_loopback(&a);
		add_address(t, transport, &a);
		found |= transport;
	}
	return found;
}

/* Reads the last bytes of the log (at most cap - 1) into buf, NUL-terminated. Returns their number. */
static size_t log_tail(const struct server *s, char *buf, size_t cap)
{
	off_t end = lseek(s->log_fd, 0, SEEK_END);
	off_t from = end > (off_t)cap - 1 ? end - (off_t)cap + 1 : 0;
	ssize_t n = pread(s->log_fd, buf, cap - 1, from);
	if (n <= 0)
		n = 0;
	buf[n] = '\0';
	return (size_t)n;
}

/* Appends the last non-empty line of the server's output to err, so that a server that did not start
 * says why (sh: not found, a usage message, a bind error). */
static void add_last_line(struct server *s, char *err, size_t errlen)
{
	char buf[1024], escaped[200];
	size_t n = log_tail(s, buf, sizeof buf), len = strlen(err);
	if (n == 0) {
		snprintf(err + len, errlen - len, "; it printed nothing");
		return;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	char *line = strrchr(buf, '\n');
	line = line != NULL ? line + 1 : buf;
	rep_escape(escaped, sizeof escaped, line, strlen(line));
	snprintf(err + len, errlen - len, "; its last output: %s", escaped);
}

/* With {port} and no listening line: is 127.0.0.1:port serving transport? */
static int port_serves(unsigned port, int transport)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)port);
	int fd = socket(AF_INET, (transport == CASE_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int ok = 0;
	if (transport == CASE_TCP) {
		ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	} else if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && send(fd, "probe", 5, 0) == 5) {
		struct pollfd p = {fd, POLLIN, 0};
		char b[16];
		ok = poll(&p, 1, 100) == 1 && recv(fd, b, sizeof b, MSG_DONTWAIT) >= 0;
	}
	close(fd);
	return ok;
}

/* Forks the server: its own process group, stdin /dev/null, output to log_fd, SIGPIPE at its default,
 * the descriptor limit lowered. Returns 0 or -1 with err. */
static int fork_server(struct server *s, const char *command, int log_fd, char *err, size_t errlen)
{
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		int null_fd = open("/dev/null", O_RDONLY);
		if (null_fd >= 0)
			dup2(null_fd, 0);
		dup2(log_fd, 1);
		dup2(log_fd, 2);
		signal(SIGPIPE, SIG_DFL);
		if (s->nofile > 0) {
			struct rlimit rl = {(rlim_t)s->nofile, (rlim_t)s->nofile};
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	remember_group(s->pid, pid);
	s->pid = pid;
	s->exited = 0;
	return 0;
}

/* Opens a fresh log (removed at once; the server and conform keep descriptors to it) and starts the
 * server with its output there. Returns 0 or -1 with err. */
static int launch(struct server *s, char *err, size_t errlen)
{
	char path[64];
	s->port = strstr(s->command, "{port}") != NULL ? free_port() : 0;
	if (strstr(s->command, "{port}") != NULL && s->port == 0) {
		snprintf(err, errlen, "no free port on 127.0.0.1 for {port}");
		return -1;
	}
	char *command = shell_command(s->command, s->port);
	if (command == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(path, sizeof path, "/tmp/conform-server-XXXXXX");
	int write_fd = mkostemp(path, O_CLOEXEC);
	if (write_fd < 0) {
		snprintf(err, errlen, "log file %s: %s", path, strerror(errno));
		free(command);
		return -1;
	}
	if (s->log_fd >= 0)
		close(s->log_fd);
	s->log_fd = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	int rc = fork_server(s, command, write_fd, err, errlen);
	close(write_fd);
	free(command);
	return rc;
}

/* With {port}: whether 127.0.0.1:port serves every transport; then fills t with it. */
static int port_ready(struct server *s, struct case_target *t, char *err, size_t errlen)
{
	char a[32];
	for (int transport = CASE_TCP; transport <= CASE_UDP; transport <<= 1)
		if ((s->transports & transport) && !port_serves(s->port, transport))
			return 0;
	snprintf(a, sizeof a, "127.0.0.1:%u", s->port);
	if (s->transports & CASE_TCP) {
		net_parse(a, &t->tcp, err, errlen);
		t->has_tcp = 1;
	}
	if (s->transports & CASE_UDP) {
		net_parse(a, &t->udp, err, errlen);
		t->has_udp = 1;
	}
	return 1;
}

/* Starts the server and waits until it listens; fills t. Returns 0 or -1 with err. */
static int start_and_wait(struct server *s, struct case_target *t, char *err, size_t errlen)
{
	if (launch(s, err, errlen) < 0)
		return -1;
	memset(t, 0, sizeof *t);
	uint64_t end = util_now_ns() + (uint64_t)s->start_ms * 1000000u;
	for (;;) {
		int found = scan_log(s, t);
		if ((found & s->transports) == s->transports)
			return 0;
		if (found == 0 && s->port != 0 && port_ready(s, t, err, errlen))
			return 0;
		char why[128];
		if (server_has_exited(s, why, sizeof why)) {
			snprintf(err, errlen, "server command '%s' %s before it was listening", s->command, why);
			add_last_line(s, err, errlen);
			return -1;
		}
		if (util_ms_left(end) == 0) {
			int missing = s->transports & ~found;
			snprintf(err, errlen,
				 "server command '%s' did not start listening%s within %d ms (no 'listening on %s ADDR:PORT' "
				 "line%s)", s->command, s->transports == (CASE_TCP | CASE_UDP) ? " on tcp and udp" : "",
				 s->start_ms, missing == CASE_UDP ? "udp" : missing == CASE_TCP ? "tcp" : "tcp|udp",
				 s->port ? " and no answer on {port}" : "");
			add_last_line(s, err, errlen);
			return -1;
		}
		util_sleep_ms(20);
	}
}

struct server *server_start(const char *command, int transports, int nofile, int start_ms, struct case_target *t,
			    char *err, size_t errlen)
{
	struct server *s = calloc(1, sizeof *s);
	if (s == NULL || (s->command = strdup(command)) == NULL) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->transports = transports;
	s->nofile = nofile;
	s->start_ms = start_ms;
	s->log_fd = -1;
	if (start_and_wait(s, t, err, errlen) < 0) {
		server_stop(s, NULL);
		return NULL;
	}
	return s;
}

int server_restart(struct server *s, struct case_target *t, char *err, size_t errlen)
{
	char why[128];
	kill(-s->pid, SIGKILL); /* it, or the leftovers of its process group */
	for (int i = 0; i < 200 && (!server_has_exited(s, why, sizeof why) || group_alive(s)); i++)
		util_sleep_ms(5);
	s->restarts++;
	return start_and_wait(s, t, err, errlen);
}

/* SIGTERM to the group, then up to STOP_MS for all of it to go (SIGKILL after). Returns 0 with the time
 * taken in *stop_ms, or -1 when it had to be killed. */
static int terminate(struct server *s, long *stop_ms)
{
	char why[128];
	if (server_has_exited(s, why, sizeof why)) {
		*stop_ms = 0;
		return 0;
	}
	uint64_t t0 = util_now_ns();
	kill(-s->pid, SIGTERM);
	/* stopped means the whole process group is gone, not just the shell */
	while ((!server_has_exited(s, why, sizeof why) || group_alive(s)) &&
	       util_now_ns() - t0 < (uint64_t)STOP_MS * 1000000u)
		util_sleep_ms(5);
	if (s->exited && !group_alive(s)) {
		*stop_ms = (long)((util_now_ns() - t0) / 1000000u);
		return 0;
	}
	kill(-s->pid, SIGKILL);
	for (int i = 0; i < 200 && !server_has_exited(s, why, sizeof why); i++)
		util_sleep_ms(5);
	return -1;
}

int server_stop(struct server *s, long *stop_ms)
{
	long ms = 0;
	int rc = 0;
	if (s == NULL)
		return 0;
	if (s->pid > 0) {
		char why[128];
		rc = terminate(s, &ms);
		kill(-s->pid, SIGKILL); /* anything it left behind in its group */
		for (int i = 0; i < 100 && group_alive(s); i++) {
			server_has_exited(s, why, sizeof why);
			util_sleep_ms(2);
		}
		remember_group(s->pid, 0);
	}
	if (stop_ms != NULL)
		*stop_ms = ms;
	if (s->log_fd >= 0)
		close(s->log_fd);
	free(s->command);
	free(s);
	return rc;
}

void server_print_log_tail(struct server *s, FILE *f, const char *prefix, int lines)
{
	char buf[4096];
	size_t n = log_tail(s, buf, sizeof buf);
	if (n == 0)
		return;
	char *p = buf + n;
	int count = 0;
	while (p > buf && count <= lines) {
		p--;
		if (*p == '\n' && p + 1 < buf + n)
			count++;
	}
	if (count > lines)
		p++;
	for (char *line = strtok(p, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char escaped[300];
		rep_escape(escaped, sizeof escaped, line, strlen(line));
		fprintf(f, "%s%s\n", prefix, escaped);
	}
}
