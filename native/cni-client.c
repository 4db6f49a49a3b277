/*
 * bin/tortie-cni: the tortie CNI plugin as the container runtime calls it, in C so that an
 * ADD does not pay a Node start-up (about 50 ms here). It does what bin/tortie-cni.js does in
 * front of a node daemon (src/cni/client.ts), byte for byte:
 *
 *   - reads the network configuration from stdin (at most MAX_STDIN bytes; nothing when stdin
 *     is a terminal) and collects every CNI_* environment variable;
 *   - VERSION is answered here, from the versions src/cni/versions.ts lists (the build passes
 *     them in as TORTIE_SUPPORTED_VERSIONS / TORTIE_LATEST_VERSION);
 *   - the daemon socket is the config's top-level "nodeSocket" string, else $TORTIE_NODE_SOCKET,
 *     else /run/tortie/node.sock; "nodeSocket": "" means never use a daemon;
 *   - it sends POST /cni {"env":{...},"stdin":"..."} on that unix socket, prints the answer's
 *     "stdout" (plus a newline when it lacks one) and exits with its "exitCode";
 *   - with no socket (missing, or nothing listening: ENOENT, ECONNREFUSED) it execs
 *     `node <dir of this executable>/tortie-cni.js` with the same environment and the stdin
 *     it read (from a memfd), so that the in-process mode is exactly today's;
 *   - any failure of its own prints {"cniVersion","code","msg"} and exits 1: code 5 (I/O) for
 *     input it cannot take, 11 (try again later) for a daemon that fails or answers nonsense,
 *     as client.ts does.
 *
 * libc only. Built by native/build-cni.mjs (npm run build).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TORTIE_SUPPORTED_VERSIONS
#define TORTIE_SUPPORTED_VERSIONS "0.4.0", "1.0.0", "1.1.0"
#endif
#ifndef TORTIE_LATEST_VERSION
#define TORTIE_LATEST_VERSION "1.1.0"
#endif
#ifndef TORTIE_NODE_PATH
#define TORTIE_NODE_PATH "/usr/bin/node"
#endif

#define MAX_STDIN (1u << 20)        /* the daemon's control socket takes 1 MiB bodies */
#define MAX_ANSWER (64u << 20)      /* a sane bound on the daemon's answer */
#define DAEMON_TIMEOUT_MS 120000    /* as client.ts: runtimes time out around 4 minutes */
#define DEFAULT_NODE_SOCKET "/run/tortie/node.sock"
#define NODE_SOCKET_ENV "TORTIE_NODE_SOCKET"

enum { CODE_IO_FAILURE = 5, CODE_TRY_AGAIN_LATER = 11 };

static const char *const supported_versions[] = {TORTIE_SUPPORTED_VERSIONS};
#define N_SUPPORTED (sizeof(supported_versions) / sizeof(supported_versions[0]))

extern char **environ;

/* ---------- growable byte buffer ---------- */

typedef struct {
  char *p;
  size_t len, cap;
} buf_t;

static void die_oom(void);

static void buf_reserve(buf_t *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) die_oom();
  b->p = p;
  b->cap = cap;
}

static void buf_add(buf_t *b, const char *s, size_t n) {
  buf_reserve(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void buf_adds(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_addc(buf_t *b, char c) { buf_add(b, &c, 1); }

/* ---------- output and errors ---------- */

static const char *g_version; /* the config's cniVersion when it is one we support */

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* JSON string escaping as JSON.stringify does it; bytes >= 0x80 pass through. */
static void json_escape(buf_t *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  buf_addc(b, '"');
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    buf_add(b, s + start, i - start);
    start = i + 1;
    switch (c) {
      case '"': buf_adds(b, "\\\""); break;
      case '\\': buf_adds(b, "\\\\"); break;
      case '\b': buf_adds(b, "\\b"); break;
      case '\f': buf_adds(b, "\\f"); break;
      case '\n': buf_adds(b, "\\n"); break;
      case '\r': buf_adds(b, "\\r"); break;
      case '\t': buf_adds(b, "\\t"); break;
      default: {
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        buf_add(b, u, 6);
      }
    }
  }
  buf_add(b, s + start, n - start);
  buf_addc(b, '"');
}

/* Prints a CNI error JSON on stdout and exits 1. */
static void fail(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void fail(int code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  buf_t b = {0};
  buf_adds(&b, "{\"cniVersion\":");
  const char *v = g_version ? g_version : TORTIE_LATEST_VERSION;
  json_escape(&b, v, strlen(v));
  char num[32];
  snprintf(num, sizeof num, ",\"code\":%d,\"msg\":", code);
  buf_adds(&b, num);
  json_escape(&b, msg, strlen(msg));
  buf_adds(&b, "}\n");
  write_all(1, b.p, b.len);
  exit(1);
}

static void die_oom(void) {
  static const char m[] = "{\"cniVersion\":\"" TORTIE_LATEST_VERSION "\",\"code\":5,\"msg\":\"tortie-cni: out of memory\"}\n";
  write_all(1, m, sizeof m - 1);
  _exit(1);
}

/* ---------- a strict JSON scanner (RFC 8259, as JSON.parse accepts it) ---------- */

typedef struct {
  const char *s;
  size_t n, i;
} scan_t;

static void ws(scan_t *t) {
  while (t->i < t->n) {
    char c = t->s[t->i];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    t->i++;
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void put_utf8(buf_t *b, uint32_t cp) {
  char u[4];
  if (cp < 0x80) {
    u[0] = (char)cp;
    buf_add(b, u, 1);
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3F));
    buf_add(b, u, 2);
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    buf_add(b, u, 3);
  } else {
    u[0] = (char)(0xF0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    buf_add(b, u, 4);
  }
}

static int read_hex4(scan_t *t, uint32_t *out) {
  if (t->i + 4 > t->n) return -1;
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) {
    int h = hexval(t->s[t->i + k]);
    if (h < 0) return -1;
    v = (v << 4) | (uint32_t)h;
  }
  t->i += 4;
  *out = v;
  return 0;
}

/*
 * Scans a string at t->i (which is at '"'). When out is given, the unescaped value goes there
 * as UTF-8; a lone surrogate becomes U+FFFD, as Node's UTF-8 encoder writes it.
 */
static int scan_string(scan_t *t, buf_t *out) {
  if (t->i >= t->n || t->s[t->i] != '"') return -1;
  t->i++;
  size_t start = t->i;
  for (;;) {
    if (t->i >= t->n) return -1;
    unsigned char c = (unsigned char)t->s[t->i];
    if (c == '"') {
      if (out) buf_add(out, t->s + start, t->i - start);
      t->i++;
      return 0;
    }
    if (c < 0x20) return -1;
    if (c != '\\') {
      t->i++;
      continue;
    }
    if (out) buf_add(out, t->s + start, t->i - start);
    t->i++;
    if (t->i >= t->n) return -1;
    char e = t->s[t->i++];
    char lit = 0;
    switch (e) {
      case '"': lit = '"'; break;
      case '\\': lit = '\\'; break;
      case '/': lit = '/'; break;
      case 'b': lit = '\b'; break;
      case 'f': lit = '\f'; break;
      case 'n': lit = '\n'; break;
      case 'r': lit = '\r'; break;
      case 't': lit = '\t'; break;
      case 'u': {
        uint32_t cp;
        if (read_hex4(t, &cp) < 0) return -1;
        if (cp >= 0xD800 && cp <= 0xDBFF && t->i + 6 <= t->n && t->s[t->i] == '\\' && t->s[t->i + 1] == 'u') {
          scan_t peek = *t;
          peek.i += 2;
          uint32_t lo;
          if (read_hex4(&peek, &lo) < 0) return -1;
          if (lo >= 0xDC00 && lo <= 0xDFFF) {
            t->i = peek.i;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        if (out) put_utf8(out, cp);
        break;
      }
      default: return -1;
    }
    if (lit && out) buf_addc(out, lit);
    start = t->i;
  }
}

static int scan_number(scan_t *t) {
  size_t i = t->i;
  if (i < t->n && t->s[i] == '-') i++;
  if (i >= t->n) return -1;
  if (t->s[i] == '0') i++;
  else if (t->s[i] >= '1' && t->s[i] <= '9') while (i < t->n && t->s[i] >= '0' && t->s[i] <= '9') i++;
  else return -1;
  if (i < t->n && t->s[i] == '.') {
    i++;
    size_t d = i;
    while (i < t->n && t->s[i] >= '0' && t->s[i] <= '9') i++;
    if (i == d) return -1;
  }
  if (i < t->n && (t->s[i] == 'e' || t->s[i] == 'E')) {
    i++;
    if (i < t->n && (t->s[i] == '+' || t->s[i] == '-')) i++;
    size_t d = i;
    while (i < t->n && t->s[i] >= '0' && t->s[i] <= '9') i++;
    if (i == d) return -1;
  }
  t->i = i;
  return 0;
}

static int scan_literal(scan_t *t, const char *word) {
  size_t k = strlen(word);
  if (t->i + k > t->n || memcmp(t->s + t->i, word, k) != 0) return -1;
  t->i += k;
  return 0;
}

/* Skips one value of any depth, without recursion (an explicit stack of open brackets). */
static int skip_value(scan_t *t) {
  char *stack = NULL;
  size_t depth = 0, cap = 0;
  int rc = -1;
  for (;;) {
    /* expecting a value */
    ws(t);
    if (t->i >= t->n) goto out;
    char c = t->s[t->i];
    if (c == '{' || c == '[') {
      if (depth == cap) {
        cap = cap ? cap * 2 : 64;
        char *p = realloc(stack, cap);
        if (!p) die_oom();
        stack = p;
      }
      stack[depth++] = c;
      t->i++;
      ws(t);
      if (t->i < t->n && t->s[t->i] == (c == '{' ? '}' : ']')) {
        t->i++;
        depth--;
        goto after_value;
      }
      if (c == '{') {
        if (scan_string(t, NULL) < 0) goto out;
        ws(t);
        if (t->i >= t->n || t->s[t->i] != ':') goto out;
        t->i++;
      }
      continue;
    }
    if (c == '"') {
      if (scan_string(t, NULL) < 0) goto out;
    } else if (c == 't') {
      if (scan_literal(t, "true") < 0) goto out;
    } else if (c == 'f') {
      if (scan_literal(t, "false") < 0) goto out;
    } else if (c == 'n') {
      if (scan_literal(t, "null") < 0) goto out;
    } else if (scan_number(t) < 0) {
      goto out;
    }
  after_value:
    for (;;) {
      if (depth == 0) {
        rc = 0;
        goto out;
      }
      ws(t);
      if (t->i >= t->n) goto out;
      char open = stack[depth - 1];
      char d = t->s[t->i];
      if (d == (open == '{' ? '}' : ']')) {
        t->i++;
        depth--;
        continue;
      }
      if (d != ',') goto out;
      t->i++;
      if (open == '{') {
        ws(t);
        if (scan_string(t, NULL) < 0) goto out;
        ws(t);
        if (t->i >= t->n || t->s[t->i] != ':') goto out;
        t->i++;
      }
      break;
    }
  }
out:
  free(stack);
  return rc;
}

/*
 * A document's top-level string members, as JSON.parse would see them: for each wanted key,
 * the last member of that name decides (found = 1 and its value when it is a string, found = 0
 * when it is anything else). Returns 0 when the document is an object, -1 when it is not valid
 * JSON or not an object (JSON.parse throws, or the lookup gives undefined: the same to us).
 */
typedef struct {
  const char *key;
  int found;
  buf_t value;
  int is_number;
  double number;
} member_t;

static int top_level_members(const char *s, size_t n, member_t *want, size_t nwant) {
  scan_t t = {s, n, 0};
  ws(&t);
  if (t.i >= t.n || t.s[t.i] != '{') {
    /* valid JSON or not, nothing is found */
    return -1;
  }
  t.i++;
  ws(&t);
  buf_t key = {0};
  int rc = -1;
  if (t.i < t.n && t.s[t.i] == '}') {
    t.i++;
    goto tail;
  }
  for (;;) {
    ws(&t);
    key.len = 0;
    buf_reserve(&key, 0);
    key.p[0] = '\0';
    if (scan_string(&t, &key) < 0) goto out;
    ws(&t);
    if (t.i >= t.n || t.s[t.i] != ':') goto out;
    t.i++;
    ws(&t);
    member_t *m = NULL;
    for (size_t k = 0; k < nwant; k++)
      if (strlen(want[k].key) == key.len && memcmp(want[k].key, key.p, key.len) == 0) m = &want[k];
    if (m) {
      m->found = 0;
      m->is_number = 0;
      if (t.i < t.n && t.s[t.i] == '"') {
        m->value.len = 0;
        buf_reserve(&m->value, 0);
        m->value.p[0] = '\0';
        if (scan_string(&t, &m->value) < 0) goto out;
        m->found = 1;
      } else {
        size_t at = t.i;
        if (skip_value(&t) < 0) goto out;
        if (t.s[at] == '-' || (t.s[at] >= '0' && t.s[at] <= '9')) {
          char tmp[64];
          size_t len = t.i - at < sizeof tmp - 1 ? t.i - at : sizeof tmp - 1;
          memcpy(tmp, t.s + at, len);
          tmp[len] = '\0';
          m->is_number = 1;
          m->number = strtod(tmp, NULL);
        }
      }
    } else if (skip_value(&t) < 0) {
      goto out;
    }
    ws(&t);
    if (t.i < t.n && t.s[t.i] == ',') {
      t.i++;
      continue;
    }
    if (t.i < t.n && t.s[t.i] == '}') {
      t.i++;
      break;
    }
    goto out;
  }
tail:
  ws(&t);
  rc = t.i == t.n ? 0 : -1;
out:
  free(key.p);
  if (rc < 0)
    for (size_t k = 0; k < nwant; k++) want[k].found = 0, want[k].is_number = 0;
  return rc;
}

/* ---------- the pieces of one invocation ---------- */

static int supported(const char *v) {
  for (size_t k = 0; k < N_SUPPORTED; k++)
    if (strcmp(v, supported_versions[k]) == 0) return 1;
  return 0;
}

static void read_stdin(buf_t *in) {
  buf_reserve(in, 0);
  in->p[0] = '\0';
  if (isatty(0)) return; /* as client.ts: a terminal gives an empty config */
  for (;;) {
    buf_reserve(in, 65536);
    ssize_t r = read(0, in->p + in->len, in->cap - in->len - 1);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EBADF) break; /* no stdin at all: empty, as Node sees it */
      fail(CODE_IO_FAILURE, "tortie-cni: reading the network configuration from stdin: %s", strerror(errno));
    }
    if (r == 0) break;
    in->len += (size_t)r;
    if (in->len > MAX_STDIN)
      fail(CODE_IO_FAILURE, "tortie-cni: the network configuration on stdin is larger than %u bytes", MAX_STDIN);
  }
  in->p[in->len] = '\0';
}

/* Replaces this process with `node <exe dir>/tortie-cni.js`, stdin being what we read. */
static void exec_js(const buf_t *in, int stdin_consumed) __attribute__((noreturn));
static void exec_js(const buf_t *in, int stdin_consumed) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) fail(CODE_IO_FAILURE, "tortie-cni: cannot find its own location (/proc/self/exe): %s", strerror(errno));
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash) fail(CODE_IO_FAILURE, "tortie-cni: odd location %s", exe);
  *slash = '\0';
  char script[PATH_MAX];
  if ((size_t)snprintf(script, sizeof script, "%s/tortie-cni.js", exe) >= sizeof script)
    fail(CODE_IO_FAILURE, "tortie-cni: path too long: %s/tortie-cni.js", exe);
  if (access(script, R_OK) != 0)
    fail(CODE_IO_FAILURE, "tortie-cni: no node daemon socket, and the Node plugin %s is missing: %s", script, strerror(errno));

  if (stdin_consumed) {
    int fd = (int)syscall(SYS_memfd_create, "tortie-cni-stdin", 0);
    if (fd >= 0) {
      if (write_all(fd, in->p, in->len) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
        close(fd);
        fd = -1;
      }
    }
    if (fd < 0) {
      /* No memfd: a pipe fed by a grandchild (so that nothing is left to reap). */
      int p[2];
      if (pipe(p) < 0) fail(CODE_IO_FAILURE, "tortie-cni: pipe: %s", strerror(errno));
      pid_t pid = fork();
      if (pid < 0) fail(CODE_IO_FAILURE, "tortie-cni: fork: %s", strerror(errno));
      if (pid == 0) {
        close(p[0]);
        if (fork() == 0) {
          write_all(p[1], in->p, in->len);
          _exit(0);
        }
        _exit(0);
      }
      close(p[1]);
      waitpid(pid, NULL, 0);
      fd = p[0];
    }
    if (dup2(fd, 0) < 0) fail(CODE_IO_FAILURE, "tortie-cni: dup2: %s", strerror(errno));
    if (fd != 0) close(fd);
  }
  char *argv[] = {"node", script, NULL};
  execvp("node", argv);
  argv[0] = TORTIE_NODE_PATH;
  execv(TORTIE_NODE_PATH, argv);
  fail(CODE_IO_FAILURE, "tortie-cni: no node daemon socket, and cannot run node (not on PATH, nor %s): %s", TORTIE_NODE_PATH,
       strerror(errno));
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready until the deadline; 0 when ready, -1 on timeout. */
static int wait_fd(int fd, short events, long long deadline) {
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0) return -1;
    struct pollfd p = {fd, events, 0};
    int r = poll(&p, 1, (int)left);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return -1;
  }
}

/* Case-insensitive search for a header's value in the header block; NULL when absent. */
static const char *header(const char *head, size_t n, const char *name, size_t *vlen) {
  size_t k = strlen(name);
  const char *p = memchr(head, '\n', n); /* skip the status line */
  while (p && (size_t)(p + 1 - head) < n) {
    const char *line = p + 1;
    const char *end = memchr(line, '\n', n - (size_t)(line - head));
    if (!end) end = head + n;
    if ((size_t)(end - line) > k && strncasecmp(line, name, k) == 0 && line[k] == ':') {
      const char *v = line + k + 1;
      while (v < end && (*v == ' ' || *v == '\t')) v++;
      const char *e = end;
      while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
      *vlen = (size_t)(e - v);
      return v;
    }
    p = end < head + n ? end : NULL;
  }
  return NULL;
}

/* Decodes a chunked body in place; -1 when it is malformed or incomplete. */
static int dechunk(buf_t *body) {
  size_t r = 0, w = 0;
  for (;;) {
    char *eol = memmem(body->p + r, body->len - r, "\r\n", 2);
    if (!eol) return -1;
    char *end;
    unsigned long size = strtoul(body->p + r, &end, 16);
    if (end == body->p + r) return -1;
    r = (size_t)(eol - body->p) + 2;
    if (size == 0) break;
    if (size > body->len - r || body->len - r - size < 2) return -1;
    memmove(body->p + w, body->p + r, size);
    w += size;
    r += size + 2;
  }
  body->len = w;
  body->p[w] = '\0';
  return 0;
}

typedef enum { SENT, ABSENT } forward_rc;

/* POST /cni; on an answer, prints it and exits. Returns ABSENT when no daemon listens. */
static forward_rc forward(const char *socket_path, const buf_t *env_json, const buf_t *in) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(socket_path) >= sizeof sa.sun_path)
    fail(CODE_TRY_AGAIN_LATER, "node daemon socket path %s is too long for a unix socket", socket_path);
  strcpy(sa.sun_path, socket_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(CODE_TRY_AGAIN_LATER, "tortie-cni: socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    if (e == ENOENT || e == ECONNREFUSED) return ABSENT;
    fail(CODE_TRY_AGAIN_LATER, "connect %s %s", strerror(e), socket_path);
  }
  long long deadline = now_ms() + DAEMON_TIMEOUT_MS;

  buf_t body = {0};
  buf_adds(&body, "{\"env\":");
  buf_add(&body, env_json->p, env_json->len);
  buf_adds(&body, ",\"stdin\":");
  json_escape(&body, in->p, in->len);
  buf_addc(&body, '}');
  buf_t req = {0};
  char head[256];
  snprintf(head, sizeof head,
           "POST /cni HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
           "Connection: close\r\n\r\n",
           body.len);
  buf_adds(&req, head);
  buf_add(&req, body.p, body.len);
  free(body.p);
  for (size_t off = 0; off < req.len;) {
    if (wait_fd(fd, POLLOUT, deadline) < 0)
      fail(CODE_TRY_AGAIN_LATER, "node daemon at %s did not answer within %d s", socket_path, DAEMON_TIMEOUT_MS / 1000);
    ssize_t w = send(fd, req.p + off, req.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      /* the daemon may have answered already (e.g. 413) and closed: read what it said */
      if (errno == EPIPE || errno == ECONNRESET) break;
      fail(CODE_TRY_AGAIN_LATER, "node daemon at %s: write: %s", socket_path, strerror(errno));
    }
    off += (size_t)w;
  }
  free(req.p);
  /* No shutdown(SHUT_WR) here: Node's HTTP server drops a half-closed request unanswered. */

  /* Read the whole answer: up to Content-Length, or to the end of the connection. */
  buf_t ans = {0};
  buf_reserve(&ans, 0);
  size_t head_len = 0;
  long long content_length = -1;
  int chunked = 0;
  for (;;) {
    if (head_len && content_length >= 0 && ans.len - head_len >= (size_t)content_length) break;
    if (wait_fd(fd, POLLIN, deadline) < 0)
      fail(CODE_TRY_AGAIN_LATER, "node daemon at %s did not answer within %d s", socket_path, DAEMON_TIMEOUT_MS / 1000);
    buf_reserve(&ans, 65536);
    ssize_t r = recv(fd, ans.p + ans.len, ans.cap - ans.len - 1, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ECONNRESET && ans.len > 0) break;
      fail(CODE_TRY_AGAIN_LATER, "node daemon at %s: read: %s", socket_path, strerror(errno));
    }
    if (r == 0) break;
    ans.len += (size_t)r;
    ans.p[ans.len] = '\0';
    if (ans.len > MAX_ANSWER) fail(CODE_TRY_AGAIN_LATER, "node daemon at %s answered more than %u bytes", socket_path, MAX_ANSWER);
    if (!head_len) {
      char *e = memmem(ans.p, ans.len, "\r\n\r\n", 4);
      if (e) {
        head_len = (size_t)(e - ans.p) + 4;
        size_t vl;
        const char *v = header(ans.p, head_len, "content-length", &vl);
        if (v) content_length = strtoll(v, NULL, 10);
        v = header(ans.p, head_len, "transfer-encoding", &vl);
        if (v && vl >= 7 && strncasecmp(v + vl - 7, "chunked", 7) == 0) chunked = 1;
      }
    }
    if (chunked && head_len && ans.len - head_len >= 5 && memcmp(ans.p + ans.len - 5, "0\r\n\r\n", 5) == 0) break;
  }
  close(fd);
  int status = 0;
  if (!head_len || sscanf(ans.p, "HTTP/1.%*d %d", &status) != 1)
    fail(CODE_TRY_AGAIN_LATER, "node daemon at %s answered something that is not HTTP", socket_path);
  buf_t resp = {0};
  size_t blen = ans.len - head_len;
  if (content_length >= 0 && !chunked) {
    if (blen < (size_t)content_length)
      fail(CODE_TRY_AGAIN_LATER, "node daemon at %s closed the connection mid-answer", socket_path);
    blen = (size_t)content_length;
  }
  buf_add(&resp, ans.p + head_len, blen);
  free(ans.p);
  if (chunked && dechunk(&resp) < 0)
    fail(CODE_TRY_AGAIN_LATER, "node daemon at %s answered a malformed chunked body", socket_path);

  member_t m[] = {{.key = "exitCode"}, {.key = "stdout"}, {.key = "error"}};
  if (top_level_members(resp.p, resp.len, m, 3) < 0) {
    /* as client.ts: JSON.parse failing (a valid non-object falls through to the HTTP check) */
    scan_t t = {resp.p, resp.len, 0};
    int valid = skip_value(&t) == 0 && (ws(&t), t.i == t.n);
    if (!valid) fail(CODE_TRY_AGAIN_LATER, "node daemon at %s answered something that is not JSON", socket_path);
  }
  if (status == 200 && m[0].is_number && m[1].found) {
    buf_t *out = &m[1].value;
    if (out->len > 0) {
      if (out->p[out->len - 1] != '\n') buf_addc(out, '\n');
      if (write_all(1, out->p, out->len) < 0) exit(1);
    }
    exit(((int)m[0].number) & 0xff);
  }
  if (m[2].found)
    fail(CODE_TRY_AGAIN_LATER, "node daemon at %s answered HTTP %d: %s", socket_path, status, m[2].value.p);
  fail(CODE_TRY_AGAIN_LATER, "node daemon at %s answered HTTP %d: %.*s", socket_path, status, (int)(resp.len > 512 ? 512 : resp.len), resp.p);
}

int main(void) {
  buf_t in = {0};
  int tty = isatty(0);
  read_stdin(&in);

  member_t m[] = {{.key = "nodeSocket"}, {.key = "cniVersion"}};
  top_level_members(in.p, in.len, m, 2);
  if (m[1].found && supported(m[1].value.p)) g_version = m[1].value.p;

  const char *command = getenv("CNI_COMMAND");
  if (command && strcmp(command, "VERSION") == 0) {
    buf_t b = {0};
    buf_adds(&b, "{\"cniVersion\":");
    const char *v = g_version ? g_version : TORTIE_LATEST_VERSION;
    json_escape(&b, v, strlen(v));
    buf_adds(&b, ",\"supportedVersions\":[");
    for (size_t k = 0; k < N_SUPPORTED; k++) {
      if (k) buf_addc(&b, ',');
      json_escape(&b, supported_versions[k], strlen(supported_versions[k]));
    }
    buf_adds(&b, "]}\n");
    return write_all(1, b.p, b.len) < 0 ? 1 : 0;
  }

  /* The daemon socket, or none (in-process: the Node plugin does it). */
  const char *socket_path;
  if (m[0].found) {
    socket_path = m[0].value.p;
    if (memchr(m[0].value.p, '\0', m[0].value.len))
      fail(CODE_TRY_AGAIN_LATER, "network configuration: nodeSocket contains a NUL character");
    if (m[0].value.len == 0) exec_js(&in, !tty);
  } else {
    const char *e = getenv(NODE_SOCKET_ENV);
    socket_path = e && *e ? e : DEFAULT_NODE_SOCKET;
  }
  struct stat st;
  if (stat(socket_path, &st) != 0) exec_js(&in, !tty);

  /* Every CNI_* variable, as client.ts forwards them (of duplicates the first, as getenv). */
  buf_t env = {0};
  buf_addc(&env, '{');
  int first = 1;
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "CNI_", 4) != 0) continue;
    const char *eq = strchr(*e, '=');
    if (!eq) continue;
    int dup = 0;
    for (char **l = environ; l < e; l++)
      if (strncmp(*l, *e, (size_t)(eq - *e) + 1) == 0) dup = 1;
    if (dup) continue;
    if (!first) buf_addc(&env, ',');
    first = 0;
    json_escape(&env, *e, (size_t)(eq - *e));
    buf_addc(&env, ':');
    json_escape(&env, eq + 1, strlen(eq + 1));
  }
  buf_addc(&env, '}');

  if (forward(socket_path, &env, &in) == ABSENT) exec_js(&in, !tty);
  return 1; /* not reached: forward prints and exits */
}
