// tabby_native: a thin N-API layer over libbpf 1.1. The typed wrapper is src/native/;
// its raw interface is src/native/binding.d.ts. See docs/design/native.md.
#include <napi.h>

#include "btf.h"
#include "errors.h"
#include "map.h"
#include "mount.h"
#include "netlink.h"
#include "netns.h"
#include "object.h"
#include "prog.h"
#include "tc.h"
#include "tcp.h"

namespace tabby {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfPrint();
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  exports.Set("numPossibleCpus", Napi::Function::New(env, NumPossibleCpus, "numPossibleCpus"));
  exports.Set("BpfObject", BpfObjectWrap::Init(env));
  exports.Set("MapHandle", MapHandle::Init(env));
  exports.Set("mapOpenPinned", Napi::Function::New(env, MapOpenPinned, "mapOpenPinned"));
  exports.Set("mapFromFd", Napi::Function::New(env, MapFromFd, "mapFromFd"));
  exports.Set("objPin", Napi::Function::New(env, ObjPin, "objPin"));
  exports.Set("objUnpin", Napi::Function::New(env, ObjUnpin, "objUnpin"));
  exports.Set("progInfo", Napi::Function::New(env, ProgInfo, "progInfo"));
  exports.Set("progInfoById", Napi::Function::New(env, ProgInfoById, "progInfoById"));
  exports.Set("progTestRun", Napi::Function::New(env, ProgTestRun, "progTestRun"));
  exports.Set("ifIndex", Napi::Function::New(env, IfIndex, "ifIndex"));
  exports.Set("ifName", Napi::Function::New(env, IfName, "ifName"));
  exports.Set("tcHookCreate", Napi::Function::New(env, TcHookCreate, "tcHookCreate"));
  exports.Set("tcHookDestroy", Napi::Function::New(env, TcHookDestroy, "tcHookDestroy"));
  exports.Set("tcAttach", Napi::Function::New(env, TcAttach, "tcAttach"));
  exports.Set("tcDetach", Napi::Function::New(env, TcDetach, "tcDetach"));
  exports.Set("tcQuery", Napi::Function::New(env, TcQuery, "tcQuery"));
  exports.Set("tcList", Napi::Function::New(env, TcList, "tcList"));
  exports.Set("netlinkRequest", Napi::Function::New(env, NetlinkRequest, "netlinkRequest"));
  exports.Set("netlinkRequestAsync", Napi::Function::New(env, NetlinkRequestAsync, "netlinkRequestAsync"));
  exports.Set("netlinkBatchAsync", Napi::Function::New(env, NetlinkBatchAsync, "netlinkBatchAsync"));
  exports.Set("procSysOpen", Napi::Function::New(env, ProcSysOpen, "procSysOpen"));
  exports.Set("mountBpffs", Napi::Function::New(env, MountBpffs, "mountBpffs"));
  exports.Set("tcpSocket", Napi::Function::New(env, TcpSocket, "tcpSocket"));
  exports.Set("tcpMd5SetKey", Napi::Function::New(env, TcpMd5SetKey, "tcpMd5SetKey"));
  exports.Set("btfStruct", Napi::Function::New(env, BtfStructFromFile, "btfStruct"));
  return exports;
}

}  // namespace tabby

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tabby::Init(env, exports); }

NODE_API_MODULE(tabby_native, InitModule)
