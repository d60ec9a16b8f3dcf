/* test_child.c - CUnit tests of lib/child.c: the reference servers started on port 0 and on {port},
 * their addresses read, probed and stopped; commands that exit at once, never print, ignore SIGTERM or
 * cannot be run; death, restart, the log's tail and bound, the child's limits and signals, the
 * emergency kill, shell or direct execution, and commands run to their end within a bound (child_run) or
 * started, talked to and waited for (child_spawn, child_finish).
 * Usage: test_child BINDIR (the directory holding tcp-upper and udp-upper). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "unit.h"
#include "util.h"

static const char *bindir;

/* Starts the command (shell nonzero: under /bin/sh) waiting for want; returns 0 or -1, err filled. */
static int start_cmd(const char *cmd, int shell, int want, int start_ms, struct child **c,
                     struct child_addrs *a, char *err, size_t errlen)
{
	struct child_options o = {.command = cmd, .shell = shell, .want = want, .start_ms = start_ms};
	return child_start(&o, c, a, err, errlen);
}

/* The address as text, for messages and comparisons. */
static const char *addr_text(const struct net_addr *a, char *buf)
{
	return net_format((const struct sockaddr *)&a->ss, buf, NET_ADDRSTRLEN);
}

/* The whole log of c, NUL-terminated, into buf. */
static void read_log(const struct child *c, char *buf, size_t len)
{
	FILE *f = fopen(child_log_path(c), "r");
	size_t n = f != NULL ? fread(buf, 1, len - 1, f) : 0;
	buf[n] = '\0';
	if (f != NULL)
		fclose(f);
}

/* Starts BINDIR/prog -l 127.0.0.1:0 given as argv, checks the address, probes it and stops it. */
static void serve_port0(const char *prog, int proto)
{
	char path[512], err[400], name[NET_ADDRSTRLEN];
	const char *argv[] = {path, "-l", "127.0.0.1:0", NULL};
	struct child_options o;
	struct child *c;
	struct child_addrs a;
	struct child_exit e;
	snprintf(path, sizeof path, "%s/%s", bindir, prog);
	memset(&o, 0, sizeof o);
	o.argv = argv;
	o.want = proto;
	CU_ASSERT_FATAL(child_start(&o, &c, &a, err, sizeof err) == 0);
	const struct net_addr *at = proto == CHILD_TCP ? &a.tcp : &a.udp;
	CHECK((proto == CHILD_TCP ? a.has_tcp : a.has_udp) && net_port((const struct sockaddr *)&at->ss) != 0,
	      "%s: no address with a port", prog);
	CHECK(strncmp(addr_text(at, name), "127.0.0.1:", 10) == 0, "%s: address %s", prog, name);
	CHECK(a.port == 0 && !a.has_tcp6 && !a.has_udp6, "%s: no {port}, no IPv6 line", prog);
	CHECK(child_probe(c, proto, 1000, err, sizeof err) == 0, "%s: probe: %s", prog, err);
	CHECK(child_dead(c, err, sizeof err) == 0, "%s: dead while serving", prog);
	child_stop(c, SIGTERM, 3000, &e);
	CHECK(e.end == CHILD_END_SIGNAL && WIFEXITED(e.status) && WEXITSTATUS(e.status) == 0,
	      "%s: SIGTERM: end %d, %s", prog, (int)e.end, e.why);
	CHECK(strcmp(e.why, "exited with status 0") == 0, "%s: why '%s'", prog, e.why);
	CHECK(child_probe(c, proto, 200, err, sizeof err) < 0, "%s: probe after the stop passed", prog);
	child_free(c);
}

static void test_tcp_port0(void)
{
	serve_port0("tcp-upper", CHILD_TCP);
}

static void test_udp_port0(void)
{
	serve_port0("udp-upper", CHILD_UDP);
}

/* {port} in a command string (no shell): one free port substituted, and it is where the server is. */
static void test_port_substituted(void)
{
	char cmd[600], err[400];
	struct child *c;
	struct child_addrs a;
	for (int proto = CHILD_TCP; proto <= CHILD_UDP; proto++) {
		snprintf(cmd, sizeof cmd, "%s/%s -l 127.0.0.1:{port}", bindir,
		         proto == CHILD_TCP ? "tcp-upper" : "udp-upper");
		CU_ASSERT_FATAL(start_cmd(cmd, 0, proto, 0, &c, &a, err, sizeof err) == 0);
		const struct net_addr *at = proto == CHILD_TCP ? &a.tcp : &a.udp;
		CHECK(a.port != 0 && net_port((const struct sockaddr *)&at->ss) == a.port,
		      "{port} %u, listens on %u", a.port, net_port((const struct sockaddr *)&at->ss));
		CHECK(strcmp(child_command(c), cmd) == 0, "command '%s'", child_command(c));
		CHECK(child_probe(c, proto, 1000, err, sizeof err) == 0, "probe: %s", err);
		child_free(c);
	}
}

/* {port} with no listening line (the server's stderr thrown away): ready once the port answers. */
static void test_port_probed(void)
{
	char cmd[600], err[400];
	struct child *c;
	struct child_addrs a;
	snprintf(cmd, sizeof cmd, "%s/tcp-upper -l 127.0.0.1:{port} 2>/dev/null", bindir);
	CU_ASSERT_FATAL(start_cmd(cmd, 1, CHILD_TCP, 0, &c, &a, err, sizeof err) == 0);
	CHECK(a.has_tcp && net_port((const struct sockaddr *)&a.tcp.ss) == a.port, "probed address");
	child_free(c);
	snprintf(cmd, sizeof cmd, "%s/udp-upper -l 127.0.0.1:{port} 2>/dev/null", bindir);
	CU_ASSERT_FATAL(start_cmd(cmd, 1, CHILD_UDP, 0, &c, &a, err, sizeof err) == 0);
	CHECK(a.has_udp && net_port((const struct sockaddr *)&a.udp.ss) == a.port, "probed UDP address");
	child_free(c);
}

/* Two lines, tcp and udp (and IPv6 ones): both read, IPv4 preferred, IPv6 kept apart. */
static void test_two_lines(void)
{
	char err[400], name[NET_ADDRSTRLEN];
	struct child *c;
	struct child_addrs a;
	const char *cmd =
	    "echo 'listening on tcp [::1]:7001'; echo 'listening on tcp 127.0.0.1:7002'; "
	    "echo 'listening on udp 127.0.0.1:7003'; echo 'listening on udp [::1]:7004'; exec sleep 30";
	CU_ASSERT_FATAL(start_cmd(cmd, 1, CHILD_TCP | CHILD_UDP, 0, &c, &a, err, sizeof err) == 0);
	CHECK(strcmp(addr_text(&a.tcp, name), "127.0.0.1:7002") == 0, "tcp %s", name);
	CHECK(strcmp(addr_text(&a.udp, name), "127.0.0.1:7003") == 0, "udp %s", name);
	CHECK(a.has_tcp6 && strcmp(addr_text(&a.tcp6, name), "[::1]:7001") == 0, "tcp6 %s", name);
	CHECK(a.has_udp6 && strcmp(addr_text(&a.udp6, name), "[::1]:7004") == 0, "udp6 %s", name);
	child_free(c);
}

static void test_exits_at_once(void)
{
	char err[400];
	struct child *c = (struct child *)&err;
	struct child_addrs a;
	CHECK(start_cmd("true", 0, CHILD_TCP, 0, &c, &a, err, sizeof err) < 0 && c == NULL, "true started");
	CHECK(strcmp(err, "'true' exited with status 0 before it was listening; it printed nothing") == 0,
	      "'%s'", err);
	CHECK(start_cmd("echo bad option >&2; exit 2", 1, CHILD_TCP, 0, &c, &a, err, sizeof err) < 0,
	      "exit 2");
	CHECK(strstr(err, "exited with status 2 before it was listening; its last output: bad option") !=
	          NULL,
	      "'%s'", err);
	CHECK(start_cmd("kill -SEGV $$", 1, CHILD_TCP, 0, &c, &a, err, sizeof err) < 0, "SIGSEGV");
	CHECK(strstr(err, "killed by signal 11 (SIGSEGV) before it was listening") != NULL, "'%s'", err);
}

static void test_never_prints(void)
{
	char err[400];
	struct child *c;
	struct child_addrs a;
	uint64_t t0 = util_now_ns();
	CHECK(start_cmd("sleep 30", 0, CHILD_UDP, 300, &c, &a, err, sizeof err) < 0, "sleep started");
	CHECK(
	    strcmp(err,
	           "'sleep 30' did not start listening within 300 ms (no 'listening on udp ADDR:PORT' line); "
	           "it printed nothing") == 0,
	    "'%s'", err);
	CHECK(util_now_ns() - t0 < 3000000000ull, "took %llu ms",
	      (unsigned long long)((util_now_ns() - t0) / 1000000));
	CHECK(start_cmd("echo 'listening on tcp 127.0.0.1:7002'; exec sleep 30", 1, CHILD_TCP | CHILD_UDP,
	                300, &c, &a, err, sizeof err) < 0,
	      "only tcp");
	CHECK(strstr(err,
	             "did not start listening on tcp and udp within 300 ms (no 'listening on udp ADDR:PORT' "
	             "line); its last output: listening on tcp 127.0.0.1:7002") != NULL,
	      "'%s'", err);
}

static void test_missing_program(void)
{
	char err[400];
	struct child *c;
	struct child_addrs a;
	const char *argv[] = {"/nonexistent/server", "-l", "127.0.0.1:0", NULL};
	struct child_options o;
	memset(&o, 0, sizeof o);
	o.argv = argv;
	o.want = CHILD_TCP;
	CHECK(child_start(&o, &c, &a, err, sizeof err) < 0, "started");
	CHECK(strcmp(err, "cannot run '/nonexistent/server': No such file or directory") == 0, "'%s'", err);
	CHECK(start_cmd("no-such-program-here x", 0, CHILD_TCP, 0, &c, &a, err, sizeof err) < 0, "started");
	CHECK(strcmp(err, "cannot run 'no-such-program-here': No such file or directory") == 0, "'%s'", err);
	CHECK(start_cmd(" \t ", 0, CHILD_TCP, 0, &c, &a, err, sizeof err) < 0, "empty started");
	CHECK(strcmp(err, "the server command is empty") == 0, "'%s'", err);
	o.log_max = 100; /* the drain process ends with the pipe, at once */
	uint64_t t0 = util_now_ns();
	CHECK(child_start(&o, &c, &a, err, sizeof err) < 0, "started with a bounded log");
	CHECK(util_now_ns() - t0 < 1000000000u, "a bounded log took %llu ms",
	      (unsigned long long)((util_now_ns() - t0) / 1000000));
	o.command = "true";
	CHECK(child_start(&o, &c, &a, err, sizeof err) < 0, "argv and command");
}

/* A server killed from outside: its death noticed once, in words; the probe fails; a restart serves. */
static void test_death_and_restart(void)
{
	char cmd[600], err[400], why[128];
	struct child *c;
	struct child_addrs a, b;
	struct child_exit e;
	snprintf(cmd, sizeof cmd, "%s/tcp-upper -l 127.0.0.1:{port}", bindir);
	CU_ASSERT_FATAL(start_cmd(cmd, 0, CHILD_TCP, 0, &c, &a, err, sizeof err) == 0);
	kill(child_pid(c), SIGKILL);
	CHECK(child_wait(c, 2000) == 1, "death not seen");
	CHECK(child_dead(c, why, sizeof why) == 1 && strcmp(why, "killed by signal 9 (SIGKILL)") == 0,
	      "why '%s'", why);
	int st = 0;
	CHECK(child_status(c, &st) == 1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
	CHECK(child_probe(c, CHILD_TCP, 500, err, sizeof err) < 0 &&
	          strstr(err, "killed by signal 9") != NULL,
	      "probe of the dead: '%s'", err);
	CU_ASSERT_FATAL(child_restart(c, &b, err, sizeof err) == 0);
	CHECK(child_restarts(c) == 1, "restarts %d", child_restarts(c));
	CHECK(b.port != 0 && net_port((const struct sockaddr *)&b.tcp.ss) == b.port, "restart port");
	CHECK(child_probe(c, CHILD_TCP, 1000, err, sizeof err) == 0, "probe after the restart: %s", err);
	CHECK(child_dead(c, why, sizeof why) == 0, "dead after the restart");
	kill(child_pid(c), SIGKILL);
	child_wait(c, 2000);
	child_stop(c, SIGTERM, 1000, &e);
	CHECK(e.end == CHILD_END_BEFORE && e.ms == 0 && WIFSIGNALED(e.status), "stop of the dead: end %d",
	      (int)e.end);
	child_free(c);
}

/* A server ignoring SIGTERM is killed after the wait; one leaving a process in its group too. */
static void test_stop_kills(void)
{
	char err[400];
	struct child *c;
	struct child_addrs a;
	struct child_exit e;
	CU_ASSERT_FATAL(start_cmd("trap '' TERM; echo 'listening on tcp 127.0.0.1:7002'; exec sleep 30", 1,
	                          CHILD_TCP, 0, &c, &a, err, sizeof err) == 0);
	child_stop(c, SIGTERM, 300, &e);
	CHECK(e.end == CHILD_END_KILLED && e.ms >= 300 && e.ms < 2000, "end %d after %ld ms", (int)e.end,
	      e.ms);
	CHECK(strcmp(e.why, "killed by signal 9 (SIGKILL)") == 0, "why '%s'", e.why);
	child_free(c);
	/* the server ends on SIGTERM, a child of its ignores it (and says so once it does): the group is
	 * not gone, so it is killed */
	CU_ASSERT_FATAL(
	    start_cmd("sh -c \"trap '' TERM; echo 'listening on tcp 127.0.0.1:7002'; exec sleep 31\" & "
	              "exec sleep 30",
	              1, CHILD_TCP, 0, &c, &a, err, sizeof err) == 0);
	pid_t group = child_pid(c);
	child_stop(c, SIGTERM, 300, &e);
	CHECK(e.end == CHILD_END_KILLED && WIFSIGNALED(e.status) && WTERMSIG(e.status) == SIGTERM,
	      "end %d, %s", (int)e.end, e.why);
	CHECK(kill(-group, 0) < 0 && errno == ESRCH, "the group is still there");
	child_free(c);
}

/* The log's tail and last line; a given log path kept; a bounded log. */
static void test_log(void)
{
	char err[400], path[256], buf[4096];
	struct child *c;
	struct child_addrs a;
	struct child_options o;
	memset(&o, 0, sizeof o);
	snprintf(path, sizeof path, "%s/test-child-%d.log", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
	         (int)getpid());
	o.command = "printf 'one\\ntwo\\tx\\nlistening on tcp 127.0.0.1:7002\\n'; exec sleep 30";
	o.shell = 1;
	o.want = CHILD_TCP;
	o.log_path = path;
	CU_ASSERT_FATAL(child_start(&o, &c, &a, err, sizeof err) == 0);
	CHECK(strcmp(child_log_path(c), path) == 0, "log path %s", child_log_path(c));
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CU_ASSERT_FATAL(f != NULL);
	child_tail(c, f, "| ", 2);
	fclose(f);
	CHECK(strcmp(text, "| two\\tx\n| listening on tcp 127.0.0.1:7002\n") == 0, "tail '%s'", text);
	free(text);
	err[0] = '\0';
	child_add_last_line(c, err, sizeof err);
	CHECK(strcmp(err, "; its last output: listening on tcp 127.0.0.1:7002") == 0, "'%s'", err);
	child_free(c);
	struct stat st;
	CHECK(stat(path, &st) == 0, "a given log is kept");
	unlink(path);

	o.command = "head -c 100000 /dev/zero | tr '\\0' y";
	o.want = 0;
	o.log_path = NULL;
	o.log_max = 1000;
	CU_ASSERT_FATAL(child_start(&o, &c, &a, err, sizeof err) == 0);
	CHECK(child_wait(c, 5000) == 1, "still printing");
	child_stop(c, SIGTERM, 2000, NULL);
	read_log(c, buf, sizeof buf);
	CHECK(strlen(buf) < 1100 && strstr(buf, "[log cut here: more than 1000 bytes]") != NULL,
	      "log of %zu bytes", strlen(buf));
	snprintf(path, sizeof path, "%s", child_log_path(c));
	child_free(c);
	CHECK(stat(path, &st) < 0, "the temporary log is left behind");
}

/* want 0: started, not waited for; the descriptor limit and default signals in the child. */
static void test_limits_and_signals(void)
{
	char err[400], buf[4096];
	struct child *c;
	struct child_addrs a;
	struct child_options o;
	memset(&o, 0, sizeof o);
	o.command = "echo nofile $(ulimit -n); grep SigIgn /proc/self/status; exec sleep 30";
	o.shell = 1;
	o.nofile = 64;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	CU_ASSERT_FATAL(child_start(&o, &c, &a, err, sizeof err) == 0);
	CHECK(child_wait(c, 300) == 0, "ended");
	for (int i = 0; i < 500 && (read_log(c, buf, sizeof buf), strstr(buf, "SigIgn") == NULL); i++)
		util_sleep_ms(10);
	CHECK(strstr(buf, "nofile 64\n") != NULL, "log '%.400s'", buf);
	/* the standard signals (1-31): glibc keeps the real-time ones it uses internally as they were */
	const char *ign = strstr(buf, "SigIgn:");
	CHECK(ign != NULL && (strtoull(ign + 7, NULL, 16) & 0x7fffffffu) == 0, "log '%.400s'", buf);
	signal(SIGUSR1, SIG_DFL);
	child_free(c);
}

/* child_kill_all(): every group killed, the temporary logs removed. */
static void test_kill_all(void)
{
	char err[400], path[2][256], why[128];
	struct child *c[2];
	struct child_addrs a;
	struct stat st;
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_FATAL(start_cmd("sleep 30", 0, 0, 0, &c[i], &a, err, sizeof err) == 0);
		snprintf(path[i], sizeof path[i], "%s", child_log_path(c[i]));
	}
	child_kill_all();
	for (int i = 0; i < 2; i++) {
		CHECK(child_wait(c[i], 2000) == 1, "child %d still runs", i);
		CHECK(child_dead(c[i], why, sizeof why) && strcmp(why, "killed by signal 9 (SIGKILL)") == 0,
		      "why '%s'", why);
		CHECK(stat(path[i], &st) < 0, "log %d left", i);
		child_free(c[i]);
	}
}

/* A shell command without shell syntax is the process started; a builtin runs through the shell. */
static void test_shell_or_direct(void)
{
	static const char *const commands[] = {"sleep 30", "exec sleep 30"};
	char err[400], path[64], comm[64] = "";
	struct child *c;
	struct child_addrs a;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		CU_ASSERT_FATAL(start_cmd(commands[i], 1, 0, 0, &c, &a, err, sizeof err) == 0);
		snprintf(path, sizeof path, "/proc/%d/comm", (int)child_pid(c));
		for (int tries = 0; tries < 200 && strcmp(comm, "sleep\n") != 0; tries++, util_sleep_ms(5)) {
			FILE *f = fopen(path, "r");
			if (f != NULL && fgets(comm, sizeof comm, f) == NULL)
				comm[0] = '\0';
			if (f != NULL)
				fclose(f);
		}
		CHECK(strcmp(comm, "sleep\n") == 0, "'%s': the server is '%s'", commands[i], comm);
		child_free(c);
		comm[0] = '\0';
	}
}

/* A memory file holding text, at its start. */
static int memory_file(const char *text)
{
	int fd = memfd_create("test-child", MFD_CLOEXEC);
	if (fd >= 0 &&
	    (write(fd, text, strlen(text)) != (ssize_t)strlen(text) || lseek(fd, 0, SEEK_SET) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Runs a command string with stdin text (NULL: /dev/null), bounded by ms; its stdout and stderr
 * together in out. Returns how it ended, its status in *status. */
static enum child_run_end run_cmd(const char *cmd, int shell, const char *text, int ms, int *status,
                                  char *out, size_t outlen, char *err, size_t errlen)
{
	struct child_options o = {.command = cmd, .shell = shell};
	int in = text != NULL ? memory_file(text) : -1, to = memory_file("");
	const int fds[3] = {in, to, to};
	enum child_run_end end = child_run(&o, fds, ms, status, err, errlen);
	ssize_t n = to >= 0 ? pread(to, out, outlen - 1, 0) : -1;
	out[n > 0 ? n : 0] = '\0';
	if (in >= 0)
		close(in);
	if (to >= 0)
		close(to);
	return end;
}

/* Whether the process whose id a command printed first has gone. */
static int printed_pid_gone(const char *out)
{
	pid_t pid = (pid_t)atoi(out);
	return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
}

/* child_run(): a command that exits, fails, is not found, needs the shell or not, and hangs. */
static void test_run(void)
{
	static const struct {
		const char *cmd;
		int shell;
		const char *in;
		int status;      /* exit status */
		const char *out; /* stdout and stderr, or a part of them (after '*') */
	} cases[] = {
	    {"tr a-z A-Z", 1, "hello\n", 0, "HELLO\n"},
	    {"cat", 0, NULL, 0, ""},
	    {"exit 3", 1, NULL, 3, ""},
	    {"echo oops >&2; exit 4", 1, NULL, 4, "oops\n"},
	    {"no-such-program-here x", 1, NULL, 127, "*not found"},
	    {"echo 'a  b' $((1+2))", 1, NULL, 0, "a  b 3\n"},
	    {"echo 'a  b'", 0, NULL, 0, "'a b'\n"},
	};
	char out[256], err[400];
	int st;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum child_run_end end = run_cmd(cases[i].cmd, cases[i].shell, cases[i].in, 5000, &st, out,
		                                 sizeof out, err, sizeof err);
		const char *want = cases[i].out;
		CHECK(end == CHILD_RUN_ENDED && WIFEXITED(st) && WEXITSTATUS(st) == cases[i].status,
		      "'%s': end %d, status 0x%x: %s", cases[i].cmd, (int)end, st, err);
		CHECK(want[0] == '*' ? strstr(out, want + 1) != NULL : strcmp(out, want) == 0,
		      "'%s' printed '%s'", cases[i].cmd, out);
	}
	const char *argv[] = {"no-such-program-here", NULL};
	struct child_options o = {.argv = argv};
	const int fds[3] = {-1, -1, -1};
	errno = 0;
	CHECK(child_run(&o, fds, 1000, &st, err, sizeof err) == CHILD_RUN_NOT_STARTED && errno == ENOENT,
	      "a missing program started");
	CHECK(strcmp(err, "cannot run 'no-such-program-here': No such file or directory") == 0, "'%s'", err);

	/* what a command leaves in its group goes with it, when it ends and when it is killed */
	CHECK(run_cmd("sleep 30 & echo $!", 1, NULL, 5000, &st, out, sizeof out, err, sizeof err) ==
	          CHILD_RUN_ENDED,
	      "ended: %s", err);
	CHECK(printed_pid_gone(out), "its background process %s is left", out);
	uint64_t t0 = util_now_ns();
	CHECK(run_cmd("sleep 30 & echo $!; exec sleep 30", 1, NULL, 300, &st, out, sizeof out, err,
	              sizeof err) == CHILD_RUN_TIMED_OUT,
	      "a hanging command ended");
	CHECK(util_now_ns() - t0 < 2000000000u, "killed after %llu ms",
	      (unsigned long long)((util_now_ns() - t0) / 1000000));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
	CHECK(strcmp(err, "'sleep 30 & echo $!; exec sleep 30' did not end within 300 ms and was killed") ==
	          0,
	      "'%s'", err);
	CHECK(printed_pid_gone(out), "its child %s is left", out);
}

/* One read of fd, if it becomes readable within ms. Returns read's count, or -1 (also on time-out). */
static ssize_t read_within(int fd, void *buf, size_t len, int ms)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	return poll(&pf, 1, ms) == 1 ? read(fd, buf, len) : -1;
}

/* child_spawn() and child_finish(): a command talked to while it runs, which holds no descriptor of the
 * caller but those it was given; one that does not end, killed after the bound; one that cannot be
 * run; a pid that is not one. */
static void test_spawn(void)
{
	static const char *const cat[] = {"cat", NULL}, *const sleep30[] = {"sleep", "30", NULL},
	                         *const missing[] = {"no-such-program-here", NULL};
	struct child_options o = {.argv = cat};
	char err[400], buf[64];
	int sv[2], p[2], st;
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	const int talk[3] = {sv[1], sv[1], -1};
	pid_t pid = child_spawn(&o, talk, err, sizeof err);
	close(sv[1]);
	CU_ASSERT_FATAL(pid > 0);
	CHECK(write(sv[0], "ping", 4) == 4 && read_within(sv[0], buf, sizeof buf, 2000) == 4 &&
	          memcmp(buf, "ping", 4) == 0,
	      "no echo while it runs");
	/* end of file once cat has ended: no other process holds the pair's other end */
	shutdown(sv[0], SHUT_WR);
	CHECK(read_within(sv[0], buf, sizeof buf, 2000) == 0, "no end of file after cat's end");
	CHECK(child_finish(pid, 2000, &st) == CHILD_RUN_ENDED && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "cat: status 0x%x", st);
	close(sv[0]);

	/* the write end of a pipe, not given, is not inherited: the read end sees its end at once */
	CU_ASSERT_FATAL(pipe(p) == 0);
	o.argv = sleep30;
	const int none[3] = {-1, -1, -1};
	pid = child_spawn(&o, none, err, sizeof err);
	close(p[1]);
	CU_ASSERT_FATAL(pid > 0);
	CHECK(read_within(p[0], buf, sizeof buf, 2000) == 0, "the pipe's write end was inherited");
	close(p[0]);
	uint64_t t0 = util_now_ns();
	CHECK(child_finish(pid, 300, &st) == CHILD_RUN_TIMED_OUT && WIFSIGNALED(st) &&
	          WTERMSIG(st) == SIGKILL,
	      "sleep 30: status 0x%x", st);
	CHECK(util_now_ns() - t0 >= 300000000u && util_now_ns() - t0 < 2000000000u, "killed after %llu ms",
	      (unsigned long long)((util_now_ns() - t0) / 1000000));
	CHECK(kill(pid, 0) < 0 && errno == ESRCH, "sleep 30 is left");

	o.argv = missing;
	errno = 0;
	CHECK(child_spawn(&o, none, err, sizeof err) < 0 && errno == ENOENT, "a missing program started");
	CHECK(strcmp(err, "cannot run 'no-such-program-here': No such file or directory") == 0, "'%s'", err);
	CHECK(child_finish(0, 100, &st) == CHILD_RUN_NOT_STARTED && errno == EINVAL && st == -1,
	      "child_finish(0) did not refuse");
}

int main(int argc, char **argv)
{
	static const struct unit_test tests[] = {
	    {"tcp-upper on port 0: address, probe, SIGTERM", test_tcp_port0},
	    {"udp-upper on port 0: address, probe, SIGTERM", test_udp_port0},
	    {"{port} substituted in a command string", test_port_substituted},
	    {"{port} probed when the server prints nothing", test_port_probed},
	    {"tcp and udp lines, IPv4 preferred", test_two_lines},
	    {"a command that exits at once", test_exits_at_once},
	    {"a command that never prints", test_never_prints},
	    {"a missing program, an empty command", test_missing_program},
	    {"death noticed, restart", test_death_and_restart},
	    {"stop: SIGKILL after the wait, the whole group", test_stop_kills},
	    {"log: tail, last line, kept path, bound", test_log},
	    {"child: descriptor limit, default signals", test_limits_and_signals},
	    {"emergency kill of every group", test_kill_all},
	    {"a shell command without shell syntax runs directly", test_shell_or_direct},
	    {"run to the end: exits, fails, not found, hangs", test_run},
	    {"spawn, talk, finish: ends, hangs, not found", test_spawn},
	};
	bindir = unit_bindir("test_child", argc, argv);
	if (bindir == NULL)
		return 2;
	return unit_run("child", tests, sizeof tests / sizeof tests[0]);
}
