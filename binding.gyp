{
  "targets": [
    {
      "target_name": "rwkv_music_native",
      "sources": [
        "native/addon.cc",
        "native/pool.cc",
        "native/wkv.cc",
        "native/wkv6.cc",
        "native/tokenshift.cc",
        "native/layernorm.cc",
        "native/elementwise.cc",
        "native/loss.cc",
        "native/lstm.cc",
        "native/gemm.cc",
        "native/sgemm.cc",
        "native/fmapeak.cc"
      ],
      "cflags_cc": ["-O3", "-march=native", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
