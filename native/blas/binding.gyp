{
  "targets": [
    {
      "target_name": "latentflow_blas",
      "sources": ["src/blas.c", "src/dense.c"],
      "cflags": ["-O3", "-std=c11", "-fno-math-errno", "-fopenmp-simd", "-Wall", "-Wextra"],
      "libraries": ["-lopenblas"]
    }
  ]
}
