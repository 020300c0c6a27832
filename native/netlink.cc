#include "netlink.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
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

// Runs a job on a libuv worker thread and settles a promise on the JS thread: with the
// bytes the job returned, or with the NativeFailure it threw as the addon's usual error.
// The job must not touch JS (it runs off the JS thread).
class BytesWorker : public Napi::AsyncWorker {
 public:
  BytesWorker(Napi::Env env, const char* name, std::function<std::vector<uint8_t>()> job)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), job_(std::move(job)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      out_ = job_();
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
  std::function<std::vector<uint8_t>()> job_;
  std::vector<uint8_t> out_;
  NativeFailure failure_{"", 0, "", ""};
  bool failed_ = false;
};

// ----- batches: many writes, one socket -----

// A chunk is what one sendmsg carries. The kernel handles a chunk's messages one after the
// other inside that call and queues their replies before it returns (one per failed
// message, see ExchangeBatch), so the receive buffer must hold a whole chunk's replies
// should every message fail: a reply that does not fit is dropped (the socket then
// reports ENOBUFS once) and its message's outcome is unknown.
constexpr size_t kChunkBytes = 64 * 1024;
// Receive-buffer bytes one ACK costs. The kernel charges an skb's truesize, ~830 bytes for
// an ACK or an error with a short extended-ACK text (measured on 6.18); 2 KiB leaves room
// for longer texts.
constexpr size_t kAckBudget = 2048;
// What we ask for; SO_RCVBUFFORCE (CAP_NET_ADMIN) passes rmem_max, SO_RCVBUF is capped by it.
constexpr int kBatchRcvbuf = 8 * 1024 * 1024;
// Datagrams per recvmmsg: one ACK each.
constexpr unsigned kRecvSlots = 256;

struct Batch {
  std::vector<uint8_t> bytes;
  std::vector<size_t> offsets;  // start of each message; offsets.size() is the message count
  std::vector<uint32_t> seqs;
  size_t largest = 0;
};

bool IsDump(const struct nlmsghdr& h) {
  // rtnetlink's own test: a GET (the third of each NEW/DEL/GET/SET quartet) asking for a dump.
  return h.nlmsg_type >= RTM_BASE && ((h.nlmsg_type - RTM_BASE) & 3) == 2 && (h.nlmsg_flags & NLM_F_DUMP) != 0;
}

// Checks the batch (on the JS thread) and copies it, recording where each message starts.
Batch ReadBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "netlinkBatch";
  if (info.Length() < 1 || !info[0].IsBuffer()) Fail(env, op, EINVAL, "argument 'requests' must be a Buffer");
  Napi::Buffer<uint8_t> reqBuf = info[0].As<Napi::Buffer<uint8_t>>();
  Batch b;
  b.bytes.assign(reqBuf.Data(), reqBuf.Data() + reqBuf.Length());
  const size_t size = b.bytes.size();
  if (size == 0) Fail(env, op, EINVAL, "the batch is empty: send at least one message");
  std::unordered_map<uint32_t, size_t> seen;
  size_t off = 0;
  while (off < size) {
    const size_t i = b.offsets.size();
    const std::string where = "message #" + std::to_string(i) + " (at byte " + std::to_string(off) + ")";
    if (size - off < sizeof(struct nlmsghdr)) {
      Fail(env, op, EINVAL, where + ": only " + std::to_string(size - off) + " bytes left, shorter than a netlink header");
    }
    struct nlmsghdr h;
    memcpy(&h, b.bytes.data() + off, sizeof(h));
    if (h.nlmsg_len < sizeof(struct nlmsghdr) || h.nlmsg_len > size - off) {
      Fail(env, op, EINVAL, where + ": nlmsg_len " + std::to_string(h.nlmsg_len) + " does not fit (" +
                                std::to_string(size - off) + " bytes left, a header is 16)");
    }
    if (h.nlmsg_type < NLMSG_MIN_TYPE) {
      Fail(env, op, EINVAL, where + ": type " + std::to_string(h.nlmsg_type) + " is a netlink control message, not a request");
    }
    if ((h.nlmsg_flags & NLM_F_REQUEST) == 0 || (h.nlmsg_flags & NLM_F_ACK) == 0) {
      Fail(env, op, EINVAL, where + ": needs NLM_F_REQUEST and NLM_F_ACK (the ACK is how its outcome is known)");
    }
    if (IsDump(h)) Fail(env, op, EINVAL, where + ": is a dump; a batch carries writes (send dumps with netlinkRequest)");
    auto [it, fresh] = seen.emplace(h.nlmsg_seq, i);
    if (!fresh) {
      Fail(env, op, EINVAL, where + ": repeats sequence number " + std::to_string(h.nlmsg_seq) + " of message #" +
                                std::to_string(it->second) + "; replies are matched by it");
    }
    b.offsets.push_back(off);
    b.seqs.push_back(h.nlmsg_seq);
    b.largest = std::max<size_t>(b.largest, h.nlmsg_len);
    // The kernel steps to the next message by the aligned length; the last may end unpadded.
    off += std::min<size_t>(NLMSG_ALIGN(h.nlmsg_len), size - off);
  }
  return b;
}

// Grows the receive buffer so that a chunk's ACKs fit; returns the size the kernel granted.
size_t GrowReceiveBuffer(int sock) {
  int want = kBatchRcvbuf;
  if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) < 0) {
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));  // unprivileged: up to rmem_max
  }
  int got = 0;
  socklen_t len = sizeof(got);
  if (getsockopt(sock, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0 || got <= 0) return 0;
  return static_cast<size_t>(got);
}

// Appends a success ACK for `req` as the kernel writes one on a NETLINK_CAP_ACK socket.
void AppendAck(std::vector<uint8_t>& out, const struct nlmsghdr& req) {
  struct nlmsghdr h;
  memset(&h, 0, sizeof(h));
  h.nlmsg_len = NLMSG_LENGTH(sizeof(struct nlmsgerr));
  h.nlmsg_type = NLMSG_ERROR;
  h.nlmsg_flags = NLM_F_CAPPED;
  h.nlmsg_seq = req.nlmsg_seq;
  struct nlmsgerr e;
  memset(&e, 0, sizeof(e));
  e.msg = req;
  const size_t at = out.size();
  out.resize(at + NLMSG_ALIGN(h.nlmsg_len), 0);
  memcpy(out.data() + at, &h, sizeof(h));
  memcpy(out.data() + at + NLMSG_HDRLEN, &e, sizeof(e));
}

// Sends the batch chunk by chunk on one socket and collects the NLMSG_ERROR reply (ACK or
// error) of every message, in arrival order. A message whose reply was lost has none; the
// caller reports it. No JS in here: it runs on a libuv worker thread. Throws NativeFailure.
//
// Errors only: the kernel answers a message without NLM_F_ACK only when it fails, so the
// flag is cleared and each chunk ends with an NLMSG_NOOP that asks for an ACK. The kernel
// handles a chunk's messages in order, so when that ACK arrives every error of the chunk
// has too, and each message without one succeeded: its ACK is written here instead of
// being built, queued and read back per route (a full table is 100,000 of them). After an
// overflow (ENOBUFS) silence proves nothing, and those messages are left unanswered.
std::vector<uint8_t> ExchangeBatch(Batch& b, const std::string& netns) {
  std::vector<uint8_t> out;
  for (size_t off : b.offsets) {
    struct nlmsghdr h;
    memcpy(&h, b.bytes.data() + off, sizeof(h));
    h.nlmsg_flags &= ~NLM_F_ACK;
    memcpy(b.bytes.data() + off, &h, sizeof(h));
  }
  std::unordered_set<uint32_t> used(b.seqs.begin(), b.seqs.end());
  struct nlmsghdr marker;
  memset(&marker, 0, sizeof(marker));
  marker.nlmsg_len = NLMSG_HDRLEN;
  marker.nlmsg_type = NLMSG_NOOP;
  marker.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  marker.nlmsg_seq = 0xfffffff0u;
  while (used.count(marker.nlmsg_seq) != 0) --marker.nlmsg_seq;
  NetnsGuard ns(netns);
  Fd sock{OpenSocket(ns)};
  size_t perChunk = std::max<size_t>(1, GrowReceiveBuffer(sock.fd) / kAckBudget);
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof(kernel));
  kernel.nl_family = AF_NETLINK;

  // A reply is at most the request echoed back (kernels without NETLINK_CAP_ACK) plus the
  // extended-ACK attributes.
  const size_t slotSize = std::max<size_t>(8192, NLMSG_ALIGN(b.largest) + 4096);
  std::vector<uint8_t> slots(slotSize * kRecvSlots);
  std::vector<struct iovec> iov(kRecvSlots);
  std::vector<struct mmsghdr> msgs(kRecvSlots);

  const size_t n = b.offsets.size();
  const size_t size = b.bytes.size();
  out.reserve(n * 40);
  std::unordered_set<uint32_t> pending;
  size_t first = 0;
  while (first < n) {
    // The chunk: messages [first, last), at most kChunkBytes (at least one) and perChunk.
    auto endOf = [&](size_t i) { return i + 1 < n ? b.offsets[i + 1] : size; };
    const size_t begin = b.offsets[first];
    size_t last = first + 1;
    while (last < n && last - first < perChunk && endOf(last) - begin <= kChunkBytes) ++last;
    const size_t end = endOf(last - 1);
    pending.clear();
    for (size_t i = first; i < last; ++i) pending.insert(b.seqs[i]);

    // One datagram: the chunk's messages, then the marker. The kernel steps by aligned
    // lengths, so a chunk whose last message ends unpadded gets its padding here.
    static const uint8_t kPad[NLMSG_ALIGNTO] = {0};
    const size_t pad = NLMSG_ALIGN(end - begin) - (end - begin);
    struct iovec parts[3] = {{b.bytes.data() + begin, end - begin}, {const_cast<uint8_t*>(kPad), pad}, {&marker, sizeof(marker)}};
    struct msghdr mh;
    memset(&mh, 0, sizeof(mh));
    mh.msg_name = &kernel;
    mh.msg_namelen = sizeof(kernel);
    mh.msg_iov = parts;
    mh.msg_iovlen = 3;
    ssize_t sent;
    do {
      sent = sendmsg(sock.fd, &mh, 0);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
      throw NativeFailure{"sendto", errno,
                          "cannot send netlink messages #" + std::to_string(first) + "-" + std::to_string(last - 1) + " (" +
                              std::to_string(end - begin) + " bytes) of a batch" + ns.Where(),
                          first > 0 ? "the " + std::to_string(first) + " messages before them reached the kernel: list to see what changed" : ""};
    }

    // Every reply of the chunk is queued by now (see kChunkBytes), so once one was dropped the
    // rest is drained without waiting; otherwise wait (bounded by SO_RCVTIMEO) for the
    // marker's ACK, which comes last.
    bool overflowed = false;
    bool chunkDone = false;
    while (!chunkDone) {
      for (unsigned k = 0; k < kRecvSlots; ++k) {
        iov[k] = {slots.data() + k * slotSize, slotSize};
        memset(&msgs[k], 0, sizeof(msgs[k]));
        msgs[k].msg_hdr.msg_iov = &iov[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
      }
      int got = recvmmsg(sock.fd, msgs.data(), kRecvSlots, overflowed ? MSG_DONTWAIT : MSG_WAITFORONE, nullptr);
      if (got < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS && !overflowed) {
          // Some ACKs were dropped: read what is queued, and make later chunks smaller.
          overflowed = true;
          perChunk = std::max<size_t>(1, perChunk / 2);
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;  // the rest is lost: the caller says so per message
        throw NativeFailure{"recv", errno, "netlink replies of a batch lost" + ns.Where(), ""};
      }
      for (int k = 0; k < got; ++k) {
        const uint8_t* data = slots.data() + static_cast<size_t>(k) * slotSize;
        const size_t len = msgs[k].msg_len;
        if (msgs[k].msg_hdr.msg_flags & MSG_TRUNC) {
          throw NativeFailure{"recv", EMSGSIZE, "a netlink reply of a batch was larger than " + std::to_string(slotSize) + " bytes" + ns.Where(), ""};
        }
        size_t off = 0;
        while (off + sizeof(struct nlmsghdr) <= len) {
          struct nlmsghdr nh;
          memcpy(&nh, data + off, sizeof(nh));
          if (nh.nlmsg_len < sizeof(struct nlmsghdr) || off + nh.nlmsg_len > len) {
            throw NativeFailure{"netlinkBatch", EBADMSG, "the kernel sent a malformed netlink message" + ns.Where(), ""};
          }
          if (nh.nlmsg_type == NLMSG_ERROR && nh.nlmsg_seq == marker.nlmsg_seq) {
            chunkDone = true;
          } else if (nh.nlmsg_type == NLMSG_ERROR && pending.erase(nh.nlmsg_seq) == 1) {
            out.insert(out.end(), data + off, data + off + nh.nlmsg_len);
            out.resize(NLMSG_ALIGN(out.size()), 0);  // back to back, each at an aligned offset
          }
          off += NLMSG_ALIGN(nh.nlmsg_len);
        }
      }
    }
    if (chunkDone && !overflowed) {
      for (size_t i = first; i < last; ++i) {
        if (pending.count(b.seqs[i]) == 0) continue;
        struct nlmsghdr h;
        memcpy(&h, b.bytes.data() + b.offsets[i], sizeof(h));
        h.nlmsg_flags |= NLM_F_ACK;  // echo the request as it was given
        AppendAck(out, h);
      }
    }
    first = last;
  }
  return out;
}

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
  auto* worker = new BytesWorker(info.Env(), "tabby:netlink", [req = std::move(req), seq, netns = std::move(netns)]() { return Exchange(req, seq, netns); });
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // libuv owns it now; it deletes itself after OnOK
  return promise;
}

Napi::Value NetlinkBatchAsync(const Napi::CallbackInfo& info) {
  Batch batch = ReadBatch(info);
  std::string netns = OptString(OptionsArg(info, 1), "netns");
  auto* worker = new BytesWorker(info.Env(), "tabby:netlinkBatch", [batch = std::move(batch), netns = std::move(netns)]() mutable { return ExchangeBatch(batch, netns); });
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
