/* case_table.c - conform's case table: one line per case (id, SPEC rule, MUST/SHOULD, transport,
 * description, function); the functions are in case_tcp.c, case_tcp_many.c, case_udp.c and
 * case_resources.c, and every answer is judged by the oracle through client.c. */
#include "case.h"

/* clang-format off */
const struct case_definition case_table[] = {
	{"tcp/transform/all-bytes", "X1", CASE_MUST, CASE_TCP, "every byte value 0x00-0xff, both orders: only a-z change", case_tcp_all_bytes},
	{"tcp/transform/invalid-utf8", "X1", CASE_MUST, CASE_TCP, "invalid UTF-8 is transformed like any bytes, then the server still serves", case_tcp_invalid_utf8},
	{"tcp/transform/utf8-letters", "X1", CASE_MUST, CASE_TCP, "UTF-8 letters that Unicode uppercasing changes (e-acute, sharp s, fi ligature, Greek, Cyrillic, dotless i) come back byte for byte", case_tcp_utf8_letters},
	{"tcp/transform/utf8-mixed", "X1", CASE_MUST, CASE_TCP, "Latin-1 single bytes, and valid UTF-8 letters mixed with invalid bytes, come back byte for byte", case_tcp_utf8_mixed},
	{"tcp/framing/interactive", "T2", CASE_MUST, CASE_TCP, "three lines on one open connection, each answered before the next, no EOF", case_tcp_interactive},
	{"tcp/framing/no-newline", "T2", CASE_MUST, CASE_TCP, "bytes without a newline are answered without EOF", case_tcp_no_newline},
	{"tcp/segmentation/chunks", "T3", CASE_MUST, CASE_TCP, "the same stream in writes of 7, 1460, 64 KiB and 3000 bytes, read in 13, 64 KiB, 1 and 999", case_tcp_chunks},
	{"tcp/segmentation/byte-at-a-time", "T2", CASE_MUST, CASE_TCP, "300 bytes sent one per segment, each answered before the next", case_tcp_byte_at_a_time},
	{"tcp/backpressure/16mib", "T8", CASE_MUST, CASE_TCP, "16 MiB sent without reading until the server stops taking bytes, then all read back", case_tcp_16mib},
	{"tcp/backpressure/bound", "T8", CASE_MUST, CASE_TCP, "a client that sends without reading: the server stops taking bytes within the kernel's buffers and its own 4 MiB (and its memory grows no more, under --exec or --pid)", case_tcp_backpressure_bound},
	{"tcp/halfclose/fin", "T4", CASE_MUST, CASE_TCP, "256 KiB then our FIN: every byte comes back, then FIN, not RST", case_tcp_halfclose},
	{"tcp/disconnect/connect-close", "T5", CASE_MUST, CASE_TCP, "50 clients connect and close (25 after sending), then the server still serves", case_tcp_connect_close},
	{"tcp/reset/before-data", "T6", CASE_MUST, CASE_TCP, "20 clients reset before sending, then the server still serves", case_tcp_reset_before},
	{"tcp/reset/mid-stream", "T6", CASE_MUST, CASE_TCP, "10 clients reset in the middle of a stream, then the server still serves", case_tcp_reset_mid},
	{"tcp/reset/owed", "T6", CASE_MUST, CASE_TCP, "3 clients reset while the server owes them output (no SIGPIPE death), then it still serves", case_tcp_reset_owed},
	{"tcp/reset/repeated", "T6", CASE_MUST, CASE_TCP, "more resets than the server's descriptor limit (no descriptor leak), then it still serves", case_tcp_reset_repeated},
	{"tcp/many/concurrent", "T9", CASE_MUST, CASE_TCP, "100 clients open at once (each connects once the previous one is answered), 2000 bytes each", case_tcp_concurrent},
	{"tcp/many/burst", "T9", CASE_MUST, CASE_TCP, "128 connection attempts at once, all accepted within 900 ms (listen backlog)", case_tcp_burst},
	{"tcp/many/2000", "T9", CASE_MUST, CASE_TCP, "2000 clients open at once (each connects once the previous one is answered), 200 bytes each", case_tcp_many_2000},
	{"tcp/resources/connections", "T5", CASE_MUST, CASE_TCP, "2000 clients connect and close (--exec or --pid): the server's memory, descriptors and threads do not grow with them", case_resources_connections},
	{"tcp/resources/resets", "T6", CASE_MUST, CASE_TCP, "800 clients reset, before sending, mid-stream or owed 256 KiB (--exec or --pid): no growth per connection", case_resources_resets},
	{"tcp/concurrency/stalled", "T7", CASE_MUST, CASE_TCP, "a client that sends without reading and an idle one do not delay a third", case_tcp_stalled},
	{"tcp/ipv6/transform", "B1", CASE_SHOULD, CASE_TCP, "a stream over IPv6 ([::1])", case_tcp_ipv6},
	{"udp/transform/all-bytes", "X1", CASE_MUST, CASE_UDP, "one datagram of every byte value 0x00-0xff: only a-z change", case_udp_all_bytes},
	{"udp/transform/invalid-utf8", "X1", CASE_MUST, CASE_UDP, "datagrams of invalid UTF-8 are answered, then the server still serves", case_udp_invalid_utf8},
	{"udp/transform/utf8-letters", "X1", CASE_MUST, CASE_UDP, "datagrams of UTF-8 letters that Unicode uppercasing changes come back byte for byte", case_udp_utf8_letters},
	{"udp/transform/utf8-mixed", "X1", CASE_MUST, CASE_UDP, "datagrams of Latin-1 bytes, and of valid UTF-8 mixed with invalid bytes, come back byte for byte", case_udp_utf8_mixed},
	{"udp/size/0", "U3", CASE_MUST, CASE_UDP, "an empty datagram gets one empty reply", case_udp_size_0},
	{"udp/size/1", "U1", CASE_MUST, CASE_UDP, "a 1-byte datagram gets exactly one reply", case_udp_size_1},
	{"udp/size/512", "U1", CASE_MUST, CASE_UDP, "a 512-byte datagram gets exactly one reply", case_udp_size_512},
	{"udp/size/1472", "U4", CASE_MUST, CASE_UDP, "a 1472-byte datagram (Ethernet MTU) is answered whole", case_udp_size_1472},
	{"udp/size/8193", "U4", CASE_MUST, CASE_UDP, "an 8193-byte datagram (past 8192) is answered whole", case_udp_size_8193},
	{"udp/size/65507", "U4", CASE_MUST, CASE_UDP, "the largest datagram (65507 bytes, 65527 over IPv6) is answered whole", case_udp_size_max},
	{"udp/boundary/burst", "U2", CASE_MUST, CASE_UDP, "40 datagrams of distinct sizes back to back: replies never merged or split", case_udp_burst},
	{"udp/senders/many", "U1", CASE_MUST, CASE_UDP, "64 senders at once, each gets the answer to its own datagram", case_udp_many_senders},
	{"udp/senders/gone", "U5", CASE_MUST, CASE_UDP, "20 senders close before their reply, then the server still serves", case_udp_gone},
	{"udp/resources/senders", "U5", CASE_MUST, CASE_UDP, "2000 UDP senders gone before their reply (--exec or --pid): no growth per sender", case_resources_senders},
	{"udp/amplification/none", "U6", CASE_MUST, CASE_UDP, "16 tiny datagrams (0-15 bytes) get no more replies or bytes than sent", case_udp_amplification},
	{"udp/ipv6/transform", "B1", CASE_SHOULD, CASE_UDP, "a datagram over IPv6 ([::1])", case_udp_ipv6},
};
/* clang-format on */

const size_t case_table_count = sizeof case_table / sizeof case_table[0];
