/* recording.h - the record of a case's exchange (what conform sent and received on each connection and
 * datagram socket), written as a pcap of synthesized flows for --pcap-dir. */
#ifndef RECORDING_H
#define RECORDING_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

enum recording_event_kind {
	RECORDING_TCP_OPEN = 1,     /* connection established: local and remote addresses */
	RECORDING_TCP_SEND,         /* bytes the client wrote */
	RECORDING_TCP_RECEIVE,      /* bytes the server sent */
	RECORDING_TCP_HALF_CLOSE,   /* the client's FIN */
	RECORDING_TCP_SERVER_FIN,   /* the server's FIN seen */
	RECORDING_TCP_RESET,        /* the client's reset */
	RECORDING_TCP_SERVER_RESET, /* the server's reset seen */
	RECORDING_UDP_SEND,         /* datagram client -> server (local and remote addresses given) */
	RECORDING_UDP_RECEIVE       /* datagram server -> client */
};

struct recording_event {
	enum recording_event_kind kind;
	unsigned connection;   /* connection (or UDP sender) id within the case */
	size_t offset, length; /* its bytes in the recording's byte store */
	uint64_t time_ns;
	struct net_addr local, remote; /* with RECORDING_TCP_OPEN and the UDP events */
};

struct recording {
	struct recording_event *events;
	size_t event_count, event_capacity;
	unsigned char *data;
	size_t data_len, data_capacity; /* data_capacity bounds the bytes kept; beyond it the record is cut */
	int truncated;
	char case_id[96], rule[16]; /* the case recorded (recording_label), for the pcap's note */
};

/* Starts an empty recording that keeps at most max_bytes of data. */
void recording_init(struct recording *r, size_t max_bytes);
/* Empties it for the next case. */
void recording_clear(struct recording *r);
void recording_free(struct recording *r);

/* Adds an event with data[0..len) (and local/remote addresses, or NULL). Once an event does not fit,
 * the recording ends there (truncated). */
void recording_add(struct recording *r, enum recording_event_kind kind, unsigned connection, const void *data,
                   size_t len, const struct net_addr *local, const struct net_addr *remote);

/* Names the case the recording is of: its id and the SPEC rule it tests, written into the pcap's note. */
void recording_label(struct recording *r, const char *case_id, const char *rule);

/* Writes r as a pcap at path (through lib/pcapw). Its first packet is a capslock note (decode.h) that
 * tells bin/replay what SPEC expects, "capslock expect=upper case=ID rule=RULE": a failing case records
 * the wrong answer of the server, and its replay must judge the answers by the protocol's rule, not by
 * that recording. Returns 0 or -1 with a reason in err. */
int recording_write_pcap(const struct recording *r, const char *path, char *err, size_t errlen);

#endif
