/* fuzzconv.h - converts between reassembled flows and the fuzz targets' input formats
 * (lib/script.h): flows become corpus seeds, fuzz inputs become pcap files. */
#ifndef FUZZCONV_H
#define FUZZCONV_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* Encodes the client side of flow f as a fuzz seed: a TCP flow as a one-connection script (its writes as
 * SEND events, then FIN or RST), a UDP flow as its client datagrams. Returns a malloc'd buffer and its
 * length in *n (the caller frees it), or NULL with a reason in err. *target is set to "fuzz_tcp" or
 * "fuzz_udp", the fuzz target whose format the seed is in. */
uint8_t *fz_seed(const struct dec_flow *f, size_t *n, const char **target, char *err, size_t errlen);

/* Writes a pcap file (EN10MB) at out of what the fuzz input in[0..n) does on the wire: udp = 0 reads it
 * as a TCP script (each slot's connections between 127.0.0.1 ephemeral ports and 127.0.0.1:8082, with
 * handshake, the client's SEND/FIN/RST and the conforming server's answers: the transform and a FIN
 * after the client's FIN), udp = 1 as a datagram sequence (requests to 127.0.0.1:8080 or [::1]:8080 and
 * their transformed replies). Script events that have no wire form (SHORT, AGAIN, WERR, STOP, RESUME,
 * RLIMIT, HOLD, TICK) are not written. Returns 0 and the number of packets in *npkts, or -1 with a
 * reason in err. */
int fz_to_pcap(const uint8_t *in, size_t n, int udp, const char *out, uint64_t *npkts, char *err,
               size_t errlen);

#endif
