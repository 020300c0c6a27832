// A BPF object file: open (with pin root and object name), set `const volatile` globals,
// load, then list programs and maps, hand out map handles, read BTF, unpin, close.
#pragma once

#include <napi.h>

#include <string>

struct bpf_object;
struct bpf_map;

namespace tabby {

class BpfObjectWrap : public Napi::ObjectWrap<BpfObjectWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  // new BpfObject(path, { objectName?, pinRoot? }): opens the file, does not load it.
  explicit BpfObjectWrap(const Napi::CallbackInfo& info);
  ~BpfObjectWrap() override;

 private:
  Napi::Value Path(const Napi::CallbackInfo& info);
  Napi::Value Name(const Napi::CallbackInfo& info);
  Napi::Value Loaded(const Napi::CallbackInfo& info);
  Napi::Value RodataVariables(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value Maps(const Napi::CallbackInfo& info);
  Napi::Value MapHandleOf(const Napi::CallbackInfo& info);
  Napi::Value BtfStruct(const Napi::CallbackInfo& info);
  Napi::Value UnpinMaps(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void CheckOpen(Napi::Env env, const char* op) const;
  struct bpf_map* RodataMap() const;

  struct bpf_object* obj_ = nullptr;
  std::string path_;
  bool loaded_ = false;
};

}  // namespace tabby
