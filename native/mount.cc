#include "mount.h"

#include <sys/mount.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "errors.h"

namespace tabby {

Napi::Value MountBpffs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = StringArg(info, 0, "mount", "dir");
  Napi::Object opts = OptionsArg(info, 1);
  long long mode = OptInt(env, opts, "mode", 0700, "mount");
  if (mode < 0 || mode > 07777) Fail(env, "mount", EINVAL, "mode " + std::to_string(mode) + " is not a file mode", "use e.g. 0o700");
  char data[32];
  snprintf(data, sizeof data, "mode=%llo", mode);
  if (mount("bpf", dir.c_str(), "bpf", 0, data) < 0) {
    int err = errno;
    Fail(env, "mount", err, "cannot mount a bpf filesystem at " + dir,
         err == EPERM    ? "mounting needs CAP_SYS_ADMIN: run the agent as root"
         : err == ENOENT ? "the directory does not exist: create it first"
         : err == ENODEV ? "this kernel has no bpf filesystem (CONFIG_BPF_SYSCALL); use --dataplane legacy"
                         : "");
  }
  return env.Undefined();
}

}  // namespace tabby
