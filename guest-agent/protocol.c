/*
 * What the launcher sends, read without touching the guest: frames split
 * from the port's byte stream, and spec payloads parsed into a cx_spec.
 * Everything here is checked against what a launcher can send, so a bad
 * frame is refused with a message instead of being trusted by PID 1.
 */
#define _GNU_SOURCE
#include "protocol.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void cx_frame_header(unsigned char hdr[CX_FRAME_HEADER], char type, uint32_t ch, uint32_t len) {
  hdr[0] = (unsigned char)type;
  put_be32(hdr + 1, ch);
  put_be32(hdr + 5, len);
}

static int refuse(char error[CX_ERROR_LEN], const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error, CX_ERROR_LEN, fmt, ap);
  va_end(ap);
  return -1;
}

static int launcher_sends(char type) {
  return type == CX_FRAME_SPEC || type == CX_FRAME_STDIN || type == CX_FRAME_SIGNAL || type == CX_FRAME_RESIZE;
}

enum cx_read_result cx_read_frames(struct cx_reader *r, int fd, cx_frame_handler *handle, void *ctx, char error[CX_ERROR_LEN]) {
  if (r->cap - r->len < 65536) {
    size_t cap = r->cap ? r->cap * 2 : 131072;
    unsigned char *buf = realloc(r->buf, cap);
    if (!buf) {
      refuse(error, "out of memory for frames");
      return CX_READ_REFUSED;
    }
    r->buf = buf;
    r->cap = cap;
  }
  ssize_t n = read(fd, r->buf + r->len, r->cap - r->len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return CX_READ_MORE;
  if (n <= 0) return CX_READ_CLOSED;
  r->len += (size_t)n;
  size_t off = 0;
  while (r->len - off >= CX_FRAME_HEADER) {
    const unsigned char *h = r->buf + off;
    struct cx_frame frame = {(char)h[0], get_be32(h + 1), h + CX_FRAME_HEADER, get_be32(h + 5)};
    if (!launcher_sends(frame.type)) {
      refuse(error, "unknown frame type 0x%02x from the launcher", h[0]);
      return CX_READ_REFUSED;
    }
    if (frame.len > CX_MAX_FRAME) {
      refuse(error, "frame of %u bytes from the launcher, over the %u-byte limit", frame.len, CX_MAX_FRAME);
      return CX_READ_REFUSED;
    }
    if (r->len - off < CX_FRAME_HEADER + (size_t)frame.len) break;
    handle(&frame, ctx);
    off += CX_FRAME_HEADER + frame.len;
  }
  memmove(r->buf, r->buf + off, r->len - off);
  r->len -= off;
  return CX_READ_MORE;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static int parse_seed(struct cx_spec *s, const char *hex, char error[CX_ERROR_LEN]) {
  size_t len = strlen(hex);
  if (len == 0 || len % 2 || len / 2 > CX_MAX_SEED_BYTES) return refuse(error, "seed token: %zu hex digits, not 2 to %d in pairs", len, 2 * CX_MAX_SEED_BYTES);
  for (size_t i = 0; i < len / 2; i++) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return refuse(error, "seed token: not lower-case hex");
    s->seed[i] = (unsigned char)(hi << 4 | lo);
  }
  s->seed_len = len / 2;
  return 0;
}

static int parse_clock(struct cx_spec *s, const char *text, char error[CX_ERROR_LEN]) {
  char *end;
  errno = 0;
  long long ns = strtoll(text, &end, 10);
  if (!*text || *end || errno || ns < 0) return refuse(error, "clock token: '%.40s' is not nanoseconds since the epoch", text);
  s->has_clock = 1;
  s->clock_ns = ns;
  return 0;
}

static int parse_tty(struct cx_spec *s, const char *text, char error[CX_ERROR_LEN]) {
  char rest;
  if (sscanf(text, "%hu %hu%c", &s->rows, &s->cols, &rest) != 2) return refuse(error, "tty token: '%.40s' is not \"rows cols\"", text);
  s->tty = 1;
  return 0;
}

/* "fstype:tag:/path": the path keeps any colons of its own. */
static int parse_mount(struct cx_spec *s, char *desc, char error[CX_ERROR_LEN]) {
  if (s->nmounts == CX_MAX_MOUNTS) return refuse(error, "more than %d mounts", CX_MAX_MOUNTS);
  char *fstype = strsep(&desc, ":"), *tag = strsep(&desc, ":"), *path = desc;
  if (!tag || !path || path[0] != '/' || !*tag) return refuse(error, "mount token: not \"fstype:tag:/path\"");
  if (strcmp(fstype, "9p") != 0 && strcmp(fstype, "virtiofs") != 0) return refuse(error, "mount token: unknown file system '%.20s'", fstype);
  s->mounts[s->nmounts++] = (struct cx_mount){fstype, tag, path};
  return 0;
}

int cx_parse_spec(struct cx_spec *s, char *buf, uint32_t len, char error[CX_ERROR_LEN]) {
  memset(s, 0, sizeof *s);
  s->cwd = "/";
  if (len == 0 || buf[len - 1] != 0) return refuse(error, "spec: its last token is not NUL-terminated");
  for (char *p = buf, *next; p < buf + len; p = next) {
    /* Found before the token is parsed: parsing a mount cuts it at its colons. */
    next = p + strlen(p) + 1;
    char *val = p + 1;
    int rc = 0;
    switch (*p) {
      case CX_TOKEN_ARGV:
        if (s->argc == CX_MAX_TOKENS) return refuse(error, "more than %d arguments", CX_MAX_TOKENS);
        s->argv[s->argc++] = val;
        break;
      case CX_TOKEN_ENV:
        if (s->envc == CX_MAX_TOKENS) return refuse(error, "more than %d environment variables", CX_MAX_TOKENS);
        s->env[s->envc++] = val;
        break;
      case CX_TOKEN_CWD: s->cwd = val; break;
      case CX_TOKEN_HOSTNAME: s->hostname = val; break;
      case CX_TOKEN_USER: s->user = val; break;
      case CX_TOKEN_MOUNT: rc = parse_mount(s, val, error); break;
      case CX_TOKEN_TTY: rc = parse_tty(s, val, error); break;
      case CX_TOKEN_SEED: rc = parse_seed(s, val, error); break;
      case CX_TOKEN_CLOCK: rc = parse_clock(s, val, error); break;
      case 0: return refuse(error, "spec: an empty token");
      default: return refuse(error, "spec: unknown token 0x%02x", (unsigned char)*p);
    }
    if (rc) return rc;
  }
  if (s->argc == 0) return refuse(error, "spec: no command to run");
  return 0;
}
