{
  "targets": [
    {
      "target_name": "latentflow_blas",
      "sources": ["src/blas.c", "src/dense.c", "src/noise.c"],
      "cflags": ["-O3", "-std=c11", "-fno-math-errno", "-fopenmp-simd", "-ffp-contract=off", "-Wall", "-Wextra"],
      "libraries": ["-lopenblas"]
    }
  ]
}
