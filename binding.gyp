# node-gyp build of tortie's socket-option addon (TCP MD5, GTSM); see native/sockopt.c.
{
  "targets": [
    {
      "target_name": "tortie_sockopt",
      "sources": ["native/sockopt.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    }
  ]
}
