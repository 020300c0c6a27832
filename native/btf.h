// BTF introspection: the layout of a named struct (size, members with byte offsets and
// sizes) and the variables of a data section, from an object file or a loaded object.
// Tests use the layouts to check the TypeScript codecs against the C structs.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

struct btf;

namespace tabby {

struct DatasecVar {
  std::string name;
  uint32_t offset;
  uint32_t size;
};

// { name, kind: 'struct'|'union', size, members: [{ name, offset, size, bitOffset, bitSize, type }] }
Napi::Object StructLayout(Napi::Env env, const struct btf* btf, const std::string& name, const std::string& source);

// The variables of data section `sec` (".rodata"), in offset order; empty if there is none.
std::vector<DatasecVar> DatasecVars(const struct btf* btf, const char* sec);

// btfStruct(objectPath, structName)
Napi::Value BtfStructFromFile(const Napi::CallbackInfo& info);

}  // namespace tabby
