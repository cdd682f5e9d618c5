/**
 * Host implementations of {@link dev.eva4j.spi.Kernels}: {@link dev.eva4j.api.kernels.HostBuffer} (backend memory as
 * a native {@link java.lang.foreign.MemorySegment}) and {@link dev.eva4j.api.kernels.HostKernels}, every kernel in
 * float32 on the CPU with the GEMMs of a {@link dev.eva4j.api.kernels.HostGemm} (OpenBLAS or the pure-Java GEMM) and
 * everything else in Java (Vector API where it pays, rows in parallel where it pays).
 */
package dev.eva4j.api.kernels;
