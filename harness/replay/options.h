/* options.h - replay's command line. */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "net.h"

#define OPTIONS_MAX_MAPS 64

/* What --incomplete does with a flow that has gaps or no SYN. */
enum options_incomplete { OPTIONS_INC_SKIP, OPTIONS_INC_REPLAY, OPTIONS_INC_FAIL };

/* --only tcp and --only udp */
enum { OPTIONS_ONLY_TCP = 1, OPTIONS_ONLY_UDP = 2 };

/* --map PORT=HOST:PORT */
struct options_map {
	unsigned port;
	struct net_addr to;
};

struct options {
	const char *target_spec; /* --target as given (NULL: none); target is its address */
	struct net_addr target;
	struct options_map maps[OPTIONS_MAX_MAPS];
	size_t nmaps;
	uint16_t server_ports[OPTIONS_MAX_MAPS]; /* --server-port and the ports of --map */
	size_t nserver_ports;
	int expect_upper;    /* --expect: 1 upper, 0 recorded, -1 not given (each capture's note decides) */
	unsigned only_proto; /* --only tcp|udp: OPTIONS_ONLY_* bits (0: every transport) */
	uint16_t only_ports[OPTIONS_MAX_MAPS]; /* --only PORT: captured server ports (none: every port) */
	size_t nonly_ports;
	int timing_original;
	double speed;
	int jobs;
	int timeout_ms;
	enum options_incomplete incomplete;
	int list;
	int decode_only;
	int quiet;
	int verbose;
	const char *junit, *json, *corpus, *from_fuzz, *write_pcap;
	FILE *report_out; /* --junit - or --json -: the real stdout (the human lines then go to stderr) */
	int fuzz_udp;     /* -1: guess from the file name */
	char **pcaps;     /* the PCAP arguments */
	size_t npcaps;
};

/* What the command line asks for. */
enum options_action {
	OPTIONS_RUN = 0, /* replay, list, write a corpus or convert a fuzz input */
	OPTIONS_HELP,    /* --help */
	OPTIONS_VERSION, /* --version */
	OPTIONS_USAGE,   /* a usage error (an unknown option, a missing argument or PCAP): err says which */
	OPTIONS_INVALID  /* a bad value: err says which */
};

/* Parses and checks the command line into o. */
enum options_action options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);

/* Writes the help text to f. */
void options_usage(FILE *f);

#endif
