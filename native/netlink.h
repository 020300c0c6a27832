// rtnetlink transport: one request and its replies, or a batch of writes and their ACKs,
// optionally inside another network namespace.
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

// netlinkBatchAsync(requests: Buffer, { netns? }) -> Promise<Buffer>: many writes on ONE socket,
// off the JS thread. `requests` is complete messages back to back, each with NLM_F_REQUEST,
// NLM_F_ACK and consecutive sequence numbers, none a dump (checked on the JS thread: EINVAL
// naming the message). They go out several per sendto, in chunks whose replies fit the
// receive buffer. The result holds only what is not a plain success: the kernel's error
// reply (with extended-ACK text) of each message that failed, and an NLMSG_OVERRUN header
// with the sequence number of each message whose reply was lost (outcome unknown); a message
// named by neither succeeded. Calls run in the order they were made, also when several are
// queued at once. Only socket and namespace failures reject.
Napi::Value NetlinkBatchAsync(const Napi::CallbackInfo& info);

}  // namespace tabby
