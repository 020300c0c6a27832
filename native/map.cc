#include "map.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "addon_data.h"
#include "errors.h"

namespace tabby {

bool IsPerCpuMapType(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

int PossibleCpus(Napi::Env env) {
  int n = libbpf_num_possible_cpus();
  if (n <= 0) Fail(env, "libbpf_num_possible_cpus", n, "cannot read /sys/devices/system/cpu/possible");
  return n;
}

namespace {

// What kind of BPF object an fd is, from /proc/self/fdinfo: "map", "prog", "link" or "".
std::string FdKind(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("map_type:", 0) == 0) return "map";
    if (line.rfind("prog_type:", 0) == 0) return "prog";
    if (line.rfind("link_type:", 0) == 0) return "link";
  }
  return "";
}

const char* MapTypeName(uint32_t type) {
  const char* s = libbpf_bpf_map_type_str(static_cast<enum bpf_map_type>(type));
  return s != nullptr ? s : "unknown";
}

size_t BufLen(const Napi::Value& v) { return v.As<Napi::Buffer<uint8_t>>().Length(); }
uint8_t* BufData(const Napi::Value& v) { return v.As<Napi::Buffer<uint8_t>>().Data(); }

}  // namespace

Napi::Function MapHandle::Init(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "MapHandle",
                                  {
                                      InstanceMethod("info", &MapHandle::Info),
                                      InstanceAccessor("fd", &MapHandle::Fd, nullptr),
                                      InstanceMethod("lookup", &MapHandle::Lookup),
                                      InstanceMethod("update", &MapHandle::Update),
                                      InstanceMethod("delete", &MapHandle::Delete),
                                      InstanceMethod("nextKey", &MapHandle::NextKey),
                                      InstanceMethod("lookupBatch", &MapHandle::LookupBatch),
                                      InstanceMethod("updateBatch", &MapHandle::UpdateBatch),
                                      InstanceMethod("deleteBatch", &MapHandle::DeleteBatch),
                                      InstanceMethod("pin", &MapHandle::Pin),
                                      InstanceMethod("close", &MapHandle::Close),
                                  });
  Data(env)->map_handle = Napi::Persistent(fn);
  return fn;
}

Napi::Object MapHandle::Adopt(Napi::Env env, int fd, const std::string& what) {
  Napi::Object obj = Data(env)->map_handle.New({});
  MapHandle* self = Napi::ObjectWrap<MapHandle>::Unwrap(obj);
  self->Attach(env, fd, what);
  return obj;
}

// JS cannot construct a usable handle directly: use mapOpenPinned / mapFromFd.
MapHandle::MapHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MapHandle>(info) {}

MapHandle::~MapHandle() {
  if (fd_ >= 0) close(fd_);
}

void MapHandle::Attach(Napi::Env env, int fd, const std::string& what) {
  fd_ = fd;
  what_ = what;
  std::string kind = FdKind(fd);
  if (kind != "map") {
    close(fd_);
    fd_ = -1;
    Fail(env, "bpf_obj_get_info_by_fd", EINVAL, what + " is not a BPF map" + (kind.empty() ? "" : " (it is a " + kind + ")"));
  }
  struct bpf_map_info mi;
  memset(&mi, 0, sizeof(mi));
  uint32_t len = sizeof(mi);
  int err = bpf_obj_get_info_by_fd(fd, &mi, &len);
  if (err < 0) {
    close(fd_);
    fd_ = -1;
    Fail(env, "bpf_obj_get_info_by_fd", err, "cannot read the info of " + what);
  }
  type_ = mi.type;
  key_size_ = mi.key_size;
  value_size_ = mi.value_size;
  max_entries_ = mi.max_entries;
  flags_ = mi.map_flags;
  id_ = mi.id;
  name_ = mi.name;
  per_cpu_ = IsPerCpuMapType(type_);
  if (per_cpu_) PossibleCpus(env);  // fail here, not halfway through a lookup
}

std::string MapHandle::Name() const { return "map '" + (name_.empty() ? what_ : name_) + "' (id " + std::to_string(id_) + ")"; }

size_t MapHandle::ValueBytes() const {
  if (!per_cpu_) return value_size_;
  size_t stride = (static_cast<size_t>(value_size_) + 7) & ~static_cast<size_t>(7);
  return stride * static_cast<size_t>(libbpf_num_possible_cpus());
}

void MapHandle::CheckOpen(Napi::Env env, const char* op) const {
  if (fd_ < 0) Fail(env, op, EBADF, "the handle of " + what_ + " is closed", "open the map again");
}

void MapHandle::CheckKey(Napi::Env env, const char* op, const Napi::Value& v) const {
  if (!v.IsBuffer() || BufLen(v) != key_size_) {
    Fail(env, op, EINVAL, Name() + ": key must be a Buffer of " + std::to_string(key_size_) + " bytes");
  }
}

Napi::Value MapHandle::Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

Napi::Value MapHandle::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "bpf_obj_get_info_by_fd");
  Napi::Object o = Napi::Object::New(env);
  o.Set("id", id_);
  o.Set("name", name_);
  o.Set("type", MapTypeName(type_));
  o.Set("typeId", type_);
  o.Set("keySize", key_size_);
  o.Set("valueSize", value_size_);
  o.Set("maxEntries", max_entries_);
  o.Set("flags", flags_);
  o.Set("perCpu", per_cpu_);
  o.Set("fd", fd_);
  return o;
}

Napi::Value MapHandle::Lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "bpf_map_lookup_elem");
  CheckKey(env, "bpf_map_lookup_elem", info[0]);
  std::vector<uint8_t> value(ValueBytes());
  int err = bpf_map_lookup_elem(fd_, BufData(info[0]), value.data());
  if (err < 0) {
    if (errno == ENOENT) return env.Null();
    Fail(env, "bpf_map_lookup_elem", errno, "lookup in " + Name() + " failed");
  }
  return Napi::Buffer<uint8_t>::Copy(env, value.data(), value.size());
}

Napi::Value MapHandle::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "bpf_map_update_elem");
  CheckKey(env, "bpf_map_update_elem", info[0]);
  if (!info[1].IsBuffer() || BufLen(info[1]) != ValueBytes()) {
    Fail(env, "bpf_map_update_elem", EINVAL,
         Name() + ": value must be a Buffer of " + std::to_string(ValueBytes()) + " bytes");
  }
  Napi::Object opts = OptionsArg(info, 2);
  long long flags = OptInt(env, opts, "flags", BPF_ANY, "bpf_map_update_elem");
  int err = bpf_map_update_elem(fd_, BufData(info[0]), BufData(info[1]), static_cast<uint64_t>(flags));
  if (err < 0) {
    int e = errno;
    std::string hint = e == EEXIST   ? "the key exists and flags say NOEXIST"
                       : e == ENOENT ? "the key does not exist and flags say EXIST"
                       : e == E2BIG  ? "the map is full (max_entries " + std::to_string(max_entries_) + ")"
                                     : "";
    Fail(env, "bpf_map_update_elem", e, "update of " + Name() + " failed", hint);
  }
  return env.Undefined();
}

Napi::Value MapHandle::Delete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "bpf_map_delete_elem");
  CheckKey(env, "bpf_map_delete_elem", info[0]);
  int err = bpf_map_delete_elem(fd_, BufData(info[0]));
  if (err < 0) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    Fail(env, "bpf_map_delete_elem", errno, "delete from " + Name() + " failed",
         errno == EINVAL ? "array maps cannot delete entries" : "");
  }
  return Napi::Boolean::New(env, true);
}

Napi::Value MapHandle::NextKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "bpf_map_get_next_key");
  const void* cur = nullptr;
  if (info.Length() > 0 && !info[0].IsNull() && !info[0].IsUndefined()) {
    CheckKey(env, "bpf_map_get_next_key", info[0]);
    cur = BufData(info[0]);
  }
  std::vector<uint8_t> next(key_size_);
  int err = bpf_map_get_next_key(fd_, cur, next.data());
  if (err < 0) {
    if (errno == ENOENT) return env.Null();
    Fail(env, "bpf_map_get_next_key", errno, "iterating " + Name() + " failed");
  }
  return Napi::Buffer<uint8_t>::Copy(env, next.data(), next.size());
}

// lookupBatch(inBatch | null, { count }) -> { keys, values, count, nextBatch, done }
Napi::Value MapHandle::LookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "bpf_map_lookup_batch";
  CheckOpen(env, op);
  Napi::Object opts = OptionsArg(info, 1);
  long long want = OptInt(env, opts, "count", 256, op);
  if (want <= 0 || want > 1 << 20) Fail(env, op, EINVAL, "batch count must be between 1 and 1048576");
  // The batch token is a bucket number for hash maps and a key for arrays: size it for both.
  size_t token = key_size_ > 8 ? key_size_ : 8;
  std::vector<uint8_t> in(token), out(token);
  bool first = true;
  if (info.Length() > 0 && info[0].IsBuffer()) {
    size_t n = BufLen(info[0]);
    if (n > token) Fail(env, op, EINVAL, "batch token is too long");
    memcpy(in.data(), BufData(info[0]), n);
    first = false;
  }
  std::vector<uint8_t> keys(static_cast<size_t>(want) * key_size_), values(static_cast<size_t>(want) * ValueBytes());
  uint32_t count = static_cast<uint32_t>(want);
  struct bpf_map_batch_opts bo;
  memset(&bo, 0, sizeof(bo));
  bo.sz = sizeof(bo);
  int err = bpf_map_lookup_batch(fd_, first ? nullptr : in.data(), out.data(), keys.data(), values.data(), &count, &bo);
  bool done = false;
  if (err < 0) {
    int e = errno;
    if (e == ENOENT) {
      done = true;
    } else {
      Fail(env, op, e, "batch lookup in " + Name() + " failed",
           e == EINVAL || e == EOPNOTSUPP || e == 524 ? "this map type has no batch operations: iterate keys instead" : "");
    }
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("keys", Napi::Buffer<uint8_t>::Copy(env, keys.data(), static_cast<size_t>(count) * key_size_));
  r.Set("values", Napi::Buffer<uint8_t>::Copy(env, values.data(), static_cast<size_t>(count) * ValueBytes()));
  r.Set("count", count);
  r.Set("nextBatch", done ? env.Null() : Napi::Value(Napi::Buffer<uint8_t>::Copy(env, out.data(), out.size())));
  r.Set("done", done);
  return r;
}

// updateBatch(keys, values, { flags }) -> count. keys/values are packed back to back.
Napi::Value MapHandle::UpdateBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "bpf_map_update_batch";
  CheckOpen(env, op);
  if (!info[0].IsBuffer() || !info[1].IsBuffer()) Fail(env, op, EINVAL, "keys and values must be Buffers");
  size_t kb = BufLen(info[0]), vb = BufLen(info[1]);
  if (kb == 0 || kb % key_size_ != 0 || vb != (kb / key_size_) * ValueBytes()) {
    Fail(env, op, EINVAL, Name() + ": keys must be N*" + std::to_string(key_size_) + " bytes and values N*" +
                              std::to_string(ValueBytes()) + " bytes");
  }
  Napi::Object opts = OptionsArg(info, 2);
  struct bpf_map_batch_opts bo;
  memset(&bo, 0, sizeof(bo));
  bo.sz = sizeof(bo);
  bo.elem_flags = static_cast<uint64_t>(OptInt(env, opts, "flags", BPF_ANY, op));
  uint32_t count = static_cast<uint32_t>(kb / key_size_);
  int err = bpf_map_update_batch(fd_, BufData(info[0]), BufData(info[1]), &count, &bo);
  if (err < 0) {
    int e = errno;
    Fail(env, op, e, "batch update of " + Name() + " failed after " + std::to_string(count) + " entries",
         e == EINVAL || e == EOPNOTSUPP || e == 524 ? "this map type may have no batch operations: update one by one" : "");
  }
  return Napi::Number::New(env, count);
}

// deleteBatch(keys) -> count
Napi::Value MapHandle::DeleteBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "bpf_map_delete_batch";
  CheckOpen(env, op);
  if (!info[0].IsBuffer()) Fail(env, op, EINVAL, "keys must be a Buffer");
  size_t kb = BufLen(info[0]);
  if (kb == 0 || kb % key_size_ != 0) {
    Fail(env, op, EINVAL, Name() + ": keys must be N*" + std::to_string(key_size_) + " bytes");
  }
  struct bpf_map_batch_opts bo;
  memset(&bo, 0, sizeof(bo));
  bo.sz = sizeof(bo);
  uint32_t count = static_cast<uint32_t>(kb / key_size_);
  int err = bpf_map_delete_batch(fd_, BufData(info[0]), &count, &bo);
  if (err < 0) {
    int e = errno;
    Fail(env, op, e, "batch delete from " + Name() + " failed after " + std::to_string(count) + " entries",
         e == ENOENT ? "a key was not in the map" : "");
  }
  return Napi::Number::New(env, count);
}

Napi::Value MapHandle::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "bpf_obj_pin");
  std::string path = StringArg(info, 0, "bpf_obj_pin", "path");
  if (bpf_obj_pin(fd_, path.c_str()) < 0) {
    int e = errno;
    Fail(env, "bpf_obj_pin", e, "cannot pin " + Name() + " at " + path,
         e == EEXIST ? "something is already pinned there: unpin it first"
         : e == ENOENT ? "the directory does not exist or is not on a bpf filesystem"
         : e == EPERM ? "the path must be on a bpf filesystem (mount -t bpf bpf /sys/fs/bpf)" : "");
  }
  return env.Undefined();
}

Napi::Value MapHandle::Close(const Napi::CallbackInfo& info) {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  return info.Env().Undefined();
}

Napi::Value MapOpenPinned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "bpf_obj_get", "path");
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    int e = errno;
    Fail(env, "bpf_obj_get", e, "cannot open pinned map " + path,
         e == ENOENT ? "nothing is pinned there: was the object loaded with this pin directory?"
         : e == EPERM || e == EACCES ? "needs root, and the path must be on a bpf filesystem" : "");
  }
  return MapHandle::Adopt(env, fd, "pinned map " + path);
}

Napi::Value MapFromFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "fcntl", "fd");
  int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (dup < 0) Fail(env, "fcntl", errno, "cannot duplicate map fd " + std::to_string(fd), "was its object closed?");
  return MapHandle::Adopt(env, dup, "map fd " + std::to_string(fd));
}

Napi::Value ObjPin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "bpf_obj_pin", "fd");
  std::string path = StringArg(info, 1, "bpf_obj_pin", "path");
  if (bpf_obj_pin(fd, path.c_str()) < 0) {
    int e = errno;
    Fail(env, "bpf_obj_pin", e, "cannot pin fd " + std::to_string(fd) + " at " + path,
         e == EEXIST ? "something is already pinned there: unpin it first"
         : e == ENOENT ? "the directory does not exist or is not on a bpf filesystem"
         : e == EPERM ? "the path must be on a bpf filesystem (mount -t bpf bpf /sys/fs/bpf)" : "");
  }
  return env.Undefined();
}

Napi::Value ObjUnpin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "unlink", "path");
  if (unlink(path.c_str()) < 0) {
    int e = errno;
    Fail(env, "unlink", e, "cannot unpin " + path, e == ENOENT ? "nothing is pinned there" : "");
  }
  return env.Undefined();
}

Napi::Value NumPossibleCpus(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), PossibleCpus(info.Env())); }

}  // namespace tabby
