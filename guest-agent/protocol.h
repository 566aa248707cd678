/*
 * The agent protocol for the C side: its constants, and the reading of what
 * the launcher sends (protocol.c: frames split from the port, spec payloads
 * parsed), free of side effects so that a host-compiled test replays golden
 * frame sequences through it (test/agent/). The TypeScript side's
 * (runtime/agent/protocol.ts: FRAME_TYPES, SPEC_TOKENS,
 * FRAME_HEADER_BYTES, MAX_FRAME, AGENT_VERSION) are the same values, and a
 * unit test (test/unit/agent-protocol.test.ts) fails on any difference.
 *
 * A frame: 1 type byte, 4-byte big-endian channel, 4-byte big-endian payload
 * length, payload. Channel 0 is the app; the launcher opens other channels
 * for `docker exec … guest` commands.
 */
#ifndef CX_PROTOCOL_H
#define CX_PROTOCOL_H

#define CX_FRAME_HEADER 9
#define CX_MAX_FRAME (16u << 20)
/* The ready frame's payload: version 3 takes the seed token. */
#define CX_AGENT_VERSION "cx-agent 3"

/* agent -> launcher */
#define CX_FRAME_READY 'R'
#define CX_FRAME_STARTED 'P' /* "PID", then " STEP=µs" per step of the start (parse host seed mounts fork exec), in the guest's clock */
#define CX_FRAME_STDOUT 'O'
#define CX_FRAME_STDERR 'E'
#define CX_FRAME_EXIT 'X'    /* "exit N" | "signal N" */
#define CX_FRAME_FATAL 'F'   /* the agent's own fatal error, as text */
/* launcher -> agent */
#define CX_FRAME_SPEC 'S'    /* NUL-terminated tokens, below */
#define CX_FRAME_STDIN 'I'   /* empty: end of input */
#define CX_FRAME_SIGNAL 'K'  /* a signal's name without SIG */
#define CX_FRAME_RESIZE 'W'  /* "rows cols" */

/* The spec's tokens: the first byte says the kind. */
#define CX_TOKEN_ARGV 'A'
#define CX_TOKEN_ENV 'V'      /* KEY=VALUE */
#define CX_TOKEN_CWD 'C'
#define CX_TOKEN_HOSTNAME 'H'
#define CX_TOKEN_USER 'U'     /* user[:group], names or numbers */
#define CX_TOKEN_TTY 'Y'      /* "rows cols": run on a terminal */
#define CX_TOKEN_MOUNT 'M'    /* "fstype:tag:path", app only */
#define CX_TOKEN_CLOCK 'T'    /* wall clock, decimal nanoseconds since the epoch */
#define CX_TOKEN_SEED 'G'     /* random seed (hex) the kernel reseeds from */

/*
 * A kernel command line parameter, which the kernel hands to init (the agent)
 * as an environment variable: wake every this many milliseconds while the
 * guest works (agent.c's tick slows down while it idles). Under TCG
 * QEMU sizes its software TLB only when the guest flushes it, which a switch
 * between processes does; a guest busy in one process and a few syscalls
 * flushes too seldom, keeps a small TLB and walks its page tables on most
 * accesses. The agent's wake-ups are those switches.
 */
#define CX_TICK_PARAM "cx_tick_ms"

/* The app's exit code when it could not be started as asked (an unknown user):
 * docker run's code for a container that never started (RUNTIME_FAILURE). */
#define CX_EXIT_NOT_STARTED 125

#include <stddef.h>
#include <stdint.h>

#define CX_MAX_TOKENS 4096
#define CX_MAX_MOUNTS 32
#define CX_MAX_SEED_BYTES 64
#define CX_ERROR_LEN 256

/* A frame's header: type, channel and payload length, big-endian. */
void cx_frame_header(unsigned char hdr[CX_FRAME_HEADER], char type, uint32_t ch, uint32_t len);

struct cx_frame {
  char type;
  uint32_t ch;
  const unsigned char *payload;
  uint32_t len;
};

/* What has arrived of the launcher's stream: an incomplete frame waits here for the rest. */
struct cx_reader {
  unsigned char *buf;
  size_t len, cap;
};

enum cx_read_result {
  CX_READ_MORE,   /* every whole frame handled; read again when the port is readable */
  CX_READ_CLOSED, /* the launcher hung up; `pending` bytes of a frame never finished */
  CX_READ_REFUSED /* a frame no launcher sends (unknown type, over CX_MAX_FRAME), or no memory: `error` says which */
};

typedef void cx_frame_handler(const struct cx_frame *frame, void *ctx);

/*
 * Reads what `fd` has now and hands each whole frame to `handle`, in order.
 * A refused frame stops the stream: nothing after it can be framed.
 */
enum cx_read_result cx_read_frames(struct cx_reader *r, int fd, cx_frame_handler *handle, void *ctx, char error[CX_ERROR_LEN]);

struct cx_mount {
  const char *fstype, *tag, *path;
};

/* A spec frame's tokens, pointing into the payload it was parsed from. */
struct cx_spec {
  char *argv[CX_MAX_TOKENS + 1];
  char *env[CX_MAX_TOKENS + 1];
  struct cx_mount mounts[CX_MAX_MOUNTS];
  const char *cwd, *user, *hostname;
  int argc, envc, nmounts;
  int tty;
  unsigned short rows, cols;
  int has_clock;
  long long clock_ns;
  unsigned char seed[CX_MAX_SEED_BYTES];
  size_t seed_len;
};

/*
 * Parses a spec payload in place: `buf` holds `len` bytes of NUL-terminated
 * tokens. Returns 0, or -1 with `error` set for a spec the agent must not
 * run (unknown or malformed token, no argv, too many values). Sets nothing
 * in the guest: the caller applies hostname, clock, seed and mounts.
 */
int cx_parse_spec(struct cx_spec *s, char *buf, uint32_t len, char error[CX_ERROR_LEN]);

#endif
