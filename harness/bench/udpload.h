/* udpload.h - the load engine's UDP mode (LOAD_UDP): a window of outstanding datagrams, each carrying its
 * sequence number so that every reply is matched to its datagram and verified; losses are counted. */
#ifndef UDPLOAD_H
#define UDPLOAD_H

#include <stddef.h>

#include "load.h"
#include "payload.h"

/* Runs c (mode LOAD_UDP: c->window datagrams of c->size bytes outstanding, for c->seconds) against its
 * server with the payload pt, and fills r. A datagram unanswered for 200 ms frees its window place;
 * "lost" is sent - answered at the end. Returns LOAD_OK, or LOAD_ERR / LOAD_WRONG with a one-line reason
 * in err[0..errlen) (a wrong reply: bytes, length, or a datagram answered twice). */
enum load_status udpload_run(const struct load_cfg *c, const struct payload *pt, struct load_result *r,
                             char *err, size_t errlen);

#endif
