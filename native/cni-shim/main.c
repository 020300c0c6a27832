/*
 * tabby-cni, compiled: the executable a container runtime starts for every pod. Starting
 * Node costs more than a whole ADD should (docs/design/cni.md "Where the time goes"), so
 * this program does only what needs no agent and no CNI knowledge:
 *
 *   - VERSION is answered here (the versions list must match src/cni/versions.ts);
 *   - every other command is forwarded, CNI_* environment and stdin untouched, to the
 *     agent's socket (the config's "agent_socket", default /var/run/tabby/cni.sock) as one
 *     `tabby-cni-exec/1` line; the agent runs the TypeScript plugin on it in-process and
 *     answers with the bytes to print and the exit code (src/cni/exec-protocol.ts);
 *   - when the agent is not reachable it prints the same CNI error (11; 50 for STATUS)
 *     the Node plugin prints, since no agent means nobody else can; likewise code 6 for a
 *     config that is not a JSON object (there is no "agent_socket" to go to).
 *
 * Everything is bounded: stdin and the answer at 1 MiB, connecting (retried while the
 * agent's backlog is full) by the config's "connect_timeout_seconds" (default 5), the exchange by "timeout_seconds" (default 60)
 * plus a margin so the agent's own 104 (which names the request) normally comes first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "json-scan.h"

#define MAX_MESSAGE_BYTES (1 << 20)
#define EXEC_PROTOCOL "tabby-cni-exec/1"
#define DEFAULT_SOCKET "/var/run/tabby/cni.sock"
#define LATEST_VERSION "1.1.0"
#define SHIM_MARGIN_MS 5000

static const char *const SUPPORTED_VERSIONS[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
#define N_VERSIONS (sizeof SUPPORTED_VERSIONS / sizeof SUPPORTED_VERSIONS[0])

/* CNI error codes this program can produce (src/cni/errors.ts). */
enum { CNI_IO = 5, CNI_DECODE = 6, CNI_TRY_AGAIN = 11, CNI_NOT_AVAILABLE = 50, CNI_TIMEOUT = 104, CNI_PROTOCOL = 105 };

/* What the shim reads from the network configuration; the agent validates all of it. */
struct netconf {
  int valid_json;
  char cni_version[16]; /* "" unless one of SUPPORTED_VERSIONS */
  char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
  double timeout_s;
  double connect_s;
};

static const char *supported(const char *v) {
  for (size_t i = 0; i < N_VERSIONS; i++)
    if (strcmp(v, SUPPORTED_VERSIONS[i]) == 0) return SUPPORTED_VERSIONS[i];
  return NULL;
}

/* A seconds value as netconf.ts accepts it: a number in (0, 600]; otherwise the default. */
static double seconds(const char *text, double dflt) {
  char *end;
  double v = strtod(text, &end);
  return (*end == '\0' && v > 0 && v <= 600) ? v : dflt;
}

static void on_member(const char *key, enum json_kind kind, const char *text, void *ctx) {
  struct netconf *nc = ctx;
  if (strcmp(key, "cniVersion") == 0) {
    const char *v = kind == JSON_STRING ? supported(text) : NULL;
    snprintf(nc->cni_version, sizeof nc->cni_version, "%s", v ? v : "");
  } else if (strcmp(key, "agent_socket") == 0) {
    /* Anything but an absolute path that fits is left to the agent to refuse (code 7)
     * when it is reachable on the default socket. */
    if (kind == JSON_STRING && text[0] == '/' && strlen(text) < sizeof nc->socket) snprintf(nc->socket, sizeof nc->socket, "%s", text);
    else snprintf(nc->socket, sizeof nc->socket, "%s", DEFAULT_SOCKET);
  } else if (strcmp(key, "timeout_seconds") == 0) {
    nc->timeout_s = kind == JSON_NUMBER ? seconds(text, 60) : 60;
  } else if (strcmp(key, "connect_timeout_seconds") == 0) {
    nc->connect_s = kind == JSON_NUMBER ? seconds(text, 5) : 5;
  }
}

static void read_netconf(const char *buf, size_t len, struct netconf *nc) {
  memset(nc, 0, sizeof *nc);
  snprintf(nc->socket, sizeof nc->socket, "%s", DEFAULT_SOCKET);
  nc->timeout_s = 60;
  nc->connect_s = 5;
  struct netconf parsed = *nc;
  if (json_scan_object(buf, len, on_member, &parsed) == 0) {
    *nc = parsed;
    nc->valid_json = 1;
  }
  if (nc->connect_s > nc->timeout_s) nc->connect_s = nc->timeout_s;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until `deadline` (monotonic ms). 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, long long deadline) {
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0) return 0;
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
    if (r > 0) return 1;
    if (r < 0 && errno != EINTR) return -1;
  }
}

static int write_all(int fd, const char *p, size_t n, long long deadline) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && errno == EAGAIN) {
      if (wait_fd(fd, POLLOUT, deadline) <= 0) return -1;
    } else {
      return -1;
    }
  }
  return 0;
}

/* Reads fd to EOF into sb, at most `max` bytes. 0 ok, -1 error, -2 too large, -3 timed out. */
static int read_all(int fd, struct strbuf *sb, size_t max, long long deadline) {
  char chunk[65536];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r == 0) return 0;
    if (r > 0) {
      if (sb->len + (size_t)r > max) return -2;
      if (sb_append(sb, chunk, (size_t)r) < 0) return -1;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return -1;
    int w = wait_fd(fd, POLLIN, deadline);
    if (w == 0) return -3;
    if (w < 0) return -1;
  }
}

/* Prints a CNI error object exactly as the Node plugin does (JSON.stringify(e, null, 2)). */
static int cni_error(const char *version, int code, const char *msg, const char *details) {
  struct strbuf sb = {0};
  char num[32];
  snprintf(num, sizeof num, "%d", code);
  int bad = sb_puts(&sb, "{\n  \"cniVersion\": ") | sb_json_string(&sb, version, strlen(version)) |
            sb_puts(&sb, ",\n  \"code\": ") | sb_puts(&sb, num) | sb_puts(&sb, ",\n  \"msg\": ") | sb_json_string(&sb, msg, strlen(msg));
  if (details && details[0]) bad |= sb_puts(&sb, ",\n  \"details\": ") | sb_json_string(&sb, details, strlen(details));
  bad |= sb_puts(&sb, "\n}\n");
  if (bad == 0) write_all(STDOUT_FILENO, sb.data, sb.len, now_ms() + 10000);
  free(sb.data);
  return 1;
}

static int print_version(const struct netconf *nc) {
  struct strbuf sb = {0};
  const char *v = nc->valid_json && nc->cni_version[0] ? nc->cni_version : LATEST_VERSION;
  int bad = sb_puts(&sb, "{\"cniVersion\":\"") | sb_puts(&sb, v) | sb_puts(&sb, "\",\"supportedVersions\":[");
  for (size_t i = 0; i < N_VERSIONS; i++) bad |= sb_puts(&sb, i ? ",\"" : "\"") | sb_puts(&sb, SUPPORTED_VERSIONS[i]) | sb_puts(&sb, "\"");
  bad |= sb_puts(&sb, "]}\n");
  if (bad == 0) write_all(STDOUT_FILENO, sb.data, sb.len, now_ms() + 10000);
  free(sb.data);
  return bad ? 1 : 0;
}

/* The "agent not reachable" error, worded as src/cni/client.ts words it. */
static int not_reachable(const struct netconf *nc, const char *version, int is_status, const char *cause) {
  char msg[512];
  snprintf(msg, sizeof msg, "is `tabby agent` running on this node? socket %s not reachable: %s", nc->socket, cause);
  return cni_error(version, is_status ? CNI_NOT_AVAILABLE : CNI_TRY_AGAIN, msg,
                   "start the agent (`tabby agent`, or check the tabby DaemonSet pod on this node) and make sure \"agent_socket\" in the CNI config names the socket it listens on");
}

/* Connects to the agent, bounded by the connect timeout. Returns the fd or -1 after printing the error. */
static int connect_agent(const struct netconf *nc, const char *version, int is_status) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return cni_error(version, CNI_IO, "cannot create a unix socket", strerror(errno)), -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", nc->socket);
  long connect_ms = (long)(nc->connect_s * 1000 + 0.5);
  long long deadline = now_ms() + connect_ms;
  int err = 0;
  for (;;) {
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) break;
    err = errno;
    if (err == EINTR) continue;
    /* EAGAIN: the agent's accept backlog is full (a unix socket does not queue the
     * connect); try again briefly, as long as the config allows. */
    if (err != EAGAIN) break;
    if (now_ms() >= deadline) {
      char cause[64];
      snprintf(cause, sizeof cause, "no connection within %ld ms", connect_ms);
      close(fd);
      return not_reachable(nc, version, is_status, cause), -1;
    }
    struct timespec pause = {0, 2 * 1000 * 1000};
    nanosleep(&pause, NULL);
    err = 0;
  }
  if (err == 0) return fd;
  close(fd);
  const char *name = strerrorname_np(err);
  char cause[600];
  if (err == ENOENT || err == ECONNREFUSED || err == ENOTSOCK) {
    snprintf(cause, sizeof cause, "%s (connect %s %s)", name, name, nc->socket);
    return not_reachable(nc, version, is_status, cause), -1;
  }
  snprintf(cause, sizeof cause, "cannot connect to the agent socket %s: connect %s %s", nc->socket, name ? name : "error", nc->socket);
  return cni_error(version, CNI_IO, cause, err == EACCES ? "tabby-cni must run as root, like the runtime that calls it" : ""), -1;
}

/* {"protocol":"tabby-cni-exec/1","env":{CNI_*...},"stdin":"..."}\n */
static int build_request(struct strbuf *req, const struct strbuf *in, char **envp) {
  int bad = sb_puts(req, "{\"protocol\":\"" EXEC_PROTOCOL "\",\"env\":{");
  int first = 1;
  for (char **e = envp; *e; e++) {
    if (strncmp(*e, "CNI_", 4) != 0) continue;
    const char *eq = strchr(*e, '=');
    if (!eq) continue;
    bad |= (first ? 0 : sb_puts(req, ",")) | sb_json_string(req, *e, (size_t)(eq - *e)) | sb_puts(req, ":") | sb_json_string(req, eq + 1, strlen(eq + 1));
    first = 0;
  }
  bad |= sb_puts(req, "},\"stdin\":") | sb_json_string(req, in->data ? in->data : "", in->len) | sb_puts(req, "}\n");
  return bad ? -1 : 0;
}

int main(int argc, char **argv, char **envp) {
  (void)argc;
  (void)argv;
  signal(SIGPIPE, SIG_IGN); /* an agent that hangs up is reported, not a silent death */
  struct strbuf in = {0};
  long long start = now_ms();
  if (!isatty(STDIN_FILENO)) { /* run by hand (e.g. VERSION): nothing is piped in */
    int rc = read_all(STDIN_FILENO, &in, MAX_MESSAGE_BYTES, start + 60000);
    if (rc == -2) return cni_error(LATEST_VERSION, CNI_DECODE, "the network configuration on stdin is larger than 1 MiB", "the runtime must pass one plugin's JSON configuration on stdin");
    if (rc < 0) return cni_error(LATEST_VERSION, CNI_IO, "cannot read the network configuration from stdin", rc == -3 ? "nothing arrived within 60 s" : strerror(errno));
  }
  struct netconf nc;
  read_netconf(in.data ? in.data : "", in.len, &nc);
  const char *cmd = getenv("CNI_COMMAND");
  if (cmd && strcmp(cmd, "VERSION") == 0) return print_version(&nc);

  const char *version = nc.cni_version[0] ? nc.cni_version : LATEST_VERSION;
  if (!nc.valid_json) {
    /* Without a readable config there is no agent_socket to forward to: say so here, in
     * the words of src/cni/netconf.ts. */
    if (in.len > 0 && json_is_value(in.data, in.len))
      return cni_error(version, CNI_DECODE, "the network configuration on stdin is not a JSON object", "pass one JSON object on stdin");
    return cni_error(version, CNI_DECODE, "the network configuration on stdin is not valid JSON",
                     "the runtime must pass one JSON object (a single plugin's config) on stdin");
  }
  int is_status = cmd && strcmp(cmd, "STATUS") == 0;
  long long deadline = now_ms() + (long long)(nc.timeout_s * 1000) + SHIM_MARGIN_MS;
  int fd = connect_agent(&nc, version, is_status);
  if (fd < 0) return 1;

  struct strbuf req = {0}, ans = {0};
  if (build_request(&req, &in, envp) < 0) return cni_error(version, CNI_IO, "tabby-cni is out of memory", "");
  if (write_all(fd, req.data, req.len, deadline) < 0) {
    char msg[600];
    snprintf(msg, sizeof msg, "the agent at %s closed the connection before taking the request: %s", nc.socket, strerror(errno));
    return cni_error(version, CNI_IO, msg, "the agent log says why (it may have restarted); the runtime will retry");
  }
  /* No shutdown(SHUT_WR): the agent's server is not half-open and would close its side too. */
  int rc = read_all(fd, &ans, MAX_MESSAGE_BYTES + 64, deadline);
  close(fd);
  if (rc == -3) {
    char msg[600];
    snprintf(msg, sizeof msg, "the agent did not answer %s for container %s within %lld ms", cmd ? cmd : "-", getenv("CNI_CONTAINERID") ? getenv("CNI_CONTAINERID") : "-",
             (long long)(nc.timeout_s * 1000) + SHIM_MARGIN_MS);
    return cni_error(version, CNI_TIMEOUT, msg, "the agent log says why; if the node is just slow, raise \"timeout_seconds\" in the CNI config");
  }
  if (rc == -2) return cni_error(version, CNI_PROTOCOL, "the agent's answer is larger than 1 MiB", "this is a bug in the agent; report it");
  if (rc < 0) {
    char msg[600];
    snprintf(msg, sizeof msg, "the agent at %s dropped the %s request without answering: %s", nc.socket, cmd ? cmd : "-", strerror(errno));
    return cni_error(version, CNI_IO, msg, "the agent log says why (it may have restarted); the runtime will retry");
  }

  /* "tabby-cni-exec/1 <exitCode> <length>\n<body>" */
  char *nl = ans.data ? memchr(ans.data, '\n', ans.len) : NULL;
  int exit_code;
  size_t body_len;
  int used = 0;
  if (!nl || sscanf(ans.data, EXEC_PROTOCOL " %d %zu%n", &exit_code, &body_len, &used) != 2 || ans.data + used != nl || (exit_code != 0 && exit_code != 1) ||
      (size_t)(ans.data + ans.len - (nl + 1)) != body_len) {
    if (ans.len == 0) {
      char msg[600];
      snprintf(msg, sizeof msg, "the agent at %s dropped the %s request without answering: the connection closed", nc.socket, cmd ? cmd : "-");
      return cni_error(version, CNI_IO, msg, "the agent log says why (it may have restarted); the runtime will retry");
    }
    return cni_error(version, CNI_PROTOCOL, "the agent answered the tabby-cni shim in an unknown format", "install the tabby-cni binary from the same release as the agent");
  }
  if (write_all(STDOUT_FILENO, nl + 1, body_len, now_ms() + 10000) < 0) return 1;
  return exit_code;
}
