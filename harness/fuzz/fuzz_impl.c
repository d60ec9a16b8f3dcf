/* fuzz_impl.c - libFuzzer target over a user's implementation (impl.h): each input, a fuzz_tcp script
 * (fuzz-impl-tcp) or a fuzz_udp sequence (fuzz-impl-udp, built with -DIMPL_TARGET_UDP), is played over
 * real loopback sockets against a server started once and judged by the library's oracles. libFuzzer
 * owns argv, so the server comes from the environment:
 *   CAPSLOCK_IMPL='CMD {port}'         started through lib/child, restarted only after it died
 *   CAPSLOCK_IMPL_TCP=127.0.0.1:PORT   or a running server (CAPSLOCK_IMPL_UDP for UDP), loopback only
 *   CAPSLOCK_IMPL_IDLE_MS=N            no progress for N ms is a finding (default 2000)
 *   AFL_MAP_SIZE=N                     the edge map's size (default 65536)
 * A server built with AFL++'s compilers writes its edge map into the shared memory named by
 * __AFL_SHM_ID, which this target sets for it; the map is copied into libFuzzer's extra counters after
 * every input, beside a small map of what the input did (which op met which client state), so that the
 * corpus grows with the implementation's branches. The harness itself carries no coverage
 * instrumentation: its own branches depend on timing (partial sends, poll wakeups) and would only add
 * noise. A finding prints one line, "capslock-finding: RULE WHERE: WHAT", and aborts. Unless the command
 * line sets it, -entropic_scale_per_exec_time=1 is added to libFuzzer's flags. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "fuzz.h"
#include "impl.h"
#include "util.h"

#ifdef IMPL_TARGET_UDP
#define PROTO IMPL_UDP
#define PROTO_NAME "UDP"
#else
#define PROTO IMPL_TCP
#define PROTO_NAME "TCP"
#endif

enum { FEATURES = 1024, MAP_COUNTERS = 65536 };

/* libFuzzer reads every byte of this section after each input as coverage counters. */
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t counters[FEATURES + MAP_COUNTERS];

static struct impl *target;

/* At a normal end (-max_total_time, -runs): the server stopped and reaped (its CPU time then counts
 * as this process's children's). libFuzzer's _Exit on a timeout or Ctrl-C skips this; the watchdog
 * of impl.c ends the server then. */
static void stop_target(void)
{
	impl_close(target);
	target = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct impl_options o = {.proto = PROTO, .map_size = IMPL_MAP_DEFAULT};
	const char *idle = getenv("CAPSLOCK_IMPL_IDLE_MS"), *size = getenv("AFL_MAP_SIZE");
	char err[1024];
	uint64_t v;
	static char *args[256];
	static char entropic[] = "-entropic_scale_per_exec_time=1";
	/* libFuzzer reads its flags after this function: unless the command line says otherwise, the
	 * energy of an input is scaled by its speed. Over real sockets a fuzzing corpus soon holds inputs
	 * 10 to 100 times slower than others (megabytes to a client that stopped reading), which otherwise
	 * take most of the time: 123 exec/s against 292 in 30 s against tcp-upper, the same bugs found. */
	if (*argc > 0 && *argc < 255) {
		int given = 0;
		for (int i = 1; i < *argc; i++)
			given |= strncmp((*argv)[i], "-entropic_scale_per_exec_time=", 30) == 0;
		if (!given) {
			args[0] = (*argv)[0];
			args[1] = entropic;
			for (int i = 1; i < *argc; i++)
				args[i + 1] = (*argv)[i];
			args[*argc + 1] = NULL;
			*argc += 1;
			*argv = args;
		}
	}
	o.command = getenv("CAPSLOCK_IMPL");
	o.address = getenv(PROTO == IMPL_TCP ? "CAPSLOCK_IMPL_TCP" : "CAPSLOCK_IMPL_UDP");
	if ((o.command == NULL || !o.command[0]) && (o.address == NULL || !o.address[0])) {
		fprintf(
		    stderr,
		    "capslock-impl: set CAPSLOCK_IMPL='CMD {port}' (the server to start) or CAPSLOCK_IMPL_%s="
		    "127.0.0.1:PORT (a running one)\n",
		    PROTO_NAME);
		exit(2);
	}
	if (o.command != NULL && o.command[0])
		o.address = NULL;
	if (idle != NULL && util_parse_u64(idle, 1, 600000, 0, &v, err, sizeof err) == 0)
		o.idle_ms = (int)v;
	if (size != NULL && util_parse_u64(size, 1024, 1u << 26, 0, &v, err, sizeof err) == 0)
		o.map_size = (size_t)v;
	o.log_path = getenv("CAPSLOCK_IMPL_LOG");
	target = impl_open(&o, err, sizeof err);
	if (target == NULL) {
		fprintf(stderr, "capslock-impl: set-up error: %s\n", err);
		exit(2);
	}
	impl_describe(target, err, sizeof err);
	fprintf(stderr, "capslock-impl: %s\n", err);
	atexit(stop_target);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct impl_finding f;
	size_t len;
	int rc = impl_run(target, data, size, &f);
	if (rc < 0) {
		fprintf(stderr, "capslock-impl: local error: %s\n", f.what);
		if (strstr(f.what, "did not start again") != NULL) {
			child_kill_all();
			exit(2);
		}
		return -1;
	}
	if (rc > 0) {
		fprintf(stderr, "capslock-finding: %s %s: %s\n", f.rule, f.where, f.what);
		child_kill_all();
		abort();
	}
	/* libFuzzer clears the counters before each input; a map smaller than them leaves the rest 0 */
	const unsigned char *feat = impl_features(target, &len);
	memcpy(counters, feat, len < FEATURES ? len : FEATURES);
	const unsigned char *map = impl_map(target, &len);
	if (len <= MAP_COUNTERS) {
		if (len > 0)
			memcpy(counters + FEATURES, map, len);
	} else
		for (size_t i = 0; i < len; i++) { /* a larger map folded onto the counters */
			uint8_t *c = &counters[FEATURES + i % MAP_COUNTERS];
			unsigned sum = (unsigned)*c + map[i];
			*c = (uint8_t)(sum > 255 ? 255 : sum);
		}
	return 0;
}
