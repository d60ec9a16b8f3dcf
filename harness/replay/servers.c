/* servers.c - the reference servers replay starts and the probe of a server after a replay (see
 * servers.h). */
#include "servers.h"

#include <err.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exchange.h"
#include "util.h"

/* The programs, indexed by SERVERS_*. */
static const struct {
	const char *prog, *listen;
	int proto; /* CHILD_TCP or CHILD_UDP */
} ref_programs[SERVERS_COUNT] = {
    {"tcp-upper", "127.0.0.1:0", CHILD_TCP},
    {"udp-upper", "127.0.0.1:0", CHILD_UDP},
    {"tcp-upper", "[::1]:0", CHILD_TCP},
    {"udp-upper", "[::1]:0", CHILD_UDP},
};

int servers_index(const struct dec_flow *f)
{
	return (f->family == 6 ? SERVERS_TCP6 : SERVERS_TCP4) + (f->proto == 17);
}

const struct net_addr *servers_addr(const struct servers *s, int i)
{
	return &s->ref[i].addr;
}

/* A fatal signal stops the reference servers too: they run in process groups of their own. */
static void on_fatal_signal(int sig)
{
	child_kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Starts DIR/prog -l LISTEN (127.0.0.1:0 or [::1]:0), ref_programs[i], and waits until it says where it
 * listens. Returns 0, or -1 with a reason in err. */
static int spawn(const char *dir, int i, struct servers *s, char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *argv[] = {path, "-l", ref_programs[i].listen, NULL};
	struct child_options co;
	struct child_addrs addrs;

	snprintf(path, sizeof path, "%.4000s/%s", dir, ref_programs[i].prog);
	if (access(path, X_OK) < 0) {
		snprintf(err, errlen, "reference server %.300s: %s (build it with make, or give --target)",
		         path, strerror(errno));
		return -1;
	}
	memset(&co, 0, sizeof co);
	co.argv = argv;
	co.want = ref_programs[i].proto;
	co.start_ms = 5000;
	if (child_start(&co, &s->ref[i].child, &addrs, err, errlen) < 0)
		return -1;
	s->ref[i].addr = ref_programs[i].proto == CHILD_TCP ? addrs.tcp : addrs.udp;
	return 0;
}

static void self_dir(const char *argv0, char *dir, size_t len)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);

	if (n > 0)
		buf[n] = 0;
	else
		snprintf(buf, sizeof buf, "%s", argv0);
	snprintf(dir, len, "%s", dirname(buf));
}

int servers_start(struct servers *s, unsigned needs, const char *argv0)
{
	char dir[PATH_MAX], err[512];
	int i, have6 = 0;

	self_dir(argv0, dir, sizeof dir);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGHUP, on_fatal_signal);
	/* IPv6 flows go to reference servers on [::1], so they are replayed over IPv6 (SPEC B1). A host
	 * without an IPv6 loopback skips them (B1 is a SHOULD there). */
	for (i = 0; i < SERVERS_COUNT; i++) {
		if (!(needs & (1u << i)))
			continue;
		if (i >= SERVERS_TCP6 && !have6 && !(have6 = util_have_ipv6_loopback(SOCK_DGRAM)))
			break;
		if (spawn(dir, i, s, err, sizeof err) < 0) {
			warnx("%s", err);
			return -1;
		}
	}
	return have6;
}

/* "probe" and the client's FIN on fd, connected: see servers_probe(). */
static int probe(int fd, int timeout_ms, char *err, size_t errlen)
{
	static const unsigned char q[] = "probe";
	struct xchg_expect e = {.mode = XCHG_MODE_X1,
	                        .sent = q,
	                        .sent_len = sizeof q - 1,
	                        .half_close = 1,
	                        .close = XCHG_CLOSE_ANY};
	struct xchg_limits l = {.budget_ms = timeout_ms};
	struct xchg_run_result res;
	struct xchg_conn c;
	const struct xchg_oracle *o = &c.oracle;

	xchg_conn_init(&c, fd, 1, &e);
	c.until = XCHG_UNTIL_GOT;
	c.until_got = sizeof q - 1;
	if (xchg_run(&c, 1, &l, &res, err, errlen) == XCHG_RUN_ERROR)
		return -1;
	if (o->verdict == XCHG_WRONG_BYTE || o->verdict == XCHG_EXTRA_BYTES)
		snprintf(err, errlen, "wrong answer to a probe");
	else if (o->got >= sizeof q - 1)
		return 0;
	else if (c.reset_on_send)
		snprintf(err, errlen, "send: %s", strerror(c.error));
	else if (o->fin || o->rst)
		snprintf(err, errlen, "probe: %s",
		         o->rst && c.error ? strerror(c.error) : "connection closed before the answer");
	else
		snprintf(err, errlen, "no answer to a probe within %d ms", timeout_ms);
	return -1;
}

int servers_probe(const struct net_addr *t, int timeout_ms, char *err, size_t errlen)
{
	int fd = net_connect(t, SOCK_STREAM, timeout_ms, err, errlen), rc;

	if (fd < 0)
		return -1;
	rc = probe(fd, timeout_ms, err, errlen);
	close(fd);
	return rc;
}

int servers_dead(const struct servers *s)
{
	char why[128];
	int dead = 0, i, st;

	for (i = 0; i < SERVERS_COUNT; i++) {
		struct child *c = s->ref[i].child;
		if (!c || !child_dead(c, why, sizeof why) || !child_status(c, &st))
			continue;
		if (WIFSIGNALED(st))
			warnx("the reference server (pid %ld) died during the replay: signal %d",
			      (long)child_pid(c), WTERMSIG(st));
		else
			warnx("the reference server (pid %ld) exited during the replay with status %d",
			      (long)child_pid(c), WEXITSTATUS(st));
		dead++;
	}
	return dead;
}

void servers_stop(struct servers *s, int verbose)
{
	for (int i = 0; i < SERVERS_COUNT; i++) {
		struct child *c = s->ref[i].child;
		if (!c)
			continue;
		child_stop(c, SIGTERM, 2000, NULL);
		if (verbose)
			child_tail(c, stderr, "", 0);
		child_free(c);
		s->ref[i].child = NULL;
	}
}
