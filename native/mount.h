// Mounting a bpf filesystem, so the agent never shells out to mount(8) (STYLE: no `ip`,
// `tc`, `mount` from the agent). A fresh machine may boot without /sys/fs/bpf mounted;
// maps pinned there are what lets programs and state survive an agent restart.
#pragma once

#include <napi.h>

namespace tabby {

// mountBpffs(dir, { mode? }): mount("bpf", dir, "bpf", 0, "mode=<octal>"); mode defaults
// to 0700 (pins hold the dataplane's state: root's business only). Throws op "mount".
Napi::Value MountBpffs(const Napi::CallbackInfo& info);

}  // namespace tabby
