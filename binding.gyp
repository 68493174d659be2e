# The native fd-passing addon (SCM_RIGHTS for the hot upgrade; see native/skiff_fd.c).
# Built by `node-gyp rebuild` (npm install, or scripts/ensure.mjs) into build/Release/skiff_fd.node.
{
  "targets": [
    {
      "target_name": "skiff_fd",
      "sources": ["native/skiff_fd.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags!": ["-O3"],
      "cflags": ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
