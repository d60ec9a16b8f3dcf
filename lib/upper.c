/* upper.c - the pure core of the uppercase protocol: transform, TCP state machine, UDP rule, oracles. */
#include "upper.h"

#include <stdio.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define UPPER_HAVE_AVX2_PATH 1
#endif

#if defined(UPPER_HAVE_AVX2_PATH)
/* The SSE2 method 32 bytes at a time, four vectors per iteration; only called where the CPU has AVX2.
 * Returns how many leading bytes it did (a multiple of 128). */
__attribute__((target("avx2"))) static size_t transform_avx2(unsigned char *dst, const unsigned char *src,
                                                             size_t n)
{
	const __m256i bias = _mm256_set1_epi8(0x1f);
	const __m256i limit = _mm256_set1_epi8((char)-102);
	const __m256i flip = _mm256_set1_epi8(0x20);
	size_t i = 0;

	for (; i + 128 <= n; i += 128) {
		for (size_t k = 0; k < 128; k += 32) {
			__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(src + i + k));
			__m256i m = _mm256_cmpgt_epi8(limit, _mm256_add_epi8(v, bias));
			_mm256_storeu_si256((__m256i *)(void *)(dst + i + k),
			                    _mm256_sub_epi8(v, _mm256_and_si256(m, flip)));
		}
	}
	return i;
}
#endif

void upper_transform(unsigned char *dst, const unsigned char *src, size_t n)
{
	size_t i = 0;
#if defined(UPPER_HAVE_AVX2_PATH)
	/* Reads a CPU feature word set at start-up (cpuid): no syscall. Short inputs stay on SSE2. */
	if (n >= 128 && __builtin_cpu_supports("avx2"))
		i = transform_avx2(dst, src, n);
#endif
#if defined(__SSE2__)
	/* Bias each byte so that 'a'..'z' land on the 26 smallest signed values, then one signed
	 * compare finds them; SSE2 has no unsigned byte compare. */
	const __m128i bias = _mm_set1_epi8(0x1f);        /* 'a' + 0x1f == 0x80 */
	const __m128i limit = _mm_set1_epi8((char)-102); /* -128 + 26 */
	const __m128i flip = _mm_set1_epi8(0x20);
	for (; i + 64 <= n; i += 64) {
		for (size_t k = 0; k < 64; k += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(src + i + k));
			__m128i m = _mm_cmplt_epi8(_mm_add_epi8(v, bias), limit);
			_mm_storeu_si128((__m128i *)(void *)(dst + i + k),
			                 _mm_sub_epi8(v, _mm_and_si128(m, flip)));
		}
	}
	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
		__m128i m = _mm_cmplt_epi8(_mm_add_epi8(v, bias), limit);
		_mm_storeu_si128((__m128i *)(void *)(dst + i), _mm_sub_epi8(v, _mm_and_si128(m, flip)));
	}
#endif
	for (; i < n; i++)
		dst[i] = upper_byte(src[i]);
}

size_t upper_udp_reply(unsigned char *out, const unsigned char *in, size_t n)
{
	upper_transform(out, in, n);
	return n;
}

/* ---- TCP connection ---- */

int upper_conn_init(struct upper_conn *c, unsigned char *buf, size_t cap)
{
	if (buf == NULL || cap == 0)
		return -1;
	memset(c, 0, sizeof *c);
	c->buf = buf;
	c->cap = cap;
	c->flags = UPPER_CF_INIT;
	return 0;
}

static int conn_over(const struct upper_conn *c)
{
	return !(c->flags & UPPER_CF_INIT) || (c->flags & (UPPER_CF_DEAD | UPPER_CF_SHUTDOWN));
}

/* Reading is wanted while the peer has not sent FIN and the buffer has room (T8: the bound). */
static int wants_read(const struct upper_conn *c)
{
	return !conn_over(c) && !(c->flags & UPPER_CF_EOF) && c->len < c->cap;
}

/* T4: our FIN only after the peer's and once every owed byte is out. */
static int wants_shutdown(const struct upper_conn *c)
{
	return !conn_over(c) && (c->flags & UPPER_CF_EOF) && c->len == 0;
}

/* upper_conn_event() checks the one bit an event needs (wants_read, wants_shutdown) instead of the whole
 * set: the fuzz targets feed millions of events, and the drive takes the set from the event's result. */
unsigned upper_conn_want(const struct upper_conn *c)
{
	unsigned w = 0;

	if (conn_over(c))
		return UPPER_WANT_CLOSE;
	if (c->len > 0)
		w |= (c->flags & UPPER_CF_BLOCKED) ? UPPER_WANT_POLLOUT : UPPER_WANT_WRITE;
	if (wants_read(c))
		w |= UPPER_WANT_READ;
	if (wants_shutdown(c))
		w |= UPPER_WANT_SHUTDOWN;
	return w;
}

size_t upper_conn_rspace(struct upper_conn *c, unsigned char **p)
{
	if (c->buf == NULL || !wants_read(c)) {
		*p = NULL;
		return 0;
	}
	/* Keep the free space contiguous: slide pending bytes down once the tail is under half. */
	if (c->off > 0 && c->cap - c->off - c->len < c->cap / 2) {
		memmove(c->buf, c->buf + c->off, c->len);
		c->off = 0;
	}
	*p = c->buf + c->off + c->len;
	return c->cap - c->off - c->len;
}

size_t upper_conn_pending(const struct upper_conn *c, const unsigned char **p)
{
	if (conn_over(c) || c->len == 0) {
		*p = NULL;
		return 0;
	}
	*p = c->buf + c->off;
	return c->len;
}

int upper_conn_event(struct upper_conn *c, enum upper_ev ev, size_t n)
{
	if (conn_over(c))
		return -1;
	switch (ev) {
	case UPPER_EV_READ:
		if (!wants_read(c) || c->buf == NULL || n == 0 || n > c->cap - c->off - c->len)
			return -1;
		upper_transform(c->buf + c->off + c->len, c->buf + c->off + c->len, n);
		c->len += n;
		c->bytes_in += n;
		break;
	case UPPER_EV_EOF:
		if (c->flags & UPPER_CF_EOF)
			return -1;
		c->flags |= UPPER_CF_EOF;
		break;
	case UPPER_EV_RESET:
	case UPPER_EV_WERROR:
		/* T6: the connection is lost; whatever is still owed is dropped, never sent. */
		c->flags |= UPPER_CF_DEAD;
		c->len = 0;
		c->off = 0;
		break;
	case UPPER_EV_WROTE:
		if (n == 0 || n > c->len)
			return -1;
		c->off += n;
		c->len -= n;
		c->bytes_out += n;
		if (c->len == 0)
			c->off = 0;
		c->flags &= ~UPPER_CF_BLOCKED;
		break;
	case UPPER_EV_AGAIN:
		if (c->len == 0)
			return -1;
		c->flags |= UPPER_CF_BLOCKED;
		break;
	case UPPER_EV_WRITABLE:
		c->flags &= ~UPPER_CF_BLOCKED;
		break;
	case UPPER_EV_SHUTDOWN:
		if (!wants_shutdown(c))
			return -1;
		c->flags |= UPPER_CF_SHUTDOWN;
		break;
	default:
		return -1;
	}
	return (int)upper_conn_want(c);
}

unsigned char *upper_conn_release(struct upper_conn *c)
{
	unsigned char *b = c->buf;

	if (b == NULL || c->len > 0)
		return NULL;
	c->buf = NULL;
	c->off = 0;
	return b;
}

int upper_conn_lend(struct upper_conn *c, unsigned char *buf)
{
	if (buf == NULL || c->buf != NULL)
		return -1;
	c->buf = buf;
	c->off = 0;
	return 0;
}

/* ---- SPEC rules ---- */

static const struct {
	const char *id;
	const char *text;
} rules[] = {
    {"X1", "bytes 'a'-'z' become 'A'-'Z'; every other byte value is returned unchanged"},
    {"T1", "every byte received is returned exactly once, transformed, in order"},
    {"T2", "no framing: the server answers the bytes it has without waiting for newline, full buffer or EOF"},
    {"T3", "the reply is a byte stream; its segmentation carries no meaning"},
    {"T4", "half-close: after the client's FIN the server sends every owed byte, then FIN, not RST"},
    {"T5", "a client that connects and closes costs the server nothing"},
    {"T6", "a client reset costs the server that connection only"},
    {"T7", "clients are served independently; a stalled client does not delay others"},
    {"T8", "backpressure: a bounded per-connection buffer, no byte lost"},
    {"T9", "at least 2000 simultaneous connections, and bursts of connection attempts, are accepted"},
    {"U1", "each datagram gets exactly one reply, sent to the sender's address and port from the address and "
           "port it was sent to"},
    {"U2", "boundaries are kept: replies are never merged or split"},
    {"U3", "an empty datagram gets an empty reply"},
    {"U4", "any datagram up to the largest UDP payload is answered whole"},
    {"U5", "a sender that went away, or a burst from many senders, leaves the server serving others"},
    {"U6", "no amplification: a reply is never longer than its request"},
    {"B1", "IPv4 and IPv6"},
    {"B2", "SIGINT or SIGTERM stops the server promptly and cleanly"},
};

const char *upper_rule_text(const char *id)
{
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
		if (strcmp(rules[i].id, id) == 0)
			return rules[i].text;
	return NULL;
}
