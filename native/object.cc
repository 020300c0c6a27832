#include "object.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "btf.h"
#include "errors.h"
#include "map.h"

namespace tabby {

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Napi::Function BpfObjectWrap::Init(Napi::Env env) {
  return DefineClass(env, "BpfObject",
                     {
                         InstanceAccessor("path", &BpfObjectWrap::Path, nullptr),
                         InstanceAccessor("name", &BpfObjectWrap::Name, nullptr),
                         InstanceAccessor("loaded", &BpfObjectWrap::Loaded, nullptr),
                         InstanceMethod("rodataVariables", &BpfObjectWrap::RodataVariables),
                         InstanceMethod("load", &BpfObjectWrap::Load),
                         InstanceMethod("programs", &BpfObjectWrap::Programs),
                         InstanceMethod("maps", &BpfObjectWrap::Maps),
                         InstanceMethod("mapHandle", &BpfObjectWrap::MapHandleOf),
                         InstanceMethod("btfStruct", &BpfObjectWrap::BtfStruct),
                         InstanceMethod("unpinMaps", &BpfObjectWrap::UnpinMaps),
                         InstanceMethod("close", &BpfObjectWrap::Close),
                     });
}

BpfObjectWrap::BpfObjectWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObjectWrap>(info) {
  Napi::Env env = info.Env();
  path_ = StringArg(info, 0, "bpf_object__open_file", "path");
  Napi::Object opts = OptionsArg(info, 1);
  std::string object_name = OptString(opts, "objectName");
  std::string pin_root = OptString(opts, "pinRoot");

  struct bpf_object_open_opts oo;
  memset(&oo, 0, sizeof(oo));
  oo.sz = sizeof(oo);
  if (!object_name.empty()) oo.object_name = object_name.c_str();
  if (!pin_root.empty()) oo.pin_root_path = pin_root.c_str();

  LibbpfLog log;
  struct bpf_object* obj = bpf_object__open_file(path_.c_str(), &oo);
  if (obj == nullptr) {
    int e = errno;
    int n = NormalizeErrno(e);
    Fail(env, "bpf_object__open_file", e, "cannot open BPF object " + path_,
         n == ENOENT    ? "the file does not exist: run `npm run build` (node-gyp rebuild) to compile bpf/*.bpf.c"
         : n == ENOEXEC ? "the file is not a BPF ELF object (compile it with clang -target bpf)"
                        : "");
  }
  obj_ = obj;
}

BpfObjectWrap::~BpfObjectWrap() {
  if (obj_ != nullptr) bpf_object__close(obj_);
}

void BpfObjectWrap::CheckOpen(Napi::Env env, const char* op) const {
  if (obj_ == nullptr) Fail(env, op, EBADF, "BPF object " + path_ + " is closed");
}

struct bpf_map* BpfObjectWrap::RodataMap() const {
  struct bpf_map* map;
  bpf_object__for_each_map(map, obj_) {
    if (bpf_map__is_internal(map) && EndsWith(bpf_map__name(map), ".rodata")) return map;
  }
  return nullptr;
}

Napi::Value BpfObjectWrap::Path(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), path_); }

Napi::Value BpfObjectWrap::Name(const Napi::CallbackInfo& info) {
  if (obj_ == nullptr) return info.Env().Null();
  return Napi::String::New(info.Env(), bpf_object__name(obj_));
}

Napi::Value BpfObjectWrap::Loaded(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), loaded_); }

Napi::Value BpfObjectWrap::RodataVariables(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "bpf_object__btf");
  Napi::Array out = Napi::Array::New(env);
  const struct btf* btf = bpf_object__btf(obj_);
  if (btf == nullptr || RodataMap() == nullptr) return out;
  uint32_t i = 0;
  for (const DatasecVar& v : DatasecVars(btf, ".rodata")) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", v.name);
    o.Set("offset", v.offset);
    o.Set("size", v.size);
    out.Set(i++, o);
  }
  return out;
}

// load({ globals: { name: Buffer } }): writes each global into .rodata's initial value at
// the offset BTF gives, then loads every program and creates (or reuses pinned) maps.
Napi::Value BpfObjectWrap::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "bpf_object__load");
  if (loaded_) Fail(env, "bpf_object__load", EALREADY, "BPF object " + path_ + " is already loaded");
  Napi::Object opts = OptionsArg(info, 0);
  Napi::Value gv = opts.Get("globals");
  if (gv.IsObject()) {
    Napi::Object globals = gv.As<Napi::Object>();
    Napi::Array names = globals.GetPropertyNames();
    if (names.Length() > 0) {
      const char* op = "bpf_map__set_initial_value";
      struct bpf_map* rodata = RodataMap();
      const struct btf* btf = bpf_object__btf(obj_);
      if (rodata == nullptr || btf == nullptr) {
        Fail(env, op, ENOENT, "BPF object " + path_ + " has no .rodata section (no const volatile globals)");
      }
      std::vector<DatasecVar> vars = DatasecVars(btf, ".rodata");
      size_t size = 0;
      const void* init = bpf_map__initial_value(rodata, &size);
      if (init == nullptr) Fail(env, op, EINVAL, "cannot read the initial value of .rodata in " + path_);
      std::vector<uint8_t> data(static_cast<const uint8_t*>(init), static_cast<const uint8_t*>(init) + size);
      for (uint32_t i = 0; i < names.Length(); i++) {
        std::string name = names.Get(i).As<Napi::String>().Utf8Value();
        Napi::Value val = globals.Get(name);
        const DatasecVar* var = nullptr;
        for (const DatasecVar& v : vars) {
          if (v.name == name) var = &v;
        }
        if (var == nullptr) Fail(env, op, ENOENT, "BPF object " + path_ + " has no const volatile global '" + name + "'");
        if (!val.IsBuffer() || val.As<Napi::Buffer<uint8_t>>().Length() != var->size ||
            static_cast<size_t>(var->offset) + var->size > data.size()) {
          Fail(env, op, EINVAL, "global '" + name + "' needs a Buffer of " + std::to_string(var->size) + " bytes");
        }
        memcpy(data.data() + var->offset, val.As<Napi::Buffer<uint8_t>>().Data(), var->size);
      }
      int err = bpf_map__set_initial_value(rodata, data.data(), data.size());
      if (err < 0) Fail(env, op, err, "cannot set the globals of " + path_);
    }
  }

  LibbpfLog log;
  int err = bpf_object__load(obj_);
  if (err < 0) {
    int n = NormalizeErrno(err);
    Fail(env, "bpf_object__load", err, "cannot load BPF object " + path_,
         n == EPERM    ? "loading BPF needs root (CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON)"
         : n == EACCES ? "the verifier rejected a program (its log follows)"
         : n == EINVAL ? "a pinned map with the same name may have a different type or size, or the pin root is not on bpffs"
                       : "");
  }
  loaded_ = true;
  return env.Undefined();
}

Napi::Value BpfObjectWrap::Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "bpf_object__for_each_program");
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, obj_) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_program__name(prog));
    o.Set("section", bpf_program__section_name(prog));
    const char* type = libbpf_bpf_prog_type_str(bpf_program__type(prog));
    o.Set("type", type != nullptr ? type : "unknown");
    int fd = bpf_program__fd(prog);
    o.Set("fd", fd);
    uint32_t id = 0;
    if (fd >= 0) {
      struct bpf_prog_info pi;
      memset(&pi, 0, sizeof(pi));
      uint32_t len = sizeof(pi);
      if (bpf_obj_get_info_by_fd(fd, &pi, &len) == 0) id = pi.id;
    }
    o.Set("id", id);
    out.Set(i++, o);
  }
  return out;
}

Napi::Value BpfObjectWrap::Maps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "bpf_object__for_each_map");
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  struct bpf_map* map;
  bpf_object__for_each_map(map, obj_) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_map__name(map));
    const char* type = libbpf_bpf_map_type_str(bpf_map__type(map));
    o.Set("type", type != nullptr ? type : "unknown");
    o.Set("keySize", bpf_map__key_size(map));
    o.Set("valueSize", bpf_map__value_size(map));
    o.Set("maxEntries", bpf_map__max_entries(map));
    o.Set("fd", bpf_map__fd(map));
    const char* pin = bpf_map__pin_path(map);
    o.Set("pinPath", pin != nullptr ? Napi::Value(Napi::String::New(env, pin)) : env.Null());
    o.Set("pinned", bpf_map__is_pinned(map));
    o.Set("internal", bpf_map__is_internal(map));
    out.Set(i++, o);
  }
  return out;
}

// mapHandle(name): a MapHandle with its own dup of the map's fd.
Napi::Value BpfObjectWrap::MapHandleOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "bpf_object__find_map_by_name";
  CheckOpen(env, op);
  std::string name = StringArg(info, 0, op, "name");
  struct bpf_map* map = bpf_object__find_map_by_name(obj_, name.c_str());
  if (map == nullptr) Fail(env, op, ENOENT, "BPF object " + path_ + " has no map '" + name + "'");
  int fd = bpf_map__fd(map);
  if (fd < 0) Fail(env, op, EBADF, "map '" + name + "' of " + path_ + " has no fd", "load the object first");
  int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (dup < 0) Fail(env, "fcntl", errno, "cannot duplicate the fd of map '" + name + "'");
  return MapHandle::Adopt(env, dup, "map '" + name + "' of " + path_);
}

Napi::Value BpfObjectWrap::BtfStruct(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "bpf_object__btf");
  std::string name = StringArg(info, 0, "btf__find_by_name_kind", "name");
  const struct btf* btf = bpf_object__btf(obj_);
  if (btf == nullptr) Fail(env, "bpf_object__btf", ENOENT, "BPF object " + path_ + " has no BTF", "compile it with clang -g");
  return StructLayout(env, btf, name, path_);
}

Napi::Value BpfObjectWrap::UnpinMaps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env, "bpf_object__unpin_maps");
  LibbpfLog log;
  int err = bpf_object__unpin_maps(obj_, nullptr);
  if (err < 0) Fail(env, "bpf_object__unpin_maps", err, "cannot unpin the maps of " + path_);
  return env.Undefined();
}

Napi::Value BpfObjectWrap::Close(const Napi::CallbackInfo& info) {
  if (obj_ != nullptr) bpf_object__close(obj_);
  obj_ = nullptr;
  loaded_ = false;
  return info.Env().Undefined();
}

}  // namespace tabby
