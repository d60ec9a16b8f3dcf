/* engine.h - what the fuzz scheduler (fuzz-run, make fuzz) and the fuzz benchmark (fuzz-bench, make
 * bench-fuzz) share: starting an engine with its output in a log, running a command under a time limit
 * with its output captured, reading AFL++'s fuzzer_stats, counting corpus files, making and removing
 * directory trees, and writing counts with a space between thousands and text cut to fit. No printing,
 * no exit. */
#ifndef ENGINE_H
#define ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Starts argv[0] (looked up in PATH when it has no slash) with its standard input, output and error on
 * in_fd, out_fd and err_fd (-1: inherited). Returns the process id, or -1 with a reason in err. */
pid_t eng_spawn(char *const argv[], int in_fd, int out_fd, int err_fd, char *err, size_t errlen);

/* Which of a command's output streams eng_run() keeps (the other goes to /dev/null). */
enum eng_capture { ENG_CAPTURE_STDOUT = 1, ENG_CAPTURE_STDERR = 2, ENG_CAPTURE_BOTH = 3 };

/* How eng_run() ended. */
enum eng_run_result {
	ENG_RUN_EXITED = 0, /* the command ended; *wstatus says how */
	ENG_RUN_TIMEOUT,    /* killed at the time limit; *out holds what it wrote until then */
	ENG_RUN_ERROR       /* could not be started (reason in err) */
};

/* Runs argv with standard input from stdin_path (NULL: /dev/null), keeps the streams capture names
 * (at most 4 MiB, the end of the output when there is more) in a NUL-terminated malloc'd *out (length
 * in *outlen, the caller frees it), and waits at most timeout_s seconds for it to end. */
enum eng_run_result eng_run(char *const argv[], const char *stdin_path, enum eng_capture capture,
                            double timeout_s, char **out, size_t *outlen, int *wstatus, char *err,
                            size_t errlen);

/* Writes how a child ended ("exit status 1", "killed by signal 9") into buf. Returns buf. */
char *eng_status_text(char *buf, size_t len, int wstatus);

/* Counts the files under dir (recursively) whose names do not start with '.' and are not README.txt;
 * 0 when dir cannot be read. */
size_t eng_count_files(const char *dir);

/* Creates path and its missing parents (mode 0777 before umask). Returns 0, or -1 with a reason naming
 * the path in err. */
int eng_mkdirs(const char *path, char *err, size_t errlen);

/* Removes path and everything under it (symbolic links are not followed). */
void eng_remove_tree(const char *path);

/* snprintf() for text that may be cut to fit (paths, reasons), without a truncation warning. */
__attribute__((format(printf, 3, 4))) void eng_format(char *out, size_t len, const char *format, ...);

/* Writes n with a space between thousands ("1 234 567") into buf. Returns buf. */
char *eng_fmt_count(char *buf, size_t len, uint64_t n);

/* Sets the environment every afl-fuzz run of ours gets: no CPU-frequency or core-pattern checks, no
 * terminal UI, no CPU binding (instances share cores). */
void eng_afl_environment(void);

/* One AFL++ instance's figures from its fuzzer_stats file. */
struct eng_afl_stats {
	uint64_t execs;    /* execs_done */
	double rate;       /* execs_per_sec */
	uint64_t corpus;   /* corpus_count */
	uint64_t crashes;  /* saved_crashes (unique_crashes in older versions) */
	double run_time;   /* run_time, seconds (0 when absent) */
	char coverage[32]; /* bitmap_cvg, for example "12.34%" ("" when absent) */
	int has_execs;     /* execs_done was present */
};

/* Reads path (an AFL++ fuzzer_stats file). Returns 0, or -1 when it cannot be read (st zeroed). */
int eng_afl_read(const char *path, struct eng_afl_stats *st);

#endif
