/*
 * tortie_sockopt: the few socket calls a BGP speaker needs that Node's net module lacks.
 *
 *   - TCP MD5 signatures (RFC 2385): setsockopt(TCP_MD5SIG) with one struct tcp_md5sig per
 *     peer address. On a listening socket the kernel keeps one key per peer and copies the
 *     matching one into each accepted socket; an empty key deletes the entry.
 *   - GTSM (RFC 5082): the TTL / hop limit we send with (255) and the minimum TTL / hop
 *     count we accept (255 - hops + 1).
 *   - Creating (and, for listeners, binding) a TCP socket here, so that the options above
 *     are in force before the first SYN is sent or accepted. The descriptor is then handed
 *     to libuv through `new net.Socket({fd})` or `server.listen({fd})`, and Node does the
 *     connect()/listen() itself on that same descriptor.
 *
 * Errors are thrown as JS Errors whose `code` is the errno name (EPERM, ENOPROTOOPT, ...)
 * and whose `syscall` names the call, so the TypeScript layer can turn them into one line.
 *
 * Plain C against N-API (node_api.h) so that it does not depend on V8's C++ ABI.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ADDR_MAX 64

/* ---------- error helpers ---------- */

static const char *errno_name(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOMEM: return "ENOMEM";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    default: return "EUNKNOWN";
  }
}

/* Throws an Error with .code and .syscall and a message "syscall what: strerror". */
static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s %s: %s", syscall, what, strerror(err));
  napi_value code, message, error, sc, errnum;
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, error, "syscall", sc);
  napi_create_int32(env, -err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG", msg);
  return NULL;
}

/* ---------- argument helpers ---------- */

static int get_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return 0;
  return len < size - 1;
}

/*
 * Parses a textual IPv4 or IPv6 address into a sockaddr_storage of the given socket family.
 * An IPv4 address on an AF_INET6 socket becomes the v4-mapped form ::ffff:a.b.c.d, which is
 * how Linux names IPv4 peers of a dual-stack socket (also in its MD5 key table).
 * Returns 0 on success, -1 when the text is no address of a usable family.
 */
static int parse_addr(int sock_family, const char *text, uint16_t port,
                      struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, text, &a4) == 1) {
    if (sock_family == AF_INET) {
      struct sockaddr_in *sin = (struct sockaddr_in *)ss;
      sin->sin_family = AF_INET;
      sin->sin_port = htons(port);
      sin->sin_addr = a4;
      *len = sizeof *sin;
      return 0;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&sin6->sin6_addr.s6_addr[12], &a4, 4);
    *len = sizeof *sin6;
    return 0;
  }
  if (inet_pton(AF_INET6, text, &a6) == 1 && sock_family == AF_INET6) {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_addr = a6;
    *len = sizeof *sin6;
    return 0;
  }
  return -1;
}

/* The address family of an open socket, or -1 with errno set. */
static int socket_family(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
  return ss.ss_family;
}

/* ---------- setTcpMd5Sig(fd, peerAddress, key: Buffer) ---------- */

static napi_value set_tcp_md5sig(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  char addr[ADDR_MAX];
  void *key = NULL;
  size_t keylen = 0;
  bool is_buffer = false;
  if (argc < 3 || !get_int(env, argv[0], &fd) || !get_string(env, argv[1], addr, sizeof addr))
    return throw_type(env, "setTcpMd5Sig(fd, address, key): bad arguments");
  napi_is_buffer(env, argv[2], &is_buffer);
  if (!is_buffer) return throw_type(env, "setTcpMd5Sig: key must be a Buffer");
  napi_get_buffer_info(env, argv[2], &key, &keylen);
  if (keylen > TCP_MD5SIG_MAXKEYLEN)
    return throw_type(env, "setTcpMd5Sig: key longer than 80 bytes");

  int family = socket_family(fd);
  if (family < 0) return throw_errno(env, errno, "getsockname", addr);

  struct tcp_md5sig sig;
  memset(&sig, 0, sizeof sig);
  socklen_t alen;
  if (parse_addr(family, addr, 0, &sig.tcpm_addr, &alen) != 0)
    return throw_errno(env, EAFNOSUPPORT, "setsockopt(TCP_MD5SIG)", addr);
  sig.tcpm_keylen = (uint16_t)keylen;
  if (keylen) memcpy(sig.tcpm_key, key, keylen);
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig) != 0)
    return throw_errno(env, errno, "setsockopt(TCP_MD5SIG)", addr);
  return NULL;
}

/* ---------- setTtl(fd, ttl) / setMinTtl(fd, ttl) ---------- */

/*
 * An AF_INET6 socket may carry IPv4 traffic (v4-mapped peers), and Linux applies the IPv4
 * options to that traffic, so on such a socket both the IPv6 and the IPv4 option are set.
 * The IPv4 one is best effort there: an IPV6_V6ONLY socket may refuse it.
 */
static napi_value set_hop_option(napi_env env, napi_callback_info info, int v4name, int v6name,
                                 const char *v4label, const char *v6label) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, value;
  if (argc < 2 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &value))
    return throw_type(env, "expected (fd, value)");
  if (value < 0 || value > 255) return throw_type(env, "TTL must be 0..255");
  int family = socket_family(fd);
  if (family < 0) return throw_errno(env, errno, "getsockname", "socket");
  int v = value;
  if (family == AF_INET6) {
    if (setsockopt(fd, IPPROTO_IPV6, v6name, &v, sizeof v) != 0)
      return throw_errno(env, errno, "setsockopt", v6label);
    (void)setsockopt(fd, IPPROTO_IP, v4name, &v, sizeof v);
    return NULL;
  }
  if (setsockopt(fd, IPPROTO_IP, v4name, &v, sizeof v) != 0)
    return throw_errno(env, errno, "setsockopt", v4label);
  return NULL;
}

static napi_value set_ttl(napi_env env, napi_callback_info info) {
  return set_hop_option(env, info, IP_TTL, IPV6_UNICAST_HOPS, "IP_TTL", "IPV6_UNICAST_HOPS");
}

static napi_value set_min_ttl(napi_env env, napi_callback_info info) {
  return set_hop_option(env, info, IP_MINTTL, IPV6_MINHOPCOUNT, "IP_MINTTL", "IPV6_MINHOPCOUNT");
}

/* ---------- getIntOption(fd, 'ttl'|'minttl') for tests and status ---------- */

static napi_value get_hop_option(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  char which[16];
  if (argc < 2 || !get_int(env, argv[0], &fd) || !get_string(env, argv[1], which, sizeof which))
    return throw_type(env, "getHopOption(fd, 'ttl' | 'minttl')");
  int family = socket_family(fd);
  if (family < 0) return throw_errno(env, errno, "getsockname", "socket");
  int min = strcmp(which, "minttl") == 0;
  int level = family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
  int name = family == AF_INET6 ? (min ? IPV6_MINHOPCOUNT : IPV6_UNICAST_HOPS)
                                : (min ? IP_MINTTL : IP_TTL);
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, level, name, &v, &len) != 0)
    return throw_errno(env, errno, "getsockopt", which);
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

/* ---------- createTcpSocket(family: 4|6, bindAddress?: string, bindPort?: number) ---------- */

/*
 * Returns a new non-blocking, close-on-exec TCP socket, optionally bound. Listeners are bound
 * here (with SO_REUSEADDR, as Node does) so that keys can be installed before listen().
 * A bound-but-not-listening socket answers SYNs with RST, so there is no window in which an
 * unsigned connection could be accepted.
 */
static napi_value create_tcp_socket(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fam;
  if (argc < 1 || !get_int(env, argv[0], &fam) || (fam != 4 && fam != 6))
    return throw_type(env, "createTcpSocket(family: 4 | 6, bindAddress?, bindPort?)");
  int domain = fam == 4 ? AF_INET : AF_INET6;

  char addr[ADDR_MAX] = "";
  int32_t port = 0;
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  int do_bind = t == napi_string;
  if (do_bind && !get_string(env, argv[1], addr, sizeof addr))
    return throw_type(env, "createTcpSocket: bad bind address");
  if (argc >= 3) {
    napi_typeof(env, argv[2], &t);
    if (t == napi_number && !get_int(env, argv[2], &port)) port = 0;
  }
  if (port < 0 || port > 65535) return throw_type(env, "createTcpSocket: port must be 0..65535");

  int fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return throw_errno(env, errno, "socket", fam == 4 ? "AF_INET" : "AF_INET6");

  if (do_bind) {
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_addr(domain, addr, (uint16_t)port, &ss, &len) != 0) {
      close(fd);
      return throw_errno(env, EAFNOSUPPORT, "bind", addr);
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
      int err = errno;
      close(fd);
      return throw_errno(env, err, "bind", addr);
    }
  }
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

/* ---------- closeFd(fd): for cleanup before a descriptor was handed to libuv ---------- */

static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc < 1 || !get_int(env, argv[0], &fd)) return throw_type(env, "closeFd(fd)");
  if (close(fd) != 0) return throw_errno(env, errno, "close", "fd");
  return NULL;
}

/* ---------- module ---------- */

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"setTcpMd5Sig", NULL, set_tcp_md5sig, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setTtl", NULL, set_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setMinTtl", NULL, set_min_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getHopOption", NULL, get_hop_option, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createTcpSocket", NULL, create_tcp_socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
