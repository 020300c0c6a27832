#include "tcp.h"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errors.h"

namespace tabby {

Napi::Value TcpSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "socket";
  Napi::Object opts = OptionsArg(info, 0);
  long long family = OptInt(env, opts, "family", 4, op);
  if (family != 4 && family != 6) Fail(env, op, EINVAL, "family must be 4 or 6, got " + std::to_string(family));
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    int err = errno;
    Fail(env, op, err, "cannot open a TCP socket", err == EMFILE || err == ENFILE ? "too many open files: raise the fd limit" : "");
  }
  return Napi::Number::New(env, fd);
}

Napi::Value TcpMd5SetKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "setsockopt(TCP_MD5SIG)";
  int fd = IntArg(info, 0, op, "fd");
  Napi::Object opts = OptionsArg(info, 1);
  std::string address = OptString(opts, "address");
  Napi::Value keyValue = opts.Get("key");
  if (!keyValue.IsBuffer()) Fail(env, op, EINVAL, "key must be a Buffer");
  Napi::Buffer<uint8_t> key = keyValue.As<Napi::Buffer<uint8_t>>();
  if (key.Length() > TCP_MD5SIG_MAXKEYLEN) {
    Fail(env, op, EINVAL, "a TCP-MD5 key is at most " + std::to_string(TCP_MD5SIG_MAXKEYLEN) + " bytes, got " + std::to_string(key.Length()),
         "use a shorter BGP password");
  }

  int domain = 0;
  socklen_t len = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) {
    int err = errno;
    Fail(env, op, err, "fd " + std::to_string(fd) + " is not a socket");
  }
  struct tcp_md5sig sig;
  memset(&sig, 0, sizeof(sig));
  struct in_addr v4;
  struct in6_addr v6;
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    if (domain == AF_INET) {
      auto* sin = reinterpret_cast<struct sockaddr_in*>(&sig.tcpm_addr);
      sin->sin_family = AF_INET;
      sin->sin_addr = v4;
    } else {
      // An IPv4 peer of a dual-stack socket is seen as ::ffff:a.b.c.d.
      auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&sig.tcpm_addr);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_addr.s6_addr[10] = 0xff;
      sin6->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&sin6->sin6_addr.s6_addr[12], &v4, sizeof(v4));
    }
  } else if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    if (domain != AF_INET6) Fail(env, op, EINVAL, "cannot set a key for IPv6 peer " + address + " on an IPv4 socket");
    auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&sig.tcpm_addr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = v6;
  } else {
    Fail(env, op, EINVAL, "'" + address + "' is not an IP address");
  }
  sig.tcpm_keylen = static_cast<uint16_t>(key.Length());
  memcpy(sig.tcpm_key, key.Data(), key.Length());
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof(sig)) < 0) {
    int err = errno;
    if (key.Length() == 0 && err == ENOENT) return Napi::Boolean::New(env, false);
    Fail(env, op, err, std::string(key.Length() == 0 ? "cannot remove the TCP-MD5 key for " : "cannot set a TCP-MD5 key for ") + address,
         err == ENOPROTOOPT ? "this kernel was built without CONFIG_TCP_MD5SIG: BGP passwords cannot be used here"
         : err == ENOMEM    ? "the socket's option memory is full (net.core.optmem_max)"
                            : "");
  }
  return Napi::Boolean::New(env, true);
}

}  // namespace tabby
