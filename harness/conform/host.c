/* host.c - the kernel's drop counter of the server's UDP sockets and the host's load, from /proc
 * (host.h). */
#include "host.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Adds the drops of the sockets in one /proc/net/udp* file bound to one of ports[0..n) to *sum; *found
 * counts them. A missing file (no IPv6) adds nothing. */
static void add_drops(const char *path, const unsigned *ports, size_t n, long long *sum, int *found)
{
	FILE *f = fopen(path, "r");
	char line[512];
	if (f == NULL)
		return;
	if (fgets(line, sizeof line, f) == NULL) { /* the header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof line, f) != NULL) {
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
	fclose(f);
}

long long host_udp_drops(const struct case_target *t)
{
	unsigned ports[2];
	size_t n = 0;
	long long sum = 0;
	int found = 0;
	if (t->has_udp)
		ports[n++] = net_port((const struct sockaddr *)&t->udp.ss);
	if (t->has_udp6)
		ports[n++] = net_port((const struct sockaddr *)&t->udp6.ss);
	if (n == 0)
		return -1;
	add_drops("/proc/net/udp", ports, n, &sum, &found);
	add_drops("/proc/net/udp6", ports, n, &sum, &found);
	return found ? sum : -1;
}

int host_excuse_loss(struct case_context *c, long long drops_before, size_t missing, const char *what,
                     char *why, size_t len)
{
	long long after = drops_before >= 0 ? host_udp_drops(c->target) : -1;
	long long dropped = after >= drops_before ? after - drops_before : 0;
	why[0] = '\0';
	if (after < 0) {
		snprintf(why, len, " (the kernel's drop counter of the server's socket could not be read)");
		return 0;
	}
	if (missing == 0 || dropped < (long long)missing) {
		if (dropped > 0)
			snprintf(
			    why, len,
			    "; the kernel dropped %lld datagram%s at the server's socket meanwhile, fewer "
			    "than the %zu unanswered: the server lost the rest",
			    dropped, dropped == 1 ? "" : "s", missing);
		else
			snprintf(why, len,
			         "; the kernel dropped none at the server's socket: the server lost them");
		return 0;
	}
	struct case_result *r = c->result;
	r->kernel_drops += dropped;
	size_t used = strlen(r->note);
	snprintf(
	    r->note + used, sizeof r->note - used,
	    "%sthe kernel dropped %lld datagram%s at the server's socket (receive buffer full) during %s, "
	    "%zu unanswered: size SO_RCVBUF for bursts",
	    used ? "; " : "", dropped, dropped == 1 ? "" : "s", what, missing);
	return 1;
}

/* Looks for the socket at local port `local`, remote port `remote` in one /proc/net/tcp* file. */
static int find_queues(const char *path, unsigned local, unsigned remote, long long *send, long long *receive)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int found = 0;
	if (f == NULL)
		return 0;
	if (fgets(line, sizeof line, f) == NULL) { /* the header */
		fclose(f);
		return 0;
	}
	while (!found && fgets(line, sizeof line, f) != NULL) {
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
	fclose(f);
	return found;
}

int host_tcp_queues(const struct net_addr *server, unsigned client_port, long long *send, long long *receive)
{
	unsigned port = net_port((const struct sockaddr *)&server->ss);
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
