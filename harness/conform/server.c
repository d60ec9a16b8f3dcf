/* server.c - conform's server under test (--exec), a thin layer over lib/child: the command runs under
 * /bin/sh in its own process group with a lowered soft descriptor limit (and a hard one that leaves room
 * for the many-connections case, which raises the soft one while it runs); conform takes the addresses it
 * prints as loopback addresses (a wildcard is tested on loopback, anything else is refused later by
 * conform's loopback check), notices its death, restarts it and stops it at the end. */
#include "server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "resources.h"

#define STOP_MS 2000

struct server {
	struct child *child;
	int nofile; /* the soft descriptor limit set once it listens, 0 when left */
};

/* Lowers the soft descriptor limit of the server's processes to s->nofile (the hard one stays). */
static int lower_nofile(struct server *s, char *err, size_t errlen)
{
	struct resources_scope scope = {child_pid(s->child), 0};
	if (s->nofile <= 0 || resources_set_nofile(&scope, s->nofile, err, errlen) >= 0)
		return 0;
	return -1;
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

/* The child's addresses as conform's target. */
static void target_of(const struct child_addrs *a, struct case_target *t)
{
	memset(t, 0, sizeof *t);
	t->tcp = a->tcp;
	t->udp = a->udp;
	t->tcp6 = a->tcp6;
	t->udp6 = a->udp6;
	t->has_tcp = a->has_tcp;
	t->has_udp = a->has_udp;
	t->has_tcp6 = a->has_tcp6;
	t->has_udp6 = a->has_udp6;
	struct net_addr *addrs[4] = {&t->tcp, &t->udp, &t->tcp6, &t->udp6};
	for (int i = 0; i < 4; i++)
		wildcard_to_loopback(addrs[i]);
}

/* A reason about the command ("'CMD' exited ...") reads "server command 'CMD' exited ...". */
static void name_command(char *err, size_t errlen)
{
	static const char prefix[] = "server command ";
	size_t len = strlen(err);
	if (err[0] != '\'' || len + sizeof prefix > errlen)
		return;
	memmove(err + sizeof prefix - 1, err, len + 1);
	memcpy(err, prefix, sizeof prefix - 1);
}

struct server *server_start(const char *command, int transports, int nofile, int many_nofile, int start_ms,
                            struct case_target *t, char *err, size_t errlen)
{
	struct child_options o;
	struct child_addrs addrs;
	struct server *s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memset(&o, 0, sizeof o);
	o.command = command;
	o.shell = 1;
	o.want = (transports & CASE_TCP ? CHILD_TCP : 0) | (transports & CASE_UDP ? CHILD_UDP : 0);
	o.start_ms = start_ms;
	/* the hard limit (and the soft one while it starts) leaves room for the many-connections case; the
	 * soft one is lowered once it listens, so that a descriptor leak shows soon */
	o.nofile = nofile > 0 && many_nofile > nofile ? many_nofile : nofile;
	s->nofile = nofile;
	if (child_start(&o, &s->child, &addrs, err, errlen) < 0) {
		name_command(err, errlen);
		free(s);
		return NULL;
	}
	if (lower_nofile(s, err, errlen) < 0) {
		server_stop(s, NULL);
		return NULL;
	}
	target_of(&addrs, t);
	return s;
}

int server_has_exited(struct server *s, char *why, size_t whylen)
{
	return child_dead(s->child, why, whylen);
}

int server_restart(struct server *s, struct case_target *t, char *err, size_t errlen)
{
	struct child_addrs addrs;
	if (child_restart(s->child, &addrs, err, errlen) < 0) {
		name_command(err, errlen);
		return -1;
	}
	if (lower_nofile(s, err, errlen) < 0)
		return -1;
	target_of(&addrs, t);
	return 0;
}

int server_stop(struct server *s, long *stop_ms)
{
	struct child_exit e;
	if (s == NULL)
		return 0;
	child_stop(s->child, SIGTERM, STOP_MS, &e);
	child_free(s->child);
	free(s);
	if (stop_ms != NULL)
		*stop_ms = e.ms;
	return e.end == CHILD_END_KILLED ? -1 : 0;
}

void server_print_log_tail(struct server *s, FILE *f, const char *prefix, int lines)
{
	child_tail(s->child, f, prefix, lines);
}

pid_t server_process_group(const struct server *s)
{
	return child_pid(s->child);
}

const char *server_command(const struct server *s)
{
	return child_command(s->child);
}

int server_restart_count(const struct server *s)
{
	return child_restarts(s->child);
}

void server_kill_all(void)
{
	child_kill_all();
}
