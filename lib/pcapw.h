/* pcapw.h - writes pcap files of synthesized TCP flows and UDP datagrams, with libpcap.
 *
 * Used by bin/replay (--write-pcap, generated test captures), by the capture generator
 * (harness/replay/gen_pcaps.c) and by bin/conform (--pcap-dir). The files open in Wireshark/tcpdump and
 * replay with bin/replay: every packet carries valid IPv4/IPv6, TCP/UDP headers with correct checksums,
 * and TCP flows have a full handshake, consistent seq/ack numbers, and end with FIN or RST.
 *
 * A writer is opened with pcapw_open() (libpcap pcap_open_dead + pcap_dump_open: link type EN10MB or RAW,
 * micro- or nanosecond timestamps; path "-" is standard output, left open by pcapw_close()). Each flow is a
 * struct pcapw_tcp the caller owns; packet timestamps come from the flow's clock (ts_ns), which each packet
 * advances by step_ns unless the caller sets it.
 *
 *     struct pcapw *w = pcapw_open("out.pcap", PCAPW_EN10MB, 0, err, sizeof err);
 *     struct pcapw_ep ep; pcapw_ep_v4(&ep, 0x7f000001, 40000, 0x7f000001, 8082);
 *     struct pcapw_tcp f; pcapw_tcp_init(&f, w, &ep, 1000000000ull * 1700000000);
 *     pcapw_tcp_connect(&f, err, sizeof err);           SYN, SYN-ACK, ACK
 *     pcapw_tcp_send(&f, PCAPW_C2S, "hi\n", 3, ...);    data + the peer's ACK
 *     pcapw_tcp_send(&f, PCAPW_S2C, "HI\n", 3, ...);
 *     pcapw_tcp_fin(&f, PCAPW_C2S, ...); pcapw_tcp_fin(&f, PCAPW_S2C, ...);
 *     pcapw_udp(w, &ep, PCAPW_C2S, "x", 1, ts, ...);
 *     pcapw_close(w, err, sizeof err);
 *
 * Every function returns 0 on success or -1 with a reason (naming the file) in err. Not thread-safe per
 * writer; separate writers are independent.
 *
 * The frames themselves are built by pcapw_frame() (lib/pcapw_frame.c, no libpcap), which a caller that
 * wants frames in memory (a fuzz target) calls directly: the bytes are those the writer stores.
 */
#ifndef PCAPW_H
#define PCAPW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The link types a writer writes: Ethernet or raw IP (libpcap names them; decode.c holds the numbers). */
enum pcapw_link { PCAPW_EN10MB, PCAPW_RAW };
enum { PCAPW_C2S = 0, PCAPW_S2C = 1 }; /* directions */
enum { PCAPW_FIN = 0x01, PCAPW_SYN = 0x02, PCAPW_RST = 0x04, PCAPW_PSH = 0x08, PCAPW_ACK = 0x10 };

struct pcapw;

/* Opens path for writing (truncating it) with link type PCAPW_EN10MB or PCAPW_RAW; nano = 1 writes
 * nanosecond timestamps (pcap magic 0xa1b23c4d), 0 microseconds. Returns the writer, or NULL with a
 * reason in err. */
struct pcapw *pcapw_open(const char *path, int linktype, int nano, char *err, size_t errlen);

/* Flushes and closes w (w may be NULL). Returns 0, or -1 with a reason in err (write error). */
int pcapw_close(struct pcapw *w, char *err, size_t errlen);

/* Number of packets written so far. */
uint64_t pcapw_count(const struct pcapw *w);

/* The two ends of a flow. family is 4 or 6; addresses in network byte order (IPv4 in the first 4
 * bytes); ports in host byte order. */
struct pcapw_ep {
	int family;
	uint8_t caddr[16], saddr[16];
	uint16_t cport, sport;
};

/* Fills ep for IPv4 with host-order addresses (0x7f000001 = 127.0.0.1). */
void pcapw_ep_v4(struct pcapw_ep *ep, uint32_t caddr, uint16_t cport, uint32_t saddr, uint16_t sport);

/* Fills ep from two socket addresses (AF_INET or AF_INET6, same family). Returns 0 or -1 with a reason. */
int pcapw_ep_sockaddr(struct pcapw_ep *ep, const struct sockaddr *client, const struct sockaddr *server,
                      char *err, size_t errlen);

/* Writes one packet with explicit header fields: the low-level call, for captures with out-of-order
 * segments, retransmissions, overlaps or odd flags. flags are PCAPW_* TCP flags; for UDP (proto 17) seq,
 * ack and flags are ignored. len may be 0. Payload larger than fits in one IP packet is an error. */
int pcapw_packet(struct pcapw *w, const struct pcapw_ep *ep, int dir, int proto, uint32_t seq, uint32_t ack,
                 unsigned flags, const void *data, size_t len, uint64_t ts_ns, char *err, size_t errlen);

/* Buffer size that holds any frame pcapw_frame() builds: Ethernet, IPv6 header, largest IP payload
 * (which includes any IPv6 extension headers). */
#define PCAPW_FRAME_MAX (14u + 40u + 65535u)

/* Optional headers of one packet, for pcapw_frame(): every header variant bin/replay's decoder parses.
 * A zero-filled struct adds nothing. Options are written in the order listed, each padded to 4 bytes
 * with NOPs (IPv4: EOL after the last). */
enum {
	PCAPW_IPOPT_RA = 1,
	PCAPW_IPOPT_RR = 2,
	PCAPW_IPOPT_TS = 4
}; /* router alert, record route, timestamp */
enum {
	PCAPW_TCPOPT_MSS = 1,
	PCAPW_TCPOPT_SACKOK = 2,
	PCAPW_TCPOPT_WSCALE = 4,
	PCAPW_TCPOPT_TS = 8,
	PCAPW_TCPOPT_SACK = 16 /* one SACK block */
};
enum { PCAPW_EXT_HOP = 0, PCAPW_EXT_ROUTING = 43, PCAPW_EXT_FRAG = 44, PCAPW_EXT_DSTOPT = 60 };
#define PCAPW_EXT_MAX 9
struct pcapw_frame_opts {
	unsigned ipopt; /* IPv4: PCAPW_IPOPT_* */
	int more_frags; /* IPv4: MF set, offset 0 (the first fragment of a larger packet) */
	size_t next;    /* IPv6: extension headers in ext[0..next), before the TCP/UDP header */
	struct {
		uint8_t type; /* PCAPW_EXT_*; a fragment header is the first fragment (M set, offset 0) */
		uint8_t len8; /* the header's Hdr Ext Len: 8-byte units after the first (not for fragments) */
	} ext[PCAPW_EXT_MAX];
	unsigned tcpopt; /* PCAPW_TCPOPT_* */
	uint16_t mss;
	uint8_t wscale;
	uint32_t tsval, tsecr;
};

/* The header fields and payload of one packet, for pcapw_frame(). ipid is IPv4's identification; opt
 * (may be NULL: none) adds option and extension headers. */
struct pcapw_frame_spec {
	const struct pcapw_ep *ep;
	int dir;   /* PCAPW_C2S or PCAPW_S2C */
	int proto; /* 6 (TCP) or 17 (UDP) */
	uint32_t seq, ack;
	unsigned flags; /* PCAPW_* TCP flags */
	uint16_t ipid;
	const void *data;
	size_t len;
	const struct pcapw_frame_opts *opt;
};

/* Builds the frame pcapw_packet() writes, for link type PCAPW_EN10MB or PCAPW_RAW, into buf[0..bufsize)
 * and sets *framelen. Returns 0, or -1 with a reason in err (bad field, payload too large for one IP
 * packet, buffer too small). */
int pcapw_frame(uint8_t *buf, size_t bufsize, int linktype, const struct pcapw_frame_spec *spec,
                size_t *framelen, char *err, size_t errlen);

/* Builds a capslock note (decode.h: an IPv4 packet 127.0.0.1 > 127.0.0.1 of IP protocol DEC_NOTE_PROTO
 * carrying text, which must start with DEC_NOTE_PREFIX and be printable ASCII shorter than DEC_NOTE_MAX)
 * for link type PCAPW_EN10MB or PCAPW_RAW into buf[0..bufsize), and sets *framelen. Returns 0, or -1 with
 * a reason in err. */
int pcapw_note_frame(uint8_t *buf, size_t bufsize, int linktype, const char *text, size_t *framelen,
                     char *err, size_t errlen);

/* Writes a capslock note (pcapw_note_frame()) at time ts_ns. */
int pcapw_note(struct pcapw *w, const char *text, uint64_t ts_ns, char *err, size_t errlen);

/* A UDP datagram (0 to 65507 bytes over IPv4, 65527 over IPv6) in direction dir. */
int pcapw_udp(struct pcapw *w, const struct pcapw_ep *ep, int dir, const void *data, size_t len,
              uint64_t ts_ns, char *err, size_t errlen);

/* A synthesized TCP connection. Fill with pcapw_tcp_init(); the fields may be read, and ts_ns/step_ns/
 * mss/ack_data changed between calls. */
struct pcapw_tcp {
	struct pcapw *w;
	struct pcapw_ep ep;
	uint32_t isn[2];  /* initial sequence numbers, [PCAPW_C2S], [PCAPW_S2C] */
	uint32_t nxt[2];  /* next sequence number each side sends */
	int fin[2];       /* side sent FIN */
	int closed;       /* a RST was sent, or both FINs: nothing more may be sent */
	uint64_t ts_ns;   /* timestamp of the next packet */
	uint64_t step_ns; /* added to ts_ns after each packet (default 10 us) */
	size_t mss;       /* data is cut into segments of at most mss bytes (default 65483) */
	int ack_data;     /* 1 (default): each data segment is followed by the peer's bare ACK */
};

/* Prepares f between ep's ends on writer w, first packet at ts_ns. ISNs are derived from the ports, so
 * outputs are reproducible. */
void pcapw_tcp_init(struct pcapw_tcp *f, struct pcapw *w, const struct pcapw_ep *ep, uint64_t ts_ns);

/* Writes the three-way handshake: SYN, SYN-ACK, ACK. */
int pcapw_tcp_connect(struct pcapw_tcp *f, char *err, size_t errlen);

/* Writes len bytes from dir's side as one write: segments of at most mss bytes (PSH on the last), each
 * followed by the peer's ACK when ack_data. len 0 writes nothing. */
int pcapw_tcp_send(struct pcapw_tcp *f, int dir, const void *data, size_t len, char *err, size_t errlen);

/* Writes dir's FIN (with ACK) and the peer's ACK of it. */
int pcapw_tcp_fin(struct pcapw_tcp *f, int dir, char *err, size_t errlen);

/* Writes an RST (with ACK) from dir at its current sequence number; the flow is then closed. */
int pcapw_tcp_rst(struct pcapw_tcp *f, int dir, char *err, size_t errlen);

#endif
