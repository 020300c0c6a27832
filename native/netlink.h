// rtnetlink transport: one request, its replies, optionally inside another network namespace.
//
// The messages themselves are built and parsed in TypeScript (src/native/netlink-codec.ts):
// the codec is pure, so it is unit tested and fuzzed without root, and adding an attribute
// never needs a rebuild. This side only does what TypeScript cannot: open a NETLINK_ROUTE
// socket in a namespace (setns is per thread), send, and collect the replies up to the end
// of the exchange (NLMSG_DONE for a dump, the ACK or error for anything else).
#pragma once

#include <napi.h>

namespace tabby {

// netlinkRequest(request: Buffer, { netns? }) -> Buffer (every reply message, back to back).
// The request is exactly one netlink message with NLM_F_REQUEST and NLM_F_DUMP or NLM_F_ACK.
// Kernel errors are NOT thrown here (they are replies, decoded by the caller); only socket
// and namespace failures are.
Napi::Value NetlinkRequest(const Napi::CallbackInfo& info);

// netlinkRequestAsync(request, { netns? }) -> Promise<Buffer>: the same exchange on a libuv
// worker thread, for requests the kernel is slow to answer (deleting a veth waits for RCU
// grace periods, ~15 ms) that must not stall the event loop.
Napi::Value NetlinkRequestAsync(const Napi::CallbackInfo& info);

// procSysOpen(path, { netns?, write? }) -> fd. Opens a /proc/sys file from this thread while it
// is inside `netns`: /proc/sys/net shows the namespace of the thread that opens it, and the
// open file keeps pointing there. The caller reads/writes and closes the fd (node:fs).
Napi::Value ProcSysOpen(const Napi::CallbackInfo& info);

}  // namespace tabby
