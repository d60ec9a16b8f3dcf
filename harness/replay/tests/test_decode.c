/* test_decode.c - CUnit tests of the pure frame decoder and the flow reassembler (decode.h), and a
 * round trip through the pcap writer (pcapw.h) and reader (pcapin.h). Frames sit against a guard
 * page, so a read one byte past the captured length faults. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "decode.h"
#include "pcapin.h"
#include "pcapw.h"
#include "unit.h"

/* libpcap's link-type numbers, written out here so that the test checks decode.c's table against them. */
enum {
	LT_NULL = 0,
	LT_EN10MB = 1,
	LT_RAW_BSD = 12,
	LT_RAW_OPENBSD = 14,
	LT_RAW = 101,
	LT_LOOP = 108,
	LT_LINUX_SLL = 113,
	LT_IPV4 = 228,
	LT_IPV6 = 229,
	LT_LINUX_SLL2 = 276
};

/* ---- frames against a guard page ------------------------------------------------------------------ */

static uint8_t *guard_base;
static size_t guard_page;

static int suite_init(void)
{
	guard_page = (size_t)sysconf(_SC_PAGESIZE);
	guard_base = mmap(NULL, 32 * guard_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard_base == MAP_FAILED)
		return -1;
	return mprotect(guard_base + 31 * guard_page, guard_page, PROT_NONE);
}

static int suite_clean(void)
{
	munmap(guard_base, 32 * guard_page);
	return 0;
}

/* Copies f[0..n) so that it ends exactly at the guard page; returns the copy. */
static const uint8_t *guarded(const uint8_t *f, size_t n)
{
	uint8_t *p = guard_base + 31 * guard_page - n;
	if (n)
		memcpy(p, f, n);
	return p;
}

/* ---- frame builder ---------------------------------------------------------------------------------- */

struct fb {
	uint8_t b[70000];
	size_t n;
};

static void put(struct fb *f, const void *p, size_t n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put16(struct fb *f, unsigned v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(f, x, 2);
}

static void put32(struct fb *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

/* Appends an IPv4 header (ihl words) for an L4 of l4len bytes. */
static void ip4(struct fb *f, unsigned proto, size_t l4len, unsigned ihl, unsigned fragword)
{
	static const uint8_t a[4] = {127, 0, 0, 1}, b[4] = {127, 0, 0, 2};
	size_t i;
	f->b[f->n++] = (uint8_t)(0x40 | ihl);
	f->b[f->n++] = 0;
	put16(f, (unsigned)(ihl * 4 + l4len));
	put16(f, 0x1234);
	put16(f, fragword);
	f->b[f->n++] = 64;
	f->b[f->n++] = (uint8_t)proto;
	put16(f, 0);
	put(f, a, 4);
	put(f, b, 4);
	for (i = 5; i < ihl; i++)
		put32(f, 0x01010101); /* NOP options */
}

static void ip6(struct fb *f, unsigned nh, size_t plen)
{
	uint8_t a[16] = {0}, b[16] = {0};
	a[15] = 1;
	b[15] = 2;
	put32(f, 0x60000000u);
	put16(f, (unsigned)plen);
	f->b[f->n++] = (uint8_t)nh;
	f->b[f->n++] = 64;
	put(f, a, 16);
	put(f, b, 16);
}

static void tcp(struct fb *f, uint32_t seq, unsigned flags, const char *data, unsigned doffw)
{
	size_t i;
	put16(f, 40000);
	put16(f, 8082);
	put32(f, seq);
	put32(f, 77);
	f->b[f->n++] = (uint8_t)(doffw << 4);
	f->b[f->n++] = (uint8_t)flags;
	put16(f, 65535);
	put32(f, 0);
	for (i = 5; i < doffw; i++)
		put32(f, 0x01010101);
	put(f, data, strlen(data));
}

static void udp(struct fb *f, const char *data, unsigned ulen_override)
{
	put16(f, 40000);
	put16(f, 8080);
	put16(f, ulen_override ? ulen_override : (unsigned)(8 + strlen(data)));
	put16(f, 0);
	put(f, data, strlen(data));
}

static void eth(struct fb *f, unsigned ethertype, int vlans)
{
	static const uint8_t mac[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
	put(f, mac, 12);
	while (vlans-- > 0) {
		put16(f, 0x8100);
		put16(f, 42);
	}
	put16(f, ethertype);
}

/* Link headers: returns nothing, appends the link layer for the network protocol (4 or 6). */
static void link_hdr(struct fb *f, int lt, int v)
{
	unsigned et = v == 6 ? 0x86dd : 0x0800;
	switch (lt) {
	case LT_EN10MB:
		eth(f, et, 0);
		break;
	case LT_NULL:
		f->b[f->n++] = v == 6 ? 24 : 2; /* little-endian AF */
		put(f, "\0\0\0", 3);
		break;
	case LT_LOOP:
		put32(f, v == 6 ? 30 : 2);
		break;
	case LT_LINUX_SLL:
		put16(f, 0);
		put16(f, 772);
		put16(f, 6);
		put(f, "\0\0\0\0\0\0\0\0", 8);
		put16(f, et);
		break;
	case LT_LINUX_SLL2:
		put16(f, et);
		put16(f, 0);
		put32(f, 1);
		put16(f, 772);
		f->b[f->n++] = 0;
		f->b[f->n++] = 6;
		put(f, "\0\0\0\0\0\0\0\0", 8);
		break;
	default:
		break; /* RAW, IPV4, IPV6 */
	}
}

/* A whole TCP or UDP frame over link lt and IP version v, payload "hello". */
static void frame(struct fb *f, int lt, int v, int proto)
{
	const char *d = "hello";
	size_t l4 = (proto == 6 ? 20 : 8) + strlen(d);
	f->n = 0;
	link_hdr(f, lt, v);
	if (v == 4)
		ip4(f, (unsigned)proto, l4, 5, 0x4000);
	else
		ip6(f, (unsigned)proto, l4);
	if (proto == 6)
		tcp(f, 1000, DEC_TH_ACK | DEC_TH_PSH, d, 5);
	else
		udp(f, d, 0);
}

/* ---- decoding: every link type, every IP version, both transports --------------------------------- */

static const struct {
	int lt, v;
} links[] = {
    {LT_EN10MB, 4},     {LT_EN10MB, 6},      {LT_NULL, 4},      {LT_NULL, 6},
    {LT_LOOP, 4},       {LT_LOOP, 6},        {LT_LINUX_SLL, 4}, {LT_LINUX_SLL, 6},
    {LT_LINUX_SLL2, 4}, {LT_LINUX_SLL2, 6},  {LT_RAW, 4},       {LT_RAW, 6},
    {LT_RAW_BSD, 4},    {LT_RAW_OPENBSD, 6}, {LT_IPV4, 4},      {LT_IPV6, 6},
};

static void test_links(void)
{
	static struct fb f;
	struct dec_pkt p;
	char err[256];
	size_t i;
	int proto;

	for (i = 0; i < sizeof links / sizeof links[0]; i++)
		for (proto = 6; proto <= 17; proto += 11) {
			const uint8_t *g;
			frame(&f, links[i].lt, links[i].v, proto);
			g = guarded(f.b, f.n);
			CU_ASSERT_EQUAL_FATAL(dec_frame(links[i].lt, g, f.n, f.n, 5, &p, err, sizeof err),
			                      DEC_OK);
			CU_ASSERT_EQUAL(p.family, links[i].v);
			CU_ASSERT_EQUAL(p.proto, proto);
			CU_ASSERT_EQUAL(p.sport, 40000);
			CU_ASSERT_EQUAL(p.dport, proto == 6 ? 8082 : 8080);
			CU_ASSERT_EQUAL(p.len, 5);
			CU_ASSERT_EQUAL(p.caplen, 5);
			CU_ASSERT(p.payload && !memcmp(p.payload, "hello", 5));
			CU_ASSERT_EQUAL(p.ts_ns, 5);
			if (proto == 6) {
				CU_ASSERT_EQUAL(p.seq, 1000);
				CU_ASSERT_EQUAL(p.ack, 77);
			}
		}
}

/* decode.c's table: every row is a link type above, with the name libpcap gives it, and is tested in
 * links[]; each row's header from dec_link_build() is read by dec_link_parse() and dec_frame(), for both
 * families and every form, and cut anywhere inside it, it is an error with a reason and never a read
 * past the end. */
static void test_link_table(void)
{
	static const struct {
		int lt;
		const char *name;
	} names[] = {{LT_NULL, "NULL"},
	             {LT_EN10MB, "EN10MB"},
	             {LT_RAW_BSD, "RAW"},
	             {LT_RAW_OPENBSD, "RAW"},
	             {LT_RAW, "RAW"},
	             {LT_LOOP, "LOOP"},
	             {LT_LINUX_SLL, "LINUX_SLL"},
	             {LT_IPV4, "IPV4"},
	             {LT_IPV6, "IPV6"},
	             {LT_LINUX_SLL2, "LINUX_SLL2"}};
	static struct fb f;
	char err[256], list[256];
	struct dec_pkt p;
	size_t i, k;

	CU_ASSERT_EQUAL(dec_link_ntypes, sizeof names / sizeof names[0]);
	for (i = 0; i < dec_link_ntypes; i++) {
		const struct dec_link_type *t = &dec_link_types[i];
		int tested = 0, family, built = 0;
		for (k = 0; k < sizeof names / sizeof names[0]; k++)
			if (names[k].lt == t->number)
				CU_ASSERT_STRING_EQUAL(t->name, names[k].name);
		for (k = 0; k < sizeof links / sizeof links[0]; k++)
			tested |= links[k].lt == t->number;
		CU_ASSERT(tested);
		CU_ASSERT(dec_link_find(t->number) == t);
		CU_ASSERT(dec_link_supported(t->number));
		CU_ASSERT_STRING_EQUAL(dec_link_name(t->number), t->name);
		CU_ASSERT_EQUAL(dec_link_build(t, f.b, 4, t->variants + 1), -1);
		for (family = 4; family <= 6; family += 2)
			for (unsigned v = 0; v <= t->variants; v++) {
				uint8_t hdr[DEC_LINK_HDR_MAX];
				int n = dec_link_build(t, hdr, family, v);
				size_t cut, off, head;
				if (n < 0) {
					CU_ASSERT(t->family != 0 && t->family != family);
					continue;
				}
				built++;
				f.n = 0;
				put(&f, hdr, (size_t)n);
				head = f.n;
				if (family == 4)
					ip4(&f, 17, 13, 5, 0);
				else
					ip6(&f, 17, 13);
				udp(&f, "hello", 0);
				CU_ASSERT_EQUAL(
				    dec_link_parse(t, guarded(f.b, f.n), f.n, &off, err, sizeof err) >= 0 &&
				        off == head,
				    1);
				CU_ASSERT_EQUAL(
				    dec_frame(t->number, guarded(f.b, f.n), f.n, f.n, 0, &p, err, sizeof err),
				    DEC_OK);
				CU_ASSERT(p.family == family && p.caplen == 5 &&
				          !memcmp(p.payload, "hello", 5));
				for (cut = 0; cut < head; cut++) {
					err[0] = 0;
					CU_ASSERT_EQUAL(
					    dec_link_parse(t, guarded(f.b, cut), cut, &off, err, sizeof err),
					    -1);
					CU_ASSERT(err[0] != 0);
				}
			}
		CU_ASSERT(built > 0);
	}
	CU_ASSERT_PTR_NULL(dec_link_find(147));
	CU_ASSERT_STRING_EQUAL(dec_link_name(147), "unknown");
	CU_ASSERT_EQUAL(dec_link_named("RAW")->number, LT_RAW); /* the number a writer stores */
	CU_ASSERT_PTR_NULL(dec_link_named("ARCNET"));
	CU_ASSERT_STRING_EQUAL(dec_link_list(list, sizeof list),
	                       "EN10MB, RAW, NULL, LOOP, LINUX_SLL, LINUX_SLL2, IPV4, IPV6");
	CU_ASSERT_STRING_EQUAL(dec_link_list(list, 12), "EN10MB, RAW");
	CU_ASSERT_STRING_EQUAL(dec_link_list(list, 11), "EN10MB");
	CU_ASSERT_STRING_EQUAL(dec_link_list(list, 1), "");
}

/* Every prefix of every frame: a header cut anywhere is DEC_EMALFORMED with a reason; a cut payload is
 * DEC_OK with caplen < len; nothing reads past the end (guard page). */
static void test_truncated_everywhere(void)
{
	static struct fb f;
	struct dec_pkt p;
	char err[256];
	size_t i, n;
	int proto;

	for (i = 0; i < sizeof links / sizeof links[0]; i++)
		for (proto = 6; proto <= 17; proto += 11) {
			frame(&f, links[i].lt, links[i].v, proto);
			for (n = 0; n < f.n; n++) {
				int rc;
				err[0] = 0;
				rc = dec_frame(links[i].lt, guarded(f.b, n), n, f.n, 0, &p, err, sizeof err);
				if (n >= f.n - 5) {
					CU_ASSERT_EQUAL(rc, DEC_OK);
					CU_ASSERT_EQUAL(p.len, 5);
					CU_ASSERT_EQUAL(p.caplen, n - (f.n - 5));
				} else {
					CU_ASSERT_EQUAL(rc, DEC_EMALFORMED);
					CU_ASSERT(err[0] != 0);
				}
			}
		}
}

/* Hostile headers, one line each. */
enum { B_EN, B_RAW };
static void build_bad(struct fb *f, int which)
{
	f->n = 0;
	switch (which) {
	case 0: /* IHL 4 (< 20 bytes) */
		ip4(f, 6, 25, 4, 0);
		tcp(f, 1, DEC_TH_ACK, "hello", 5);
		break;
	case 1: /* IHL 15 but only 20 bytes of header captured */
		ip4(f, 6, 25, 5, 0);
		f->b[0] = 0x4f;
		f->n = 20;
		break;
	case 2: /* total length smaller than the header */
		ip4(f, 6, 0, 5, 0);
		f->b[2] = 0;
		f->b[3] = 12;
		break;
	case 3: /* TCP data offset 4 */
		ip4(f, 6, 25, 5, 0);
		tcp(f, 1, DEC_TH_ACK, "hello", 5);
		f->b[20 + 12] = 4 << 4;
		break;
	case 4: /* TCP data offset 15 beyond the IP payload */
		ip4(f, 6, 25, 5, 0);
		tcp(f, 1, DEC_TH_ACK, "hello", 5);
		f->b[20 + 12] = 15 << 4;
		break;
	case 5: /* UDP length 7 */
		ip4(f, 17, 13, 5, 0);
		udp(f, "hello", 7);
		break;
	case 6: /* UDP length beyond the IP payload */
		ip4(f, 17, 13, 5, 0);
		udp(f, "hello", 200);
		break;
	case 7: /* IP version 5 */
		ip4(f, 6, 25, 5, 0);
		tcp(f, 1, DEC_TH_ACK, "hello", 5);
		f->b[0] = 0x55;
		break;
	case 8: /* IP payload shorter than a TCP header */
		ip4(f, 6, 10, 5, 0);
		put(f, "0123456789", 10);
		break;
	case 9: /* IPv6 extension header longer than the payload */
		ip6(f, 0, 8);
		put(f, "\x06\x05\0\0\0\0\0\0", 8);
		break;
	case 10: /* IPv6 with the version nibble wrong */
		ip6(f, 6, 25);
		tcp(f, 1, DEC_TH_ACK, "hello", 5);
		f->b[0] = 0x40;
		break;
	default:
		break;
	}
}

static void test_malformed(void)
{
	static struct fb f;
	struct dec_pkt p;
	char err[256];
	int which;

	for (which = 0; which <= 10; which++) {
		int rc;
		err[0] = 0;
		build_bad(&f, which);
		rc = dec_frame(which >= 9 ? LT_IPV6 : LT_IPV4, guarded(f.b, f.n), f.n, f.n, 0, &p, err,
		               sizeof err);
		CU_ASSERT_EQUAL(rc, DEC_EMALFORMED);
		CU_ASSERT(err[0] != 0);
		if (rc != DEC_EMALFORMED)
			fprintf(stderr, "bad case %d: rc %d\n", which, rc);
	}
}

static void test_skips(void)
{
	static struct fb f;
	struct dec_pkt p;
	char err[256];

	/* ARP over Ethernet */
	f.n = 0;
	eth(&f, 0x0806, 0);
	put(&f, "0123456789012345678901234567", 28);
	CU_ASSERT_EQUAL(dec_frame(LT_EN10MB, guarded(f.b, f.n), f.n, f.n, 0, &p, err, sizeof err), DEC_SKIP);
	/* ICMP */
	f.n = 0;
	ip4(&f, 1, 8, 5, 0);
	put(&f, "\x08\0\0\0\0\0\0\0", 8);
	CU_ASSERT_EQUAL(dec_frame(LT_RAW, guarded(f.b, f.n), f.n, f.n, 0, &p, err, sizeof err), DEC_SKIP);
	/* IPv4 fragment (more fragments) */
	f.n = 0;
	ip4(&f, 17, 13, 5, 0x2000);
	udp(&f, "hello", 0);
	CU_ASSERT_EQUAL(dec_frame(LT_RAW, guarded(f.b, f.n), f.n, f.n, 0, &p, err, sizeof err), DEC_SKIP);
	/* IPv6 fragment header */
	f.n = 0;
	ip6(&f, 44, 21);
	put(&f, "\x11\0\0\0\0\0\0\1", 8);
	udp(&f, "hello", 0);
	CU_ASSERT_EQUAL(dec_frame(LT_RAW, guarded(f.b, f.n), f.n, f.n, 0, &p, err, sizeof err), DEC_SKIP);
	/* IPv6 hop-by-hop then TCP: decoded */
	f.n = 0;
	ip6(&f, 0, 8 + 25);
	put(&f, "\x06\0\0\0\0\0\0\0", 8);
	tcp(&f, 9, DEC_TH_ACK, "hello", 5);
	CU_ASSERT_EQUAL(dec_frame(LT_RAW, guarded(f.b, f.n), f.n, f.n, 0, &p, err, sizeof err), DEC_OK);
	CU_ASSERT_EQUAL(p.seq, 9);
	/* IPv6 extension header that ends beyond the captured bytes (fuzz_pcap finding): within the
	 * payload length, past the capture. */
	f.n = 0;
	ip6(&f, 60, 8 + 32 + 25);
	put(&f, "\x06\x04\0\0\0\0\0\0", 8); /* 40 bytes of options, only 8 captured */
	CU_ASSERT_EQUAL(dec_frame(LT_RAW, guarded(f.b, f.n), f.n, f.n, 0, &p, err, sizeof err),
	                DEC_EMALFORMED);
	/* Two 802.1Q tags */
	f.n = 0;
	eth(&f, 0x0800, 2);
	ip4(&f, 6, 29, 6, 0x4000);
	tcp(&f, 3, DEC_TH_ACK, "hello", 6);
	CU_ASSERT_EQUAL(dec_frame(LT_EN10MB, guarded(f.b, f.n), f.n, f.n, 0, &p, err, sizeof err), DEC_OK);
	CU_ASSERT(p.caplen == 5 && !memcmp(p.payload, "hello", 5));
	/* Unknown link type */
	CU_ASSERT_EQUAL(dec_frame(147, guarded(f.b, f.n), f.n, f.n, 0, &p, err, sizeof err), DEC_ELINK);
	CU_ASSERT(!dec_link_supported(147));
	/* Empty frames never crash */
	CU_ASSERT_EQUAL(dec_frame(LT_RAW, NULL, 0, 0, 0, &p, err, sizeof err), DEC_EMALFORMED);
	CU_ASSERT_EQUAL(dec_frame(LT_LINUX_SLL2, guarded(f.b, 0), 0, 0, 0, &p, err, sizeof err),
	                DEC_EMALFORMED);
}

/* ---- reassembly: table of segment sequences -------------------------------------------------------- */

struct seg {
	int dir;     /* 0 client, 1 server; -1 ends the list */
	int32_t off; /* sequence offset from the side's ISN (the SYN has offset -1) */
	unsigned flags;
	const char *data;
	uint64_t ts; /* ns */
	uint16_t ipid;
};

#define S_SYN DEC_TH_SYN
#define S_SA (DEC_TH_SYN | DEC_TH_ACK)
#define S_A DEC_TH_ACK
#define S_F (DEC_TH_FIN | DEC_TH_ACK)
#define S_R (DEC_TH_RST | DEC_TH_ACK)
/* The segment macros and the case table keep one case to a few lines. */
/* clang-format off */
#define HS {0, -1, S_SYN, "", 1, 1}, {1, -1, S_SA, "", 2, 2}, {0, 0, S_A, "", 3, 3}
#define END {-1, 0, 0, NULL, 0, 0}

struct rcase {
	const char *name;
	uint32_t isn[2];
	struct seg segs[16];
	const char *c2s, *s2c;
	int cfin, crst, sfin, srst;
	unsigned flags; /* expected DEC_F_INCOMPLETE/GAP */
	unsigned long retrans, overlaps, conflicts, ooo, dups; /* client direction */
	size_t writes; /* client DATA events */
};

static const struct rcase rcases[] = {
	{"in order", {1000, 5000}, {HS, {0, 0, S_A, "hello ", 10, 4}, {0, 6, S_A, "world", 11, 5},
	 {1, 0, S_A, "HELLO WORLD", 12, 6}, {0, 11, S_F, "", 13, 7}, {1, 11, S_F, "", 14, 8}, END},
	 "hello world", "HELLO WORLD", 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2},
	{"out of order", {1000, 5000}, {HS, {0, 6, S_A, "world", 10, 4}, {0, 0, S_A, "hello ", 11, 5},
	 {0, 11, S_F, "", 12, 6}, END}, "hello world", "", 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2},
	{"retransmission after RTO", {1000, 5000}, {HS, {0, 0, S_A, "abc", 10, 4}, {0, 0, S_A, "abc", 300000000, 5},
	 {0, 3, S_A, "def", 300000001, 6}, END}, "abcdef", "", 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2},
	{"capture duplicate", {1000, 5000}, {HS, {0, 0, S_A, "abc", 10, 4}, {0, 0, S_A, "abc", 10, 4},
	 {0, 3, S_A, "def", 11, 5}, END}, "abcdef", "", 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2},
	{"overlap, first copy wins", {1000, 5000}, {HS, {0, 0, S_A, "abcdef", 10, 4}, {0, 3, S_A, "XYZghi", 11, 5},
	 END}, "abcdefghi", "", 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 2},
	{"held overlap, first copy wins", {1000, 5000}, {HS, {0, 6, S_A, "ghi", 10, 4}, {0, 4, S_A, "efGHIjk", 11, 5},
	 {0, 0, S_A, "abcd", 12, 6}, END}, "abcdefghijk", "", 0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 4},
	{"sequence wraparound", {0xfffffffbu, 0xfffffffeu}, {HS, {0, 0, S_A, "0123", 10, 4},
	 {0, 4, S_A, "4567", 11, 5}, {1, 0, S_A, "01234567", 12, 6}, {0, 8, S_F, "", 13, 7}, END},
	 "01234567", "01234567", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2},
	{"gap", {1000, 5000}, {HS, {0, 0, S_A, "abc", 10, 4}, {0, 6, S_A, "ghi", 11, 5}, END}, "abc", "", 0, 0, 0, 0,
	 DEC_F_INCOMPLETE | DEC_F_GAP, 0, 0, 0, 1, 0, 1},
	{"FIN ahead of a gap", {1000, 5000}, {HS, {0, 3, S_F, "def", 10, 4}, END}, "", "", 0, 0, 0, 0,
	 DEC_F_INCOMPLETE | DEC_F_GAP, 0, 0, 0, 1, 0, 0},
	{"FIN completed by late data", {1000, 5000}, {HS, {0, 3, S_F, "def", 10, 4}, {0, 0, S_A, "abc", 11, 5}, END},
	 "abcdef", "", 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2},
	{"client reset mid-stream", {1000, 5000}, {HS, {0, 0, S_A, "abc", 10, 4}, {1, 0, S_A, "AB", 11, 5},
	 {0, 3, S_R, "", 12, 6}, END}, "abc", "AB", 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	{"no SYN", {1000, 5000}, {{0, 0, S_A, "mid", 10, 4}, {1, 0, S_A, "MID", 11, 5}, END}, "mid", "MID", 0, 0, 0, 0,
	 DEC_F_INCOMPLETE, 0, 0, 0, 0, 0, 1},
	{"server FIN then RST", {1000, 5000}, {HS, {1, 0, S_F, "", 10, 4}, {1, 1, S_R, "", 11, 5}, END}, "", "", 0, 0,
	 1, 1, 0, 0, 0, 0, 0, 0, 0},
	{"old segment before a guessed ISN", {1000, 5000}, {{0, 4, S_A, "efgh", 10, 4}, {0, 0, S_A, "abcdef", 11, 5},
	 END}, "efgh", "", 0, 0, 0, 0, DEC_F_INCOMPLETE, 1, 0, 0, 0, 0, 1},
};
/* clang-format on */

static int add_one(struct dec_ctx *ctx, const struct rcase *c, const struct seg *s, int32_t off,
                   unsigned flags, const char *data, size_t len)
{
	char err[256];
	struct dec_pkt p;

	memset(&p, 0, sizeof p);
	p.family = 4;
	p.proto = 6;
	p.src[0] = p.dst[0] = 127;
	p.src[3] = (uint8_t)(s->dir ? 2 : 1);
	p.dst[3] = (uint8_t)(s->dir ? 1 : 2);
	p.sport = s->dir ? 8082 : 40000;
	p.dport = s->dir ? 40000 : 8082;
	p.seq = c->isn[s->dir] + (uint32_t)off;
	p.tcpflags = (uint8_t)flags;
	p.ts_ns = s->ts;
	p.ipid = s->ipid;
	p.payload = (const uint8_t *)data;
	p.len = p.caplen = len;
	return dec_add(ctx, &p, err, sizeof err);
}

/* Feeds a case, each segment whole (bytewise = 0) or cut into one-byte segments with the flags on the
 * last one (bytewise = 1); returns the context after dec_finish(). */
static struct dec_ctx *feed_case(const struct rcase *c, const struct dec_limits *lim, int bytewise,
                                 int *rc_out)
{
	char err[256];
	struct dec_ctx *ctx = dec_new(lim, err, sizeof err);
	size_t i, k;
	int rc = DEC_OK;

	for (i = 0; ctx && c->segs[i].dir >= 0 && rc == DEC_OK; i++) {
		const struct seg *s = &c->segs[i];
		size_t n = strlen(s->data);
		if (!bytewise || n <= 1) {
			rc = add_one(ctx, c, s, s->off, s->flags, s->data, n);
			continue;
		}
		for (k = 0; k < n && rc == DEC_OK; k++)
			rc = add_one(ctx, c, s, s->off + (int32_t)k, k + 1 == n ? s->flags : S_A, s->data + k,
			             1);
	}
	if (ctx)
		dec_finish(ctx);
	*rc_out = rc;
	return ctx;
}

/* The case's two streams, their closes and the incomplete/gap flags came out of the reassembly. */
static void check_streams(const struct dec_flow *f, const struct rcase *c)
{
	CU_ASSERT(f->dir[0].len == strlen(c->c2s) &&
	          !memcmp(f->dir[0].data ? (const char *)f->dir[0].data : "", c->c2s, f->dir[0].len));
	CU_ASSERT(f->dir[1].len == strlen(c->s2c) &&
	          !memcmp(f->dir[1].data ? (const char *)f->dir[1].data : "", c->s2c, f->dir[1].len));
	CU_ASSERT_EQUAL(f->dir[0].fin, c->cfin);
	CU_ASSERT_EQUAL(f->dir[0].rst, c->crst);
	CU_ASSERT_EQUAL(f->dir[1].fin, c->sfin);
	CU_ASSERT_EQUAL(f->dir[1].rst, c->srst);
	CU_ASSERT_EQUAL(f->flags & (DEC_F_INCOMPLETE | DEC_F_GAP), c->flags);
}

/* The same cases fed one byte per segment: the same streams and closes come out. */
static void test_reassembly_bytewise(void)
{
	struct dec_limits lim;
	size_t i;

	dec_limits_default(&lim);
	for (i = 0; i < sizeof rcases / sizeof rcases[0]; i++) {
		const struct rcase *c = &rcases[i];
		int rc;
		unsigned before = CU_get_number_of_failures();
		struct dec_ctx *ctx = feed_case(c, &lim, 1, &rc);
		const struct dec_flow *f;
		CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
		CU_ASSERT_EQUAL(rc, DEC_OK);
		CU_ASSERT_EQUAL_FATAL(dec_nflows(ctx), 1);
		f = dec_flow(ctx, 0);
		check_streams(f, c);
		if (CU_get_number_of_failures() != before)
			fprintf(stderr, "bytewise reassembly case \"%s\" failed\n", c->name);
		dec_free(ctx);
	}
}

static void test_reassembly_table(void)
{
	struct dec_limits lim;
	size_t i, k;

	dec_limits_default(&lim);
	for (i = 0; i < sizeof rcases / sizeof rcases[0]; i++) {
		const struct rcase *c = &rcases[i];
		int rc;
		struct dec_ctx *ctx = feed_case(c, &lim, 0, &rc);
		const struct dec_flow *f;
		size_t writes = 0;
		unsigned before = CU_get_number_of_failures();
		CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
		CU_ASSERT_EQUAL(rc, DEC_OK);
		CU_ASSERT_EQUAL_FATAL(dec_nflows(ctx), 1);
		f = dec_flow(ctx, 0);
		CU_ASSERT_EQUAL(f->cport, 40000);
		CU_ASSERT_EQUAL(f->sport, 8082);
		CU_ASSERT_EQUAL(f->dir[0].len, strlen(c->c2s));
		check_streams(f, c);
		CU_ASSERT_EQUAL(f->dir[0].retrans, c->retrans);
		CU_ASSERT_EQUAL(f->dir[0].overlaps, c->overlaps);
		CU_ASSERT_EQUAL(f->dir[0].conflicts, c->conflicts);
		CU_ASSERT_EQUAL(f->dir[0].ooo, c->ooo);
		CU_ASSERT_EQUAL(f->dir[0].dups, c->dups);
		for (k = 0; k < f->nev; k++) {
			const struct dec_ev *e = &f->ev[k];
			if (e->dir == DEC_C2S && e->kind == DEC_EV_DATA)
				writes++;
			/* Events tile each stream in order. */
			CU_ASSERT(e->off + e->len <= f->dir[e->dir].len);
		}
		CU_ASSERT_EQUAL(writes, c->writes);
		if (CU_get_number_of_failures() != before)
			fprintf(stderr, "reassembly case \"%s\" failed\n", c->name);
		dec_free(ctx);
	}
}

/* Client side: the SYN-ACK alone decides it, and so does --server-port for UDP. */
static void test_client_side(void)
{
	struct dec_limits lim;
	char err[256];
	struct dec_ctx *ctx;
	struct dec_pkt p;
	uint16_t ports[1] = {8080};

	dec_limits_default(&lim);
	ctx = dec_new(&lim, err, sizeof err);
	memset(&p, 0, sizeof p);
	p.family = 4;
	p.proto = 6;
	p.sport = 8082;
	p.dport = 40000;
	p.src[3] = 2;
	p.dst[3] = 1;
	p.tcpflags = S_SA;
	CU_ASSERT_EQUAL(dec_add(ctx, &p, err, sizeof err), DEC_OK);
	dec_finish(ctx);
	CU_ASSERT_EQUAL(dec_flow(ctx, 0)->cport, 40000);
	CU_ASSERT_EQUAL(dec_flow(ctx, 0)->sport, 8082);
	dec_free(ctx);

	lim.server_ports = ports;
	lim.n_server_ports = 1;
	ctx = dec_new(&lim, err, sizeof err);
	p.proto = 17;
	p.sport = 8080;
	p.dport = 40000;
	p.payload = (const uint8_t *)"REPLY";
	p.len = p.caplen = 5;
	CU_ASSERT_EQUAL(dec_add(ctx, &p, err, sizeof err), DEC_OK);
	dec_finish(ctx);
	CU_ASSERT_EQUAL(dec_flow(ctx, 0)->sport, 8080);
	CU_ASSERT_EQUAL(dec_flow(ctx, 0)->dir[DEC_S2C].len, 5);
	CU_ASSERT_EQUAL(dec_flow(ctx, 0)->ev[0].dir, DEC_S2C);
	dec_free(ctx);
}

/* Limits give DEC_ELIMIT with a message, never a crash or unbounded growth. */
static void test_limits(void)
{
	struct dec_limits lim;
	char err[256];
	struct dec_ctx *ctx;
	struct dec_pkt p;
	int i, rc = DEC_OK;
	static char big[4096];

	dec_limits_default(&lim);
	lim.max_flows = 3;
	ctx = dec_new(&lim, err, sizeof err);
	memset(&p, 0, sizeof p);
	p.family = 4;
	p.proto = 17;
	for (i = 0; i < 5 && rc == DEC_OK; i++) {
		p.sport = (uint16_t)(1000 + i);
		p.dport = 53;
		rc = dec_add(ctx, &p, err, sizeof err);
	}
	CU_ASSERT_EQUAL(rc, DEC_ELIMIT);
	CU_ASSERT_EQUAL(i, 4);
	CU_ASSERT(strstr(err, "flows") != NULL);
	dec_free(ctx);

	dec_limits_default(&lim);
	lim.max_bytes = 10000;
	ctx = dec_new(&lim, err, sizeof err);
	memset(big, 'x', sizeof big);
	p.payload = (const uint8_t *)big;
	p.len = p.caplen = sizeof big;
	rc = DEC_OK;
	for (i = 0; i < 5 && rc == DEC_OK; i++) {
		p.ipid = (uint16_t)i;
		rc = dec_add(ctx, &p, err, sizeof err);
	}
	CU_ASSERT_EQUAL(rc, DEC_ELIMIT);
	CU_ASSERT(strstr(err, "bytes") != NULL);
	dec_free(ctx);

	dec_limits_default(&lim);
	lim.max_pending = 2;
	ctx = dec_new(&lim, err, sizeof err);
	p.proto = 6;
	p.len = p.caplen = 1;
	rc = DEC_OK;
	for (i = 0; i < 5 && rc == DEC_OK; i++) {
		p.seq = (uint32_t)(1 + 2 * i); /* every other byte: each one held */
		rc = dec_add(ctx, &p, err, sizeof err);
	}
	CU_ASSERT_EQUAL(rc, DEC_ELIMIT);
	dec_free(ctx);

	lim.max_flows = 0;
	CU_ASSERT_PTR_NULL(dec_new(&lim, err, sizeof err));
}

/* ---- pcapw -> file -> pcapin -> decode: checksums right, streams right ------------------------------- */

/* True when p[0..n) holds a right Internet checksum: the one's-complement sum of its 16-bit big-endian
 * words (an odd last byte padded with zero) is all ones. Written out apart from lib/pcapw.c, which it checks.
 */
static int checksum_ok(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += i % 2 == 0 ? (uint32_t)p[i] << 8 : p[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* True when the TCP or UDP checksum of the IPv4 packet ip (20-byte header, l4len bytes after it) is right:
 * it covers the pseudo-header (addresses, zero, protocol, length) and the segment. */
static int l4_checksum_ok(const uint8_t *ip, size_t l4len)
{
	uint8_t buf[12 + 2048];
	if (l4len > sizeof buf - 12)
		return 0;
	memcpy(buf, ip + 12, 8);
	buf[8] = 0;
	buf[9] = ip[9];
	buf[10] = (uint8_t)(l4len >> 8);
	buf[11] = (uint8_t)l4len;
	memcpy(buf + 12, ip + 20, l4len);
	return checksum_ok(buf, 12 + l4len);
}

static void test_pcapw_roundtrip(void)
{
	char path[] = "/tmp/replay-test-XXXXXX", err[256];
	int fd = mkstemp(path), lt, rc;
	struct pcapw *w;
	struct pcapw_ep ep;
	struct pcapw_tcp f;
	struct pcapin *in;
	struct dec_limits lim;
	struct dec_ctx *ctx;
	const uint8_t *buf;
	size_t caplen, wirelen, nframes = 0;
	uint64_t ts;
	const struct dec_flow *fl;

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	w = pcapw_open(path, PCAPW_EN10MB, 1, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	pcapw_ep_v4(&ep, 0x7f000001, 40000, 0x7f000001, 8082);
	pcapw_tcp_init(&f, w, &ep, 1700000000123456789ull);
	f.mss = 4;
	CU_ASSERT_EQUAL(pcapw_tcp_connect(&f, err, sizeof err), 0);
	CU_ASSERT_EQUAL(pcapw_tcp_send(&f, PCAPW_C2S, "hello world", 11, err, sizeof err), 0);
	CU_ASSERT_EQUAL(pcapw_tcp_send(&f, PCAPW_S2C, "HELLO WORLD", 11, err, sizeof err), 0);
	CU_ASSERT_EQUAL(pcapw_tcp_fin(&f, PCAPW_C2S, err, sizeof err), 0);
	CU_ASSERT_EQUAL(pcapw_tcp_rst(&f, PCAPW_S2C, err, sizeof err), 0);
	CU_ASSERT_EQUAL(pcapw_tcp_send(&f, PCAPW_C2S, "x", 1, err, sizeof err), -1); /* closed */
	CU_ASSERT_EQUAL(pcapw_udp(w, &ep, PCAPW_C2S, "", 0, f.ts_ns, err, sizeof err), 0);
	CU_ASSERT_EQUAL(pcapw_close(w, err, sizeof err), 0);

	in = pcapin_open(path, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	lt = pcapin_linktype(in);
	CU_ASSERT_EQUAL(lt, LT_EN10MB);
	dec_limits_default(&lim);
	ctx = dec_new(&lim, err, sizeof err);
	while ((rc = pcapin_next(in, &buf, &caplen, &wirelen, &ts, err, sizeof err)) == PCAPIN_FRAME) {
		const uint8_t *ip = buf + 14;
		size_t l4len = caplen - 14 - 20;
		if (nframes == 0)
			CU_ASSERT_EQUAL(ts, 1700000000123456789ull); /* nanoseconds kept */
		nframes++;
		CU_ASSERT(checksum_ok(ip, 20));
		CU_ASSERT(l4_checksum_ok(ip, l4len));
		CU_ASSERT_EQUAL(dec_feed(ctx, lt, buf, caplen, wirelen, ts, err, sizeof err), DEC_OK);
	}
	CU_ASSERT_EQUAL(rc, PCAPIN_END);
	pcapin_close(in);
	dec_finish(ctx);
	CU_ASSERT_EQUAL(nframes, 3 + 3 * 2 + 3 * 2 + 2 + 1 + 1);
	CU_ASSERT_EQUAL_FATAL(dec_nflows(ctx), 2);
	fl = dec_flow(ctx, 0);
	CU_ASSERT(fl->dir[0].len == 11 && !memcmp(fl->dir[0].data, "hello world", 11));
	CU_ASSERT(fl->dir[1].len == 11 && !memcmp(fl->dir[1].data, "HELLO WORLD", 11));
	CU_ASSERT(fl->dir[0].fin && fl->dir[1].rst && !(fl->flags & DEC_F_INCOMPLETE));
	CU_ASSERT_EQUAL(dec_flow(ctx, 1)->proto, 17);
	CU_ASSERT_EQUAL(dec_flow(ctx, 1)->nev, 1);
	dec_free(ctx);
	unlink(path);
}

/* ---- capslock notes: pcapw_note_frame() writes what dec_note() reads, and nothing else reads as one --- */

static void test_notes(void)
{
	static const char text[] = "capslock expect=upper case=tcp/transform/all-bytes rule=X1";
	uint8_t buf[1024];
	size_t n, cut;
	char out[DEC_NOTE_MAX], v[64], err[256];
	struct dec_pkt p;
	int kinds[2] = {PCAPW_EN10MB, PCAPW_RAW}, lts[2] = {1, 101};

	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL_FATAL(pcapw_note_frame(buf, sizeof buf, kinds[i], text, &n, err, sizeof err),
		                      0);
		CU_ASSERT_EQUAL(dec_note(lts[i], buf, n, out, sizeof out, err, sizeof err), 1);
		CU_ASSERT_STRING_EQUAL(out, text);
		/* The decoder skips it as neither TCP nor UDP: it makes no flow. */
		CU_ASSERT_EQUAL(dec_frame(lts[i], buf, n, n, 0, &p, err, sizeof err), DEC_SKIP);
		/* Cut by the snap length: a note that cannot be read, never a shorter one. */
		for (cut = n - 1; cut >= n - sizeof text + sizeof DEC_NOTE_PREFIX; cut--)
			CU_ASSERT_EQUAL(dec_note(lts[i], buf, cut, out, sizeof out, err, sizeof err), -1);
		/* Too small a text buffer is refused too. */
		CU_ASSERT_EQUAL(dec_note(lts[i], buf, n, out, 8, err, sizeof err), -1);
	}
	/* Not a note: another protocol, another address, another prefix, a TCP packet. */
	CU_ASSERT_EQUAL(pcapw_note_frame(buf, sizeof buf, PCAPW_RAW, text, &n, err, sizeof err), 0);
	buf[9] = 254;
	CU_ASSERT_EQUAL(dec_note(101, buf, n, out, sizeof out, err, sizeof err), 0);
	buf[9] = DEC_NOTE_PROTO;
	buf[15] = 2;
	CU_ASSERT_EQUAL(dec_note(101, buf, n, out, sizeof out, err, sizeof err), 0);
	buf[15] = 1;
	buf[20 + 8] = 'X'; /* "capslockXexpect=..." */
	CU_ASSERT_EQUAL(dec_note(101, buf, n, out, sizeof out, err, sizeof err), 0);
	buf[20 + 8] = ' ';
	buf[20 + 12] = 0x01; /* an unprintable byte */
	CU_ASSERT_EQUAL(dec_note(101, buf, n, out, sizeof out, err, sizeof err), -1);
	CU_ASSERT_EQUAL(pcapw_note_frame(buf, sizeof buf, PCAPW_RAW, "not capslock", &n, err, sizeof err),
	                -1);
	CU_ASSERT_EQUAL(pcapw_note_frame(buf, sizeof buf, PCAPW_RAW, "capslock \n", &n, err, sizeof err), -1);
	/* Its words. */
	CU_ASSERT_EQUAL(dec_note_get(text, "expect", v, sizeof v), 1);
	CU_ASSERT_STRING_EQUAL(v, "upper");
	CU_ASSERT_EQUAL(dec_note_get(text, "case", v, sizeof v), 1);
	CU_ASSERT_STRING_EQUAL(v, "tcp/transform/all-bytes");
	CU_ASSERT_EQUAL(dec_note_get(text, "rule", v, sizeof v), 1);
	CU_ASSERT_STRING_EQUAL(v, "X1");
	CU_ASSERT_EQUAL(dec_note_get(text, "exp", v, sizeof v), 0);
	CU_ASSERT_EQUAL(dec_note_get("capslock", "expect", v, sizeof v), 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
	    {"every link type, IPv4/IPv6, TCP/UDP", test_links},
	    {"the link-type table: rows, builders, parsers", test_link_table},
	    {"truncated at every length (guard page)", test_truncated_everywhere},
	    {"malformed headers", test_malformed},
	    {"skipped and unusual frames", test_skips},
	    {"reassembly table", test_reassembly_table},
	    {"reassembly table, one byte per segment", test_reassembly_bytewise},
	    {"client side", test_client_side},
	    {"limits", test_limits},
	    {"pcapw round trip", test_pcapw_roundtrip},
	    {"capslock notes", test_notes},
	};
	return unit_run_fixture("replay decode", suite_init, suite_clean, tests,
	                        sizeof tests / sizeof tests[0]);
}
