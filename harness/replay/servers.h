/* servers.h - the reference servers replay starts (tcp-upper and udp-upper next to it, on free loopback
 * ports, IPv4 and IPv6), and the probe that tells whether a TCP server still answers after a replay. */
#ifndef SERVERS_H
#define SERVERS_H

#include <stddef.h>

#include "child.h"
#include "decode.h"
#include "net.h"

/* One per protocol and address family: servers_index() says which a flow needs. */
enum { SERVERS_TCP4, SERVERS_UDP4, SERVERS_TCP6, SERVERS_UDP6, SERVERS_COUNT };

/* The reference servers of a run; zero-filled to start (child NULL: not started). */
struct servers {
	struct {
		struct child *child;
		struct net_addr addr;
	} ref[SERVERS_COUNT];
};

/* Which reference server flow f needs (SERVERS_*). */
int servers_index(const struct dec_flow *f);

/* Starts the servers of the bits set in needs (1 << SERVERS_*) from the directory of this program
 * (argv0 when /proc/self/exe cannot be read), IPv4 first; the IPv6 ones only where the host has an IPv6
 * loopback. A fatal signal stops them too. Returns 1 when the IPv6 ones run, 0 when there are none, or
 * -1 after a message. */
int servers_start(struct servers *s, unsigned needs, const char *argv0);

/* The address reference server i (SERVERS_*) listens on. */
const struct net_addr *servers_addr(const struct servers *s, int i);

/* Returns the number of reference servers that are no longer running, each named in a message. */
int servers_dead(const struct servers *s);

/* One exchange on a new TCP connection to t: "probe" and the client's FIN must come back as its
 * transform within timeout_ms (a listen backlog accepts connections for a server that has just died, so
 * connecting proves nothing). Returns 0, or -1 with a reason in err. */
int servers_probe(const struct net_addr *t, int timeout_ms, char *err, size_t errlen);

/* Stops the reference servers; with verbose their output goes to stderr first. */
void servers_stop(struct servers *s, int verbose);

#endif
