# Built by `node-gyp rebuild` (npm runs it on install; `npm run build` runs it before tsc).
# Three targets:
#   tabby_native  the N-API addon over the system libbpf -> build/Release/tabby_native.node
#   tabby-cni     the compiled CNI plugin shim (native/cni-shim/, docs/design/cni.md)
#                 -> build/Release/tabby-cni
#   bpf_objects   bpf/*.bpf.c compiled by clang -target bpf -> build/bpf/<name>.bpf.o
#                 (bpf/build.mjs holds the clang flags and the list of programs)
{
  "targets": [
    {
      "target_name": "tabby_native",
      "sources": [
        "native/addon.cc",
        "native/btf.cc",
        "native/errors.cc",
        "native/map.cc",
        "native/mount.cc",
        "native/netlink.cc",
        "native/netns.cc",
        "native/object.cc",
        "native/prog.cc",
        "native/tc.cc",
        "native/tcp.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "_GNU_SOURCE"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags": ["<!@(pkg-config --cflags libbpf)"],
      "cflags_cc": ["-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["<!@(pkg-config --libs libbpf)", "-lelf", "-lz"],
      "dependencies": ["bpf_objects"]
    },
    {
      "target_name": "tabby-cni",
      "type": "executable",
      "sources": [
        "native/cni-shim/main.c",
        "native/cni-shim/json-scan.c"
      ],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra"]
    },
    {
      "target_name": "bpf_objects",
      "type": "none",
      "actions": [
        {
          "action_name": "compile_bpf",
          "inputs": ["<!@(node bpf/build.mjs --list-inputs)"],
          "outputs": ["<!@(node bpf/build.mjs --list-outputs)"],
          "action": ["node", "bpf/build.mjs", "--out", "build/bpf"],
          "message": "Compiling bpf/*.bpf.c with clang -target bpf"
        }
      ]
    }
  ]
}
