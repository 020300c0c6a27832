#include "tc.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "errors.h"
#include "netns.h"
#include "prog.h"

namespace tabby {

namespace {

struct Target {
  int ifindex;
  enum bpf_tc_attach_point point;
  std::string direction;
  std::string netns;
};

Target ReadTarget(const Napi::CallbackInfo& info, const char* op, bool need_direction, size_t opts_index = 1) {
  Napi::Env env = info.Env();
  Target t;
  t.ifindex = IntArg(info, 0, op, "ifindex");
  if (t.ifindex <= 0) Fail(env, op, EINVAL, "ifindex must be a positive number");
  Napi::Object opts = OptionsArg(info, opts_index);
  t.direction = OptString(opts, "direction");
  t.netns = OptString(opts, "netns");
  if (t.direction == "ingress") {
    t.point = BPF_TC_INGRESS;
  } else if (t.direction == "egress") {
    t.point = BPF_TC_EGRESS;
  } else if (!need_direction) {
    t.point = static_cast<enum bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
  } else {
    Fail(env, op, EINVAL, "option 'direction' must be 'ingress' or 'egress'");
  }
  return t;
}

struct bpf_tc_hook Hook(const Target& t) {
  struct bpf_tc_hook h;
  memset(&h, 0, sizeof(h));
  h.sz = sizeof(h);
  h.ifindex = t.ifindex;
  h.attach_point = t.point;
  return h;
}

std::string On(const Target& t, const NetnsGuard& ns) {
  return "ifindex " + std::to_string(t.ifindex) + (t.direction.empty() ? "" : " " + t.direction) + ns.Where();
}

std::string TcHint(int err) {
  err = NormalizeErrno(err);
  switch (err) {
    case ENODEV: return "no interface has this index in that namespace";
    case EPERM: return "tc changes need CAP_NET_ADMIN: run as root";
    case EEXIST: return "a filter with this handle and priority exists: detach it, or pass replace: true";
    case ENOENT: return "nothing is attached there with this handle and priority";
    case EINVAL: return "check handle/priority, and that the program is a tc (sched_cls) program";
    default: return "";
  }
}

void ProgName(Napi::Env env, uint32_t id, Napi::Object o) {
  Napi::Object pi = Napi::Object::New(env);
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd >= 0) {
    if (FillProgInfo(env, fd, pi)) o.Set("name", pi.Get("name"));
    close(fd);
  }
  if (!o.Has("name")) o.Set("name", env.Null());
}

}  // namespace

Napi::Value TcHookCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Target t = ReadTarget(info, "bpf_tc_hook_create", false);
  NetnsGuard ns(env, t.netns);
  struct bpf_tc_hook h = Hook(t);
  h.attach_point = BPF_TC_INGRESS;  // either point creates the one clsact qdisc
  LibbpfLog log;
  int err = bpf_tc_hook_create(&h);
  if (err < 0 && err != -EEXIST) Fail(env, "bpf_tc_hook_create", err, "cannot create the clsact hook on " + On(t, ns), TcHint(err));
  Napi::Object r = Napi::Object::New(env);
  r.Set("created", err == 0);
  return r;
}

Napi::Value TcHookDestroy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Target t = ReadTarget(info, "bpf_tc_hook_destroy", false);
  NetnsGuard ns(env, t.netns);
  struct bpf_tc_hook h = Hook(t);
  h.attach_point = static_cast<enum bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
  LibbpfLog log;
  int err = bpf_tc_hook_destroy(&h);
  bool absent = err == -ENOENT || err == -EINVAL;  // the kernel says EINVAL for "no clsact qdisc here"
  if (err < 0 && !absent) Fail(env, "bpf_tc_hook_destroy", err, "cannot remove the clsact hook on " + On(t, ns), TcHint(err));
  Napi::Object r = Napi::Object::New(env);
  r.Set("destroyed", err == 0);
  return r;
}

Napi::Value TcAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "bpf_tc_attach";
  Target t = ReadTarget(info, op, true, 2);
  int prog_fd = IntArg(info, 1, op, "progFd");
  Napi::Object opts = OptionsArg(info, 2);
  long long handle = OptInt(env, opts, "handle", 0, op);
  long long priority = OptInt(env, opts, "priority", 0, op);
  if (handle < 0 || handle > 0xffffffffLL) Fail(env, op, EINVAL, "handle must be between 0 and 2^32-1");
  if (priority < 0 || priority > 0xffff) Fail(env, op, EINVAL, "priority must be between 0 and 65535");
  NetnsGuard ns(env, t.netns);
  LibbpfLog log;
  struct bpf_tc_hook h = Hook(t);
  int err = bpf_tc_hook_create(&h);
  if (err < 0 && err != -EEXIST) Fail(env, "bpf_tc_hook_create", err, "cannot create the clsact hook on " + On(t, ns), TcHint(err));
  struct bpf_tc_opts o;
  memset(&o, 0, sizeof(o));
  o.sz = sizeof(o);
  o.prog_fd = prog_fd;
  o.handle = static_cast<uint32_t>(handle);
  o.priority = static_cast<uint32_t>(priority);
  o.flags = OptBool(opts, "replace") ? BPF_TC_F_REPLACE : 0;
  err = bpf_tc_attach(&h, &o);
  if (err < 0) Fail(env, op, err, "cannot attach program fd " + std::to_string(prog_fd) + " to " + On(t, ns), TcHint(err));
  Napi::Object r = Napi::Object::New(env);
  r.Set("handle", o.handle);
  r.Set("priority", o.priority);
  r.Set("progId", o.prog_id);
  return r;
}

// The handle and priority that identify one filter (as attach returned them), for detach and query.
static struct bpf_tc_opts FilterOpts(Napi::Env env, const Napi::CallbackInfo& info, const char* op, const std::string& need) {
  Napi::Object opts = OptionsArg(info, 1);
  long long handle = OptInt(env, opts, "handle", 0, op);
  long long priority = OptInt(env, opts, "priority", 0, op);
  if (handle <= 0 || priority <= 0) Fail(env, op, EINVAL, need);
  struct bpf_tc_opts o;
  memset(&o, 0, sizeof(o));
  o.sz = sizeof(o);
  o.handle = static_cast<uint32_t>(handle);
  o.priority = static_cast<uint32_t>(priority);
  return o;
}

Napi::Value TcDetach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "bpf_tc_detach";
  Target t = ReadTarget(info, op, true);
  struct bpf_tc_opts o = FilterOpts(env, info, op, "detach needs the handle and priority that attach returned");
  const uint32_t handle = o.handle, priority = o.priority;
  NetnsGuard ns(env, t.netns);
  LibbpfLog log;
  struct bpf_tc_hook h = Hook(t);
  int err = bpf_tc_detach(&h, &o);
  if (err < 0) {
    Fail(env, op, err, "cannot detach handle " + std::to_string(handle) + " priority " + std::to_string(priority) + " from " + On(t, ns), TcHint(err));
  }
  return env.Undefined();
}

Napi::Value TcQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "bpf_tc_query";
  Target t = ReadTarget(info, op, true);
  struct bpf_tc_opts o = FilterOpts(env, info, op, "query needs a handle and a priority (use tcList to see everything)");
  NetnsGuard ns(env, t.netns);
  LibbpfLog log;
  struct bpf_tc_hook h = Hook(t);
  int err = bpf_tc_query(&h, &o);
  // ENOENT: no such filter; EINVAL: no clsact qdisc at all. Both mean "nothing attached".
  if (err == -ENOENT || err == -EINVAL) return env.Null();
  if (err < 0) Fail(env, op, err, "cannot query " + On(t, ns), TcHint(err));
  Napi::Object r = Napi::Object::New(env);
  r.Set("handle", o.handle);
  r.Set("priority", o.priority);
  r.Set("progId", o.prog_id);
  ProgName(env, o.prog_id, r);
  return r;
}

// One RTM_GETTFILTER dump of the clsact parent for this direction; keeps bpf filters only.
Napi::Value TcList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "RTM_GETTFILTER";
  Target t = ReadTarget(info, op, true);
  NetnsGuard ns(env, t.netns);

  int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (sock < 0) Fail(env, "socket", errno, "cannot open a netlink socket" + ns.Where());
  struct SockCloser {
    int fd;
    ~SockCloser() { close(fd); }
  } closer{sock};

  struct {
    struct nlmsghdr nh;
    struct tcmsg tc;
  } req;
  memset(&req, 0, sizeof(req));
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
  req.nh.nlmsg_type = RTM_GETTFILTER;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.tc.tcm_family = AF_UNSPEC;
  req.tc.tcm_ifindex = t.ifindex;
  req.tc.tcm_parent = TC_H_MAKE(TC_H_CLSACT, t.point == BPF_TC_INGRESS ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
  if (send(sock, &req, req.nh.nlmsg_len, 0) < 0) Fail(env, "send", errno, "netlink filter dump request failed" + ns.Where());

  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t len = recv(sock, buf.data(), buf.size(), 0);
    if (len < 0) {
      if (errno == EINTR) continue;
      Fail(env, "recv", errno, "netlink filter dump failed" + ns.Where());
    }
    if (len == 0) break;
    for (struct nlmsghdr* nh = reinterpret_cast<struct nlmsghdr*>(buf.data()); NLMSG_OK(nh, static_cast<uint32_t>(len));
         nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_type == NLMSG_DONE) return out;
      if (nh->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr* e = static_cast<struct nlmsgerr*>(NLMSG_DATA(nh));
        if (e->error == 0) continue;
        if (e->error == -ENODEV) Fail(env, op, ENODEV, "cannot list filters on " + On(t, ns), TcHint(ENODEV));
        if (e->error == -EINVAL || e->error == -ENOENT) return out;  // no clsact qdisc
        Fail(env, op, e->error, "cannot list filters on " + On(t, ns), TcHint(e->error));
      }
      if (nh->nlmsg_type != RTM_NEWTFILTER) continue;
      struct tcmsg* tc = static_cast<struct tcmsg*>(NLMSG_DATA(nh));
      int alen = static_cast<int>(nh->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof(*tc)));
      std::string kind;
      bool has_id = false, direct = false;
      uint32_t prog_id = 0;
      std::string bpf_name;
      for (struct rtattr* a = reinterpret_cast<struct rtattr*>(reinterpret_cast<char*>(tc) + NLMSG_ALIGN(sizeof(*tc)));
           RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
        if (a->rta_type == TCA_KIND) kind = static_cast<const char*>(RTA_DATA(a));
        if (a->rta_type == TCA_OPTIONS) {
          int olen = static_cast<int>(RTA_PAYLOAD(a));
          for (struct rtattr* o = static_cast<struct rtattr*>(RTA_DATA(a)); RTA_OK(o, olen); o = RTA_NEXT(o, olen)) {
            if (o->rta_type == TCA_BPF_ID) {
              memcpy(&prog_id, RTA_DATA(o), sizeof(prog_id));
              has_id = true;
            } else if (o->rta_type == TCA_BPF_NAME) {
              bpf_name = static_cast<const char*>(RTA_DATA(o));
            } else if (o->rta_type == TCA_BPF_FLAGS) {
              uint32_t flags;
              memcpy(&flags, RTA_DATA(o), sizeof(flags));
              direct = (flags & TCA_BPF_FLAG_ACT_DIRECT) != 0;
            }
          }
        }
      }
      if (kind != "bpf" || !has_id || tc->tcm_handle == 0) continue;
      Napi::Object f = Napi::Object::New(env);
      f.Set("handle", tc->tcm_handle);
      f.Set("priority", TC_H_MAJ(tc->tcm_info) >> 16);
      f.Set("protocol", ntohs(static_cast<uint16_t>(TC_H_MIN(tc->tcm_info))));
      f.Set("progId", prog_id);
      f.Set("directAction", direct);
      f.Set("tcName", bpf_name.empty() ? env.Null() : Napi::Value(Napi::String::New(env, bpf_name)));
      ProgName(env, prog_id, f);
      out.Set(n++, f);
    }
  }
  return out;
}

}  // namespace tabby
