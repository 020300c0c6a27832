// Running one call inside another network namespace without moving the process.
//
// setns(2) changes the namespace of the calling thread only. NetnsGuard saves the thread's
// current namespace (/proc/thread-self/ns/net), enters the target, and on destruction
// (normal return or exception) enters the saved one again. Every interface-touching call is
// synchronous and runs start to end on the JS thread inside one guard, so no other JS code
// ever runs while the thread is in the other namespace, and libuv's worker threads are not
// affected at all. If switching back fails the thread would stay in the wrong namespace
// for the rest of the process; that is unrecoverable, so the guard aborts with a message.
#pragma once

#include <napi.h>

#include <string>

namespace tabby {

class NetnsGuard {
 public:
  // An empty path means "stay where we are" (no syscalls at all).
  NetnsGuard(Napi::Env env, const std::string& path);
  ~NetnsGuard();
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

  // For messages: " in network namespace /run/netns/x", or "" when not switched.
  std::string Where() const;

 private:
  int saved_ = -1;
  std::string path_;
};

// if_nametoindex / if_indextoname, optionally in a namespace (opts.netns).
Napi::Value IfIndex(const Napi::CallbackInfo& info);
Napi::Value IfName(const Napi::CallbackInfo& info);

}  // namespace tabby
