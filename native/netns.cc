#include "netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "errors.h"

namespace tabby {

int NetnsGuard::Enter(const std::string& path) {
  int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved < 0) {
    throw NativeFailure{"setns", errno, "cannot open this thread's own network namespace (/proc/thread-self/ns/net)",
                        "is /proc mounted?"};
  }
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int err = errno;
    close(saved);
    throw NativeFailure{"setns", err, "network namespace " + path + " cannot be opened",
                        err == ENOENT ? "it does not exist: check the name (ip netns list) or the pid (/proc/PID/ns/net)"
                                      : "check the path and that this process may read it"};
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    int err = errno;
    close(target);
    close(saved);
    throw NativeFailure{"setns", err, "cannot enter network namespace " + path,
                        err == EINVAL ? "the path is not a network namespace file (want /run/netns/NAME or /proc/PID/ns/net)"
                        : err == EPERM ? "entering a namespace needs CAP_SYS_ADMIN: run as root"
                                       : ""};
  }
  close(target);
  return saved;
}

NetnsGuard::NetnsGuard(const std::string& path) : path_(path) {
  if (!path.empty()) saved_ = Enter(path);
}

NetnsGuard::NetnsGuard(Napi::Env env, const std::string& path) : path_(path) {
  if (path.empty()) return;
  try {
    saved_ = Enter(path);
  } catch (const NativeFailure& f) {
    Fail(env, f.op, f.err, f.what, f.hint);
  }
}

NetnsGuard::~NetnsGuard() {
  if (saved_ < 0) return;
  if (setns(saved_, CLONE_NEWNET) < 0) {
    fprintf(stderr, "tabby native: FATAL: cannot return from network namespace %s: %s; aborting\n", path_.c_str(),
            strerror(errno));
    abort();
  }
  close(saved_);
}

std::string NetnsGuard::Where() const { return path_.empty() ? "" : " in network namespace " + path_; }

Napi::Value IfIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "if_nametoindex", "name");
  Napi::Object opts = OptionsArg(info, 1);
  NetnsGuard ns(env, OptString(opts, "netns"));
  unsigned idx = if_nametoindex(name.c_str());
  if (idx == 0) {
    int err = errno;
    Fail(env, "if_nametoindex", err, "interface '" + name + "' not found" + ns.Where(),
         err == ENODEV ? "check the name with `ip link` (in that namespace)" : "");
  }
  return Napi::Number::New(env, idx);
}

Napi::Value IfName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int idx = IntArg(info, 0, "if_indextoname", "ifindex");
  Napi::Object opts = OptionsArg(info, 1);
  NetnsGuard ns(env, OptString(opts, "netns"));
  char buf[IF_NAMESIZE + 1] = {0};
  if (if_indextoname(static_cast<unsigned>(idx), buf) == nullptr) {
    int err = errno;
    Fail(env, "if_indextoname", err, "no interface has index " + std::to_string(idx) + ns.Where(),
         "the interface may have been deleted");
  }
  return Napi::String::New(env, buf);
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
