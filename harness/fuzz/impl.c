/* impl.c - the implementation under test as a persistent target (impl.h): started once through
 * lib/child, restarted only after it died; a watchdog that kills its process group when this process
 * ends in any way (libFuzzer leaves with _Exit on a timeout or Ctrl-C, so no exit handler would run);
 * the AFL++ edge map in SysV shared memory; its log read for sanitizer reports; its descriptors,
 * threads and memory from /proc against what it held after its first connections. */
#include "impl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child.h"
#include "util.h"

enum {
	LOG_MAX = 256 * 1024 * 1024, /* the server's log is cut here (its reports after it are not read) */
	RES_WARMUP = 1000,           /* connections before the resources' baseline is taken */
	RES_EVERY = 5000,            /* connections between two checks of the resources */
	RES_BYTES_PER_CONN = 16384,  /* memory a server may keep per connection once it is gone (conform's) */
	RES_SETTLE_MS = 1000,        /* a server over its bounds gets this long to give back */
	RES_SLACK_BYTES = 32 << 20,  /* memory any server may grow by (an allocator's arenas, caches) */
	NFEATURES = 1024,
	MAP_LOOKS = 16 /* a black box's map is looked at after its first inputs only (64 KiB each) */
};

struct sample {
	long fds, threads, rss_kib;
};

struct impl {
	struct impl_options o;
	struct child *child;
	struct child_addrs addrs;
	struct impl_target t;
	int shm_id;
	unsigned char *map;
	size_t map_size;
	int instrumented;
	int looks; /* inputs after which the map was looked at for a first edge */
	pid_t watchdog;
	int watch_fd;
	long log_seen;
	int restart;
	struct sample base;
	int have_base;
	unsigned long base_conns, next_check;
	unsigned char features[NFEATURES];
};

int impl_found(struct impl_finding *f, const char *rule, const char *where, const char *fmt, ...)
{
	va_list ap;
	snprintf(f->rule, sizeof f->rule, "%s", rule);
	snprintf(f->where, sizeof f->where, "%s", where);
	va_start(ap, fmt);
	vsnprintf(f->what, sizeof f->what, fmt, ap);
	va_end(ap);
	return 1;
}

/* ---- the watchdog: a shell blocked on a pipe only this process holds; its end kills the group ---- */

static void watchdog_stop(struct impl *m)
{
	int status;
	if (m->watch_fd >= 0)
		close(m->watch_fd);
	m->watch_fd = -1;
	if (m->watchdog > 0)
		child_finish(m->watchdog, 2000, &status);
	m->watchdog = 0;
}

static int watchdog_start(struct impl *m, char *err, size_t errlen)
{
	int pfd[2];
	char cmd[128];
	watchdog_stop(m);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	snprintf(cmd, sizeof cmd, "read x; kill -9 -%ld 2>/dev/null; exit 0", (long)child_pid(m->child));
	struct child_options w = {.command = cmd, .shell = 1};
	int fd[3] = {pfd[0], -1, -1};
	m->watchdog = child_spawn(&w, fd, err, errlen);
	close(pfd[0]);
	if (m->watchdog < 0) {
		close(pfd[1]);
		m->watchdog = 0;
		return -1;
	}
	m->watch_fd = pfd[1];
	return 0;
}

/* ---- the edge map ---- */

static int map_create(struct impl *m, char *err, size_t errlen)
{
	char id[32], size[32];
	m->shm_id = shmget(IPC_PRIVATE, m->map_size, IPC_CREAT | IPC_EXCL | 0600);
	if (m->shm_id < 0) {
		snprintf(err, errlen, "shmget of a %zu-byte edge map: %s", m->map_size, strerror(errno));
		return -1;
	}
	m->map = shmat(m->shm_id, NULL, 0);
	/* Removed at once: Linux lets the server attach it still, and it goes with the last detach, also
	 * when this process ends without cleaning up. */
	shmctl(m->shm_id, IPC_RMID, NULL);
	if (m->map == (void *)-1) {
		m->map = NULL;
		snprintf(err, errlen, "shmat: %s", strerror(errno));
		return -1;
	}
	memset(m->map, 0, m->map_size);
	snprintf(id, sizeof id, "%d", m->shm_id);
	snprintf(size, sizeof size, "%zu", m->map_size);
	setenv("__AFL_SHM_ID", id, 1);
	setenv("AFL_MAP_SIZE", size, 1);
	return 0;
}

static int map_written(const struct impl *m)
{
	for (size_t i = 0; m->map != NULL && i < m->map_size; i++)
		if (m->map[i] != 0)
			return 1;
	return 0;
}

/* ---- start and restart ---- */

static int target_from_addrs(struct impl *m, char *err, size_t errlen)
{
	int tcp = m->o.proto == IMPL_TCP;
	m->t.addr = tcp ? m->addrs.tcp : m->addrs.udp;
	if (net_loopback(&m->t.addr, err, errlen) < 0)
		return -1;
	m->t.has6 = 0;
	if (!tcp && util_have_ipv6_loopback(SOCK_DGRAM)) {
		char e[256];
		if (m->addrs.has_udp6) {
			m->t.addr6 = m->addrs.udp6;
			m->t.has6 = net_loopback(&m->t.addr6, e, sizeof e) == 0;
		} else if (net_parse("[::1]:0", &m->t.addr6, e, sizeof e) == 0) {
			net_set_port(&m->t.addr6, net_port((const struct sockaddr *)&m->t.addr.ss));
			m->t.has6 = net_probe(&m->t.addr6, SOCK_DGRAM, 200, e, sizeof e) == 0;
		}
	}
	return 0;
}

static int after_start(struct impl *m, char *err, size_t errlen)
{
	m->log_seen = 0;
	m->have_base = 0;
	m->base_conns = m->t.connections;
	m->next_check = m->t.connections + RES_WARMUP;
	if (target_from_addrs(m, err, errlen) < 0 || watchdog_start(m, err, errlen) < 0)
		return -1;
	m->instrumented |= map_written(m);
	return 0;
}

struct impl *impl_open(const struct impl_options *o, char *err, size_t errlen)
{
	struct impl *m = calloc(1, sizeof *m);
	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->o = *o;
	m->shm_id = -1;
	m->watch_fd = -1;
	m->t.idle_ms = o->idle_ms > 0 ? o->idle_ms : IMPL_IDLE_MS;
	m->t.features = m->features;
	m->t.nfeatures = NFEATURES;
	if (o->address != NULL) {
		int type = o->proto == IMPL_TCP ? SOCK_STREAM : SOCK_DGRAM;
		if (net_parse(o->address, &m->t.addr, err, errlen) < 0 ||
		    net_loopback(&m->t.addr, err, errlen) < 0 ||
		    net_probe(&m->t.addr, type, 1000, err, errlen) < 0) {
			free(m);
			return NULL;
		}
		return m;
	}
	m->map_size = o->map_size;
	if (m->map_size > 0 && map_create(m, err, errlen) < 0) {
		impl_close(m);
		return NULL;
	}
	/* A server built with ASan keeps 256 MiB of freed memory in quarantine by default: resident memory
	 * that grows with connections without a leak. 16 MiB keeps its use-after-free checks. */
	const char *asan = getenv("ASAN_OPTIONS");
	if (asan == NULL || strstr(asan, "quarantine_size_mb") == NULL) {
		char opts[1024];
		snprintf(opts, sizeof opts, "%s%squarantine_size_mb=16", asan != NULL ? asan : "",
		         asan != NULL && asan[0] ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
	}
	struct child_options co = {.command = o->command,
	                           .shell = 1,
	                           .want = o->proto == IMPL_TCP ? CHILD_TCP : CHILD_UDP,
	                           .start_ms = 10000,
	                           .log_path = o->log_path,
	                           .log_max = LOG_MAX};
	if (child_start(&co, &m->child, &m->addrs, err, errlen) < 0 || after_start(m, err, errlen) < 0) {
		impl_close(m);
		return NULL;
	}
	return m;
}

/* ---- the log: sanitizer reports ---- */

/* strstr() without the fuzzing engine's interceptor: libFuzzer takes every strstr() and strncmp() an
 * input runs as a hint for its mutations, and the log's markers are no hint for a server's input. */
static char *find(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay != '\0'; hay++) {
		size_t i = 0;
		while (i < n && hay[i] == needle[i])
			i++;
		if (i == n)
			return (char *)hay;
	}
	return NULL;
}

/* The function of the first stack frame after p that is not the sanitizer's own ("#0 0x... in FUNC"). */
static void first_frame(const char *p, char *out, size_t len)
{
	snprintf(out, len, "?");
	for (const char *l = p; (l = find(l, "    #")) != NULL; l++) {
		const char *in = find(l, " in ");
		const char *eol = strchr(l, '\n');
		if (in == NULL || (eol != NULL && in > eol))
			continue;
		in += 4;
		size_t n = strcspn(in, " \n");
		if (in[0] == '_' && in[1] == '_')
			continue; /* interceptors and the sanitizer's own frames */
		snprintf(out, len, "%.*s", (int)(n < 63 ? n : 63), in);
		return;
	}
}

/* Reads the log from where the last call stopped (whole lines) and looks for a sanitizer's report. */
static int scan_log(struct impl *m, struct impl_finding *f)
{
	if (m->child == NULL)
		return 0;
	int fd = open(child_log_path(m->child), O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= m->log_seen) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	size_t n = (size_t)(st.st_size - m->log_seen);
	char *buf = malloc(n + 1);
	ssize_t k = buf != NULL ? pread(fd, buf, n, m->log_seen) : -1;
	close(fd);
	if (k <= 0) {
		free(buf);
		return 0;
	}
	buf[k] = '\0';
	char *end = strrchr(buf, '\n');
	if (end == NULL) {
		free(buf);
		return 0;
	}
	end[1] = '\0';
	m->log_seen += (long)(end + 1 - buf);
	int rc = 0;
	char *p, frame[64], kind[24], where[96];
	static const char *const markers[] = {"ERROR: AddressSanitizer: ", "ERROR: LeakSanitizer: ",
	                                      "ERROR: MemorySanitizer: ", "WARNING: ThreadSanitizer: "};
	const char *marker = NULL;
	for (size_t i = 0; i < sizeof markers / sizeof markers[0] && marker == NULL; i++)
		if ((p = find(buf, markers[i])) != NULL)
			marker = markers[i];
	if (marker != NULL) {
		const char *what = p + strlen(marker);
		size_t w = strcspn(what, " \n");
		snprintf(kind, sizeof kind, "%.*s", (int)(w < 23 ? w : 23), what);
		first_frame(p, frame, sizeof frame);
		snprintf(where, sizeof where, "%s@%s", kind, frame);
		size_t line = strcspn(p, "\n");
		rc = impl_found(f, "ASAN", where,
		                "the server's sanitizer reports %.*s (first frame of its own: %s)%s%s",
		                (int)(line < 300 ? line : 300), p, frame, m->o.log_path ? "; its log: " : "",
		                m->o.log_path ? m->o.log_path : "");
	} else if ((p = find(buf, ": runtime error: ")) != NULL) {
		char *bol = p;
		while (bol > buf && bol[-1] != '\n')
			bol--;
		size_t line = strcspn(p, "\n");
		char place[80];
		snprintf(place, sizeof place, "%.*s", (int)(p - bol < 79 ? p - bol : 79), bol);
		char *col = strrchr(place, ':'); /* file:line:col -> file:line */
		if (col != NULL && strchr(place, ':') != col)
			*col = '\0';
		rc = impl_found(f, "UBSAN", place, "the server's UBSan reports at %s:%.*s; its log: %s",
		                place, (int)(line < 300 ? line : 300), p, child_log_path(m->child));
	}
	free(buf);
	return rc;
}

/* The log of a server that died: waits (bounded) until its last lines are in, then scans it. */
static int scan_log_settled(struct impl *m, struct impl_finding *f)
{
	struct stat st;
	off_t last = -1;
	for (int i = 0; i < 25; i++) { /* at most 500 ms: the log's copier drains the pipe */
		if (stat(child_log_path(m->child), &st) == 0 && st.st_size == last)
			break;
		last = st.st_size;
		util_sleep_ms(20);
	}
	return scan_log(m, f);
}

/* ---- resources ---- */

/* The server's process group: descriptors, threads and resident memory summed over its processes. */
static int sample(const struct impl *m, struct sample *s)
{
	pid_t group = child_pid(m->child);
	DIR *d = opendir("/proc");
	struct dirent *e;
	memset(s, 0, sizeof *s);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		struct util_proc_stat st;
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atol(e->d_name);
		if (util_proc_stat(pid, &st) < 0 || st.group != group)
			continue;
		int fds = util_count_fds(pid);
		long rss = util_rss_kib(pid);
		s->fds += fds > 0 ? fds : 0;
		s->rss_kib += rss > 0 ? rss : 0;
		s->threads += st.threads;
	}
	closedir(d);
	return 0;
}

static long slack(unsigned long n)
{
	return 64 + (long)(n / 100); /* a few, never one per connection; 64: one input's connections */
}

static int over(const struct impl *m, const struct sample *s, unsigned long n)
{
	return s->rss_kib - m->base.rss_kib > (long)((n * RES_BYTES_PER_CONN + RES_SLACK_BYTES) / 1024) ||
	       s->fds - m->base.fds > slack(n) || s->threads - m->base.threads > slack(n);
}

int impl_check_resources(struct impl *m, struct impl_finding *f)
{
	struct sample s;
	if (m->child == NULL || sample(m, &s) < 0)
		return 0;
	if (!m->have_base) {
		m->base = s;
		m->have_base = 1;
		m->base_conns = m->t.connections;
		return 0;
	}
	unsigned long n = m->t.connections - m->base_conns;
	for (int waited = 0; over(m, &s, n) && waited < RES_SETTLE_MS; waited += 50) {
		util_sleep_ms(50);
		sample(m, &s);
	}
	if (!over(m, &s, n))
		return 0;
	const char *where = s.fds - m->base.fds > slack(n)           ? "descriptors"
	                    : s.threads - m->base.threads > slack(n) ? "threads"
	                                                             : "memory";
	return impl_found(
	    f, "LEAK", where,
	    "after %lu more connections (T5, T6) the server holds %+ld descriptors (bound %ld), "
	    "%+ld threads (bound %ld) and %+ld KiB of resident memory (bound %lu KiB: %d bytes "
	    "per connection and 32 MiB)",
	    n, s.fds - m->base.fds, slack(n), s.threads - m->base.threads, slack(n),
	    s.rss_kib - m->base.rss_kib, (n * RES_BYTES_PER_CONN + RES_SLACK_BYTES) / 1024,
	    RES_BYTES_PER_CONN);
}

/* ---- one input ---- */

static int died(struct impl *m, int engine_rc, struct impl_finding *f)
{
	char why[256];
	if (m->child == NULL)
		return 0;
	/* a failed exchange may be the death: give the kernel a moment to report it */
	if (!child_dead(m->child, why, sizeof why) &&
	    !(engine_rc == 1 && child_wait(m->child, 100) && child_dead(m->child, why, sizeof why)))
		return 0;
	m->restart = 1;
	if (scan_log_settled(m, f))
		return 1;
	char what[sizeof f->what];
	snprintf(what, sizeof what, "%s", engine_rc == 1 ? f->what : "");
	char where[64];
	int status = 0;
	child_status(m->child, &status);
	if (WIFSIGNALED(status))
		snprintf(where, sizeof where, "signal-%d", WTERMSIG(status));
	else
		snprintf(where, sizeof where, "exit-%d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	impl_found(f, "DEATH", where, "the server %s during the input%s%s", why,
	           what[0] ? "; its client saw: " : "", what);
	child_add_last_line(m->child, f->what, sizeof f->what);
	return 1;
}

int impl_run(struct impl *m, const unsigned char *data, size_t n, struct impl_finding *f)
{
	char err[512];
	memset(f, 0, sizeof *f);
	if (m->restart) {
		if (child_restart(m->child, &m->addrs, err, sizeof err) < 0 ||
		    after_start(m, err, sizeof err) < 0) {
			snprintf(f->what, sizeof f->what, "the server did not start again: %s", err);
			return -1;
		}
		m->restart = 0;
	}
	if (m->map != NULL && (m->instrumented || m->looks < MAP_LOOKS))
		memset(m->map, 0, m->map_size);
	memset(m->features, 0, sizeof m->features);
	int rc = m->o.proto == IMPL_TCP ? impl_tcp_run(&m->t, data, n, f) : impl_udp_run(&m->t, data, n, f);
	if (rc < 0)
		return -1;
	struct impl_finding g;
	memset(&g, 0, sizeof g);
	if (rc == 1)
		g = *f;
	if (died(m, rc, &g)) {
		*f = g;
		return 1;
	}
	if (m->child != NULL && scan_log(m, f))
		return 1;
	if (rc == 1)
		return 1;
	if (!m->instrumented && m->looks++ < MAP_LOOKS) /* an instrumented server writes at its start */
		m->instrumented = map_written(m);
	if (m->child != NULL && m->t.connections >= m->next_check) {
		m->next_check = m->t.connections + RES_EVERY;
		return impl_check_resources(m, f);
	}
	return 0;
}

const unsigned char *impl_map(const struct impl *m, size_t *len)
{
	int used = m->map != NULL && (m->instrumented || m->looks < MAP_LOOKS);
	*len = used ? m->map_size : 0; /* a black box's map stays empty: not copied */
	return used ? m->map : NULL;
}

const unsigned char *impl_features(const struct impl *m, size_t *len)
{
	*len = sizeof m->features;
	return m->features;
}

int impl_instrumented(const struct impl *m)
{
	return m->instrumented;
}

void impl_describe(const struct impl *m, char *buf, size_t len)
{
	const char *proto = m->o.proto == IMPL_TCP ? "tcp" : "udp";
	char addr[NET_ADDRSTRLEN];
	net_format((const struct sockaddr *)&m->t.addr.ss, addr, sizeof addr);
	if (m->instrumented)
		snprintf(buf, len, "target %s, coverage: instrumented (%zu-byte map); server %s at %s", proto,
		         m->map_size, m->child != NULL ? child_command(m->child) : "given", addr);
	else
		snprintf(buf, len, "target %s, coverage: black-box (%s); server %s at %s", proto,
		         m->child == NULL   ? "a running server: no edge map"
		         : m->map_size == 0 ? "no edge map asked for"
		                            : "the server wrote no edge map",
		         m->child != NULL ? child_command(m->child) : "given", addr);
}

const struct net_addr *impl_address(const struct impl *m)
{
	return &m->t.addr;
}

unsigned long impl_connections(const struct impl *m)
{
	return m->t.connections;
}

void impl_close(struct impl *m)
{
	if (m == NULL)
		return;
	if (m->child != NULL) {
		child_stop(m->child, SIGTERM, 2000, NULL);
		child_free(m->child);
	}
	watchdog_stop(m);
	if (m->map != NULL)
		shmdt(m->map);
	free(m);
}
