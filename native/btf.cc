#include "btf.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "errors.h"

namespace tabby {

namespace {

// A short C-ish spelling of a type for messages and layout dumps: "__u32", "__u8[3]", "struct x".
std::string TypeName(const struct btf* btf, uint32_t id, int depth = 0) {
  if (depth > 8) return "...";
  const struct btf_type* t = btf__type_by_id(btf, id);
  if (t == nullptr) return "?";
  const char* name = btf__name_by_offset(btf, t->name_off);
  std::string n = name != nullptr ? name : "";
  if (btf_is_array(t)) {
    const struct btf_array* a = btf_array(t);
    return TypeName(btf, a->type, depth + 1) + "[" + std::to_string(a->nelems) + "]";
  }
  if (btf_is_ptr(t)) return TypeName(btf, t->type, depth + 1) + "*";
  if (btf_is_const(t) || btf_is_volatile(t) || btf_is_restrict(t)) return TypeName(btf, t->type, depth + 1);
  if (btf_is_struct(t)) return "struct " + (n.empty() ? std::string("(anon)") : n);
  if (btf_is_union(t)) return "union " + (n.empty() ? std::string("(anon)") : n);
  if (btf_is_enum(t)) return "enum " + (n.empty() ? std::string("(anon)") : n);
  return n.empty() ? "(anon)" : n;
}

}  // namespace

Napi::Object StructLayout(Napi::Env env, const struct btf* btf, const std::string& name, const std::string& source) {
  const char* op = "btf__find_by_name_kind";
  __s32 id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_STRUCT);
  if (id < 0) id = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_UNION);
  if (id < 0) {
    __s32 td = btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_TYPEDEF);
    if (td >= 0) {
      __s32 resolved = btf__resolve_type(btf, static_cast<uint32_t>(td));
      if (resolved >= 0) {
        const struct btf_type* rt = btf__type_by_id(btf, static_cast<uint32_t>(resolved));
        if (rt != nullptr && (btf_is_struct(rt) || btf_is_union(rt))) id = resolved;
      }
    }
  }
  if (id < 0) {
    Fail(env, op, ENOENT, "struct '" + name + "' is not in the BTF of " + source,
         "only types the program uses (maps, arguments, variables) are kept in BTF; check the name");
  }
  const struct btf_type* t = btf__type_by_id(btf, static_cast<uint32_t>(id));
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", name);
  o.Set("kind", btf_is_union(t) ? "union" : "struct");
  o.Set("size", t->size);
  Napi::Array members = Napi::Array::New(env);
  const struct btf_member* m = btf_members(t);
  uint16_t vlen = btf_vlen(t);
  for (uint16_t i = 0; i < vlen; i++, m++) {
    Napi::Object mo = Napi::Object::New(env);
    const char* mname = btf__name_by_offset(btf, m->name_off);
    uint32_t bit_off = btf_member_bit_offset(t, i);
    uint32_t bit_size = btf_member_bitfield_size(t, i);
    __s64 size = btf__resolve_size(btf, m->type);
    if (size < 0) Fail(env, "btf__resolve_size", static_cast<int>(size), "cannot size member '" + std::string(mname ? mname : "") + "' of struct " + name + " in " + source);
    mo.Set("name", mname != nullptr ? mname : "");
    mo.Set("offset", bit_off / 8);
    mo.Set("size", static_cast<double>(size));
    mo.Set("bitOffset", bit_off);
    mo.Set("bitSize", bit_size);
    mo.Set("type", TypeName(btf, m->type));
    members.Set(i, mo);
  }
  o.Set("members", members);
  return o;
}

std::vector<DatasecVar> DatasecVars(const struct btf* btf, const char* sec) {
  std::vector<DatasecVar> out;
  __s32 id = btf__find_by_name_kind(btf, sec, BTF_KIND_DATASEC);
  if (id < 0) return out;
  const struct btf_type* t = btf__type_by_id(btf, static_cast<uint32_t>(id));
  const struct btf_var_secinfo* vs = btf_var_secinfos(t);
  for (uint16_t i = 0; i < btf_vlen(t); i++, vs++) {
    const struct btf_type* var = btf__type_by_id(btf, vs->type);
    if (var == nullptr || !btf_is_var(var)) continue;
    const char* name = btf__name_by_offset(btf, var->name_off);
    out.push_back({name != nullptr ? name : "", vs->offset, vs->size});
  }
  std::sort(out.begin(), out.end(), [](const DatasecVar& a, const DatasecVar& b) { return a.offset < b.offset; });
  return out;
}

Napi::Value BtfStructFromFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "btf__parse_elf", "path");
  std::string name = StringArg(info, 1, "btf__find_by_name_kind", "name");
  LibbpfLog log;
  struct btf* raw = btf__parse_elf(path.c_str(), nullptr);
  if (raw == nullptr) {
    int e = errno;
    Fail(env, "btf__parse_elf", e, "cannot read BTF from " + path,
         e == ENOENT ? "the file does not exist, or has no .BTF section (build with clang -g)" : "is it a BPF object built with -g?");
  }
  std::unique_ptr<struct btf, void (*)(struct btf*)> btf(raw, btf__free);
  return StructLayout(env, btf.get(), name, path);
}

}  // namespace tabby
