#include "errors.h"

#include "addon_data.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tabby {

namespace {

thread_local std::string* g_capture = nullptr;
bool g_debug = false;

int PrintFn(enum libbpf_print_level level, const char* fmt, va_list args) {
  char buf[1024];
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(buf, sizeof(buf), fmt, copy);
  va_end(copy);
  if (n < 0) return 0;
  if (g_capture != nullptr) {
    // Debug-level chatter (every relocation, every map created) is kept out of errors.
    if (level != LIBBPF_DEBUG) {
      if (static_cast<size_t>(n) >= sizeof(buf)) {
        // The verifier log comes in long pieces: format it again at full length.
        std::string big(static_cast<size_t>(n) + 1, '\0');
        va_list again;
        va_copy(again, args);
        vsnprintf(big.data(), big.size(), fmt, again);
        va_end(again);
        big.resize(static_cast<size_t>(n));
        g_capture->append(big);
      } else {
        g_capture->append(buf, static_cast<size_t>(n));
      }
    }
  }
  if (g_debug) {
    va_list echo;
    va_copy(echo, args);
    vfprintf(stderr, fmt, echo);
    va_end(echo);
  }
  return n;
}

}  // namespace

void InstallLibbpfPrint() {
  const char* dbg = getenv("TABBY_LIBBPF_DEBUG");
  g_debug = dbg != nullptr && *dbg != '\0' && strcmp(dbg, "0") != 0;
  libbpf_set_print(PrintFn);
}

LibbpfLog::LibbpfLog() : previous_(g_capture) { g_capture = &text_; }

LibbpfLog::~LibbpfLog() { g_capture = previous_; }

int NormalizeErrno(int err) {
  if (err < 0) err = -err;
  switch (err) {
    case 0: return EIO;  // a failure without a code: never report success as the cause
    case LIBBPF_ERRNO__LIBELF: return EIO;
    case LIBBPF_ERRNO__FORMAT: return ENOEXEC;
    case LIBBPF_ERRNO__ENDIAN: return ENOEXEC;
    case LIBBPF_ERRNO__RELOC: return ENOEXEC;
    case LIBBPF_ERRNO__VERIFY: return EACCES;
    case LIBBPF_ERRNO__PROG2BIG: return E2BIG;
    case LIBBPF_ERRNO__PROGTYPE: return EOPNOTSUPP;
    case 524: return EOPNOTSUPP;  // the kernel's internal ENOTSUPP leaks out of some bpf calls
    default:
      if (err >= __LIBBPF_ERRNO__START && err < __LIBBPF_ERRNO__END) return EINVAL;
      return err;
  }
}

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
  return "E" + std::to_string(err);
}

void SetErrorClass(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Fail(info.Env(), "setErrorClass", EINVAL, "setErrorClass needs a constructor function");
  }
  Data(info.Env())->error_class = Napi::Persistent(info[0].As<Napi::Function>());
}

Napi::Object MakeError(Napi::Env env, const std::string& op, int err, const std::string& what, const std::string& hint) {
  int real = NormalizeErrno(err);
  std::string message = what;
  int raw = err < 0 ? -err : err;
  message += ": ";
  if (raw >= __LIBBPF_ERRNO__START && raw < __LIBBPF_ERRNO__END) {
    char buf[128];
    libbpf_strerror(raw, buf, sizeof(buf));
    message += buf;
    message += " (libbpf error " + std::to_string(raw) + ", reported as " + ErrnoName(real) + ")";
  } else {
    message += strerror(real);
    message += " (" + ErrnoName(real) + ")";
  }
  if (!hint.empty()) message += "; " + hint;
  if (g_capture != nullptr && !g_capture->empty()) {
    // The innermost capture is the one of the current call.
    std::string tail = g_capture->size() > 3000 ? "...\n" + g_capture->substr(g_capture->size() - 3000) : *g_capture;
    while (!tail.empty() && tail.back() == '\n') tail.pop_back();
    message += "\nlibbpf said:\n" + tail;
  }

  AddonData* data = Data(env);
  Napi::Object error;
  if (!data->error_class.IsEmpty()) {
    error = data->error_class.New({Napi::String::New(env, op), Napi::Number::New(env, real),
                                   Napi::String::New(env, message)});
  } else {
    error = Napi::Error::New(env, message).Value();
    error.Set("op", op);
    error.Set("errno", real);
    error.Set("code", ErrnoName(real));
  }
  return error;
}

void Fail(Napi::Env env, const std::string& op, int err, const std::string& what, const std::string& hint) {
  throw Napi::Error(env, MakeError(env, op, err, what, hint));
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (info.Length() <= i || !info[i].IsString()) {
    Fail(info.Env(), op, EINVAL, std::string("argument '") + name + "' must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

int IntArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    Fail(info.Env(), op, EINVAL, std::string("argument '") + name + "' must be a number");
  }
  return info[i].As<Napi::Number>().Int32Value();
}

Napi::Object OptionsArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() > i && info[i].IsObject()) return info[i].As<Napi::Object>();
  return Napi::Object::New(info.Env());
}

std::string OptString(Napi::Object opts, const char* key) {
  Napi::Value v = opts.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

long long OptInt(Napi::Env env, Napi::Object opts, const char* key, long long dflt, const char* op) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsNumber()) Fail(env, op, EINVAL, std::string("option '") + key + "' must be a number");
  return v.As<Napi::Number>().Int64Value();
}

bool OptBool(Napi::Object opts, const char* key) {
  Napi::Value v = opts.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

}  // namespace tabby
