/* replay.h - what bin/replay's modules share: the exit statuses, the loaded captures, the jobs (one per
 * flow, and what became of it) and the run that holds them. */
#ifndef REPLAY_H
#define REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "options.h"
#include "play.h"
#include "servers.h"

enum { REPLAY_EXIT_MISMATCH = 1, REPLAY_EXIT_SETUP = 2 };

/* What became of a flow; REPLAY_PENDING: still to be played. */
enum replay_result {
	REPLAY_PENDING = -1,
	REPLAY_OK,
	REPLAY_MISMATCH,
	REPLAY_ERROR,
	REPLAY_SKIPPED,
	REPLAY_NRESULTS
};

/* A capture file, read and decoded. */
struct replay_file {
	const char *path;
	struct dec_ctx *ctx;
	uint64_t frames, malformed, bytes;
	int truncated;
	int cut; /* the file ends inside a packet, or a packet's headers are cut by the snap length:
	          * no flow of it is whole for sure */
	char cut_why[256];
	char note[DEC_NOTE_MAX]; /* its capslock note (decode.h), "" when it has none */
	int note_expect;         /* what the note says: 1 expect=upper, 0 expect=recorded, -1 nothing */
	int expect_upper;        /* how its flows are judged: --expect, else its note, else recorded */
};

/* One flow to replay and what became of it. */
struct replay_job {
	size_t file;          /* index into the run's files */
	struct play_job play; /* the flow, its target, and the player's result */
	enum replay_result result;
	char why[320];  /* skipped/error reason */
	int incomplete; /* skipped or failed as incomplete (--incomplete skip or fail) */
	int cut;        /* incomplete because the capture is cut (file or snap length): not checked */
	int left_out;   /* skipped by --only */
};

/* Everything one run works on, from the loaded captures to the results. */
struct replay_run {
	const struct options *o;
	struct replay_file *files;
	size_t nfiles;
	struct replay_job *jobs; /* in file order */
	size_t njobs;
	uint64_t cap0; /* the earliest capture time of any flow: --timing original starts there */
	struct servers refs;
	size_t count[REPLAY_NRESULTS];
	int dead; /* servers that failed the probe after the replay */
};

#endif
