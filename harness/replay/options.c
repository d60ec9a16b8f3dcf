/* options.c - replay's command line: the option table, its checks and the help text. */
#include "options.h"

#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "decode.h"
#include "util.h"

void options_usage(FILE *f)
{
	char links[256];

	fprintf(
	    f,
	    "usage: replay [options] PCAP...\n"
	    "       replay --list PCAP...\n"
	    "       replay --write-corpus DIR PCAP...\n"
	    "       replay --from-fuzz-input FILE --write-pcap OUT [--fuzz-format tcp|udp]\n"
	    "\n"
	    "Replays the TCP and UDP conversations of pcap/pcapng captures (IPv4, IPv6, the link types\n"
	    "below) against an uppercase server and checks its answers. With no --target or --map it\n"
	    "starts the reference servers tcp-upper and udp-upper (next to this program) on free loopback\n"
	    "ports, [::1] too for IPv6 flows (skipped, with a reason, on a host without it). After the\n"
	    "replay each TCP server must still answer a probe: one that crashed on a flow fails the run.\n"
	    "\n"
	    "  --target HOST:PORT     replay the flows (TCP and UDP) against HOST:PORT, but those --map "
	    "sends\n"
	    "                         elsewhere\n"
	    "  --map PORT=HOST:PORT   flows whose captured server port is PORT go to HOST:PORT "
	    "(repeatable).\n"
	    "                         Without --target a flow with no --map is an error: map it, or --only\n"
	    "  --only tcp|udp|PORT    replay only TCP flows, UDP flows, or flows to captured server port "
	    "PORT\n"
	    "                         (repeatable: any transport given, and any port given); the others are\n"
	    "                         skipped, each with the reason\n"
	    "  --server-port PORT     PORT is a server port in the capture: decides the client side of "
	    "flows\n"
	    "                         without a SYN and of UDP flows (default: SYN initiator, first UDP "
	    "sender)\n"
	    "  --expect recorded|upper  recorded: each reply equals the recorded one (the rule only where "
	    "the\n"
	    "                         capture has none); upper: the transform of what was sent (SPEC).\n"
	    "                         Default: the capture's capslock note (conform --pcap-dir writes\n"
	    "                         expect=upper), otherwise recorded\n"
	    "  --timing fast|original  as fast as causality allows (default) or the capture's timing\n"
	    "  --speed FACTOR         original timing, FACTOR times faster (2 = twice as fast; not with\n"
	    "                         --timing fast)\n"
	    "  -j N                   replay up to N flows at once (default 8)\n"
	    "  --timeout SECONDS      longest wait for one expected server action (default 5; a unit is\n"
	    "                         allowed: 500ms, 2s, 1m)\n"
	    "  --incomplete skip|replay|fail  flows with gaps or no SYN, and cut ones (snap length, file\n"
	    "                         ending inside a packet): skip them (default; a cut one was not\n"
	    "                         checked: exit 2), replay what was captured, or fail them\n"
	    "  --junit FILE           write a JUnit XML report (FILE '-': stdout, the flow lines then go\n"
	    "                         to stderr)\n"
	    "  --json FILE            write a JSON report (FILE '-' as for --junit; one of them at most)\n"
	    "  --list                 decode and list the flows with reassembly counts; replay nothing\n"
	    "  --decode-only          decode and reassemble, print packets per second; replay nothing\n"
	    "  --write-corpus DIR     write each flow's client side as a fuzz seed, DIR/fuzz_tcp/NAME or\n"
	    "                         DIR/fuzz_udp/NAME (format: lib/script.h); replay nothing (DIR is\n"
	    "                         created when missing, its parent is not)\n"
	    "  --from-fuzz-input FILE --write-pcap OUT\n"
	    "                         write the conversation a fuzz input describes as a pcap (EN10MB;\n"
	    "                         OUT '-': stdout)\n"
	    "  --fuzz-format tcp|udp  the input's format (default: udp if its path contains \"udp\")\n"
	    "  -q                     print only mismatches, errors and the summary\n"
	    "  -v                     also show the reference servers' output (after the replay)\n"
	    "  -h, --help             this help;  --version  the version\n"
	    "\n"
	    "Link types: %s;\n"
	    "EN10MB with any number of 802.1Q/802.1ad VLAN tags.\n"
	    "\n"
	    "Exit status: 0 every replayed flow matched, 1 a mismatch or a server that failed the probe,\n"
	    "2 a setup or input error, or nothing checked (no flow, every flow skipped, a cut capture).\n"
	    "\n"
	    "Examples:\n"
	    "  replay pcaps/session1.pcap\n"
	    "  replay --target 127.0.0.1:8082 --only tcp capture.pcap\n"
	    "  replay --map 8082=127.0.0.1:9000 --only 8082 capture.pcap\n"
	    "  replay --target 127.0.0.1:9000 fails/tcp_transform_all-bytes.pcap\n",
	    dec_link_list(links, sizeof links));
}

/* The argument of an option that names one of several words: their index goes to *index. */
struct choice {
	const char *const *names; /* NULL-terminated */
	const char *expected;     /* how the message lists them */
	int *index;
};

static int take_choice(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	const struct choice *c = dest;

	for (int i = 0; c->names[i] != NULL; i++)
		if (strcmp(arg, c->names[i]) == 0) {
			*c->index = i;
			return 0;
		}
	snprintf(err, errlen, "%s %s: expected %s", name, arg, c->expected);
	return -1;
}

/* --target HOST:PORT */
static int take_target(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	struct options *o = dest;
	char why[512];

	o->target_spec = arg;
	if (net_parse(arg, &o->target, why, sizeof why) == 0)
		return 0;
	snprintf(err, errlen, "%s %s: %s", name, arg, why);
	return -1;
}

/* --map PORT=HOST:PORT */
static int take_map(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	struct options *o = dest;
	struct options_map *m = &o->maps[o->nmaps];
	const char *eq = strchr(arg, '=');
	char why[512];
	uint64_t v;

	if (o->nmaps == sizeof o->maps / sizeof o->maps[0])
		snprintf(err, errlen, "%s %s: too many mappings", name, arg);
	else if (!eq)
		snprintf(err, errlen, "%s %s: expected PORT=HOST:PORT", name, arg);
	else {
		char port[16];
		snprintf(port, sizeof port, "%.*s", (int)(eq - arg), arg);
		if ((size_t)(eq - arg) >= sizeof port ||
		    util_parse_u64(port, 0, 65535, 0, &v, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s %s: bad port %.*s", name, arg, (int)(eq - arg), arg);
			return -1;
		}
		m->port = (unsigned)v;
		if (net_parse(eq + 1, &m->to, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s %s: %s", name, arg, why);
			return -1;
		}
		if (o->nserver_ports < OPTIONS_MAX_MAPS)
			o->server_ports[o->nserver_ports++] = (uint16_t)v;
		o->nmaps++;
		return 0;
	}
	return -1;
}

/* --only tcp|udp|PORT */
static int take_only(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	struct options *o = dest;
	char why[128];
	uint64_t v;

	if (strcmp(arg, "tcp") == 0 || strcmp(arg, "udp") == 0) {
		o->only_proto |= arg[0] == 't' ? OPTIONS_ONLY_TCP : OPTIONS_ONLY_UDP;
		return 0;
	}
	if (util_parse_u64(arg, 1, 65535, 0, &v, why, sizeof why) < 0)
		snprintf(err, errlen, "%s %s: expected tcp, udp or a port number", name, arg);
	else if (o->nonly_ports == OPTIONS_MAX_MAPS)
		snprintf(err, errlen, "%s %s: too many ports", name, arg);
	else {
		o->only_ports[o->nonly_ports++] = (uint16_t)v;
		return 0;
	}
	return -1;
}

/* --server-port PORT */
static int take_server_port(const char *name, const char *arg, void *dest, char *err, size_t errlen)
{
	struct options *o = dest;
	char why[128];
	uint64_t v;

	if (util_parse_u64(arg, 1, 65535, 0, &v, why, sizeof why) < 0)
		snprintf(err, errlen, "%s %s: not a port number", name, arg);
	else if (o->nserver_ports == OPTIONS_MAX_MAPS)
		snprintf(err, errlen, "%s %s: too many server ports", name, arg);
	else {
		o->server_ports[o->nserver_ports++] = (uint16_t)v;
		return 0;
	}
	return -1;
}

enum options_action options_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
	static const char *const expects[] = {"recorded", "upper", NULL};
	static const char *const timings[] = {"fast", "original", NULL};
	static const char *const incompletes[] = {"skip", "replay", "fail", NULL};
	static const char *const formats[] = {"tcp", "udp", NULL};
	int incomplete = 0, rc;
	double timeout_s = 5;
	struct choice expect = {expects, "recorded or upper", &o->expect_upper},
	              timing = {timings, "fast or original", &o->timing_original},
	              incomplete_choice = {incompletes, "skip, replay or fail", &incomplete},
	              format = {formats, "tcp or udp", &o->fuzz_udp};
	const struct cli_option options[] = {
	    {"target", 0, CLI_CUSTOM, .dest = o, .custom = take_target},
	    {"map", 0, CLI_CUSTOM, .dest = o, .custom = take_map},
	    {"server-port", 0, CLI_CUSTOM, .dest = o, .custom = take_server_port},
	    {"only", 0, CLI_CUSTOM, .dest = o, .custom = take_only},
	    {"expect", 0, CLI_CUSTOM, .dest = &expect, .custom = take_choice},
	    {"timing", 0, CLI_CUSTOM, .dest = &timing, .custom = take_choice},
	    {"speed", 0, CLI_NUMBER, .dest = &o->speed, .max_seconds = 1e9, .flags = CLI_ABOVE_MIN,
	     .reason = "expected a positive factor"},
	    {"timeout", 0, CLI_SECONDS, .dest = &timeout_s, .min_seconds = 0.001, .max_seconds = 3600},
	    {"incomplete", 0, CLI_CUSTOM, .dest = &incomplete_choice, .custom = take_choice},
	    {"junit", 0, CLI_STRING, .dest = &o->junit},
	    {"json", 0, CLI_STRING, .dest = &o->json},
	    {"list", 0, CLI_FLAG, CLI_INTEGER(o->list)},
	    {"decode-only", 0, CLI_FLAG, CLI_INTEGER(o->decode_only)},
	    {"write-corpus", 0, CLI_STRING, .dest = &o->corpus},
	    {"from-fuzz-input", 0, CLI_STRING, .dest = &o->from_fuzz},
	    {"write-pcap", 0, CLI_STRING, .dest = &o->write_pcap},
	    {"fuzz-format", 0, CLI_CUSTOM, .dest = &format, .custom = take_choice},
	    {NULL, 'j', CLI_UNSIGNED, CLI_INTEGER(o->jobs), .min = 1, .max = 256,
	     .reason = "expected 1..256"},
	    {NULL, 'q', CLI_FLAG, CLI_INTEGER(o->quiet)},
	    {NULL, 'v', CLI_FLAG, CLI_INTEGER(o->verbose)},
	    {"help", 'h', CLI_HELP, .dest = NULL},
	    CLI_TABLE_END};

	memset(o, 0, sizeof *o);
	o->expect_upper = -1;
	o->jobs = 8;
	o->timeout_ms = 5000;
	o->fuzz_udp = -1;
	o->timing_original = -1;
	rc = cli_parse(options, argc, argv, err, errlen);
	if (rc == CLI_PARSE_HELP)
		return OPTIONS_HELP;
	if (rc == CLI_PARSE_VERSION)
		return OPTIONS_VERSION;
	if (rc != CLI_PARSE_OK)
		return OPTIONS_USAGE;
	o->timeout_ms = (int)(timeout_s * 1000 + 0.5);
	o->incomplete = (enum options_incomplete)incomplete;
	if (o->timing_original == 0 && o->speed) {
		snprintf(err, errlen,
		         "--speed replays with the capture's timing: it contradicts --timing fast");
		return OPTIONS_USAGE;
	}
	if (!!o->list + !!o->decode_only + !!o->corpus + !!(o->from_fuzz || o->write_pcap) > 1) {
		snprintf(err, errlen,
		         "--list, --decode-only, --write-corpus and --from-fuzz-input are modes: give one");
		return OPTIONS_USAGE;
	}
	if (util_is_stdout(o->json) && util_is_stdout(o->junit)) {
		snprintf(err, errlen, "--json - and --junit - both write to stdout: give one of them");
		return OPTIONS_USAGE;
	}
	o->timing_original = o->timing_original == 1 || o->speed;
	if (o->timing_original && !o->speed)
		o->speed = 1;
	if ((o->only_proto || o->nonly_ports) && (o->list || o->decode_only || o->corpus || o->from_fuzz)) {
		snprintf(err, errlen,
		         "--only chooses the flows to replay: it does not go with --list, --decode-only, "
		         "--write-corpus or --from-fuzz-input");
		return OPTIONS_INVALID;
	}
	if (o->from_fuzz || o->write_pcap) {
		if (!o->from_fuzz || !o->write_pcap) {
			snprintf(err, errlen, "--from-fuzz-input and --write-pcap go together");
			return OPTIONS_INVALID;
		}
		if (optind != argc) {
			snprintf(err, errlen, "--from-fuzz-input takes no PCAP arguments");
			return OPTIONS_INVALID;
		}
		return OPTIONS_RUN;
	}
	if (optind == argc) {
		snprintf(err, errlen, "no PCAP given");
		return OPTIONS_USAGE;
	}
	o->pcaps = argv + optind;
	o->npcaps = (size_t)(argc - optind);
	return OPTIONS_RUN;
}
