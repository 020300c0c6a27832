/** BGP sessions: a peer's connections, FSM and timers behind typed events; and the listener. */
export { BgpSession, type BgpSessionOptions, type BgpSessionEvents, type StateChange, type EstablishedInfo, type DownInfo } from './session.js';
export { BgpListener, type BgpListenerOptions, type BgpListenerEvents } from './listener.js';
export { packUpdates, wireAttributes } from './update-packer.js';
export { md5Connector, type TcpMd5 } from './tcp-md5.js';
export { tcpConnector, failedSocket, normalizeAddress, type Connector, type ConnectOptions, type SessionSocket } from './socket.js';
