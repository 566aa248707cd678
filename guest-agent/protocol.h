/*
 * The agent protocol's constants for the C side. The TypeScript side's
 * (runtime/launcher/agent-protocol.ts: FRAME_TYPES, SPEC_TOKENS,
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
#define CX_FRAME_STARTED 'P'
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

#endif
