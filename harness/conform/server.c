/* server.c - conform's server under test (--exec): started under /bin/sh in its own process group with a
 * lowered descriptor limit, its output kept in a log file, its listening addresses read from that output,
 * its death noticed, and stopped at the end. */
#include "cf.h"

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

struct cf_server {
	char *cmd;       /* as given, with {port} */
	int proto;       /* CF_TCP | CF_UDP expected */
	int nofile;
	pid_t pid;
	int exited;
	int status;
	int restarts;
	char logpath[64];
	int logfd;       /* read side of the log */
	unsigned port;   /* substituted for {port}, 0 if none */
};

/* Process groups started, for cf_server_kill_all() from a signal handler. */
static volatile pid_t groups[8];

void cf_server_kill_all(void)
{
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if (groups[i] > 0)
			kill(-groups[i], SIGKILL);
}

static void remember(pid_t old, pid_t pid)
{
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if (groups[i] == old) {
			groups[i] = pid;
			return;
		}
}

const char *cf_server_cmd(const struct cf_server *s)
{
	return s->cmd;
}

int cf_server_restarts(const struct cf_server *s)
{
	return s->restarts;
}

/* A port free for both TCP and UDP on 127.0.0.1 right now. */
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
		if (bind(t, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(t, (struct sockaddr *)&a, &l) < 0) {
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

static char *substitute(const char *cmd, unsigned port)
{
	size_t n = strlen(cmd) + 1, k = 0;
	for (const char *p = strstr(cmd, "{port}"); p != NULL; p = strstr(p + 6, "{port}"))
		k++;
	char *out = malloc(n + k * 6);
	if (out == NULL)
		return NULL;
	char *o = out;
	for (const char *p = cmd; *p != '\0';) {
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

static void describe(int status, char *why, size_t whylen)
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

int cf_server_dead(struct cf_server *s, char *why, size_t whylen)
{
	/* reap the whole group: conform is a child subreaper (conform.c), so the server's own children
	 * come to it when their parent dies, and a zombie no one reaps would look alive to kill(-pgid, 0) */
	for (;;) {
		int st;
		pid_t r = waitpid(-s->pid, &st, WNOHANG);
		if (r <= 0)
			break;
		if (r == s->pid && !s->exited) {
			s->exited = 1;
			s->status = st;
		}
	}
	if (s->exited)
		describe(s->status, why, whylen);
	return s->exited;
}

/* Maps a wildcard address to loopback: conform only talks to 127.0.0.1 and ::1. */
static void loopback_only(struct net_addr *a)
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

/* Scans the log for "listening on tcp|udp ADDR:PORT" lines; fills t. Returns the protos found. */
static int scan_log(struct cf_server *s, struct cf_target *t)
{
	char buf[16384];
	int found = 0;
	ssize_t n = pread(s->logfd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (char *p = strstr(buf, "listening on "); p != NULL; p = strstr(p + 1, "listening on ")) {
		char *q = p + 13, word[128];
		int proto = strncmp(q, "tcp ", 4) == 0 ? CF_TCP : strncmp(q, "udp ", 4) == 0 ? CF_UDP : 0;
		if (proto == 0)
			continue;
		q += 4;
		size_t l = strcspn(q, " \t\r\n");
		if (l == 0 || l >= sizeof word || q[l] == '\0')
			continue; /* not a whole line yet */
		memcpy(word, q, l);
		word[l] = '\0';
		struct net_addr a;
		char err[128];
		/* numeric addresses only: a name would need a DNS lookup, off loopback (the server's output
		 * is not trusted) */
		if (strspn(word, "0123456789.:[]abcdefABCDEF") != l || net_parse(word, &a, err, sizeof err) < 0)
			continue;
		loopback_only(&a);
		int v6 = a.ss.ss_family == AF_INET6;
		if (proto == CF_TCP) {
			if (v6 && !t->has_tcp6) {
				t->tcp6 = a;
				t->has_tcp6 = 1;
			}
			if (!t->has_tcp || (t->tcp.ss.ss_family == AF_INET6 && !v6)) {
				t->tcp = a;
				t->has_tcp = 1;
			}
		} else {
			if (v6 && !t->has_udp6) {
				t->udp6 = a;
				t->has_udp6 = 1;
			}
			if (!t->has_udp || (t->udp.ss.ss_family == AF_INET6 && !v6)) {
				t->udp = a;
				t->has_udp = 1;
			}
		}
		found |= proto;
	}
	return found;
}

/* Appends the last non-empty line of the server's output to err, so that a server that did not start
 * says why (sh: not found, a usage message, a bind error). */
static void add_last_line(struct cf_server *s, char *err, size_t errlen)
{
	char buf[1024], esc[200];
	off_t end = lseek(s->logfd, 0, SEEK_END);
	off_t from = end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0;
	ssize_t n = pread(s->logfd, buf, sizeof buf - 1, from);
	if (n <= 0) {
		size_t l = strlen(err);
		snprintf(err + l, errlen - l, "; it printed nothing");
		return;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	char *line = strrchr(buf, '\n');
	line = line != NULL ? line + 1 : buf;
	cf_escape(esc, sizeof esc, (const unsigned char *)line, strlen(line));
	size_t l = strlen(err);
	snprintf(err + l, errlen - l, "; its last output: %s", esc);
}

/* With {port} and no listening line: is 127.0.0.1:port serving proto? */
static int probe(unsigned port, int proto)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)port);
	int fd = socket(AF_INET, (proto == CF_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int ok = 0;
	if (proto == CF_TCP) {
		ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	} else if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && send(fd, "probe", 5, 0) == 5) {
		struct pollfd p = {fd, POLLIN, 0};
		char b[16];
		ok = poll(&p, 1, 100) == 1 && recv(fd, b, sizeof b, MSG_DONTWAIT) >= 0;
	}
	close(fd);
	return ok;
}

static int spawn(struct cf_server *s, int start_ms, struct cf_target *t, char *err, size_t errlen)
{
	char *cmd;
	s->port = strstr(s->cmd, "{port}") != NULL ? free_port() : 0;
	if (strstr(s->cmd, "{port}") != NULL && s->port == 0) {
		snprintf(err, errlen, "no free port on 127.0.0.1 for {port}");
		return -1;
	}
	/* a simple command is exec'd by the shell, so its death (a signal) is seen first-hand */
	size_t word = strcspn(s->cmd, " \t");
	int simple = strpbrk(s->cmd, ";&|<>()$`\n\\\"'") == NULL && memchr(s->cmd, '=', word) == NULL;
	/* ... but not a shell builtin, which 'exec' cannot run ('exec exit 3' would report 127) */
	static const char *const builtins[] = {"exit", "cd", "set", "export", "eval", "exec", "ulimit", "umask", "trap",
					       "wait", "read", "shift", "unset", "return", "alias", ".", ":"};
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (strlen(builtins[i]) == word && strncmp(s->cmd, builtins[i], word) == 0)
			simple = 0;
	char *sub = substitute(s->cmd, s->port);
	if (sub == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cmd = malloc(strlen(sub) + 6);
	if (cmd != NULL)
		sprintf(cmd, "%s%s", simple ? "exec " : "", sub);
	free(sub);
	if (cmd == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(s->logpath, sizeof s->logpath, "/tmp/conform-server-XXXXXX");
	int wfd = mkostemp(s->logpath, O_CLOEXEC);
	if (wfd < 0) {
		snprintf(err, errlen, "log file %s: %s", s->logpath, strerror(errno));
		free(cmd);
		return -1;
	}
	if (s->logfd >= 0)
		close(s->logfd);
	s->logfd = open(s->logpath, O_RDONLY | O_CLOEXEC);
	unlink(s->logpath);
	s->exited = 0;
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(wfd);
		free(cmd);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(wfd, 1);
		dup2(wfd, 2);
		signal(SIGPIPE, SIG_DFL);
		if (s->nofile > 0) {
			struct rlimit rl = {(rlim_t)s->nofile, (rlim_t)s->nofile};
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	remember(s->pid, pid);
	close(wfd);
	free(cmd);
	s->pid = pid;

	memset(t, 0, sizeof *t);
	uint64_t end = cf_now_ns() + (uint64_t)start_ms * 1000000u;
	for (;;) {
		int found = scan_log(s, t);
		if ((found & s->proto) == s->proto)
			return 0;
		if (found == 0 && s->port != 0) {
			int ok = 1;
			for (int p = CF_TCP; p <= CF_UDP; p <<= 1)
				if ((s->proto & p) && !probe(s->port, p))
					ok = 0;
			if (ok) {
				char a[32];
				snprintf(a, sizeof a, "127.0.0.1:%u", s->port);
				if (s->proto & CF_TCP) {
					net_parse(a, &t->tcp, err, errlen);
					t->has_tcp = 1;
				}
				if (s->proto & CF_UDP) {
					net_parse(a, &t->udp, err, errlen);
					t->has_udp = 1;
				}
				return 0;
			}
		}
		char why[128];
		if (cf_server_dead(s, why, sizeof why)) {
			snprintf(err, errlen, "server command '%s' %s before it was listening", s->cmd, why);
			add_last_line(s, err, errlen);
			return -1;
		}
		if (cf_ms_left(end) == 0) {
			int missing = s->proto & ~found;
			snprintf(err, errlen, "server command '%s' did not start listening%s within %d ms (no 'listening on "
					      "%s ADDR:PORT' line%s)", s->cmd, s->proto == (CF_TCP | CF_UDP) ? " on tcp and udp" : "",
				 start_ms, missing == CF_UDP ? "udp" : missing == CF_TCP ? "tcp" : "tcp|udp",
				 s->port ? " and no answer on {port}" : "");
			add_last_line(s, err, errlen);
			return -1;
		}
		usleep(20000);
	}
}

struct cf_server *cf_server_start(const char *cmd, int proto, int nofile, int start_ms, struct cf_target *t,
				  char *err, size_t errlen)
{
	struct cf_server *s = calloc(1, sizeof *s);
	if (s == NULL || (s->cmd = strdup(cmd)) == NULL) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->proto = proto;
	s->nofile = nofile;
	s->logfd = -1;
	if (spawn(s, start_ms, t, err, errlen) < 0) {
		cf_server_stop(s);
		return NULL;
	}
	return s;
}

int cf_server_restart(struct cf_server *s, int start_ms, struct cf_target *t, char *err, size_t errlen)
{
	char why[128];
	kill(-s->pid, SIGKILL); /* it, or the leftovers of its process group */
	for (int i = 0; i < 200 && (!cf_server_dead(s, why, sizeof why) || kill(-s->pid, 0) == 0); i++)
		usleep(5000);
	s->restarts++;
	return spawn(s, start_ms, t, err, errlen);
}

int cf_server_stop(struct cf_server *s)
{
	int ms = -1;
	if (s == NULL)
		return 0;
	if (s->pid > 0) {
		char why[128];
		if (!cf_server_dead(s, why, sizeof why)) {
			uint64_t t0 = cf_now_ns();
			kill(-s->pid, SIGTERM);
			/* stopped means the whole process group is gone, not just the shell */
			while ((!cf_server_dead(s, why, sizeof why) || kill(-s->pid, 0) == 0) &&
			       cf_now_ns() - t0 < 2000000000ull)
				usleep(5000);
			if (s->exited && kill(-s->pid, 0) < 0)
				ms = (int)((cf_now_ns() - t0) / 1000000u);
			else {
				kill(-s->pid, SIGKILL);
				for (int i = 0; i < 200 && !cf_server_dead(s, why, sizeof why); i++)
					usleep(5000);
			}
		} else {
			ms = 0;
		}
		kill(-s->pid, SIGKILL); /* anything it left behind in its group */
		char w2[128];
		for (int i = 0; i < 100 && kill(-s->pid, 0) == 0; i++) {
			cf_server_dead(s, w2, sizeof w2);
			usleep(2000);
		}
		remember(s->pid, 0);
	}
	if (s->logfd >= 0)
		close(s->logfd);
	free(s->cmd);
	free(s);
	return ms;
}

void cf_server_tail(struct cf_server *s, FILE *f, const char *prefix, int lines)
{
	char buf[4096];
	off_t end = lseek(s->logfd, 0, SEEK_END);
	off_t from = end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0;
	ssize_t n = pread(s->logfd, buf, sizeof buf - 1, from);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *p = buf + n;
	int k = 0;
	while (p > buf && k <= lines) {
		p--;
		if (*p == '\n' && p + 1 < buf + n)
			k++;
	}
	if (k > lines)
		p++;
	for (char *line = strtok(p, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char esc[300];
		cf_escape(esc, sizeof esc, (const unsigned char *)line, strlen(line));
		fprintf(f, "%s%s\n", prefix, esc);
	}
}
