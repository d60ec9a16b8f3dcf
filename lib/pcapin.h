/* pcapin.h - reads capture files (pcap in either byte order, micro- or nanosecond, and pcapng) with
 * libpcap and yields frames: the only place in replay that touches a capture file. */
#ifndef PCAPIN_H
#define PCAPIN_H

#include <stddef.h>
#include <stdint.h>

struct pcapin;

/* Opens path (with nanosecond timestamp precision, so both kinds of file keep their resolution).
 * Returns the reader, or NULL with a reason naming the file in err. */
struct pcapin *pcapin_open(const char *path, char *err, size_t errlen);

/* Link type of the file, as pcap_datalink() reports it (decode.h's dec_link_find() knows the number). */
int pcapin_linktype(const struct pcapin *r);

/* Return codes of pcapin_next(). */
enum { PCAPIN_FRAME = 1, PCAPIN_END = 0, PCAPIN_ERROR = -1, PCAPIN_TRUNCATED = -2 };

/* Reads the next frame: *buf (valid until the next call), its captured and wire lengths and its time
 * in nanoseconds since the epoch. Returns PCAPIN_FRAME, PCAPIN_END at the end of the file,
 * PCAPIN_TRUNCATED when the file ends inside a packet (reason in err: report it, the frames before it
 * are good), or PCAPIN_ERROR for a broken file (reason in err, naming the file and packet number). */
int pcapin_next(struct pcapin *r, const uint8_t **buf, size_t *caplen, size_t *wirelen, uint64_t *ts_ns,
                char *err, size_t errlen);

/* Number of frames returned so far (the number of the last frame, counting from 1). */
uint64_t pcapin_count(const struct pcapin *r);

/* Closes r (r may be NULL). */
void pcapin_close(struct pcapin *r);

#endif
