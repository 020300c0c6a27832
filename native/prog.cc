#include "prog.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "errors.h"

namespace tabby {

bool FillProgInfo(Napi::Env env, int fd, Napi::Object o) {
  struct bpf_prog_info pi;
  memset(&pi, 0, sizeof(pi));
  uint32_t len = sizeof(pi);
  if (bpf_obj_get_info_by_fd(fd, &pi, &len) < 0) return false;
  o.Set("id", pi.id);
  o.Set("name", pi.name);
  const char* type = libbpf_bpf_prog_type_str(static_cast<enum bpf_prog_type>(pi.type));
  o.Set("type", type != nullptr ? type : "unknown");
  char tag[2 * BPF_TAG_SIZE + 1];
  for (int i = 0; i < BPF_TAG_SIZE; i++) snprintf(tag + 2 * i, 3, "%02x", pi.tag[i]);
  o.Set("tag", tag);
  (void)env;
  return true;
}

Napi::Value ProgInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "bpf_obj_get_info_by_fd", "fd");
  Napi::Object o = Napi::Object::New(env);
  if (!FillProgInfo(env, fd, o)) {
    Fail(env, "bpf_obj_get_info_by_fd", errno, "cannot read the info of program fd " + std::to_string(fd),
         "was its object closed?");
  }
  return o;
}

Napi::Value ProgInfoById(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int id = IntArg(info, 0, "bpf_prog_get_fd_by_id", "id");
  int fd = bpf_prog_get_fd_by_id(static_cast<uint32_t>(id));
  if (fd < 0) {
    if (errno == ENOENT) return env.Null();
    Fail(env, "bpf_prog_get_fd_by_id", errno, "cannot open program id " + std::to_string(id), "needs root");
  }
  Napi::Object o = Napi::Object::New(env);
  bool ok = FillProgInfo(env, fd, o);
  int e = errno;
  close(fd);
  if (!ok) Fail(env, "bpf_obj_get_info_by_fd", e, "cannot read the info of program id " + std::to_string(id));
  return o;
}

Napi::Value ProgTestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "bpf_prog_test_run_opts";
  int fd = IntArg(info, 0, op, "fd");
  Napi::Object opts = OptionsArg(info, 1);
  Napi::Value data = opts.Get("data");
  if (!data.IsBuffer() || data.As<Napi::Buffer<uint8_t>>().Length() == 0) {
    Fail(env, op, EINVAL, "test run needs a non-empty data Buffer (the packet)");
  }
  Napi::Buffer<uint8_t> in = data.As<Napi::Buffer<uint8_t>>();
  long long repeat = OptInt(env, opts, "repeat", 1, op);
  long long out_size = OptInt(env, opts, "dataOutSize", static_cast<long long>(in.Length()) + 4096, op);
  if (repeat < 1 || repeat > 100000000) Fail(env, op, EINVAL, "repeat must be between 1 and 100000000");
  if (out_size < 1 || out_size > 16 * 1024 * 1024) Fail(env, op, EINVAL, "dataOutSize must be between 1 and 16 MiB");

  std::vector<uint8_t> out(static_cast<size_t>(out_size));
  struct bpf_test_run_opts to;
  memset(&to, 0, sizeof(to));
  to.sz = sizeof(to);
  to.data_in = in.Data();
  to.data_size_in = static_cast<uint32_t>(in.Length());
  to.data_out = out.data();
  to.data_size_out = static_cast<uint32_t>(out.size());
  to.repeat = static_cast<int>(repeat);

  Napi::Value ctx = opts.Get("ctx");
  std::vector<uint8_t> ctx_out;
  if (ctx.IsBuffer()) {
    Napi::Buffer<uint8_t> c = ctx.As<Napi::Buffer<uint8_t>>();
    to.ctx_in = c.Data();
    to.ctx_size_in = static_cast<uint32_t>(c.Length());
    ctx_out.resize(c.Length());
    to.ctx_out = ctx_out.data();
    to.ctx_size_out = static_cast<uint32_t>(ctx_out.size());
  }

  int err = bpf_prog_test_run_opts(fd, &to);
  if (err < 0) {
    int e = errno;
    Fail(env, op, e, "test run of program fd " + std::to_string(fd) + " failed",
         e == ENOSPC   ? "the program's output did not fit: raise dataOutSize"
         : e == EINVAL ? "the kernel wants at least an Ethernet header plus the L3 header its EtherType announces (20 bytes for IPv4), "
                         "and a ctx that is a struct __sk_buff with only the settable fields (mark, priority, ifindex, cb, ...) non-zero"
         : e == EBADF  ? "the program fd is closed (was its object closed?)"
         : e == ENOTSUP || e == 524 ? "this program type cannot be test-run" : "");
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("retval", to.retval);
  r.Set("duration", to.duration);
  r.Set("data", Napi::Buffer<uint8_t>::Copy(env, out.data(), std::min<size_t>(to.data_size_out, out.size())));
  r.Set("ctx", ctx.IsBuffer() ? Napi::Value(Napi::Buffer<uint8_t>::Copy(env, ctx_out.data(), std::min<size_t>(to.ctx_size_out, ctx_out.size()))) : env.Null());
  return r;
}

}  // namespace tabby
