// Running one call inside another network namespace without moving the process.
//
// setns(2) changes the namespace of the calling thread only. NetnsGuard saves the thread's
// current namespace (/proc/thread-self/ns/net), enters the target, and on destruction
// (normal return or exception) enters the saved one again. A call runs start to end inside
// one guard on one thread: on the JS thread no other JS code runs meanwhile; on a libuv
// worker thread (the async netlink call) the guard is taken and dropped within the job, so
// the thread is back home before libuv hands it other work. If switching back fails the
// thread would stay in the wrong namespace for the rest of the process; that is
// unrecoverable, so the guard aborts with a message.
#pragma once

#include <napi.h>

#include <string>

#include "errors.h"

namespace tabby {

class NetnsGuard {
 public:
  // An empty path means "stay where we are" (no syscalls at all). Throws a JS error.
  NetnsGuard(Napi::Env env, const std::string& path);
  // The same without a JS environment (worker threads): throws NativeFailure.
  explicit NetnsGuard(const std::string& path);
  ~NetnsGuard();
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

  // For messages: " in network namespace /run/netns/x", or "" when not switched.
  std::string Where() const;

 private:
  // Enters `path`; returns the fd of the namespace left, or throws NativeFailure.
  static int Enter(const std::string& path);
  int saved_ = -1;
  std::string path_;
};

// if_nametoindex / if_indextoname, optionally in a namespace (opts.netns).
Napi::Value IfIndex(const Napi::CallbackInfo& info);
Napi::Value IfName(const Napi::CallbackInfo& info);

// procSysOpen(path, { netns?, write? }) -> fd. Opens a /proc/sys file from this thread while it
// is inside `netns`: /proc/sys/net shows the namespace of the thread that opens it, and the
// open file keeps pointing there. The caller reads/writes and closes the fd (node:fs).
Napi::Value ProcSysOpen(const Napi::CallbackInfo& info);

}  // namespace tabby
