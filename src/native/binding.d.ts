/**
 * The raw interface of build/Release/tabby_native.node (native/*.cc), typed in one place.
 * Nothing outside src/native/ uses it: the classes in this directory validate arguments and
 * wrap it. Every function throws the class registered with setErrorClass (NativeError),
 * with `op`, `errno` and an actionable message. All calls are synchronous.
 */

/** `{ netns }` on every call that touches interfaces: a path to a network namespace file. */
export interface RawNetnsOptions {
  netns?: string;
}

export type RawDirection = 'ingress' | 'egress';

export interface RawRodataVariable {
  name: string;
  /** Byte offset in the .rodata section. */
  offset: number;
  size: number;
}

export interface RawProgramInfo {
  name: string;
  section: string;
  /** libbpf's name of the program type, e.g. "sched_cls". */
  type: string;
  /** Negative until the object is loaded. */
  fd: number;
  /** Kernel program id; 0 until loaded. */
  id: number;
}

export interface RawObjectMapInfo {
  name: string;
  /** libbpf's name of the map type, e.g. "percpu_hash". */
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** Negative until the object is loaded. */
  fd: number;
  pinPath: string | null;
  pinned: boolean;
  /** .rodata/.data/.bss maps libbpf made for globals. */
  internal: boolean;
}

export interface RawMapInfo {
  id: number;
  name: string;
  type: string;
  typeId: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  perCpu: boolean;
  fd: number;
}

export interface RawBtfMember {
  name: string;
  /** Byte offset (bitOffset / 8). */
  offset: number;
  size: number;
  bitOffset: number;
  /** 0 unless the member is a bitfield. */
  bitSize: number;
  /** A C-ish spelling: "__u32", "__u8[3]", "struct x". */
  type: string;
}

export interface RawBtfStruct {
  name: string;
  kind: 'struct' | 'union';
  size: number;
  members: RawBtfMember[];
}

export interface RawLookupBatch {
  /** `count` keys back to back. */
  keys: Buffer;
  /** `count` values back to back (all CPUs' for per-CPU maps). */
  values: Buffer;
  count: number;
  /** Pass to the next call; null when done. */
  nextBatch: Buffer | null;
  done: boolean;
}

export interface RawMapHandle {
  readonly fd: number;
  info(): RawMapInfo;
  /** null when the key is absent. */
  lookup(key: Buffer): Buffer | null;
  update(key: Buffer, value: Buffer, opts?: { flags?: number }): void;
  /** false when the key was absent. */
  delete(key: Buffer): boolean;
  /** The key after `key` (the first key for null); null at the end. */
  nextKey(key: Buffer | null): Buffer | null;
  lookupBatch(inBatch: Buffer | null, opts?: { count?: number }): RawLookupBatch;
  updateBatch(keys: Buffer, values: Buffer, opts?: { flags?: number }): number;
  deleteBatch(keys: Buffer): number;
  pin(path: string): void;
  close(): void;
}

export interface RawBpfObject {
  readonly path: string;
  /** null after close. */
  readonly name: string | null;
  readonly loaded: boolean;
  rodataVariables(): RawRodataVariable[];
  load(opts?: { globals?: Record<string, Buffer> }): void;
  programs(): RawProgramInfo[];
  maps(): RawObjectMapInfo[];
  mapHandle(name: string): RawMapHandle;
  btfStruct(name: string): RawBtfStruct;
  unpinMaps(): void;
  close(): void;
}

export interface RawKernelProgInfo {
  id: number;
  name: string;
  type: string;
  tag: string;
}

export interface RawTestRunResult {
  retval: number;
  /** Average nanoseconds per repetition. */
  duration: number;
  data: Buffer;
  ctx: Buffer | null;
}

export interface RawTcTarget extends RawNetnsOptions {
  direction: RawDirection;
}

export interface RawTcFilterId extends RawTcTarget {
  handle: number;
  priority: number;
}

export interface RawTcAttached {
  handle: number;
  priority: number;
  progId: number;
}

export interface RawTcQueried extends RawTcAttached {
  name: string | null;
}

export interface RawTcListed extends RawTcQueried {
  protocol: number;
  directAction: boolean;
  /** TCA_BPF_NAME, when the attacher set one (libbpf does not). */
  tcName: string | null;
}

export interface RawBinding {
  setErrorClass(cls: new (op: string, errno: number, message: string) => Error): void;
  numPossibleCpus(): number;
  BpfObject: new (path: string, opts?: { objectName?: string; pinRoot?: string }) => RawBpfObject;
  mapOpenPinned(path: string): RawMapHandle;
  mapFromFd(fd: number): RawMapHandle;
  objPin(fd: number, path: string): void;
  objUnpin(path: string): void;
  progInfo(fd: number): RawKernelProgInfo;
  progInfoById(id: number): RawKernelProgInfo | null;
  progTestRun(fd: number, opts: { data: Buffer; ctx?: Buffer; repeat?: number; dataOutSize?: number }): RawTestRunResult;
  ifIndex(name: string, opts?: RawNetnsOptions): number;
  ifName(ifindex: number, opts?: RawNetnsOptions): string;
  tcHookCreate(ifindex: number, opts?: RawNetnsOptions): { created: boolean };
  tcHookDestroy(ifindex: number, opts?: RawNetnsOptions): { destroyed: boolean };
  tcAttach(
    ifindex: number,
    progFd: number,
    opts: RawTcTarget & { handle?: number; priority?: number; replace?: boolean },
  ): RawTcAttached;
  tcDetach(ifindex: number, opts: RawTcFilterId): void;
  tcQuery(ifindex: number, opts: RawTcFilterId): RawTcQueried | null;
  tcList(ifindex: number, opts: RawTcTarget): RawTcListed[];
  btfStruct(path: string, name: string): RawBtfStruct;
  /**
   * One rtnetlink exchange (native/netlink.cc): `request` is exactly one message with
   * NLM_F_REQUEST and NLM_F_DUMP or NLM_F_ACK; returns every reply message with its
   * sequence number, through NLMSG_DONE or the NLMSG_ERROR/ACK, back to back. Kernel errors
   * come back as NLMSG_ERROR replies (decoded by src/native/netlink-socket.ts); only
   * socket and namespace failures throw.
   */
  netlinkRequest(request: Buffer, opts?: RawNetnsOptions): Buffer;
  /** The same exchange on a libuv worker thread: for slow kernel work (veth deletion) off the event loop. */
  netlinkRequestAsync(request: Buffer, opts?: RawNetnsOptions): Promise<Buffer>;
  /**
   * Many writes on one socket, on a libuv worker thread (native/netlink.cc): `requests` is
   * complete messages back to back, each with NLM_F_REQUEST and NLM_F_ACK, numbered
   * consecutively (message i has the first one's sequence number + i), none a dump (else
   * EINVAL naming the message, before anything is sent). Resolves with what is not a plain
   * success, back to back, to be matched by sequence number: the kernel's NLMSG_ERROR reply
   * of each message that failed, in arrival order, and an NLMSG_OVERRUN header for each
   * message whose reply was dropped (its outcome is unknown). A message named by neither
   * succeeded, so a batch that succeeds resolves with an empty Buffer. Only socket and
   * namespace failures reject.
   */
  netlinkBatchAsync(requests: Buffer, opts?: RawNetnsOptions): Promise<Buffer>;
  /** Opens a file under /proc/sys/ from inside `netns` (its net settings are per namespace); returns the fd. */
  procSysOpen(path: string, opts?: RawNetnsOptions & { write?: boolean }): number;
  /** An unconnected TCP socket (non-blocking, close-on-exec) for net.Socket({ fd }) to connect (native/tcp.cc). */
  tcpSocket(opts: { family: 4 | 6 }): number;
  /**
   * setsockopt(TCP_MD5SIG) on a TCP socket: the RFC 2385 key for segments to and from
   * `address` (a listening socket passes it on to the sockets it accepts). An empty key
   * removes it; returns false when there was none to remove.
   */
  tcpMd5SetKey(fd: number, opts: { address: string; key: Buffer }): boolean;
  /** mount(2) of a bpf filesystem at `dir` (native/mount.cc); `mode` defaults to 0o700. */
  mountBpffs(dir: string, opts?: { mode?: number }): void;
}
