// Per-environment state of the addon (one per Node.js main thread or worker).
#pragma once

#include <napi.h>

namespace tabby {

struct AddonData {
  Napi::FunctionReference error_class;   // NativeError, set by the TypeScript loader
  Napi::FunctionReference map_handle;    // MapHandle constructor
};

inline AddonData* Data(Napi::Env env) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data == nullptr) {
    data = new AddonData();
    env.SetInstanceData<AddonData>(data);
  }
  return data;
}

}  // namespace tabby
