#include "netlink.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "errors.h"
#include "netns.h"

namespace tabby {

namespace {

// A reply that never comes would hang the JS thread; the kernel answers rtnetlink
// synchronously, so this only fires on a kernel bug or a wedged namespace.
constexpr int kRecvTimeoutSeconds = 10;

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

int OpenSocket(const NetnsGuard& ns) {
  int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (sock < 0) throw NativeFailure{"socket", errno, "cannot open a NETLINK_ROUTE socket" + ns.Where(), ""};
  int one = 1;
  // Extended ACKs carry the kernel's own explanation ("Nexthop device is not up"); capped
  // ACKs do not echo our request back. Both are best effort (old kernels lack them).
  setsockopt(sock, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  setsockopt(sock, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  struct timeval tv = {kRecvTimeoutSeconds, 0};
  setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  struct sockaddr_nl local;
  memset(&local, 0, sizeof(local));
  local.nl_family = AF_NETLINK;
  if (bind(sock, reinterpret_cast<struct sockaddr*>(&local), sizeof(local)) < 0) {
    int err = errno;
    close(sock);
    throw NativeFailure{"bind", err, "cannot bind a NETLINK_ROUTE socket" + ns.Where(), ""};
  }
  return sock;
}

// Checks the request argument (on the JS thread) and copies it: the JS buffer must not be
// touched once we leave this call (the async variant reads it from another thread).
std::vector<uint8_t> ReadRequest(const Napi::CallbackInfo& info, uint32_t* seq) {
  Napi::Env env = info.Env();
  const char* op = "netlink";
  if (info.Length() < 1 || !info[0].IsBuffer()) Fail(env, op, EINVAL, "argument 'request' must be a Buffer");
  Napi::Buffer<uint8_t> reqBuf = info[0].As<Napi::Buffer<uint8_t>>();
  std::vector<uint8_t> req(reqBuf.Data(), reqBuf.Data() + reqBuf.Length());
  if (req.size() < sizeof(struct nlmsghdr)) Fail(env, op, EINVAL, "the request is shorter than a netlink header");
  struct nlmsghdr hdr;
  memcpy(&hdr, req.data(), sizeof(hdr));
  if (hdr.nlmsg_len != req.size()) {
    Fail(env, op, EINVAL, "the request's nlmsg_len (" + std::to_string(hdr.nlmsg_len) + ") is not its size (" +
                              std::to_string(req.size()) + "): send exactly one message");
  }
  bool dump = (hdr.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  if ((hdr.nlmsg_flags & NLM_F_REQUEST) == 0 || (!dump && (hdr.nlmsg_flags & NLM_F_ACK) == 0)) {
    Fail(env, op, EINVAL, "the request needs NLM_F_REQUEST and either NLM_F_DUMP or NLM_F_ACK (else no reply ends it)");
  }
  *seq = hdr.nlmsg_seq;
  return req;
}

// The exchange itself: no JS in here, so it runs on the JS thread or a worker thread alike.
// Throws NativeFailure.
std::vector<uint8_t> Exchange(const std::vector<uint8_t>& req, uint32_t seq, const std::string& netns) {
  const char* op = "netlink";
  std::vector<uint8_t> out;
  NetnsGuard ns(netns);
  Fd sock{OpenSocket(ns)};
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof(kernel));
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = sendto(sock.fd, req.data(), req.size(), 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof(kernel));
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) throw NativeFailure{"sendto", errno, "cannot send a netlink request" + ns.Where(), ""};

  std::vector<uint8_t> buf(64 * 1024);
  bool done = false;
  while (!done) {
    // Peek at the datagram's real size first: a dump part larger than the buffer would be
    // silently truncated otherwise.
    ssize_t want = recv(sock.fd, buf.data(), 0, MSG_PEEK | MSG_TRUNC);
    if (want < 0) {
      if (errno == EINTR) continue;
      throw NativeFailure{"recv", errno, "no netlink reply" + ns.Where(),
                          errno == EAGAIN ? "the kernel did not answer within " + std::to_string(kRecvTimeoutSeconds) + "s" : ""};
    }
    if (static_cast<size_t>(want) > buf.size()) buf.resize(static_cast<size_t>(want));
    ssize_t len = recv(sock.fd, buf.data(), buf.size(), 0);
    if (len < 0) {
      if (errno == EINTR) continue;
      throw NativeFailure{"recv", errno, "netlink reply lost" + ns.Where(), errno == ENOBUFS ? "the socket buffer overflowed: retry" : ""};
    }
    if (len == 0) break;
    size_t off = 0;
    while (off + sizeof(struct nlmsghdr) <= static_cast<size_t>(len)) {
      struct nlmsghdr nh;
      memcpy(&nh, buf.data() + off, sizeof(nh));
      if (nh.nlmsg_len < sizeof(struct nlmsghdr) || off + nh.nlmsg_len > static_cast<size_t>(len)) {
        throw NativeFailure{op, EBADMSG, "the kernel sent a malformed netlink message" + ns.Where(), ""};
      }
      if (nh.nlmsg_seq == seq) {
        out.insert(out.end(), buf.data() + off, buf.data() + off + nh.nlmsg_len);
        if (nh.nlmsg_type == NLMSG_DONE || nh.nlmsg_type == NLMSG_ERROR) done = true;
        // A non-dump reply without NLM_F_MULTI is followed by the ACK; keep reading.
      }
      off += NLMSG_ALIGN(nh.nlmsg_len);
    }
  }
  return out;
}

// netlinkRequestAsync: the exchange on a libuv worker thread, settled on the JS thread.
class NetlinkWorker : public Napi::AsyncWorker {
 public:
  NetlinkWorker(Napi::Env env, std::vector<uint8_t> req, uint32_t seq, std::string netns)
      : Napi::AsyncWorker(env, "tabby:netlink"),
        deferred_(Napi::Promise::Deferred::New(env)),
        req_(std::move(req)),
        seq_(seq),
        netns_(std::move(netns)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      out_ = Exchange(req_, seq_, netns_);
    } catch (const NativeFailure& f) {
      failure_ = f;
      failed_ = true;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (failed_) {
      deferred_.Reject(MakeError(env, failure_.op, failure_.err, failure_.what, failure_.hint));
    } else {
      deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(env, out_.data(), out_.size()));
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<uint8_t> req_;
  uint32_t seq_;
  std::string netns_;
  std::vector<uint8_t> out_;
  NativeFailure failure_{"", 0, "", ""};
  bool failed_ = false;
};

}  // namespace

Napi::Value NetlinkRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t seq = 0;
  std::vector<uint8_t> req = ReadRequest(info, &seq);
  std::string netns = OptString(OptionsArg(info, 1), "netns");
  std::vector<uint8_t> out;
  try {
    out = Exchange(req, seq, netns);
  } catch (const NativeFailure& f) {
    Fail(env, f.op, f.err, f.what, f.hint);
  }
  return Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size());
}

Napi::Value NetlinkRequestAsync(const Napi::CallbackInfo& info) {
  uint32_t seq = 0;
  std::vector<uint8_t> req = ReadRequest(info, &seq);
  std::string netns = OptString(OptionsArg(info, 1), "netns");
  auto* worker = new NetlinkWorker(info.Env(), std::move(req), seq, std::move(netns));
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // libuv owns it now; it deletes itself after OnOK
  return promise;
}

Napi::Value ProcSysOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "open";
  std::string path = StringArg(info, 0, op, "path");
  if (path.rfind("/proc/sys/", 0) != 0 || path.find("/../") != std::string::npos) {
    Fail(env, op, EINVAL, "procSysOpen opens files under /proc/sys/ only, got '" + path + "'");
  }
  Napi::Object opts = OptionsArg(info, 1);
  bool write = OptBool(opts, "write");
  NetnsGuard ns(env, OptString(opts, "netns"));
  int fd = open(path.c_str(), (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    Fail(env, op, err, "cannot open " + path + (write ? " for writing" : "") + ns.Where(),
         err == ENOENT ? "no such setting: check the name (an interface's settings exist only while it does)" : "");
  }
  return Napi::Number::New(env, fd);
}

}  // namespace tabby
