// tc (clsact) attach, detach, query and listing of BPF programs through libbpf's netlink
// API and, for listing, one RTM_GETTFILTER dump of our own. Never the `tc` binary.
// Every call takes { netns } and runs inside that namespace (see netns.h).
#pragma once

#include <napi.h>

namespace tabby {

// tcHookCreate(ifindex, { direction, netns }) -> { created }
Napi::Value TcHookCreate(const Napi::CallbackInfo& info);
// tcHookDestroy(ifindex, { netns }) -> { destroyed }: removes the clsact qdisc and all its filters.
Napi::Value TcHookDestroy(const Napi::CallbackInfo& info);
// tcAttach(ifindex, progFd, { direction, handle?, priority?, replace?, netns }) -> { handle, priority, progId }
Napi::Value TcAttach(const Napi::CallbackInfo& info);
// tcDetach(ifindex, { direction, handle, priority, netns })
Napi::Value TcDetach(const Napi::CallbackInfo& info);
// tcQuery(ifindex, { direction, handle, priority, netns }) -> { handle, priority, progId, name } | null
Napi::Value TcQuery(const Napi::CallbackInfo& info);
// tcList(ifindex, { direction, netns }) -> [{ handle, priority, progId, name, directAction }]
Napi::Value TcList(const Napi::CallbackInfo& info);

}  // namespace tabby
