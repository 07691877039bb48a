{
  "targets": [
    {
      "target_name": "fieldcal_native",
      "sources": [
        "src/addon.cc",
        "src/common.cc",
        "src/convolution.cc",
        "src/matmul.cc",
        "src/elementwise.cc",
        "src/reductions.cc",
        "src/copies.cc",
        "src/batchnorm.cc",
        "src/lstm.cc",
        "src/physics.cc",
        "src/linalg.cc",
        "src/fields.cc",
        "src/gr4sets.cc"
      ],
      "cflags_cc": ["-O3", "-std=c++17", "-fopenmp", "-fexceptions", "-fno-trapping-math", "-ffp-contract=off", "-fno-math-errno"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-ldnnl", "-fopenmp"],
      # never unloaded: Node dlcloses an addon when the last worker thread that loaded it exits, which
      # unmapped oneDNN and libgomp under another exiting worker (tests/unit/main/compute/nativeUnload.test.ts)
      "ldflags": ["-Wl,-z,nodelete"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
