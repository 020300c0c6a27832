#include "netlink.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <functional>
#include <mutex>
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

// A batch as copied from JS. Message i carries sequence number firstSeq + i (ReadBatch
// checks it), so a reply's message is found by subtraction, with no table.
struct Batch {
  std::vector<uint8_t> bytes;
  std::vector<size_t> offsets;  // start of each message; offsets.size() is the message count
  uint32_t firstSeq = 0;
  size_t largest = 0;
};

bool IsDump(const struct nlmsghdr& h) {
  // rtnetlink's own test: a GET (the third of each NEW/DEL/GET/SET quartet) asking for a dump.
  return h.nlmsg_type >= RTM_BASE && ((h.nlmsg_type - RTM_BASE) & 3) == 2 && (h.nlmsg_flags & NLM_F_DUMP) != 0;
}

// Checks the batch (on the JS thread) and copies it, recording where each message starts.
// This runs for every message of a 100,000-route batch on the JS thread: the checks are a
// few comparisons, and a message's description is built only when it fails one.
Batch ReadBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "netlinkBatch";
  if (info.Length() < 1 || !info[0].IsBuffer()) Fail(env, op, EINVAL, "argument 'requests' must be a Buffer");
  Napi::Buffer<uint8_t> reqBuf = info[0].As<Napi::Buffer<uint8_t>>();
  Batch b;
  b.bytes.assign(reqBuf.Data(), reqBuf.Data() + reqBuf.Length());
  const size_t size = b.bytes.size();
  if (size == 0) Fail(env, op, EINVAL, "the batch is empty: send at least one message");
  b.offsets.reserve(size / (NLMSG_HDRLEN + sizeof(struct rtmsg)) + 1);
  auto where = [](size_t i, size_t off) { return "message #" + std::to_string(i) + " (at byte " + std::to_string(off) + ")"; };
  size_t off = 0;
  while (off < size) {
    const size_t i = b.offsets.size();
    if (size - off < sizeof(struct nlmsghdr)) {
      Fail(env, op, EINVAL, where(i, off) + ": only " + std::to_string(size - off) + " bytes left, shorter than a netlink header");
    }
    struct nlmsghdr h;
    memcpy(&h, b.bytes.data() + off, sizeof(h));
    if (h.nlmsg_len < sizeof(struct nlmsghdr) || h.nlmsg_len > size - off) {
      Fail(env, op, EINVAL, where(i, off) + ": nlmsg_len " + std::to_string(h.nlmsg_len) + " does not fit (" +
                                std::to_string(size - off) + " bytes left, a header is 16)");
    }
    if (h.nlmsg_type < NLMSG_MIN_TYPE) {
      Fail(env, op, EINVAL, where(i, off) + ": type " + std::to_string(h.nlmsg_type) + " is a netlink control message, not a request");
    }
    if ((h.nlmsg_flags & NLM_F_REQUEST) == 0 || (h.nlmsg_flags & NLM_F_ACK) == 0) {
      Fail(env, op, EINVAL, where(i, off) + ": needs NLM_F_REQUEST and NLM_F_ACK (the ACK is how its outcome is known)");
    }
    if (IsDump(h)) Fail(env, op, EINVAL, where(i, off) + ": is a dump; a batch carries writes (send dumps with netlinkRequest)");
    if (i == 0) b.firstSeq = h.nlmsg_seq;
    const uint32_t expected = b.firstSeq + static_cast<uint32_t>(i);  // wraps like the kernel's u32
    if (h.nlmsg_seq != expected) {
      // Consecutive numbers are distinct, so an earlier message's number is this one's offset from the first.
      const uint32_t earlier = h.nlmsg_seq - b.firstSeq;
      if (earlier < i) {
        Fail(env, op, EINVAL, where(i, off) + ": repeats sequence number " + std::to_string(h.nlmsg_seq) + " of message #" +
                                  std::to_string(earlier) + "; replies are matched by it");
      }
      Fail(env, op, EINVAL, where(i, off) + ": has sequence number " + std::to_string(h.nlmsg_seq) + ", not " + std::to_string(expected) +
                                "; a batch's messages are numbered consecutively (replies are matched by it)");
    }
    b.offsets.push_back(off);
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

// Appends an NLMSG_OVERRUN header carrying `seq`: "this message's reply was lost".
void AppendOverrun(std::vector<uint8_t>& out, uint32_t seq) {
  struct nlmsghdr h;
  memset(&h, 0, sizeof(h));
  h.nlmsg_len = NLMSG_HDRLEN;
  h.nlmsg_type = NLMSG_OVERRUN;
  h.nlmsg_seq = seq;
  const size_t at = out.size();
  out.resize(at + NLMSG_HDRLEN);
  memcpy(out.data() + at, &h, sizeof(h));
}

// Sends the batch chunk by chunk on one socket and returns what is not a plain success:
// the kernel's error reply of each message that failed (in arrival order), and an
// NLMSG_OVERRUN with the sequence number of each message whose reply was lost. A message
// named by neither succeeded. No JS in here: it runs on a libuv worker thread. Throws
// NativeFailure.
//
// Errors only: the kernel answers a message without NLM_F_ACK only when it fails, so the
// flag is cleared and each chunk ends with an NLMSG_NOOP that asks for an ACK. The kernel
// handles a chunk's messages in order, so when that ACK arrives every error of the chunk
// has too, and each message without one succeeded: nothing is built, queued, copied or
// read back per successful route (a full table is 100,000 of them). After an overflow
// (ENOBUFS) silence proves nothing, and the chunk's messages without a reply are reported
// as overruns.
std::vector<uint8_t> ExchangeBatch(Batch& b, const std::string& netns) {
  std::vector<uint8_t> out;
  for (size_t off : b.offsets) {
    struct nlmsghdr h;
    memcpy(&h, b.bytes.data() + off, sizeof(h));
    h.nlmsg_flags &= ~NLM_F_ACK;
    memcpy(b.bytes.data() + off, &h, sizeof(h));
  }
  const size_t n = b.offsets.size();
  // The batch holds firstSeq .. firstSeq + n - 1, so the number before them is free.
  struct nlmsghdr marker;
  memset(&marker, 0, sizeof(marker));
  marker.nlmsg_len = NLMSG_HDRLEN;
  marker.nlmsg_type = NLMSG_NOOP;
  marker.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  marker.nlmsg_seq = b.firstSeq - 1;
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

  const size_t size = b.bytes.size();
  std::vector<uint8_t> replied(n, 0);
  size_t first = 0;
  while (first < n) {
    // The chunk: messages [first, last), at most kChunkBytes (at least one) and perChunk.
    auto endOf = [&](size_t i) { return i + 1 < n ? b.offsets[i + 1] : size; };
    const size_t begin = b.offsets[first];
    size_t last = first + 1;
    while (last < n && last - first < perChunk && endOf(last) - begin <= kChunkBytes) ++last;
    const size_t end = endOf(last - 1);

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
          // Some replies were dropped: read what is queued, and make later chunks smaller.
          overflowed = true;
          perChunk = std::max<size_t>(1, perChunk / 2);
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;  // the rest is lost: reported below
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
          // Message i of the batch has sequence number firstSeq + i; anything else is not ours.
          const size_t i = static_cast<uint32_t>(nh.nlmsg_seq - b.firstSeq);
          if (nh.nlmsg_type == NLMSG_ERROR) {
            if (nh.nlmsg_seq == marker.nlmsg_seq) {
              chunkDone = true;
            } else if (i >= first && i < last && !replied[i]) {
              replied[i] = 1;
              out.insert(out.end(), data + off, data + off + nh.nlmsg_len);
              out.resize(NLMSG_ALIGN(out.size()), 0);  // back to back, each at an aligned offset
            }
          }
          off += NLMSG_ALIGN(nh.nlmsg_len);
        }
      }
    }
    if (!chunkDone || overflowed) {
      for (size_t i = first; i < last; ++i) {
        if (!replied[i]) AppendOverrun(out, b.firstSeq + static_cast<uint32_t>(i));
      }
    }
    first = last;
  }
  return out;
}

// Batches reach the kernel in the order they were submitted, also when several are queued
// at once: the JS side hands over the next slice of a large write while the previous one is
// still in the kernel, so the kernel never waits for the event loop between slices (a full
// table is a dozen slices). Each batch takes a turn when submitted; its worker waits for it.
class BatchTurns {
 public:
  static BatchTurns& Get() {
    static BatchTurns turns;
    return turns;
  }
  uint64_t Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return next_++;
  }
  void Wait(uint64_t turn) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return serving_ == turn; });
  }
  void Done() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++serving_;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_ = 0;
  uint64_t serving_ = 0;
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
  auto* worker = new BytesWorker(info.Env(), "tabby:netlink", [req = std::move(req), seq, netns = std::move(netns)]() { return Exchange(req, seq, netns); });
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // libuv owns it now; it deletes itself after OnOK
  return promise;
}

Napi::Value NetlinkBatchAsync(const Napi::CallbackInfo& info) {
  Batch batch = ReadBatch(info);
  std::string netns = OptString(OptionsArg(info, 1), "netns");
  // The turn is taken here, on the JS thread, right before the work is queued: queue order
  // is turn order, and libuv's pool starts queued work in that order, so the batch whose
  // turn it is has always been started and no thread waits forever.
  const uint64_t turn = BatchTurns::Get().Take();
  auto* worker = new BytesWorker(info.Env(), "tabby:netlinkBatch", [batch = std::move(batch), netns = std::move(netns), turn]() mutable {
    BatchTurns::Get().Wait(turn);
    struct Next {
      ~Next() { BatchTurns::Get().Done(); }
    } next;  // the next batch's turn comes however this one ends
    return ExchangeBatch(batch, netns);
  });
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // libuv owns it now; it deletes itself after OnOK
  return promise;
}

}  // namespace tabby
