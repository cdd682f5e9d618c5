// A test kernel for CudaModule on a real GPU (CudaGpuTest). Its PTX, generated with
//   nvcc -arch=compute_80 -ptx -o ../resources/dev/eva4j/cuda/axpy_test.ptx axpy_test.cu
// is checked in, so the GPU test needs no nvcc; the driver JIT-compiles it for the device.
extern "C" __global__ void axpy_f32(float* y, const float* x, int n, float a) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] += a * x[i];
}
