/* decode.h - pure decoding of captured frames (decode.c: the link-type table, IP, TCP and UDP headers)
 * and TCP/UDP flow reassembly (decode_flows.c) for bin/replay.
 *
 * No libpcap, no syscalls, no globals: the caller (lib/pcapin.c for files, a fuzz target for
 * memory buffers) hands in one frame at a time as (link type, bytes, caplen, wire length, timestamp).
 * Every read from a frame goes through bounds-checked helpers: every length in a capture is hostile.
 * Memory is bounded by struct dec_limits; exceeding a bound is a clean DEC_ELIMIT error, never a crash.
 *
 * Typical use:
 *     struct dec_limits lim; dec_limits_default(&lim);
 *     struct dec_ctx *c = dec_new(&lim, err, sizeof err);
 *     for each frame: r = dec_feed(c, link, bytes, caplen, wirelen, ts_ns, err, sizeof err);
 *                     (r < 0: fatal for this capture; DEC_SKIP and DEC_OK both continue)
 *     dec_finish(c);
 *     for (i = 0; i < dec_nflows(c); i++) use dec_flow(c, i);
 *     dec_free(c);
 */
#ifndef DECODE_H
#define DECODE_H

#include <stddef.h>
#include <stdint.h>

/* ---- Frame decoding (decode.c) -------------------------------------------------------------------- */

/* Link types: one row per type in decode.c's table, the only place that holds their numbers. Every
 * part that names a link type reads the table: the decoder, replay's help and errors, the fuzz targets'
 * frame builders and the seed writer. */

/* Where a link header says the network layer is. */
enum dec_net {
	DEC_NET_NONE = 0,      /* not IP: the frame is skipped */
	DEC_NET_BYVERSION = 1, /* IPv4 or IPv6, as the first byte's version says */
	DEC_NET_V4 = 4,
	DEC_NET_V6 = 6
};

/* The longest link header dec_link_build() writes. */
#define DEC_LINK_HDR_MAX 24

/* How a link header names the network layer it carries. */
enum dec_link_field {
	DEC_FIELD_NONE = 0,       /* nothing: raw IP (the first byte's version, or the row's family) */
	DEC_FIELD_ETHERTYPE,      /* a 2-byte EtherType */
	DEC_FIELD_AF,             /* a 4-byte BSD AF_ value in network byte order */
	DEC_FIELD_AF_EITHER_ORDER /* the same in either byte order */
};

/* One link type. Most are described by their fields alone, which the decoder's plain parser and builder
 * read; a header those cannot read (Ethernet's VLAN tags) has its own parse and build. */
struct dec_link_type {
	int number;                /* as libpcap's pcap_datalink() reports it and as files store it */
	const char *name;          /* libpcap's name for it; rows of one name differ only in number */
	size_t header_len;         /* bytes before the network layer (Ethernet: without VLAN tags) */
	enum dec_link_field field; /* what names the network layer, */
	size_t field_at;           /* and where in the header */
	int family;                /* 4 or 6: the one IP version it carries; 0: either */
	unsigned variants;         /* forms build() writes besides the plain one (Ethernet: 1 or 2 tags) */
	int (*parse)(const struct dec_link_type *t, const uint8_t *frame, size_t caplen, size_t *net_off,
	             char *err, size_t errlen); /* NULL: plain */
	int (*build)(const struct dec_link_type *t, uint8_t *out, int family,
	             unsigned variant); /* NULL: plain */
};

/* The table, dec_link_types[0 .. dec_link_ntypes), in the order help texts list the names. */
extern const struct dec_link_type dec_link_types[];
extern const size_t dec_link_ntypes;

/* Returns the row of link type number lt, or NULL when the decoder does not read it. */
const struct dec_link_type *dec_link_find(int lt);

/* Reads the link header of type t in frame[0..caplen), and nothing outside it: sets *net_off to where
 * the network layer starts and returns a dec_net, or -1 with a reason in err (the header is cut or
 * unusable). */
int dec_link_parse(const struct dec_link_type *t, const uint8_t *frame, size_t caplen, size_t *net_off,
                   char *err, size_t errlen);

/* Writes into out[0..DEC_LINK_HDR_MAX) a header of type t that dec_link_parse() reads as carrying an
 * IPv4 (family 4) or IPv6 (family 6) packet, in form variant (0 .. t->variants), and returns its
 * length, or -1 when t cannot carry that family or has no such form. For the fuzz targets and the
 * tests, which build frames of every row. */
int dec_link_build(const struct dec_link_type *t, uint8_t *out, int family, unsigned variant);

/* Returns the first row named name ("EN10MB", "RAW", ...), or NULL. */
const struct dec_link_type *dec_link_named(const char *name);

/* Returns 1 if dec_frame() understands link type lt, 0 otherwise. */
int dec_link_supported(int lt);

/* Returns a short name for link type lt ("EN10MB", "LINUX_SLL2", ...) or "unknown". Never NULL. */
const char *dec_link_name(int lt);

/* Writes the names of the supported link types, each once, in table order and separated by ", ", into
 * buf[0..len) (cut at a name when it does not fit). Returns buf. */
const char *dec_link_list(char *buf, size_t len);

/* One decoded TCP segment or UDP datagram. Pointers point into the caller's frame buffer. */
struct dec_pkt {
	uint64_t ts_ns;           /* capture time, nanoseconds since the epoch */
	int family;               /* 4 or 6 */
	uint8_t proto;            /* 6 (TCP) or 17 (UDP) */
	uint8_t src[16], dst[16]; /* addresses; IPv4 uses the first 4 bytes, the rest are zero */
	uint16_t sport, dport;
	uint16_t ipid;          /* IPv4 identification (0 for IPv6); helps tell duplicates from resends */
	uint32_t seq, ack;      /* TCP only */
	uint8_t tcpflags;       /* TCP only: DEC_TH_* */
	uint16_t win;           /* TCP only */
	const uint8_t *payload; /* captured payload bytes */
	size_t caplen;          /* payload bytes present in the frame */
	size_t len;             /* payload length on the wire (from the IP/UDP lengths); caplen < len means
	                         * the capture cut the payload (snaplen) */
};

enum { DEC_TH_FIN = 0x01, DEC_TH_SYN = 0x02, DEC_TH_RST = 0x04, DEC_TH_PSH = 0x08, DEC_TH_ACK = 0x10 };

/* Return codes of dec_frame() / dec_feed() and the other calls. */
enum {
	DEC_OK = 0,          /* a TCP or UDP packet was decoded (and, for dec_feed, added) */
	DEC_SKIP = 1,        /* a well-formed frame that carries no TCP/UDP (ARP, ICMP, IP fragment, ...) */
	DEC_EMALFORMED = -1, /* the frame is malformed or truncated inside a header; err says where */
	DEC_ELINK = -2,      /* unsupported link type */
	DEC_ELIMIT = -3,     /* a dec_limits bound was reached; err names it */
	DEC_ENOMEM = -4      /* allocation failed */
};

/* Decodes one frame of link type lt: buf[0..caplen) are the captured bytes, wirelen the original length
 * (>= caplen; 0 means unknown, taken as caplen). Reads only inside buf[0..caplen). IPv4 and IPv6
 * (extension headers hop-by-hop, routing, destination options skipped; fragments skipped), TCP and UDP.
 * Checksums are not checked (offloaded captures carry bad ones). On DEC_OK fills *p; on DEC_SKIP writes
 * the reason into err; on a negative code writes the reason (which header, which offset) into err. */
int dec_frame(int lt, const uint8_t *buf, size_t caplen, size_t wirelen, uint64_t ts_ns, struct dec_pkt *p,
              char *err, size_t errlen);

/* ---- capslock notes ---------------------------------------------------------------------------------- */

/* A capture that capslock writes may carry a note: what the capture is for, which a reader of plain pcap
 * (libpcap writes no pcapng comments) can still see. A note is one IPv4 packet 127.0.0.1 > 127.0.0.1
 * with IP protocol 253 (RFC 3692: experimentation), whose payload is one line of printable ASCII:
 * "capslock" and then space-separated KEY=VALUE words, for example
 *     capslock expect=upper case=tcp/transform/all-bytes rule=X1
 * dec_frame() skips it like any packet that is neither TCP nor UDP (tshark shows "ip-proto-253"); bin/replay
 * reads it (harness/replay/README.md says which keys it knows). */
#define DEC_NOTE_PROTO 253
#define DEC_NOTE_PREFIX "capslock"
#define DEC_NOTE_MAX 512 /* the longest note text, in bytes */

/* Reads frame buf[0..caplen) of link type lt as a note. Returns 1 with its text (NUL-terminated) in
 * text[0..textlen), 0 when it is not a note, or -1 with a reason in err when it is one but cannot be read
 * (cut by the snap length, longer than DEC_NOTE_MAX, not printable ASCII). Pure. */
int dec_note(int lt, const uint8_t *buf, size_t caplen, char *text, size_t textlen, char *err, size_t errlen);

/* The value of word KEY=VALUE in note text: copies VALUE into out[0..outlen) and returns 1, or returns 0
 * when the note has no such word. */
int dec_note_get(const char *text, const char *key, char *out, size_t outlen);

/* ---- Flow table and reassembly (decode_flows.c) --------------------------------------------------- */

/* Bounds on memory and counts; a fuzz target sets them small. */
struct dec_limits {
	size_t max_flows;   /* flows (TCP connections and UDP conversations) */
	size_t max_bytes;   /* payload bytes stored over all flows, both directions, pending included */
	size_t max_events;  /* events (writes, datagrams, FIN, RST) over all flows */
	size_t max_pending; /* out-of-order segments held per direction */
	uint64_t
	    dup_window_ns; /* an identical packet seen again within this time is a capture duplicate
	                    * (tcpdump -i any on loopback sees each packet twice), not a retransmission */
	const uint16_t *server_ports; /* optional: ports that are servers (decides the client side when no
	                               * SYN says it); n_server_ports entries, caller-owned */
	size_t n_server_ports;
};

/* Fills l with the defaults: 65536 flows, 256 MiB, 4M events, 4096 pending, 1 ms duplicate window. */
void dec_limits_default(struct dec_limits *l);

/* What happened in a flow, in capture order (the order replay follows). */
enum dec_ev_kind {
	DEC_EV_DATA = 1, /* TCP: len new in-order bytes at stream offset off (one original write/segment) */
	DEC_EV_DGRAM,    /* UDP: one datagram, len bytes at offset off of the direction's data */
	DEC_EV_FIN,      /* TCP: the side closed its sending side after off bytes */
	DEC_EV_RST       /* TCP: the side reset the connection after off of its bytes had been sent */
};

struct dec_ev {
	uint64_t ts_ns;
	uint8_t dir;  /* DEC_C2S or DEC_S2C */
	uint8_t kind; /* enum dec_ev_kind */
	size_t off, len;
	size_t peer_before; /* bytes of the other direction's stream delivered before this event: replay
	                     * waits for that many before performing a client action */
};

enum { DEC_C2S = 0, DEC_S2C = 1 };

/* One direction of a flow. */
struct dec_dir {
	uint8_t *data; /* reassembled stream (TCP) or concatenated datagrams (UDP), len bytes */
	size_t len;
	int fin, rst; /* this side sent FIN / RST (delivered in stream order) */
	size_t fin_off, rst_off;
	uint64_t packets;   /* packets counted, duplicates excluded */
	uint64_t dups;      /* capture duplicates dropped */
	uint64_t retrans;   /* segments whose bytes were all seen already */
	uint64_t overlaps;  /* segments partly overlapping bytes seen already (first copy kept) */
	uint64_t conflicts; /* overlapping bytes that differed from the first copy */
	uint64_t ooo;       /* segments that arrived ahead of a gap and were held, then sorted in */
	uint64_t truncated; /* segments whose payload the capture cut (counted as a gap unless resent) */
	uint64_t gap_bytes; /* bytes never seen (holes before held segments at the end) */
};

/* Flow flags. */
enum {
	DEC_F_SYN = 1u << 0,        /* the client's SYN was seen */
	DEC_F_SYNACK = 1u << 1,     /* the server's SYN-ACK was seen */
	DEC_F_INCOMPLETE = 1u << 2, /* no SYN, a gap, a cut payload or an unfinished FIN: the streams may
	                             * lack bytes */
	DEC_F_GAP = 1u << 3,        /* bytes are missing inside a stream */
	DEC_F_GUESSED = 1u << 4     /* the client side was guessed (no SYN, no server port given) */
};

struct dec_flow {
	uint8_t proto; /* 6 or 17 */
	int family;    /* 4 or 6 */
	uint8_t caddr[16], saddr[16];
	uint16_t cport, sport;
	unsigned flags; /* DEC_F_* */
	uint64_t first_ns, last_ns;
	size_t index;          /* 0-based creation order: flow numbers in reports are index + 1 */
	struct dec_dir dir[2]; /* [DEC_C2S], [DEC_S2C] */
	struct dec_ev *ev;     /* nev events in capture order */
	size_t nev;
};

struct dec_ctx;

/* Creates a context bounded by lim (copied; server_ports must outlive the context). Returns NULL with a
 * reason in err when allocation fails or a limit is 0. Free with dec_free(). */
struct dec_ctx *dec_new(const struct dec_limits *lim, char *err, size_t errlen);

/* Adds one decoded packet. Returns DEC_OK, or DEC_ELIMIT / DEC_ENOMEM with a reason in err (the context
 * stays valid and consistent, but the capture is incomplete). Packets must come in capture order. */
int dec_add(struct dec_ctx *c, const struct dec_pkt *p, char *err, size_t errlen);

/* dec_frame() then dec_add(): returns DEC_OK, DEC_SKIP, or a negative code with a reason in err. */
int dec_feed(struct dec_ctx *c, int lt, const uint8_t *buf, size_t caplen, size_t wirelen, uint64_t ts_ns,
             char *err, size_t errlen);

/* Ends the capture: settles each flow's client side, flags gaps and incomplete flows. Call once, after
 * the last dec_add(); later dec_add() calls return DEC_ELIMIT. */
void dec_finish(struct dec_ctx *c);

/* Number of flows, and flow i (0 <= i < dec_nflows()) in creation order. The flow stays owned by c and
 * valid until dec_free(). Before dec_finish() the client side and flags are provisional. */
size_t dec_nflows(const struct dec_ctx *c);
const struct dec_flow *dec_flow(const struct dec_ctx *c, size_t i);

/* Totals over the capture. */
struct dec_stats {
	uint64_t frames, tcp, udp, skipped, dups, bytes;
};
void dec_stats(const struct dec_ctx *c, struct dec_stats *s);

/* Frees everything c owns (flows, streams, events). c may be NULL. */
void dec_free(struct dec_ctx *c);

#endif
