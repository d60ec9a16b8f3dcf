/* host.c - the kernel's drop counter of the server's UDP sockets and the host's load, from /proc
 * (host.h). */
#include "host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

long long host_udp_drops(const struct case_target *t)
{
	unsigned ports[2];
	size_t n = 0;
	long long sum = -1;
	if (t->has_udp)
		ports[n++] = net_port((const struct sockaddr *)&t->udp.ss);
	if (t->has_udp6)
		ports[n++] = net_port((const struct sockaddr *)&t->udp6.ss);
	if (n == 0)
		return -1;
	for (int attempt = 0; attempt < 3 && sum < 0; attempt++) /* a line skipped: read again */
		sum = util_udp_drops(ports, n);
	return sum;
}

/* Datagrams the host dropped in its backlog of received packets, every CPU (the second column of
 * /proc/net/softnet_stat, hexadecimal), or -1. */
static long long backlog_drops(void)
{
	char *text = util_read_proc_table("/proc/net/softnet_stat"), *save = NULL;
	long long sum = 0;
	if (text == NULL)
		return -1;
	for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long processed, dropped;
		if (sscanf(line, "%llx %llx", &processed, &dropped) == 2)
			sum += (long long)dropped;
	}
	free(text);
	return sum;
}

void host_drops_read(const struct case_target *t, struct host_drops *d)
{
	d->socket = host_udp_drops(t);
	d->backlog = backlog_drops();
}

/* The growth of both counters since before, each clamped at 0 (unknown: 0). */
static void grown(const struct case_target *t, const struct host_drops *before, struct host_drops *g)
{
	struct host_drops now;
	host_drops_read(t, &now);
	g->socket = before->socket >= 0 && now.socket >= 0
	                ? (now.socket > before->socket ? now.socket - before->socket : 0)
	                : -1;
	g->backlog =
	    before->backlog >= 0 && now.backlog > before->backlog ? now.backlog - before->backlog : 0;
}

long long host_drops_since(const struct case_target *t, const struct host_drops *before)
{
	struct host_drops g;
	grown(t, before, &g);
	return g.socket;
}

int host_excuse_loss(struct case_context *c, const struct host_drops *before, size_t missing,
                     const char *what, char *why, size_t len)
{
	struct host_drops g;
	grown(c->target, before, &g);
	why[0] = '\0';
	if (g.socket < 0) {
		snprintf(why, len, " (the kernel's drop counter of the server's socket could not be read)");
		return 0;
	}
	long long dropped = g.socket + g.backlog;
	if (missing == 0 || dropped < (long long)missing) {
		if (dropped > 0)
			snprintf(
			    why, len,
			    "; the kernel dropped %lld datagram%s at the server's socket and %lld in the "
			    "host's backlog meanwhile, fewer than the %zu unanswered: the server lost the "
			    "rest",
			    g.socket, g.socket == 1 ? "" : "s", g.backlog, missing);
		else
			snprintf(
			    why, len,
			    "; the kernel dropped none at the server's socket nor in the host's backlog: the "
			    "server lost them");
		return 0;
	}
	struct case_result *r = c->result;
	size_t used = strlen(r->note);
	if (g.socket > 0) {
		r->kernel_drops += g.socket;
		used +=
		    (size_t)snprintf(r->note + used, sizeof r->note - used,
		                     "%sthe kernel dropped %lld datagram%s at the server's socket (receive "
		                     "buffer full) during %s: size SO_RCVBUF for bursts",
		                     used ? "; " : "", g.socket, g.socket == 1 ? "" : "s", what);
	}
	if (g.backlog > 0 && used + 1 < sizeof r->note)
		snprintf(
		    r->note + used, sizeof r->note - used,
		    "%sthe host dropped %lld packet%s in its backlog (net.core.netdev_max_backlog, every "
		    "program's traffic) during %s: the host's loss",
		    used ? "; " : "", g.backlog, g.backlog == 1 ? "" : "s", what);
	return 1;
}

/* Looks for the socket at local port `local`, remote port `remote` in one /proc/net/tcp* file. */
static int find_queues(const char *path, unsigned local, unsigned remote, long long *send, long long *receive)
{
	char *text = util_read_proc_table(path), *save = NULL;
	int found = 0;
	if (text == NULL)
		return 0;
	strtok_r(text, "\n", &save); /* the header */
	for (char *line; !found && (line = strtok_r(NULL, "\n", &save)) != NULL;) {
		char l[128], r[128];
		unsigned long long tx, rx;
		unsigned lp, rp;
		/* sl local rem st tx_queue:rx_queue ... */
		if (sscanf(line, " %*s %127s %127s %*s %llx:%llx", l, r, &tx, &rx) != 4)
			continue;
		char *lc = strrchr(l, ':'), *rc = strrchr(r, ':');
		if (lc == NULL || rc == NULL || sscanf(lc + 1, "%x", &lp) != 1 ||
		    sscanf(rc + 1, "%x", &rp) != 1)
			continue;
		if (lp == local && rp == remote) {
			*send = (long long)tx;
			*receive = (long long)rx;
			found = 1;
		}
	}
	free(text);
	return found;
}

int host_tcp_queues(const struct net_addr *server, unsigned client_port, long long *send, long long *receive)
{
	unsigned port = net_port((const struct sockaddr *)&server->ss);
	for (int attempt = 0; attempt < 3; attempt++) /* a line skipped: read again */
		if (find_queues("/proc/net/tcp", port, client_port, send, receive) ||
		    find_queues("/proc/net/tcp6", port, client_port, send, receive))
			return 0;
	return -1;
}

char *host_load(char *buf, size_t len)
{
	double one, five, fifteen;
	FILE *f = fopen("/proc/loadavg", "r");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (f != NULL && fscanf(f, "%lf %lf %lf", &one, &five, &fifteen) == 3)
		snprintf(buf, len, "load %.2f %.2f %.2f on %ld CPUs", one, five, fifteen, cpus);
	else
		snprintf(buf, len, "load unknown (/proc/loadavg)");
	if (f != NULL)
		fclose(f);
	return buf;
}
