// The CUDA emulator of eva4j's kernel tests: eva4j's kernels compiled for the host (emu_device.h), a fiber scheduler
// that runs a launch block by block, and just enough of the CUDA driver API (libcuda) and cuBLAS (float32 GEMMs,
// naive loops accumulated in double) for the Java bindings to run unchanged on host memory: "device pointers" are
// host addresses, every call is synchronous. Built by the test into one shared library that stands for both.
#include "emu_device.h"
#include "../../main/cuda/eva4j_kernels.cu"

#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <string>
#include <map>
#include <unordered_map>
#include <utility>

dim3 emu_thread_idx, emu_block_idx, emu_block_dim, emu_grid_dim;
double emu_shfl_slots[1024];

namespace {

constexpr size_t STACK = 256 * 1024;

// A fiber per thread slot, started once (makecontext) and then switched with _setjmp/_longjmp (no signal-mask system
// call per switch): between blocks a fiber waits at the end of its loop and runs the kernel body again for the next
// block.
struct Fiber {
    jmp_buf jb;
    ucontext_t boot;
    dim3 tid;
    bool done;
    bool started;
    char* stack;
};

Fiber fibers[1024];
jmp_buf scheduler;
ucontext_t boot_return;
Fiber* current;
int live;                          // threads of the block still running
int bar_count, bar_gen;            // block barrier
int warp_live[32], warp_count[32], warp_gen[32];
void (*body)(void**);
void** body_args;

void yield() {
    Fiber* self = current;
    if (!_setjmp(self->jb)) _longjmp(scheduler, 1);
    emu_thread_idx = self->tid;
}

int warp_of_current() { return emu_linear_tid() >> 5; }

void finish() {
    current->done = true;
    int w = warp_of_current();
    live--;
    warp_live[w]--;
    // a thread that leaves releases barriers the others wait at
    if (bar_count > 0 && bar_count >= live) {
        bar_count = 0;
        bar_gen++;
    }
    if (warp_count[w] > 0 && warp_count[w] >= warp_live[w]) {
        warp_count[w] = 0;
        warp_gen[w]++;
    }
}

void fiber_entry() {
    Fiber* self = current;
    if (!_setjmp(self->jb)) setcontext(&boot_return);   // parked until the first block
    for (;;) {
        emu_thread_idx = self->tid;
        body(body_args);
        finish();
        if (!_setjmp(self->jb)) _longjmp(scheduler, 1);  // parked until the next block
    }
}

void start(Fiber& f) {
    // each stack its own mapping with an inaccessible guard page below it: an overflow faults at once
    char* m = (char*) mmap(nullptr, STACK + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) abort();
    mprotect(m, 4096, PROT_NONE);
    f.stack = m + 4096;
    getcontext(&f.boot);
    f.boot.uc_stack.ss_sp = f.stack;
    f.boot.uc_stack.ss_size = STACK;
    f.boot.uc_link = nullptr;
    makecontext(&f.boot, fiber_entry, 0);
    current = &f;
    swapcontext(&boot_return, &f.boot);
    f.started = true;
}

}  // namespace

void emu_syncthreads() {
    int g = bar_gen;
    if (++bar_count >= live) {
        bar_count = 0;
        bar_gen++;
        return;
    }
    while (bar_gen == g) yield();
}

void emu_warp_barrier() {
    int w = warp_of_current();
    int g = warp_gen[w];
    if (++warp_count[w] >= warp_live[w]) {
        warp_count[w] = 0;
        warp_gen[w]++;
        return;
    }
    while (warp_gen[w] == g) yield();
}

static void run_grid(void (*fn)(void**), void** args, dim3 grid, dim3 block) {
    body = fn;
    body_args = args;
    emu_grid_dim = grid;
    emu_block_dim = block;
    int n = (int) (block.x * block.y * block.z);
    for (int t = 0; t < n; t++) if (!fibers[t].started) start(fibers[t]);
    for (unsigned bz = 0; bz < grid.z; bz++)
        for (unsigned by = 0; by < grid.y; by++)
            for (unsigned bx = 0; bx < grid.x; bx++) {
                emu_block_idx = {bx, by, bz};
                live = n;
                bar_count = bar_gen = 0;
                for (int w = 0; w < 32; w++) {
                    warp_live[w] = 0;
                    warp_count[w] = warp_gen[w] = 0;
                }
                for (int t = 0; t < n; t++) {
                    Fiber& f = fibers[t];
                    f.tid = {(unsigned) (t % block.x), (unsigned) ((t / block.x) % block.y),
                             (unsigned) (t / (block.x * block.y))};
                    f.done = false;
                    warp_live[t >> 5]++;
                }
                bool running = true;
                while (running) {
                    running = false;
                    for (int t = 0; t < n; t++) {
                        if (fibers[t].done) continue;
                        current = &fibers[t];
                        emu_thread_idx = current->tid;
                        if (!_setjmp(scheduler)) _longjmp(current->jb, 1);
                        if (!fibers[t].done) running = true;
                    }
                }
            }
}

// ---- a launcher per kernel: unpacks cuLaunchKernel's void** into the kernel's typed parameters

template <typename... A, size_t... I>
static void call(void (*k)(A...), void** p, std::index_sequence<I...>) {
    k(*static_cast<A*>(p[I])...);
}

// one launcher per kernel (a template on the kernel itself: kernels of the same signature stay distinct)
template <typename F>
struct Sig;
template <typename... A>
struct Sig<void (*)(A...)> {
    template <void (*Kernel)(A...)>
    static void run(void** p) { call(Kernel, p, std::index_sequence_for<A...>{}); }
};

#define K(name) {#name, &Sig<decltype(&name)>::template run<&name>}

static std::unordered_map<std::string, void (*)(void**)>& table() {
    static std::unordered_map<std::string, void (*)(void**)> t = {
#include "kernel_list.inc"
    };
    return t;
}

// ---- the driver API (CUresult = int; CUdeviceptr, CUcontext, CUstream, CUmodule, CUfunction, CUevent = 64 bits)

typedef unsigned long long u64;

extern "C" {
int cuInit(unsigned) { return 0; }
int cuDriverGetVersion(int* v) { *v = 13000; return 0; }
int cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return 101; *d = 0; return 0; }
int cuDeviceGetCount(int* n) { *n = 1; return 0; }
int cuDeviceGetName(char* name, int len, int) { snprintf(name, len, "eva4j CPU emulator"); return 0; }
int cuDeviceGetAttribute(int* v, int attribute, int) {
    *v = attribute == 75 ? 9 : attribute == 76 ? 0 : attribute == 16 ? 1 : 0;
    return 0;
}
int cuDeviceTotalMem_v2(size_t* bytes, int) { *bytes = (size_t) 1 << 34; return 0; }
static u64 current_ctx;
int cuDevicePrimaryCtxRetain(u64* ctx, int) { *ctx = 0xC0DE; return 0; }
int cuDevicePrimaryCtxRelease_v2(int) { return 0; }
int cuCtxSetCurrent(u64 ctx) { current_ctx = ctx; return 0; }
int cuCtxGetCurrent(u64* ctx) { *ctx = current_ctx; return 0; }
int cuCtxSynchronize() { return 0; }
int cuMemGetInfo_v2(size_t* free_, size_t* total) { *free_ = *total = (size_t) 1 << 34; return 0; }
int cuStreamCreate(u64* s, unsigned) { *s = 0x57; return 0; }
int cuStreamDestroy_v2(u64) { return 0; }
int cuStreamSynchronize(u64) { return 0; }
int cuEventCreate(u64* e, unsigned) { *e = 0xE7; return 0; }
int cuEventRecord(u64, u64) { return 0; }
int cuEventSynchronize(u64) { return 0; }
int cuEventElapsedTime(float* ms, u64, u64) { *ms = 0; return 0; }
int cuEventDestroy_v2(u64) { return 0; }
// Every allocation has guard bytes on both sides, checked after each call that writes device memory: a kernel,
// copy, memset or GEMM that writes outside its buffers is reported (by name) and the process aborts.
constexpr size_t GUARD = 256;
constexpr unsigned char PATTERN = 0xA5;
static std::map<u64, size_t> allocations;   // user pointer -> rounded size

static void check_guards(const char* call) {
    for (auto& [p, size] : allocations) {
        const unsigned char* lo = (const unsigned char*) p - GUARD;
        const unsigned char* hi = (const unsigned char*) p + size;
        for (size_t i = 0; i < GUARD; i++) {
            if (lo[i] != PATTERN || hi[i] != PATTERN) {
                fprintf(stderr, "buffer at %llx\n", (unsigned long long) p);
                fprintf(stderr, "eva4j CUDA emulator: %s wrote outside a buffer of %zu bytes (%s, byte %zu)\n", call,
                        size, lo[i] != PATTERN ? "before it" : "after it", i);
                abort();
            }
        }
    }
}

int cuMemAlloc_v2(u64* p, size_t bytes) {
    size_t size = (bytes + 255) & ~(size_t) 255;
    unsigned char* m = (unsigned char*) aligned_alloc(256, size + 2 * GUARD);
    if (!m) return 2;
    memset(m, PATTERN, GUARD);
    memset(m + GUARD, 0xFF, size);   // garbage (NaN floats), as fresh device memory may hold
    memset(m + GUARD + size, PATTERN, GUARD);
    *p = (u64) (m + GUARD);
    allocations[*p] = size;
    return 0;
}
int cuMemFree_v2(u64 p) {
    check_guards("a call before cuMemFree");
    allocations.erase(p);
    free((void*) (p - GUARD));
    return 0;
}
int cuMemAllocAsync(u64* p, size_t bytes, u64) { return cuMemAlloc_v2(p, bytes); }
int cuMemFreeAsync(u64 p, u64) { return cuMemFree_v2(p); }
int cuMemAllocHost_v2(void** p, size_t bytes) { *p = malloc(bytes); return *p ? 0 : 2; }
int cuMemFreeHost(void* p) { free(p); return 0; }
int cuMemcpyHtoD_v2(u64 dst, const void* src, size_t n) { memmove((void*) dst, src, n); check_guards("cuMemcpyHtoD"); return 0; }
int cuMemcpyDtoH_v2(void* dst, u64 src, size_t n) { memmove(dst, (void*) src, n); return 0; }
int cuMemcpyDtoD_v2(u64 dst, u64 src, size_t n) { memmove((void*) dst, (void*) src, n); check_guards("cuMemcpyDtoD"); return 0; }
int cuMemcpyHtoDAsync_v2(u64 dst, const void* src, size_t n, u64) { return cuMemcpyHtoD_v2(dst, src, n); }
int cuMemcpyDtoHAsync_v2(void* dst, u64 src, size_t n, u64) { return cuMemcpyDtoH_v2(dst, src, n); }
int cuMemcpyDtoDAsync_v2(u64 dst, u64 src, size_t n, u64) { return cuMemcpyDtoD_v2(dst, src, n); }
int cuMemsetD32_v2(u64 dst, unsigned v, size_t n) {
    for (size_t i = 0; i < n; i++) ((unsigned*) dst)[i] = v;
    check_guards("cuMemsetD32");
    return 0;
}
int cuMemsetD8_v2(u64 dst, unsigned char v, size_t n) { memset((void*) dst, v, n); return 0; }
int cuMemsetD32Async(u64 dst, unsigned v, size_t n, u64) { return cuMemsetD32_v2(dst, v, n); }
int cuModuleLoadData(u64* m, const void*) { *m = 0x30D; return 0; }
int cuModuleGetFunction(u64* f, u64, const char* name) {
    auto it = table().find(name);
    if (it == table().end()) return 500;   // CUDA_ERROR_NOT_FOUND
    *f = (u64) it->second;
    return 0;
}
int cuModuleUnload(u64) { return 0; }
int cuFuncSetAttribute(u64, int, int) { return 0; }
int cuLaunchKernel(u64 f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared, u64, void** params, void** extra) {
    if (shared != 0 || extra != nullptr || bx * by * bz > 1024 || (bx * by * bz) % 32 != 0) return 1;
    if (getenv("EMU_TRACE")) {
        fprintf(stderr, "launch grid %u %u %u block %u %u %u params", gx, gy, gz, bx, by, bz);
        for (int i = 0; i < 3; i++) fprintf(stderr, " %llx", *(unsigned long long*) params[i]);
        fprintf(stderr, "\n");
    }
    run_grid((void (*)(void**)) f, params, {gx, gy, gz}, {bx, by, bz});
    for (auto& [name, fn] : table()) {
        if ((u64) fn == f) {
            check_guards(name.c_str());
            break;
        }
    }
    return 0;
}
int cuGetErrorName(int, const char** s) { *s = "CUDA_ERROR_EMULATED"; return 0; }
int cuGetErrorString(int, const char** s) { *s = "an error of the CPU emulator"; return 0; }

// ---- cuBLAS (column-major, as the real one)

int cublasCreate_v2(u64* h) { *h = 0xB1A5; return 0; }
int cublasDestroy_v2(u64) { return 0; }
int cublasSetStream_v2(u64, u64) { return 0; }
int cublasSetMathMode(u64, int) { return 0; }
int cublasGetVersion_v2(u64, int* v) { *v = 130000; return 0; }
const char* cublasGetStatusString(int) { return "an error of the CPU emulator"; }

static void sgemm(int ta, int tb, int m, int n, int k, float alpha, const float* A, int lda, const float* B, int ldb,
                  float beta, float* C, int ldc) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int p = 0; p < k; p++) {
                double a = ta ? A[p + (long) i * lda] : A[i + (long) p * lda];
                double b = tb ? B[j + (long) p * ldb] : B[p + (long) j * ldb];
                s += a * b;
            }
            float* c = &C[i + (long) j * ldc];
            *c = beta == 0.0f ? (float) (alpha * s) : (float) (alpha * s + (double) beta * *c);
        }
}

int cublasSgemm_v2(u64, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda,
                   const float* B, int ldb, const float* beta, float* C, int ldc) {
    sgemm(ta, tb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc);
    check_guards("cublasSgemm_v2");
    return 0;
}
int cublasSgemmStridedBatched(u64, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda,
                              long long sa, const float* B, int ldb, long long sb, const float* beta, float* C,
                              int ldc, long long sc, int batch) {
    for (int i = 0; i < batch; i++) sgemm(ta, tb, m, n, k, *alpha, A + i * sa, lda, B + i * sb, ldb, *beta, C + i * sc, ldc);
    return 0;
}
int cublasSgeam(u64, int ta, int tb, int m, int n, const float* alpha, const float* A, int lda, const float* beta,
                const float* B, int ldb, float* C, int ldc) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            float a = *alpha == 0.0f ? 0.0f : *alpha * (ta ? A[j + (long) i * lda] : A[i + (long) j * lda]);
            float b = *beta == 0.0f ? 0.0f : *beta * (tb ? B[j + (long) i * ldb] : B[i + (long) j * ldb]);
            C[i + (long) j * ldc] = a + b;
        }
    check_guards("cublasSgeam");
    return 0;
}
int cublasGemmEx(u64, int, int, int, int, int, const void*, const void*, int, int, const void*, int, int, const void*,
                 void*, int, int, int, int) {
    return 15;   // CUBLAS_STATUS_NOT_SUPPORTED: the emulator has float32 GEMMs only
}
int cublasGemmStridedBatchedEx(u64, int, int, int, int, int, const void*, const void*, int, int, long long,
                               const void*, int, int, long long, const void*, void*, int, int, long long, int, int,
                               int) {
    return 15;
}
}
