// Program-level calls that work on a program fd: its kernel info, and BPF_PROG_TEST_RUN.
#pragma once

#include <napi.h>

namespace tabby {

// progInfo(fd) -> { id, name, type, tag }
Napi::Value ProgInfo(const Napi::CallbackInfo& info);
// progInfoById(id) -> { id, name, type, tag } | null when no program has that id
Napi::Value ProgInfoById(const Napi::CallbackInfo& info);
// progTestRun(fd, { data, ctx?, repeat?, dataOutSize? }) -> { retval, duration, data, ctx }
Napi::Value ProgTestRun(const Napi::CallbackInfo& info);

// Fills o with the kernel's info about program fd; false if the fd is not a program.
bool FillProgInfo(Napi::Env env, int fd, Napi::Object o);

}  // namespace tabby
