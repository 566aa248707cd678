/*
 * cx-agent: PID 1 of every Containerx guest.
 *
 * It lives in the initramfs, outside the guest's root filesystem, so the same
 * agent serves any userland: it loads the virtio modules, mounts the disk at
 * /sysroot, then talks to the launcher over one virtio-serial port named
 * "cx.agent" in the frames protocol.h defines. Channel 0 is the app; the
 * launcher opens other channels for commands run by `docker exec … guest`.
 * One port keeps each channel's output and exit report in the order the
 * guest produced them.
 * When the app (channel 0) ends, the agent stops everything else, unmounts
 * the disk and powers the guest off.
 */
#define _GNU_SOURCE
#include "protocol.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <sys/ioctl.h>
#include <linux/random.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <grp.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PORT_NAME "cx.agent"
#define SYSROOT "/sysroot"
#define ROOT_DEVICE "/dev/vda"
#define MODULE_LIST "/etc/cx/modules"
/* The screen's drivers (CX_DISPLAY), loaded only where the machine has the screen's keyboard. */
#define SCREEN_MODULE_LIST "/etc/cx/modules-screen"
/* The virtio spec's device ID of an input device. */
#define VIRTIO_ID_INPUT 18
#define MAX_SESSIONS 32
/* QEMU user-mode networking's fixed plan: guest, gateway, DNS. */
#define GUEST_IP "10.0.2.15"
#define GATEWAY_IP "10.0.2.2"
#define DNS_IP "10.0.2.3"
#define RESOLV_CONF SYSROOT "/etc/resolv.conf"

static int port = -1;
/* Cleared when the launcher hangs up, so poll stops reporting the closed port. */
static int port_open = 1;

static void power_off(void) {
  sync();
  reboot(RB_POWER_OFF);
  for (;;) pause();
}

static void write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += n;
    len -= (size_t)n;
  }
}

static void send_frame_on(uint32_t ch, char type, const void *data, uint32_t len) {
  unsigned char hdr[CX_FRAME_HEADER];
  cx_frame_header(hdr, type, ch, len);
  write_all(port, hdr, sizeof hdr);
  write_all(port, data, len);
}

static void send_frame(char type, const void *data, uint32_t len) {
  send_frame_on(0, type, data, len);
}

/* Reports a failure of the agent itself and powers the guest off. */
static void fatal(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dprintf(2, "cx-agent: %s\n", msg);
  if (port >= 0) send_frame(CX_FRAME_FATAL, msg, (uint32_t)strlen(msg));
  power_off();
}

static void load_modules(const char *list) {
  FILE *f = fopen(list, "r");
  char path[256];
  if (!f) fatal("cannot open %s: %s", list, strerror(errno));
  while (fgets(path, sizeof path, f)) {
    path[strcspn(path, "\n")] = 0;
    if (!path[0]) continue;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) fatal("cannot open module %s: %s", path, strerror(errno));
    if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
      fatal("cannot load module %s: %s", path, strerror(errno));
    close(fd);
  }
  fclose(f);
}

/* Whether a virtio device of this ID is there (virtio_pci registers its devices as it loads). */
static int has_virtio_device(unsigned long id) {
  DIR *d = opendir("/sys/bus/virtio/devices");
  struct dirent *e;
  int found = 0;
  if (!d) return 0;
  while (!found && (e = readdir(d))) {
    char path[300], text[32];
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/sys/bus/virtio/devices/%s/device", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    if (fgets(text, sizeof text, f) && strtoul(text, NULL, 16) == id) found = 1;
    fclose(f);
  }
  closedir(d);
  return found;
}

static void must_mount(const char *src, const char *dst, const char *type, unsigned long flags) {
  mkdir(dst, 0755);
  if (mount(src, dst, type, flags, NULL) != 0)
    fatal("cannot mount %s on %s: %s", src, dst, strerror(errno));
}

/* Device probing after module load is asynchronous: poll briefly. */
static int wait_for(int (*ready)(char *, size_t), char *out, size_t outlen) {
  for (int i = 0; i < 500; i++) {
    if (ready(out, outlen)) return 1;
    usleep(10000);
  }
  return 0;
}

static int root_device_ready(char *out, size_t outlen) {
  snprintf(out, outlen, "%s", ROOT_DEVICE);
  return access(ROOT_DEVICE, F_OK) == 0;
}

static int agent_port_ready(char *out, size_t outlen) {
  DIR *d = opendir("/sys/class/virtio-ports");
  struct dirent *e;
  int found = 0;
  if (!d) return 0;
  while (!found && (e = readdir(d))) {
    char path[300], name[64] = {0};
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) continue;
    ssize_t n = read(fd, name, sizeof name - 1);
    close(fd);
    if (n > 0 && strncmp(name, PORT_NAME "\n", sizeof PORT_NAME) == 0) {
      snprintf(out, outlen, "/dev/%s", e->d_name);
      found = access(out, F_OK) == 0;
    }
  }
  closedir(d);
  return found;
}

static void set_addr(struct sockaddr *sa, const char *ip) {
  struct sockaddr_in *in = (struct sockaddr_in *)sa;
  memset(in, 0, sizeof *in);
  in->sin_family = AF_INET;
  inet_pton(AF_INET, ip, &in->sin_addr);
}

static int if_up(int sock, const char *name) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) return -1;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

/*
 * Static configuration for QEMU's user-mode network, which always hands out
 * the same addresses: no DHCP client needed in the guest, and no wait for one.
 * A guest without a NIC (none configured) just gets loopback.
 */
static void setup_network(void) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return;
  if_up(sock, "lo");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "eth0");
  set_addr(&ifr.ifr_addr, GUEST_IP);
  if (ioctl(sock, SIOCSIFADDR, &ifr) == 0) {
    set_addr(&ifr.ifr_netmask, "255.255.255.0");
    ioctl(sock, SIOCSIFNETMASK, &ifr);
    if_up(sock, "eth0");
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    set_addr(&rt.rt_dst, "0.0.0.0");
    set_addr(&rt.rt_genmask, "0.0.0.0");
    set_addr(&rt.rt_gateway, GATEWAY_IP);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    if (ioctl(sock, SIOCADDRT, &rt) != 0) dprintf(2, "cx-agent: default route: %s\n", strerror(errno));
  }
  close(sock);
}

/*
 * What Docker sets in every container's network namespace: any user may bind
 * a port below 1024 and send ICMP echo, so an app run with `docker run -u`
 * serves on port 80 in the guest as it would in a container.
 */
static void container_sysctls(void) {
  static const char *const settings[][2] = {
    {"/proc/sys/net/ipv4/ip_unprivileged_port_start", "0\n"},
    {"/proc/sys/net/ipv4/ping_group_range", "0 2147483647\n"},
  };
  for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
    int fd = open(settings[i][0], O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, settings[i][1], strlen(settings[i][1])) < 0)
      dprintf(2, "cx-agent: %s: %s\n", settings[i][0], strerror(errno));
    if (fd >= 0) close(fd);
  }
}

/* The guest resolves through QEMU's DNS forwarder, like a container through Docker's. */
static void setup_resolv_conf(void) {
  int fd = open(RESOLV_CONF, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return;
  dprintf(fd, "nameserver %s\n", DNS_IP);
  close(fd);
}

/* A name or number from the guest's own /etc/passwd or /etc/group (after chroot). */
static int lookup_id(const char *file, const char *name, unsigned *id, unsigned *primary_gid) {
  char *end;
  unsigned long n = strtoul(name, &end, 10);
  if (*name && !*end) {
    *id = (unsigned)n;
    return 0;
  }
  FILE *f = fopen(file, "re");
  if (!f) return -1;
  char line[1024];
  int found = -1;
  while (found && fgets(line, sizeof line, f)) {
    char *fields[4] = {0};
    char *p = line;
    for (int i = 0; i < 4 && p; i++) fields[i] = strsep(&p, ":");
    if (fields[0] && fields[2] && strcmp(fields[0], name) == 0) {
      *id = (unsigned)strtoul(fields[2], NULL, 10);
      if (primary_gid && fields[3]) *primary_gid = (unsigned)strtoul(fields[3], NULL, 10);
      found = 0;
    }
  }
  fclose(f);
  return found;
}

/* Drops to the image's user; the group defaults to the user's primary group. */
static void become_user(const char *spec) {
  char user[256], *group;
  snprintf(user, sizeof user, "%s", spec);
  group = strchr(user, ':');
  if (group) *group++ = 0;
  unsigned uid = 0, gid = 0;
  if (lookup_id("/etc/passwd", user, &uid, &gid) != 0) {
    dprintf(2, "containerx: user %s not found in the guest's /etc/passwd\n", user);
    _exit(CX_EXIT_NOT_STARTED);
  }
  if (group && lookup_id("/etc/group", group, &gid, NULL) != 0) {
    dprintf(2, "containerx: group %s not found in the guest's /etc/group\n", group);
    _exit(CX_EXIT_NOT_STARTED);
  }
  if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
    dprintf(2, "containerx: cannot become %s in the guest: %s\n", spec, strerror(errno));
    _exit(CX_EXIT_NOT_STARTED);
  }
}

/* A process the agent runs for the launcher: the app (channel 0) or an exec. */
struct session {
  int used;
  uint32_t ch;
  pid_t pid;
  int out, err;   /* read ends forwarded as stdout/stderr frames; err is -1 with a terminal */
  int in;         /* where stdin frames' bytes go: a pipe, or the terminal's master */
  int tty;        /* the terminal's master, or -1 */
  char *inbuf;
  size_t inlen, incap;
  int in_eof;
  int exited, status;
};

static struct session sessions[MAX_SESSIONS];
static int app_started;

static struct session *find_session(uint32_t ch) {
  for (int i = 0; i < MAX_SESSIONS; i++)
    if (sessions[i].used && sessions[i].ch == ch) return &sessions[i];
  return NULL;
}

/* Credits the launcher's seed and forces a reseed now, not at the CRNG's next
   scheduled one, so the app's first random bytes already depend on it. */
static void reseed_entropy(const unsigned char *bytes, size_t n) {
  struct { struct rand_pool_info info; unsigned char buf[CX_MAX_SEED_BYTES]; } seed = {0};
  memcpy(seed.buf, bytes, n);
  int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
  if (fd < 0) fatal("cannot open /dev/urandom: %s", strerror(errno));
  seed.info.entropy_count = (int)(n * 8);
  seed.info.buf_size = (int)n;
  if (ioctl(fd, RNDADDENTROPY, &seed) != 0 || ioctl(fd, RNDRESEEDCRNG) != 0)
    fatal("cannot reseed the kernel's random generator: %s", strerror(errno));
  close(fd);
}

static void mkdir_p(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    mkdir(buf, 0755);
    *p = '/';
  }
  mkdir(buf, 0755);
}

/* A host folder QEMU shares, mounted at the same path in the guest. */
static void mount_shared(const struct cx_mount *m) {
  char target[4096];
  snprintf(target, sizeof target, SYSROOT "%s", m->path);
  mkdir_p(target);
  const char *opts = strcmp(m->fstype, "9p") == 0 ? "trans=virtio,version=9p2000.L,msize=512000,cache=none" : NULL;
  if (mount(m->tag, target, m->fstype, 0, opts) != 0) fatal("cannot mount the volume %s (%s): %s", m->path, m->fstype, strerror(errno));
}

static void unmount_shared(const struct cx_spec *s) {
  for (int i = s->nmounts - 1; i >= 0; i--) {
    char target[4096];
    snprintf(target, sizeof target, SYSROOT "%s", s->mounts[i].path);
    umount2(target, MNT_DETACH);
  }
}

/* The guest's own clock, which the wall clock set from the spec does not move. */
static long long monotonic_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/*
 * How long each step of a start took in the guest, for the started frame
 * (protocol.h): the launcher sees only when the frame arrives.
 */
struct start_timing {
  char text[160];
  size_t len;
  long long mark;
};

static void timing_start(struct start_timing *t) {
  t->len = 0;
  t->text[0] = 0;
  t->mark = monotonic_us();
}

static void timing_step(struct start_timing *t, const char *step) {
  long long now = monotonic_us();
  int n = snprintf(t->text + t->len, sizeof t->text - t->len, " %s=%lld", step, now - t->mark);
  if (n > 0 && (size_t)n < sizeof t->text - t->len) t->len += (size_t)n;
  t->mark = now;
}

/* What the app's spec sets up in the guest before the app starts; exec sessions join the guest as it is. */
static void set_up_guest(const struct cx_spec *app, struct start_timing *t) {
  if (app->hostname) sethostname(app->hostname, strlen(app->hostname));
  if (app->has_clock) {
    struct timespec ts = {app->clock_ns / 1000000000LL, app->clock_ns % 1000000000LL};
    clock_settime(CLOCK_REALTIME, &ts);
  }
  timing_step(t, "host");
  if (app->seed_len) reseed_entropy(app->seed, app->seed_len);
  timing_step(t, "seed");
  for (int i = 0; i < app->nmounts; i++) mount_shared(&app->mounts[i]);
  timing_step(t, "mounts");
}

static void exec_process(const struct cx_spec *s, int in, int out, int err, const char *pts) {
  setsid();
  if (pts) {
    int t = open(pts, O_RDWR);
    if (t < 0) _exit(126);
    ioctl(t, TIOCSCTTY, 0);
    in = out = err = t;
  }
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (chroot(SYSROOT) != 0 || chdir("/") != 0) {
    dprintf(2, "cx-agent: cannot enter the guest root: %s\n", strerror(errno));
    _exit(126);
  }
  if (s->user) become_user(s->user);
  if (chdir(s->cwd) != 0) {
    dprintf(2, "cx-agent: cannot change to working directory %s: %s\n", s->cwd, strerror(errno));
    _exit(126);
  }
  execvpe(s->argv[0], s->argv, (char **)s->env);
  dprintf(2, "cx-agent: cannot run %s: %s\n", s->argv[0], strerror(errno));
  _exit(errno == ENOENT ? 127 : 126);
}

static void send_exit(uint32_t ch, int status) {
  char report[32];
  if (WIFSIGNALED(status)) snprintf(report, sizeof report, "signal %d", WTERMSIG(status));
  else snprintf(report, sizeof report, "exit %d", WEXITSTATUS(status));
  send_frame_on(ch, CX_FRAME_EXIT, report, (uint32_t)strlen(report));
}

/* An exec the agent will not run: said on its channel, exit 126 as for a command that cannot be run. */
static void refuse_session(uint32_t ch, const char *why) {
  char msg[CX_ERROR_LEN + 32];
  int n = snprintf(msg, sizeof msg, "cx-agent: %s\n", why);
  send_frame_on(ch, CX_FRAME_STDERR, msg, (uint32_t)n);
  send_exit(ch, 126 << 8);
}

/*
 * Waits until the forked child has replaced itself with the command (or
 * ended): its copy of `gate`'s write end closes on exec. The started frame
 * then means the command runs, and its timing includes the exec.
 */
static void wait_for_exec(int gate[2]) {
  char byte;
  close(gate[1]);
  while (read(gate[0], &byte, 1) < 0 && errno == EINTR) {
  }
  close(gate[0]);
}

static void start_session(uint32_t ch, const struct cx_spec *s, struct start_timing *t) {
  if (find_session(ch)) {
    refuse_session(ch, "a second spec for a running command");
    return;
  }
  struct session *ss = NULL;
  for (int i = 0; i < MAX_SESSIONS && !ss; i++)
    if (!sessions[i].used) ss = &sessions[i];
  if (!ss) {
    refuse_session(ch, "too many commands running in the guest");
    return;
  }
  memset(ss, 0, sizeof *ss);
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  char pts[64] = {0};
  ss->tty = -1;
  if (s->tty) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, pts, sizeof pts) != 0) fatal("cannot open a terminal: %s", strerror(errno));
    if (s->rows && s->cols) {
      struct winsize ws = {.ws_row = s->rows, .ws_col = s->cols};
      ioctl(m, TIOCSWINSZ, &ws);
    }
    ss->tty = m;
  } else if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    fatal("pipe: %s", strerror(errno));
  }
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) != 0) fatal("pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) fatal("fork: %s", strerror(errno));
  if (pid == 0) exec_process(s, in[0], out[1], err[1], s->tty ? pts : NULL);
  timing_step(t, "fork");
  wait_for_exec(gate);
  timing_step(t, "exec");
  ss->used = 1;
  ss->ch = ch;
  ss->pid = pid;
  if (s->tty) {
    ss->out = ss->tty;
    ss->err = -1;
    ss->in = ss->tty;
  } else {
    close(in[0]);
    close(out[1]);
    close(err[1]);
    ss->out = out[0];
    ss->err = err[0];
    ss->in = in[1];
  }
  fcntl(ss->out, F_SETFL, O_NONBLOCK);
  if (ss->err >= 0) fcntl(ss->err, F_SETFL, O_NONBLOCK);
  if (ss->in != ss->tty) fcntl(ss->in, F_SETFL, O_NONBLOCK);
  char started[200];
  int n = snprintf(started, sizeof started, "%d%s", (int)pid, t->text);
  send_frame_on(ch, CX_FRAME_STARTED, started, (uint32_t)n);
}

static void close_input(struct session *ss) {
  /* A terminal has no end of input to close; ^D from the user's keyboard is the EOF there. */
  if (ss->in >= 0 && ss->in != ss->tty) close(ss->in);
  ss->in = -1;
}

static void queue_input(struct session *ss, const unsigned char *data, uint32_t len) {
  if (ss->in < 0) return;
  if (len == 0) {
    ss->in_eof = 1;
    if (ss->inlen == 0) close_input(ss);
    return;
  }
  if (ss->inlen + len > ss->incap) {
    size_t cap = ss->incap ? ss->incap : 4096;
    while (cap < ss->inlen + len) cap *= 2;
    char *p = realloc(ss->inbuf, cap);
    if (!p) fatal("out of memory for stdin");
    ss->inbuf = p;
    ss->incap = cap;
  }
  memcpy(ss->inbuf + ss->inlen, data, len);
  ss->inlen += len;
}

static void flush_input(struct session *ss) {
  if (ss->in < 0 || ss->inlen == 0) return;
  ssize_t n = write(ss->in, ss->inbuf, ss->inlen);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) {
      ss->inlen = 0;
      close_input(ss);
    }
    return;
  }
  memmove(ss->inbuf, ss->inbuf + n, ss->inlen - (size_t)n);
  ss->inlen -= (size_t)n;
  if (ss->inlen == 0 && ss->in_eof) close_input(ss);
}

static const struct { const char *name; int sig; } SIGNALS[] = {
  {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
  {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"PWR", SIGPWR}, {"WINCH", SIGWINCH}, {"STOP", SIGSTOP},
  {"CONT", SIGCONT}, {"ALRM", SIGALRM},
};

/* Signals travel by name: their numbers differ between guest arches (mips). */
static void signal_session(struct session *ss, const char *name) {
  for (size_t i = 0; i < sizeof SIGNALS / sizeof SIGNALS[0]; i++) {
    if (strcmp(SIGNALS[i].name, name) == 0) {
      kill(ss->pid, SIGNALS[i].sig);
      return;
    }
  }
  dprintf(2, "cx-agent: unknown signal %s\n", name);
}

/* Forwards what is readable now; returns 0 once the stream has ended. */
static int forward(int fd, uint32_t ch, char type) {
  char buf[16384];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n > 0) {
    send_frame_on(ch, type, buf, (uint32_t)n);
    return 1;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

static void drain(int fd, uint32_t ch, char type) {
  if (fd < 0) return;
  char buf[16384];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) send_frame_on(ch, type, buf, (uint32_t)n);
}

static void end_session(struct session *ss) {
  /* Stop at the process's exit, not at end of file: a daemon it leaves behind
     may hold the pipes open forever. Whatever is already buffered is sent. */
  drain(ss->out, ss->ch, CX_FRAME_STDOUT);
  drain(ss->err, ss->ch, CX_FRAME_STDERR);
  close_input(ss);
  if (ss->out >= 0) close(ss->out);
  if (ss->err >= 0) close(ss->err);
  free(ss->inbuf);
  ss->used = 0;
}

/*
 * Leaves the guest disk clean: no process left writing, shared folders and
 * everything under /sysroot unmounted, so the filesystem needs no journal
 * replay. Disks written by build-time run steps become image layers that the
 * next build step edits offline; a pending journal would later be replayed
 * over those edits.
 */
static void quiesce(const struct cx_spec *app) {
  kill(-1, SIGKILL);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
  }
  sync();
  unmount_shared(app);
  umount2(SYSROOT "/dev", MNT_DETACH);
  umount2(SYSROOT "/proc", MNT_DETACH);
  umount2(SYSROOT "/sys", MNT_DETACH);
  if (umount(SYSROOT) != 0 && mount(NULL, SYSROOT, NULL, MS_REMOUNT | MS_RDONLY, NULL) != 0)
    dprintf(2, "cx-agent: cannot unmount the guest disk: %s\n", strerror(errno));
  sync();
}

static struct cx_spec app_spec;

static void handle_spec(uint32_t ch, const unsigned char *payload, uint32_t len) {
  struct start_timing timing;
  timing_start(&timing);
  char error[CX_ERROR_LEN];
  char *buf = malloc(len + 1);
  if (!buf) fatal("out of memory");
  memcpy(buf, payload, len);
  buf[len] = 0;
  if (ch != 0) {
    struct cx_spec *s = malloc(sizeof *s);
    if (!s) fatal("out of memory");
    if (cx_parse_spec(s, buf, len, error) == 0) start_session(ch, s, &timing);
    else refuse_session(ch, error);
    free(s);
    free(buf);
    return;
  }
  if (app_started) fatal("a second app spec");
  /* buf is kept: app_spec points into it for the guest's whole life. */
  if (cx_parse_spec(&app_spec, buf, len, error) != 0) fatal("refused the app's spec: %s", error);
  timing_step(&timing, "parse");
  set_up_guest(&app_spec, &timing);
  app_started = 1;
  start_session(0, &app_spec, &timing);
}

static void handle_frame(const struct cx_frame *f, void *ctx) {
  (void)ctx;
  struct session *ss = find_session(f->ch);
  char text[32];
  snprintf(text, sizeof text, "%.*s", (int)(f->len < sizeof text - 1 ? f->len : sizeof text - 1), (const char *)f->payload);
  switch (f->type) {
    case CX_FRAME_SPEC:
      handle_spec(f->ch, f->payload, f->len);
      break;
    case CX_FRAME_STDIN:
      if (ss) queue_input(ss, f->payload, f->len);
      break;
    case CX_FRAME_SIGNAL:
      if (ss) signal_session(ss, text);
      break;
    case CX_FRAME_RESIZE:
      if (ss && ss->tty >= 0) {
        struct winsize ws = {0};
        if (sscanf(text, "%hu %hu", &ws.ws_row, &ws.ws_col) == 2) ioctl(ss->tty, TIOCSWINSZ, &ws);
      }
      break;
  }
}

static void read_port(void) {
  static struct cx_reader reader;
  char error[CX_ERROR_LEN];
  switch (cx_read_frames(&reader, port, handle_frame, NULL, error)) {
    case CX_READ_MORE:
      return;
    case CX_READ_REFUSED:
      fatal("%s", error);
      return;
    case CX_READ_CLOSED:
      /* The launcher went away without a word: nobody is left to serve. */
      if (!app_started) fatal("the launcher closed the channel before sending the app spec");
      /* Its hang-up would wake poll forever; the app runs on unattended. */
      port_open = 0;
      return;
  }
}

/*
 * The tick (CX_TICK_PARAM in protocol.h) helps only while the guest works,
 * and each wake-up of an idle guest costs the host a wake-up of QEMU (about
 * 0.8 ms of host CPU each, measured at 50 Hz). So the agent ticks every
 * tick_ms while the guest is busy, and every TICK_IDLE_MS once it has idled
 * through a whole window, as /proc/uptime's idle time tells.
 */
#define TICK_IDLE_MS 1000
#define TICK_WINDOW_CS 20 /* centiseconds, /proc/uptime's unit */

static struct {
  int busy_ms;                /* 0: no tick */
  int fd;                     /* /proc/uptime */
  long long window_up, window_idle;
  int busy;
} tick;

static void tick_init(int busy_ms) {
  tick.busy_ms = busy_ms;
  tick.busy = 1;
  tick.fd = busy_ms > 0 ? open("/proc/uptime", O_RDONLY | O_CLOEXEC) : -1;
}

/* /proc/uptime: time up, and idle time summed over the CPUs, in centiseconds. */
static int read_uptime(long long *up, long long *idle) {
  char buf[64];
  unsigned long long us, uc, is, ic;
  ssize_t n = pread(tick.fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return -1;
  buf[n] = 0;
  if (sscanf(buf, "%llu.%llu %llu.%llu", &us, &uc, &is, &ic) != 4) return -1;
  *up = (long long)(us * 100 + uc);
  *idle = (long long)(is * 100 + ic);
  return 0;
}

/*
 * How long poll may wait: the busy tick while the guest works, else the idle
 * one. Anything the agent had to do (a spec, output, an exit) starts a busy
 * window afresh, so that an app starting after a long idle wait for its spec
 * is not judged by that wait.
 */
static int tick_timeout(int activity) {
  if (tick.busy_ms <= 0) return -1;
  long long up, idle;
  if (tick.fd < 0 || read_uptime(&up, &idle) != 0) return tick.busy_ms;
  if (activity) {
    tick.busy = 1;
  } else if (up - tick.window_up >= TICK_WINDOW_CS) {
    long long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    tick.busy = (idle - tick.window_idle) * 10 < (up - tick.window_up) * cpus * 9; /* idle under nine tenths */
  } else {
    return tick.busy ? tick.busy_ms : TICK_IDLE_MS;
  }
  tick.window_up = up;
  tick.window_idle = idle;
  return tick.busy ? tick.busy_ms : TICK_IDLE_MS;
}

/* One loop serves the app and every exec: output out, input and signals in, exits reaped. */
static int serve(int sigfd) {
  int ready = 1;
  for (;;) {
    struct pollfd fds[2 + MAX_SESSIONS * 3];
    struct { struct session *ss; char what; } of[2 + MAX_SESSIONS * 3];
    int nfds = 0;
    fds[nfds] = (struct pollfd){port_open ? port : -1, POLLIN, 0}; of[nfds++].ss = NULL;
    fds[nfds] = (struct pollfd){sigfd, POLLIN, 0}; of[nfds++].ss = NULL;
    for (int i = 0; i < MAX_SESSIONS; i++) {
      struct session *ss = &sessions[i];
      if (!ss->used || ss->exited) continue;
      if (ss->out >= 0) { fds[nfds] = (struct pollfd){ss->out, POLLIN, 0}; of[nfds].ss = ss; of[nfds++].what = CX_FRAME_STDOUT; }
      if (ss->err >= 0) { fds[nfds] = (struct pollfd){ss->err, POLLIN, 0}; of[nfds].ss = ss; of[nfds++].what = CX_FRAME_STDERR; }
      if (ss->in >= 0 && ss->inlen) { fds[nfds] = (struct pollfd){ss->in, POLLOUT, 0}; of[nfds].ss = ss; of[nfds++].what = CX_FRAME_STDIN; }
    }
    ready = poll(fds, (nfds_t)nfds, tick_timeout(ready != 0));
    if (ready < 0) {
      if (errno == EINTR) continue;
      fatal("poll: %s", strerror(errno));
    }
    for (int i = 2; i < nfds; i++) {
      struct session *ss = of[i].ss;
      if (!fds[i].revents || !ss->used) continue;
      if (of[i].what == CX_FRAME_STDIN) {
        flush_input(ss);
      } else if (!forward(fds[i].fd, ss->ch, of[i].what)) {
        /* End of output: stop polling it; the exit report still waits for the process. */
        if (of[i].what == CX_FRAME_STDOUT) { close(ss->out); if (ss->tty == ss->out) ss->in = ss->tty = -1; ss->out = -1; }
        else { close(ss->err); ss->err = -1; }
      }
    }
    if (fds[0].revents) read_port();
    if (fds[1].revents) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) > 0) {
      }
    }
    int status;
    pid_t w;
    while ((w = waitpid(-1, &status, WNOHANG)) > 0) { /* PID 1 reaps orphans too */
      for (int i = 0; i < MAX_SESSIONS; i++) {
        struct session *ss = &sessions[i];
        if (!ss->used || ss->pid != w) continue;
        end_session(ss);
        if (ss->ch == 0) return status;
        send_exit(ss->ch, status);
      }
    }
  }
}

/* ext4's online resize (linux/ext4.h is not exported to userspace). */
#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif

/* On-disk ext4 fields are little-endian whatever the guest's byte order. */
static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The filesystem's size in blocks and its block size, from the ext4 superblock (1024 bytes in). */
static int ext4_size(int dev, uint64_t *blocks, uint64_t *block_size) {
  unsigned char sb[1024];
  if (pread(dev, sb, sizeof sb, 1024) != (ssize_t)sizeof sb || sb[0x38] != 0x53 || sb[0x39] != 0xef) return -1;
  *block_size = 1024ull << le32(sb + 0x18);
  *blocks = le32(sb + 0x04);
  if (le32(sb + 0x60) & 0x80) *blocks |= (uint64_t)le32(sb + 0x150) << 32; /* INCOMPAT_64BIT: the high half */
  return 0;
}

/*
 * The root filesystem grown to fill its disk, which CX_DISK_SIZE or a
 * Cxfile's guest.disk_size may have made larger than the filesystem. ext4
 * grows while mounted; the superblock is read first so that a disk of the
 * filesystem's own size (every boot but the first after a resize) costs no
 * write. A filesystem that cannot grow (no room reserved for it) keeps its
 * size and says so on the console.
 */
static void grow_root(void) {
  uint64_t bytes = 0, blocks = 0, block_size = 0;
  int dev = open(ROOT_DEVICE, O_RDONLY | O_CLOEXEC);
  if (dev < 0 || ioctl(dev, BLKGETSIZE64, &bytes) != 0 || ext4_size(dev, &blocks, &block_size) != 0) {
    dprintf(2, "cx-agent: cannot read the sizes of %s: %s\n", ROOT_DEVICE, strerror(errno));
    if (dev >= 0) close(dev);
    return;
  }
  close(dev);
  if (bytes / block_size <= blocks) return;
  blocks = bytes / block_size;
  int root = open(SYSROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0 || ioctl(root, EXT4_IOC_RESIZE_FS, &blocks) != 0)
    dprintf(2, "cx-agent: cannot grow the root filesystem to %llu blocks: %s\n", (unsigned long long)blocks, strerror(errno));
  if (root >= 0) close(root);
}

int main(void) {
  char dev[300];

  must_mount("devtmpfs", "/dev", "devtmpfs", 0);
  must_mount("devpts", "/dev/pts", "devpts", 0);
  must_mount("proc", "/proc", "proc", 0);
  must_mount("sysfs", "/sys", "sysfs", 0);
  load_modules(MODULE_LIST);
  if (access(SCREEN_MODULE_LIST, F_OK) == 0 && has_virtio_device(VIRTIO_ID_INPUT)) load_modules(SCREEN_MODULE_LIST);

  if (!wait_for(agent_port_ready, dev, sizeof dev)) fatal("no virtio-serial port named " PORT_NAME);
  port = open(dev, O_RDWR | O_CLOEXEC);
  if (port < 0) fatal("cannot open %s: %s", dev, strerror(errno));

  if (!wait_for(root_device_ready, dev, sizeof dev)) fatal("no root disk at " ROOT_DEVICE);
  must_mount(ROOT_DEVICE, SYSROOT, "ext4", MS_NOATIME);
  grow_root();
  must_mount("proc", SYSROOT "/proc", "proc", 0);
  must_mount("sysfs", SYSROOT "/sys", "sysfs", 0);
  must_mount("/dev", SYSROOT "/dev", NULL, MS_BIND | MS_REC);
  setup_network();
  container_sysctls();
  setup_resolv_conf();

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sigfd < 0) fatal("signalfd: %s", strerror(errno));

  /*
   * The app's spec lands in app_spec's 64 KB first thing after a resume;
   * written now, its pages belong to the guest already when the build-time
   * snapshot is taken, so the resumed guest does not fault them in one by one.
   */
  memset(&app_spec, 0, sizeof app_spec);
  send_frame(CX_FRAME_READY, CX_AGENT_VERSION, sizeof CX_AGENT_VERSION - 1);
  const char *tick_ms = getenv(CX_TICK_PARAM);
  tick_init(tick_ms ? atoi(tick_ms) : 0);
  int status = serve(sigfd);
  quiesce(&app_spec);
  send_exit(0, status);
  power_off();
  return 0;
}
