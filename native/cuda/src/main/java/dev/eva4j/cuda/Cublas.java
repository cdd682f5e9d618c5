package dev.eva4j.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.function.Function;

/**
 * A cuBLAS handle of one {@link CudaContext}, bound to the context's stream, through FFM. Every call checks its
 * {@code cublasStatus_t} and throws a {@link CudaException} naming the call, the status name and cuBLAS' own text
 * ({@code cublasGetStatusString}). Arguments (sizes, leading dimensions, null pointers, data and compute types) are
 * checked before any native call and a mistake is an {@link IllegalArgumentException} naming it.
 *
 * <h2>Column-major</h2>
 * cuBLAS, like the reference BLAS, stores matrices <b>column-major</b>: element (i, j) of an m x n matrix with
 * leading dimension ld lies at {@code i + j*ld}. The raw methods ({@link #sgemm}, {@link #sgemmStridedBatched},
 * {@link #gemmEx}, {@link #gemmStridedBatchedEx}) take column-major operands as cuBLAS does. eva4j's tensors are
 * <b>row-major</b>; a row-major m x n matrix with leading dimension ld is, read column-major, its n x m transpose with
 * the same ld. So the row-major product C = op(A)·op(B) is the column-major product C^T = op(B)^T·op(A)^T, which is
 * cuBLAS called with the operands swapped and m and n swapped, the transposition flags unchanged. The
 * {@code ...RowMajor} methods do exactly that; in them every leading dimension is a row-major one (the distance
 * between the starts of two rows as stored).
 *
 * <p>Scalars (alpha, beta) are passed by host pointer ({@code CUBLAS_POINTER_MODE_HOST}, the default). Calls are
 * asynchronous on the stream; errors of execution surface at the next synchronisation. Methods are synchronised on
 * this object (a cuBLAS handle must not be used by two threads at once); any thread may call them (the context is
 * bound first).
 */
public final class Cublas implements AutoCloseable {
    private static final Linker LINKER = Linker.nativeLinker();

    /** {@code CUBLAS_OP_N} */
    public static final int OP_N = 0;
    /** {@code CUBLAS_OP_T} */
    public static final int OP_T = 1;
    /** {@code CUDA_R_32F} (library_types.h) */
    public static final int CUDA_R_32F = 0;
    /** {@code CUDA_R_64F} */
    public static final int CUDA_R_64F = 1;
    /** {@code CUDA_R_16F} */
    public static final int CUDA_R_16F = 2;
    /** {@code CUDA_R_16BF} */
    public static final int CUDA_R_16BF = 14;
    /** {@code CUBLAS_COMPUTE_32F}: float32 accumulation, no reduced-precision inputs. */
    public static final int COMPUTE_32F = 68;
    /** {@code CUBLAS_COMPUTE_32F_PEDANTIC} */
    public static final int COMPUTE_32F_PEDANTIC = 69;
    /** {@code CUBLAS_COMPUTE_32F_FAST_16F} */
    public static final int COMPUTE_32F_FAST_16F = 74;
    /** {@code CUBLAS_COMPUTE_32F_FAST_16BF} */
    public static final int COMPUTE_32F_FAST_16BF = 75;
    /** {@code CUBLAS_COMPUTE_32F_FAST_TF32}: float32 inputs rounded to TF32 on tensor cores, float32 accumulation. */
    public static final int COMPUTE_32F_FAST_TF32 = 77;
    /** {@code CUBLAS_GEMM_DEFAULT} */
    public static final int GEMM_DEFAULT = -1;
    /** {@code CUBLAS_DEFAULT_MATH} */
    public static final int DEFAULT_MATH = 0;
    /** {@code CUBLAS_PEDANTIC_MATH} */
    public static final int PEDANTIC_MATH = 2;
    /** {@code CUBLAS_TF32_TENSOR_OP_MATH}: lets the float32 routines ({@code cublasSgemm}) use TF32 tensor cores. */
    public static final int TF32_TENSOR_OP_MATH = 3;

    private final CudaContext context;
    private final long handle;
    private boolean closed;

    // cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
    private final MethodHandle cublasCreate;
    // cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
    private final MethodHandle cublasDestroy;
    // cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)
    private final MethodHandle cublasSetStream;
    // cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)
    private final MethodHandle cublasSetMathMode;
    // cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version)
    private final MethodHandle cublasGetVersion;
    // const char* cublasGetStatusString(cublasStatus_t status)
    private final MethodHandle cublasGetStatusString;
    // cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
    //     int m, int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb,
    //     const float *beta, float *C, int ldc)
    private final MethodHandle cublasSgemm;
    // cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
    //     cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda,
    //     long long int strideA, const float *B, int ldb, long long int strideB, const float *beta, float *C,
    //     int ldc, long long int strideC, int batchCount)
    private final MethodHandle cublasSgemmStridedBatched;
    // cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
    //     int m, int n, int k, const void *alpha, const void *A, cudaDataType Atype, int lda, const void *B,
    //     cudaDataType Btype, int ldb, const void *beta, void *C, cudaDataType Ctype, int ldc,
    //     cublasComputeType_t computeType, cublasGemmAlgo_t algo)
    private final MethodHandle cublasGemmEx;
    // cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
    //     cublasOperation_t transb, int m, int n, int k, const void *alpha, const void *A, cudaDataType Atype,
    //     int lda, long long int strideA, const void *B, cudaDataType Btype, int ldb, long long int strideB,
    //     const void *beta, void *C, cudaDataType Ctype, int ldc, long long int strideC, int batchCount,
    //     cublasComputeType_t computeType, cublasGemmAlgo_t algo)
    private final MethodHandle cublasGemmStridedBatchedEx;
    // cublasStatus_t cublasSgeam(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
    //     int m, int n, const float *alpha, const float *A, int lda, const float *beta, const float *B, int ldb,
    //     float *C, int ldc)
    private final MethodHandle cublasSgeam;

    Cublas(CudaContext context, CudaLibraries libraries) {
        this(context, libraries.load(CudaLibraries.Library.CUBLAS));
    }

    Cublas(CudaContext context, SymbolLookup lookup) {
        this.context = context;
        Function<String, MemorySegment> sym = CudaLibraries.symbols(lookup, "libcublas");
        cublasCreate = LINKER.downcallHandle(sym.apply("cublasCreate_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cublasDestroy = LINKER.downcallHandle(sym.apply("cublasDestroy_v2"), FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        cublasSetStream = LINKER.downcallHandle(sym.apply("cublasSetStream_v2"),
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
        cublasSetMathMode = LINKER.downcallHandle(sym.apply("cublasSetMathMode"),
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
        cublasGetVersion = LINKER.downcallHandle(sym.apply("cublasGetVersion_v2"),
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        cublasGetStatusString = lookup.find("cublasGetStatusString")
                .map(s -> LINKER.downcallHandle(s, FunctionDescriptor.of(ADDRESS, JAVA_INT))).orElse(null);
        cublasSgemm = LINKER.downcallHandle(sym.apply("cublasSgemm_v2"), FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        cublasSgemmStridedBatched = LINKER.downcallHandle(sym.apply("cublasSgemmStridedBatched"),
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                        ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG,
                        ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
        cublasGemmEx = LINKER.downcallHandle(sym.apply("cublasGemmEx"), FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        cublasGemmStridedBatchedEx = LINKER.downcallHandle(sym.apply("cublasGemmStridedBatchedEx"),
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                        ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG,
                        ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT));
        cublasSgeam = LINKER.downcallHandle(sym.apply("cublasSgeam"), FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
        context.bind();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cublasCreate_v2", (int) cublasCreate.invokeExact(out));
            this.handle = out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        try {
            check("cublasSetStream_v2", (int) cublasSetStream.invokeExact(handle, context.stream()));
        } catch (Throwable t) {
            try {
                int ignored = (int) cublasDestroy.invokeExact(handle);
            } catch (Throwable ignored) {
                // reporting the first failure
            }
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    private void check(String call, int status) {
        if (status != 0) throw CudaStatus.cublas(call, status, statusString(status));
    }

    /** cuBLAS' description of a status ({@code cublasGetStatusString}), or null where the library has none. */
    public String statusString(int status) {
        if (cublasGetStatusString == null) return null;
        try {
            MemorySegment p = (MemorySegment) cublasGetStatusString.invokeExact(status);
            return p.equals(MemorySegment.NULL) ? null : p.reinterpret(512).getString(0);
        } catch (Throwable t) {
            return null;
        }
    }

    public CudaContext context() {
        return context;
    }

    /** The {@code cublasHandle_t}. */
    public long handle() {
        return handle;
    }

    /** cuBLAS' version number, e.g. 130000 for 13.0.0 ({@code cublasGetVersion_v2}). */
    public synchronized int version() {
        ensureOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cublasGetVersion_v2", (int) cublasGetVersion.invokeExact(handle, out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cublasSetMathMode}: {@link #DEFAULT_MATH}, {@link #PEDANTIC_MATH} or {@link #TF32_TENSOR_OP_MATH}. */
    public synchronized void setMathMode(int mode) {
        ensureOpen();
        context.bind();
        try {
            check("cublasSetMathMode", (int) cublasSetMathMode.invokeExact(handle, mode));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Binds the handle to another stream ({@code cublasSetStream_v2}); the context's stream by default. */
    public synchronized void setStream(long stream) {
        ensureOpen();
        try {
            check("cublasSetStream_v2", (int) cublasSetStream.invokeExact(handle, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("cuBLAS handle is destroyed");
    }

    // ---- argument checks (column-major, before any native call) ----

    static void checkOp(int op, String name) {
        if (op != OP_N && op != OP_T) throw new IllegalArgumentException(name + " must be OP_N (0) or OP_T (1), got " + op);
    }

    /**
     * Checks a column-major GEMM's sizes: op(A) m x k, op(B) k x n, C m x n; leading dimensions at least the stored
     * row counts (and >= 1); pointers non-null when their operand is non-empty.
     */
    static void checkGemm(int transa, int transb, int m, int n, int k, long a, int lda, long b, int ldb, long c, int ldc) {
        checkOp(transa, "transa");
        checkOp(transb, "transb");
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("m, n and k must be >= 0, got m=" + m + " n=" + n + " k=" + k);
        }
        int aRows = transa == OP_N ? m : k;
        int bRows = transb == OP_N ? k : n;
        if (lda < Math.max(1, aRows)) throw new IllegalArgumentException("lda must be >= max(1, " + aRows + "), got " + lda);
        if (ldb < Math.max(1, bRows)) throw new IllegalArgumentException("ldb must be >= max(1, " + bRows + "), got " + ldb);
        if (ldc < Math.max(1, m)) throw new IllegalArgumentException("ldc must be >= max(1, " + m + "), got " + ldc);
        if ((long) m * k > 0 && a == 0) throw new IllegalArgumentException("A is a null device pointer");
        if ((long) k * n > 0 && b == 0) throw new IllegalArgumentException("B is a null device pointer");
        if ((long) m * n > 0 && c == 0) throw new IllegalArgumentException("C is a null device pointer");
    }

    static void checkBatch(long strideA, long strideB, long strideC, int batch, int m, int n, int ldc) {
        if (batch < 0) throw new IllegalArgumentException("batch count must be >= 0, got " + batch);
        if (strideA < 0 || strideB < 0 || strideC < 0) {
            throw new IllegalArgumentException("strides must be >= 0, got " + strideA + ", " + strideB + ", " + strideC);
        }
        if (batch > 1 && (long) m * n > 0 && strideC < (long) ldc * (n - 1) + m) {
            throw new IllegalArgumentException("strideC " + strideC + " makes the batch's C matrices overlap (need >= "
                    + ((long) ldc * (n - 1) + m) + ")");
        }
    }

    static void checkTypes(int aType, int bType, int cType, int computeType) {
        for (int t : new int[] {aType, bType, cType}) {
            if (t != CUDA_R_32F && t != CUDA_R_16BF && t != CUDA_R_16F) {
                throw new IllegalArgumentException("data type must be CUDA_R_32F (0), CUDA_R_16F (2) or CUDA_R_16BF (14), got " + t);
            }
        }
        if (computeType != COMPUTE_32F && computeType != COMPUTE_32F_PEDANTIC && computeType != COMPUTE_32F_FAST_TF32
                && computeType != COMPUTE_32F_FAST_16BF && computeType != COMPUTE_32F_FAST_16F) {
            throw new IllegalArgumentException("compute type must be one of the CUBLAS_COMPUTE_32F family (68, 69, 74, "
                    + "75, 77: float alpha and beta), got " + computeType);
        }
        if (computeType == COMPUTE_32F_FAST_TF32 && (aType != CUDA_R_32F || bType != CUDA_R_32F)) {
            throw new IllegalArgumentException("CUBLAS_COMPUTE_32F_FAST_TF32 takes CUDA_R_32F inputs");
        }
    }

    static int op(boolean transposed) {
        return transposed ? OP_T : OP_N;
    }

    // ---- column-major calls ----

    /** Column-major {@code C = alpha op(A) op(B) + beta C} in float32 ({@code cublasSgemm_v2}). */
    public synchronized void sgemm(int transa, int transb, int m, int n, int k, float alpha, long a, int lda,
                                   long b, int ldb, float beta, long c, int ldc) {
        checkGemm(transa, transb, m, n, k, a, lda, b, ldb, c, ldc);
        ensureOpen();
        if (m == 0 || n == 0) return;
        context.bind();
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment al = ar.allocateFrom(JAVA_FLOAT, alpha);
            MemorySegment be = ar.allocateFrom(JAVA_FLOAT, beta);
            check("cublasSgemm_v2", (int) cublasSgemm.invokeExact(handle, transa, transb, m, n, k, al, a, lda, b, ldb,
                    be, c, ldc));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Column-major strided-batched float32 GEMM ({@code cublasSgemmStridedBatched}); strides in elements. */
    public synchronized void sgemmStridedBatched(int transa, int transb, int m, int n, int k, float alpha, long a,
                                                 int lda, long strideA, long b, int ldb, long strideB, float beta,
                                                 long c, int ldc, long strideC, int batch) {
        checkGemm(transa, transb, m, n, k, a, lda, b, ldb, c, ldc);
        checkBatch(strideA, strideB, strideC, batch, m, n, ldc);
        ensureOpen();
        if (m == 0 || n == 0 || batch == 0) return;
        context.bind();
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment al = ar.allocateFrom(JAVA_FLOAT, alpha);
            MemorySegment be = ar.allocateFrom(JAVA_FLOAT, beta);
            check("cublasSgemmStridedBatched", (int) cublasSgemmStridedBatched.invokeExact(handle, transa, transb,
                    m, n, k, al, a, lda, strideA, b, ldb, strideB, be, c, ldc, strideC, batch));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Column-major mixed-precision GEMM ({@code cublasGemmEx}): A, B, C of the given {@code CUDA_R_*} types,
     * float alpha and beta, a {@code CUBLAS_COMPUTE_32F*} compute type (e.g. {@link #COMPUTE_32F_FAST_TF32} for TF32
     * on float32 inputs, {@link #COMPUTE_32F} with {@link #CUDA_R_16BF} inputs for BF16 with FP32 accumulation),
     * algorithm {@link #GEMM_DEFAULT}.
     */
    public synchronized void gemmEx(int transa, int transb, int m, int n, int k, float alpha, long a, int aType,
                                    int lda, long b, int bType, int ldb, float beta, long c, int cType, int ldc,
                                    int computeType) {
        checkGemm(transa, transb, m, n, k, a, lda, b, ldb, c, ldc);
        checkTypes(aType, bType, cType, computeType);
        ensureOpen();
        if (m == 0 || n == 0) return;
        context.bind();
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment al = ar.allocateFrom(JAVA_FLOAT, alpha);
            MemorySegment be = ar.allocateFrom(JAVA_FLOAT, beta);
            check("cublasGemmEx", (int) cublasGemmEx.invokeExact(handle, transa, transb, m, n, k, al, a, aType, lda,
                    b, bType, ldb, be, c, cType, ldc, computeType, GEMM_DEFAULT));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Column-major strided-batched {@link #gemmEx} ({@code cublasGemmStridedBatchedEx}); strides in elements. */
    public synchronized void gemmStridedBatchedEx(int transa, int transb, int m, int n, int k, float alpha, long a,
                                                  int aType, int lda, long strideA, long b, int bType, int ldb,
                                                  long strideB, float beta, long c, int cType, int ldc, long strideC,
                                                  int batch, int computeType) {
        checkGemm(transa, transb, m, n, k, a, lda, b, ldb, c, ldc);
        checkBatch(strideA, strideB, strideC, batch, m, n, ldc);
        checkTypes(aType, bType, cType, computeType);
        ensureOpen();
        if (m == 0 || n == 0 || batch == 0) return;
        context.bind();
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment al = ar.allocateFrom(JAVA_FLOAT, alpha);
            MemorySegment be = ar.allocateFrom(JAVA_FLOAT, beta);
            check("cublasGemmStridedBatchedEx", (int) cublasGemmStridedBatchedEx.invokeExact(handle, transa, transb,
                    m, n, k, al, a, aType, lda, strideA, b, bType, ldb, strideB, be, c, cType, ldc, strideC, batch,
                    computeType, GEMM_DEFAULT));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Column-major {@code C = alpha op(A) + beta op(B)} ({@code cublasSgeam}), C m x n. With beta = 0 pass
     * {@code b = c}, {@code ldb = ldc}, {@code transb = OP_N} (cuBLAS' documented in-place form; B is then not read).
     */
    public synchronized void sgeam(int transa, int transb, int m, int n, float alpha, long a, int lda, float beta,
                                   long b, int ldb, long c, int ldc) {
        checkOp(transa, "transa");
        checkOp(transb, "transb");
        if (m < 0 || n < 0) throw new IllegalArgumentException("m and n must be >= 0, got m=" + m + " n=" + n);
        int aRows = transa == OP_N ? m : n;
        int bRows = transb == OP_N ? m : n;
        if (lda < Math.max(1, aRows)) throw new IllegalArgumentException("lda must be >= max(1, " + aRows + "), got " + lda);
        if (ldb < Math.max(1, bRows)) throw new IllegalArgumentException("ldb must be >= max(1, " + bRows + "), got " + ldb);
        if (ldc < Math.max(1, m)) throw new IllegalArgumentException("ldc must be >= max(1, " + m + "), got " + ldc);
        if ((long) m * n > 0 && (a == 0 || b == 0 || c == 0)) {
            throw new IllegalArgumentException("A, B and C must be non-null device pointers");
        }
        if (c == a && transa == OP_T) throw new IllegalArgumentException("an out-of-place transpose needs C != A");
        ensureOpen();
        if (m == 0 || n == 0) return;
        context.bind();
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment al = ar.allocateFrom(JAVA_FLOAT, alpha);
            MemorySegment be = ar.allocateFrom(JAVA_FLOAT, beta);
            check("cublasSgeam", (int) cublasSgeam.invokeExact(handle, transa, transb, m, n, al, a, lda, be, b, ldb,
                    c, ldc));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Transposes a row-major {@code rows x cols} matrix at {@code src} into a row-major {@code cols x rows} matrix
     * at {@code dst} (both dense), on the stream ({@code cublasSgeam}).
     */
    public void transposeRowMajor(int rows, int cols, long src, long dst) {
        // src read column-major is cols x rows (ld cols); dst column-major is rows x cols (ld rows) = src^T of that
        sgeam(OP_T, OP_N, rows, cols, 1f, src, Math.max(1, cols), 0f, dst, Math.max(1, rows), dst, Math.max(1, rows));
    }

    // ---- row-major helpers (eva4j's convention) ----

    /**
     * Row-major {@code C = alpha op(A) op(B) + beta C}: op(A) m x k, op(B) k x n, C m x n, leading dimensions
     * row-major (see the class comment): computed as the column-major C^T = op(B)^T op(A)^T.
     */
    public void sgemmRowMajor(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda,
                              long b, int ldb, float beta, long c, int ldc) {
        sgemm(op(transB), op(transA), n, m, k, alpha, b, ldb, a, lda, beta, c, ldc);
    }

    /** Row-major {@link #sgemmStridedBatched} (see {@link #sgemmRowMajor}). */
    public void sgemmStridedBatchedRowMajor(boolean transA, boolean transB, int m, int n, int k, float alpha, long a,
                                            int lda, long strideA, long b, int ldb, long strideB, float beta, long c,
                                            int ldc, long strideC, int batch) {
        sgemmStridedBatched(op(transB), op(transA), n, m, k, alpha, b, ldb, strideB, a, lda, strideA, beta, c, ldc,
                strideC, batch);
    }

    /** Row-major {@link #gemmEx} (see {@link #sgemmRowMajor}). */
    public void gemmExRowMajor(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int aType,
                               int lda, long b, int bType, int ldb, float beta, long c, int cType, int ldc,
                               int computeType) {
        gemmEx(op(transB), op(transA), n, m, k, alpha, b, bType, ldb, a, aType, lda, beta, c, cType, ldc, computeType);
    }

    /** Row-major {@link #gemmStridedBatchedEx} (see {@link #sgemmRowMajor}). */
    public void gemmStridedBatchedExRowMajor(boolean transA, boolean transB, int m, int n, int k, float alpha, long a,
                                             int aType, int lda, long strideA, long b, int bType, int ldb,
                                             long strideB, float beta, long c, int cType, int ldc, long strideC,
                                             int batch, int computeType) {
        gemmStridedBatchedEx(op(transB), op(transA), n, m, k, alpha, b, bType, ldb, strideB, a, aType, lda, strideA,
                beta, c, cType, ldc, strideC, batch, computeType);
    }

    /** Destroys the handle ({@code cublasDestroy_v2}). Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (context.isClosed()) return;
        context.bind();
        try {
            check("cublasDestroy_v2", (int) cublasDestroy.invokeExact(handle));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
