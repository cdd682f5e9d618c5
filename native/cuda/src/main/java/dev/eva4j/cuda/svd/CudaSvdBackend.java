package dev.eva4j.cuda.svd;

import dev.eva4j.cuda.CudaContext;
import dev.eva4j.cuda.CudaLibraries;
import dev.eva4j.cuda.CudaRuntime;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.SvdBackend;
import dev.eva4j.spi.TopKProblem;
import java.util.List;
import java.util.Objects;
import java.util.ServiceLoader;

/**
 * The {@code cuda} {@link SvdBackend}: {@link CudaSvd} (cuBLAS + cuSOLVER) on the process' CUDA context. Unavailable,
 * with the reason ({@link CudaRuntime#probe}: which library is missing and where eva4j looked, or no driver, or no
 * device), where CUDA cannot work. {@link #using} keeps the SVDs on the GPU for the {@code cuda} compute backend and
 * hands them to the {@code cpu} SVD backend for any other, so the SVDs follow the compute backend the user chose.
 * Thread-safe: calls of {@link #topK} are serialised.
 */
public final class CudaSvdBackend implements SvdBackend {
    private final CudaContext fixedContext; // null: the shared runtime context
    private volatile Availability availability;
    private volatile CudaSvd svd;

    /** The service-loader constructor: the shared context, opened on first use. */
    public CudaSvdBackend() {
        this.fixedContext = null;
    }

    /** On a given context (tests, embedding). */
    public CudaSvdBackend(CudaContext context) {
        this.fixedContext = Objects.requireNonNull(context, "context");
        this.availability = Availability.ok("on " + context);
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int priority() {
        return 200;
    }

    @Override
    public String description() {
        return "top-k SVDs (exact gesvdj, randomised low-rank, warm-started) on an NVIDIA GPU with cuBLAS and cuSOLVER";
    }

    @Override
    public Availability availability() {
        Availability a = availability;
        if (a == null) {
            a = CudaRuntime.probe(CudaLibraries.system(), CudaLibraries.Library.CUBLAS, CudaLibraries.Library.CUSOLVER);
            availability = a;
        }
        return a;
    }

    /** This backend for the {@code cuda} compute backend; the {@code cpu} SVD backend on {@code compute} otherwise. */
    @Override
    public SvdBackend using(ComputeBackend compute) {
        Objects.requireNonNull(compute, "compute");
        if (compute.name().equals("cuda")) return this;
        for (SvdBackend other : ServiceLoader.load(SvdBackend.class, getClass().getClassLoader())) {
            if (other.name().equals("cpu")) return other.using(compute);
        }
        return this;
    }

    private CudaSvd svd() {
        CudaSvd s = svd;
        if (s == null) {
            synchronized (this) {
                s = svd;
                if (s == null) svd = s = new CudaSvd(fixedContext != null ? fixedContext : CudaRuntime.context());
            }
        }
        return s;
    }

    /** See {@link SvdBackend#topK}; an {@link IllegalStateException} with the reason when unavailable. */
    @Override
    public synchronized void topK(List<TopKProblem> batch, Mode mode) {
        Objects.requireNonNull(batch, "batch");
        Objects.requireNonNull(mode, "mode");
        Availability a = availability();
        if (!a.available()) throw new IllegalStateException("cuda SVD backend cannot work here: " + a.reason());
        svd().topK(batch, mode);
    }
}
