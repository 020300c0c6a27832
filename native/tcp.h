// TCP sockets with RFC 2385 TCP-MD5 signatures, for BGP sessions with a password.
//
// A key must be on the socket before the SYN leaves (outbound) or arrives (inbound), and
// node:net opens its own sockets and connects at once. So the addon makes an unconnected
// socket (tcpSocket) for net.Socket({ fd }) to connect, and sets keys on any TCP socket by
// fd (tcpMd5SetKey): an outbound socket before it connects, a listening socket for each peer
// that needs one (the sockets it accepts inherit the keys).
#pragma once

#include <napi.h>

namespace tabby {

// tcpSocket({ family: 4 | 6 }) -> fd: SOCK_STREAM, non-blocking, close-on-exec, unconnected.
Napi::Value TcpSocket(const Napi::CallbackInfo& info);

// tcpMd5SetKey(fd, { address, key: Buffer }) -> boolean. Sets the key for segments to and from
// `address` (an IPv4 address on an IPv6 socket is mapped); an empty key removes it, and returns
// false when there was none.
Napi::Value TcpMd5SetKey(const Napi::CallbackInfo& info);

}  // namespace tabby
