/*
 * cx-agent: PID 1 of every Containerx guest.
 *
 * It lives in the initramfs, outside the guest's root filesystem, so the same
 * agent serves any userland: it loads the virtio modules, mounts the disk at
 * /sysroot, then talks to the launcher over one virtio-serial port named
 * "cx.agent". Frames in both directions are: 1 type byte, 4-byte big-endian
 * length, payload. One channel keeps stdout, stderr and the exit report in
 * the order the guest produced them.
 *
 *   agent -> host: 'R' ready, 'O' stdout, 'E' stderr, 'X' "exit N"|"signal N",
 *                  'F' fatal agent error (text)
 *   host -> agent: 'S' spec: NUL-terminated tokens, first byte says the kind:
 *                  'A' argv item, 'V' env KEY=VALUE, 'C' cwd, 'H' hostname,
 *                  'T' wall clock as decimal nanoseconds since the epoch,
 *                  'U' user[:group] to run the app as (names or numbers)
 */
#define _GNU_SOURCE
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
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/reboot.h>
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
#define MAX_TOKENS 4096
/* QEMU user-mode networking's fixed plan: guest, gateway, DNS. */
#define GUEST_IP "10.0.2.15"
#define GATEWAY_IP "10.0.2.2"
#define DNS_IP "10.0.2.3"
#define RESOLV_CONF SYSROOT "/etc/resolv.conf"

static int port = -1;

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

static void send_frame(char type, const void *data, uint32_t len) {
  unsigned char hdr[5] = {(unsigned char)type, len >> 24, len >> 16, len >> 8, len};
  write_all(port, hdr, sizeof hdr);
  write_all(port, data, len);
}

/* Reports a failure of the agent itself and powers the guest off. */
static void fatal(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dprintf(2, "cx-agent: %s\n", msg);
  if (port >= 0) send_frame('F', msg, (uint32_t)strlen(msg));
  power_off();
}

static int read_full(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static void load_modules(void) {
  FILE *f = fopen(MODULE_LIST, "r");
  char path[256];
  if (!f) fatal("cannot open %s: %s", MODULE_LIST, strerror(errno));
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

struct spec {
  char *argv[MAX_TOKENS];
  char *env[MAX_TOKENS];
  const char *cwd;
  const char *user;
  int argc, envc;
};

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

/* The guest resolves through QEMU's DNS forwarder, like a container through Docker's. */
static void setup_resolv_conf(void) {
  int fd = open(RESOLV_CONF, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return;
  dprintf(fd, "nameserver %s\n", DNS_IP);
  close(fd);
}

static void read_spec(struct spec *s, char **buf) {
  unsigned char hdr[5];
  if (read_full(port, hdr, sizeof hdr) != 0) fatal("launcher closed the channel before sending the app spec");
  uint32_t len = (uint32_t)hdr[1] << 24 | hdr[2] << 16 | hdr[3] << 8 | hdr[4];
  if (hdr[0] != 'S') fatal("expected spec frame, got '%c'", hdr[0]);
  *buf = malloc(len + 1);
  if (!*buf || read_full(port, *buf, len) != 0) fatal("short spec frame");
  (*buf)[len] = 0;
  memset(s, 0, sizeof *s);
  s->cwd = "/";
  for (char *p = *buf; p < *buf + len; p += strlen(p) + 1) {
    char *val = p + 1;
    switch (*p) {
      case 'A': if (s->argc < MAX_TOKENS - 1) s->argv[s->argc++] = val; break;
      case 'V': if (s->envc < MAX_TOKENS - 1) s->env[s->envc++] = val; break;
      case 'C': s->cwd = val; break;
      case 'H': sethostname(val, strlen(val)); break;
      case 'U': s->user = val; break;
      case 'T': {
        long long ns = atoll(val);
        struct timespec ts = {ns / 1000000000LL, ns % 1000000000LL};
        clock_settime(CLOCK_REALTIME, &ts);
        break;
      }
      default: fatal("unknown spec token '%c'", *p);
    }
  }
  if (s->argc == 0) fatal("the app spec has no command");
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
    dprintf(2, "cx-agent: user %s not found in the guest's /etc/passwd\n", user);
    _exit(126);
  }
  if (group && lookup_id("/etc/group", group, &gid, NULL) != 0) {
    dprintf(2, "cx-agent: group %s not found in the guest's /etc/group\n", group);
    _exit(126);
  }
  if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
    dprintf(2, "cx-agent: cannot become %s: %s\n", spec, strerror(errno));
    _exit(126);
  }
}

static void exec_app(const struct spec *s, int out, int err) {
  int null = open("/dev/null", O_RDONLY);
  dup2(null, 0);
  dup2(out, 1);
  dup2(err, 2);
  setsid();
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

/* Forwards one readable pipe; returns 0 once it reaches end of file. */
static int forward(int fd, char type) {
  char buf[16384];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n > 0) {
    send_frame(type, buf, (uint32_t)n);
    return 1;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

static int run_app(const struct spec *s) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) fatal("pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) fatal("fork: %s", strerror(errno));
  if (pid == 0) exec_app(s, out[1], err[1]);
  close(out[1]);
  close(err[1]);

  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int status = 0, exited = 0;
  /* Stop at the app's exit, not at pipe EOF: a daemon it leaves behind may
     hold the pipes open forever. Whatever is already buffered is drained. */
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    int r = poll(fds, 2, exited ? 0 : 100);
    if (r == 0 && exited) break;
    for (int i = 0; i < 2 && r > 0; i++) {
      if (fds[i].fd >= 0 && fds[i].revents && !forward(fds[i].fd, i ? 'E' : 'O')) {
        close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
    pid_t w;
    while ((w = waitpid(-1, &status, WNOHANG)) > 0) /* PID 1 reaps orphans too */
      if (w == pid) exited = 1;
  }
  while (!exited) {
    pid_t w = waitpid(-1, &status, 0);
    if (w == pid) exited = 1;
    else if (w < 0 && errno != EINTR) fatal("waitpid: %s", strerror(errno));
  }
  return status;
}

/*
 * Leaves the guest disk clean: no process left writing, everything under
 * /sysroot unmounted, so the filesystem needs no journal replay. Disks written
 * by build-time run steps become image layers that the next build step edits
 * offline; a pending journal would later be replayed over those edits.
 */
static void quiesce(void) {
  kill(-1, SIGKILL);
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
  }
  sync();
  umount2(SYSROOT "/dev", MNT_DETACH);
  umount2(SYSROOT "/proc", MNT_DETACH);
  umount2(SYSROOT "/sys", MNT_DETACH);
  if (umount(SYSROOT) != 0 && mount(NULL, SYSROOT, NULL, MS_REMOUNT | MS_RDONLY, NULL) != 0)
    dprintf(2, "cx-agent: cannot unmount the guest disk: %s\n", strerror(errno));
  sync();
}

int main(void) {
  char dev[300], *specbuf;
  struct spec spec;

  must_mount("devtmpfs", "/dev", "devtmpfs", 0);
  must_mount("proc", "/proc", "proc", 0);
  must_mount("sysfs", "/sys", "sysfs", 0);
  load_modules();

  if (!wait_for(agent_port_ready, dev, sizeof dev)) fatal("no virtio-serial port named " PORT_NAME);
  port = open(dev, O_RDWR | O_CLOEXEC);
  if (port < 0) fatal("cannot open %s: %s", dev, strerror(errno));

  if (!wait_for(root_device_ready, dev, sizeof dev)) fatal("no root disk at " ROOT_DEVICE);
  must_mount(ROOT_DEVICE, SYSROOT, "ext4", MS_NOATIME);
  must_mount("proc", SYSROOT "/proc", "proc", 0);
  must_mount("sysfs", SYSROOT "/sys", "sysfs", 0);
  must_mount("/dev", SYSROOT "/dev", NULL, MS_BIND);
  setup_network();
  setup_resolv_conf();

  send_frame('R', "cx-agent 1", 10);
  read_spec(&spec, &specbuf);
  int status = run_app(&spec);

  char report[32];
  if (WIFSIGNALED(status)) snprintf(report, sizeof report, "signal %d", WTERMSIG(status));
  else snprintf(report, sizeof report, "exit %d", WEXITSTATUS(status));
  quiesce();
  send_frame('X', report, (uint32_t)strlen(report));
  power_off();
  return 0;
}
