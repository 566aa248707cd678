/*
 * Replays a golden frame sequence through the agent's protocol code
 * (guest-agent/protocol.c), compiled for the host: the frames go into one
 * end of a socketpair, the agent's reader takes them from the other, and
 * every frame, parsed spec and refusal is printed for the test to compare
 * with the case's `result`.
 *
 * Usage: replay FRAMES whole|bytewise
 *   bytewise writes one byte at a time and reads after each, so every frame
 *   arrives split at every offset; the printout must not change.
 *
 * FRAMES, one item per line ('#' starts a comment):
 *   TYPE CHANNEL PAYLOAD   a frame; PAYLOAD is the rest of the line, with
 *                          \0 \n \\ \xNN escapes (a spec's tokens end in \0)
 *   raw HEX…               bytes as they are, e.g. a header that lies
 */
#define _GNU_SOURCE
#include "../../guest-agent/protocol.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned char *stream;
static size_t stream_len, stream_cap;

static void append(const void *data, size_t len) {
  if (stream_len + len > stream_cap) {
    stream_cap = (stream_len + len) * 2;
    stream = realloc(stream, stream_cap);
    if (!stream) exit(2);
  }
  memcpy(stream + stream_len, data, len);
  stream_len += len;
}

static size_t unescape(const char *in, unsigned char *out) {
  size_t n = 0;
  for (const char *p = in; *p; p++) {
    if (*p != '\\') { out[n++] = (unsigned char)*p; continue; }
    switch (*++p) {
      case '0': out[n++] = 0; break;
      case 'n': out[n++] = '\n'; break;
      case '\\': out[n++] = '\\'; break;
      case 'x': { unsigned v; sscanf(p + 1, "%2x", &v); out[n++] = (unsigned char)v; p += 2; break; }
      default: fprintf(stderr, "bad escape \\%c\n", *p); exit(2);
    }
  }
  return n;
}

static void load(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) { perror(path); exit(2); }
  char line[8192];
  static unsigned char payload[8192];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (!line[0] || line[0] == '#') continue;
    if (strncmp(line, "raw ", 4) == 0) {
      for (char *p = line + 4; *p; ) {
        unsigned v;
        int used;
        if (sscanf(p, " %2x%n", &v, &used) != 1) break;
        unsigned char b = (unsigned char)v;
        append(&b, 1);
        p += used;
      }
      continue;
    }
    char type;
    unsigned ch;
    int used;
    if (sscanf(line, "%c %u %n", &type, &ch, &used) < 2) { fprintf(stderr, "bad line: %s\n", line); exit(2); }
    size_t len = unescape(line + used, payload);
    unsigned char hdr[CX_FRAME_HEADER];
  cx_frame_header(hdr, type, ch, (uint32_t)len);
    append(hdr, sizeof hdr);
    append(payload, len);
  }
  fclose(f);
}

static void print_text(const unsigned char *p, size_t len) {
  putchar('"');
  for (size_t i = 0; i < len; i++) {
    if (p[i] == '"' || p[i] == '\\') printf("\\%c", p[i]);
    else if (p[i] >= 0x20 && p[i] < 0x7f) putchar(p[i]);
    else printf("\\x%02x", p[i]);
  }
  putchar('"');
}

static void print_spec(const struct cx_spec *s) {
  for (int i = 0; i < s->argc; i++) { printf("  argv "); print_text((unsigned char *)s->argv[i], strlen(s->argv[i])); putchar('\n'); }
  for (int i = 0; i < s->envc; i++) { printf("  env "); print_text((unsigned char *)s->env[i], strlen(s->env[i])); putchar('\n'); }
  printf("  cwd %s\n", s->cwd);
  if (s->user) printf("  user %s\n", s->user);
  if (s->hostname) printf("  hostname %s\n", s->hostname);
  if (s->tty) printf("  tty %hu %hu\n", s->rows, s->cols);
  for (int i = 0; i < s->nmounts; i++) printf("  mount %s %s %s\n", s->mounts[i].fstype, s->mounts[i].tag, s->mounts[i].path);
  if (s->has_clock) printf("  clock %lld\n", s->clock_ns);
  if (s->seed_len) {
    printf("  seed ");
    for (size_t i = 0; i < s->seed_len; i++) printf("%02x", s->seed[i]);
    putchar('\n');
  }
}

static void handle(const struct cx_frame *f, void *ctx) {
  (void)ctx;
  printf("frame %c %u ", f->type, f->ch);
  print_text(f->payload, f->len);
  putchar('\n');
  if (f->type != CX_FRAME_SPEC) return;
  /* As the agent does: a copy with a NUL after it, parsed in place. */
  char *buf = malloc(f->len + 1);
  struct cx_spec *s = malloc(sizeof *s);
  char error[CX_ERROR_LEN];
  if (!buf || !s) exit(2);
  memcpy(buf, f->payload, f->len);
  buf[f->len] = 0;
  if (cx_parse_spec(s, buf, f->len, error) == 0) print_spec(s);
  else printf("  refused: %s\n", error);
  free(s);
  free(buf);
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[2], "whole") && strcmp(argv[2], "bytewise"))) {
    fprintf(stderr, "usage: replay FRAMES whole|bytewise\n");
    return 2;
  }
  load(argv[1]);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) { perror("socketpair"); return 2; }
  struct cx_reader reader = {0};
  char error[CX_ERROR_LEN];
  size_t step = strcmp(argv[2], "bytewise") == 0 ? 1 : stream_len;
  enum cx_read_result result = CX_READ_MORE;
  for (size_t off = 0; off < stream_len && result == CX_READ_MORE; off += step) {
    size_t n = stream_len - off < step ? stream_len - off : step;
    if (write(sv[0], stream + off, n) != (ssize_t)n) { perror("write"); return 2; }
    result = cx_read_frames(&reader, sv[1], handle, NULL, error);
  }
  close(sv[0]);
  while (result == CX_READ_MORE) result = cx_read_frames(&reader, sv[1], handle, NULL, error);
  if (result == CX_READ_REFUSED) printf("refused: %s\n", error);
  else printf("closed, %zu bytes of an unfinished frame\n", reader.len);
  free(reader.buf);
  free(stream);
  return 0;
}
