/* host.c - the kernel's drop counter of the server's UDP sockets and the host's load, from /proc
 * (host.h). */
#include "host.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The whole of a /proc/net table, NUL-terminated, in a malloc'd buffer (NULL when it cannot be read).
 * The kernel lists the sockets afresh at each read() that does not continue the one before: with
 * sockets coming and going meanwhile (ours, other programs'), a table read in small pieces may skip a
 * line. So it is read in as few read() calls as a large buffer allows. */
static char *read_table(const char *path)
{
	size_t cap = 1u << 20, used = 0;
	char *text = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (text == NULL || fd < 0) {
		free(text);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (;;) {
		if (cap - used < 65536) {
			char *bigger = realloc(text, 2 * cap);
			if (bigger == NULL)
				break;
			text = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, text + used, cap - used - 1);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	text[used] = '\0';
	return text;
}

/* Adds the drops of the sockets in one /proc/net/udp* file bound to one of ports[0..n) to *sum; *found
 * counts them. A missing file (no IPv6) adds nothing. */
static void add_drops(const char *path, const unsigned *ports, size_t n, long long *sum, int *found)
{
	char *text = read_table(path), *save = NULL;
	if (text == NULL)
		return;
	strtok_r(text, "\n", &save); /* the header */
	for (char *line; (line = strtok_r(NULL, "\n", &save)) != NULL;) {
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
	free(text);
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
	for (int attempt = 0; attempt < 3 && !found; attempt++) { /* a line skipped: read again */
		sum = 0;
		add_drops("/proc/net/udp", ports, n, &sum, &found);
		add_drops("/proc/net/udp6", ports, n, &sum, &found);
	}
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
	char *text = read_table(path), *save = NULL;
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
