// The native error model. Every failure becomes one JavaScript error carrying
//   op     the system or libbpf call that failed ("bpf_object__open", "setns", ...)
//   errno  a positive errno (libbpf's private 4000+ codes are mapped to real ones)
//   message  what failed, on what, why (strerror) and the likely fix, plus the tail of
//            what libbpf logged during the call (the verifier log, for a failed load).
// When the TypeScript side has registered its error class (setErrorClass), the error is an
// instance of it (NativeError); otherwise a plain Error with the same fields.
#pragma once

#include <napi.h>

#include <string>

namespace tabby {

// A failure raised where there is no JS environment (a libuv worker thread running a slow
// call); back on the JS thread, MakeError turns it into the same error Fail() throws.
struct NativeFailure {
  std::string op;
  int err;
  std::string what;
  std::string hint;
};

// The JS error for a failure: the registered class (NativeError) or a plain Error.
Napi::Object MakeError(Napi::Env env, const std::string& op, int err, const std::string& what,
                       const std::string& hint = "");

// Throws (as a C++ exception that node-addon-api turns into a JS throw).
[[noreturn]] void Fail(Napi::Env env, const std::string& op, int err, const std::string& what,
                       const std::string& hint = "");

// libbpf returns -errno (and some private codes >= 4000); this gives a positive, real errno.
int NormalizeErrno(int err);

// The symbolic name of an errno ("ENOENT"), or "E<number>".
std::string ErrnoName(int err);

// Registers the JS error class Fail() constructs: new Cls(op, errno, message).
void SetErrorClass(const Napi::CallbackInfo& info);

// Collects what libbpf prints while it is alive (one per native call, on the calling thread),
// so that Fail() can add what libbpf said to the message. Outside a capture libbpf stays quiet, unless the
// environment variable TABBY_LIBBPF_DEBUG is set, which also echoes captured lines to stderr.
class LibbpfLog {
 public:
  LibbpfLog();
  ~LibbpfLog();
  LibbpfLog(const LibbpfLog&) = delete;
  LibbpfLog& operator=(const LibbpfLog&) = delete;
 private:
  std::string text_;
  std::string* previous_;
};

// Installs the libbpf print callback; called once at module load.
void InstallLibbpfPrint();

// Small argument readers for the raw binding. The TypeScript wrapper validates first; these
// are the last line of defence and throw EINVAL with the op given.
std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
int IntArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
Napi::Object OptionsArg(const Napi::CallbackInfo& info, size_t i);
std::string OptString(Napi::Object opts, const char* key);
// Returns `dflt` when the key is absent or undefined.
long long OptInt(Napi::Env env, Napi::Object opts, const char* key, long long dflt, const char* op);
bool OptBool(Napi::Object opts, const char* key);

}  // namespace tabby
