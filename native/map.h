// A BPF map handle that owns one file descriptor (its own dup, so it outlives the object
// it came from). Operations take and return Buffers of exactly the sizes the map has; the
// TypeScript BpfMap checks sizes first, these checks are the last line of defence.
// Per-CPU maps take and return all CPUs' values at once: round_up(value_size, 8) bytes per
// possible CPU, in CPU order (what the kernel wants).
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace tabby {

class MapHandle : public Napi::ObjectWrap<MapHandle> {
 public:
  static Napi::Function Init(Napi::Env env);
  // Wraps `fd` (taking ownership) in a new JS MapHandle. `what` names the map in messages.
  static Napi::Object Adopt(Napi::Env env, int fd, const std::string& what);

  explicit MapHandle(const Napi::CallbackInfo& info);
  ~MapHandle() override;

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Lookup(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value NextKey(const Napi::CallbackInfo& info);
  Napi::Value LookupBatch(const Napi::CallbackInfo& info);
  Napi::Value UpdateBatch(const Napi::CallbackInfo& info);
  Napi::Value DeleteBatch(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void Attach(Napi::Env env, int fd, const std::string& what);
  void CheckOpen(Napi::Env env, const char* op) const;
  void CheckKey(Napi::Env env, const char* op, const Napi::Value& v) const;
  size_t ValueBytes() const;  // one value as the syscall sees it (all CPUs for per-CPU maps)
  std::string Name() const;

  int fd_ = -1;
  uint32_t type_ = 0, key_size_ = 0, value_size_ = 0, max_entries_ = 0, flags_ = 0, id_ = 0;
  bool per_cpu_ = false;
  std::string name_, what_;
};

bool IsPerCpuMapType(uint32_t type);
int PossibleCpus(Napi::Env env);

// Module-level functions: open a pinned map, wrap a map fd, pin any BPF fd, unpin a path.
Napi::Value MapOpenPinned(const Napi::CallbackInfo& info);
Napi::Value MapFromFd(const Napi::CallbackInfo& info);
Napi::Value ObjPin(const Napi::CallbackInfo& info);
Napi::Value ObjUnpin(const Napi::CallbackInfo& info);
Napi::Value NumPossibleCpus(const Napi::CallbackInfo& info);

}  // namespace tabby
