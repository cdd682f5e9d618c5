package dev.eva4j.cpu.svd;

import dev.eva4j.api.svd.ComputeSvd;
import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.SvdBackend;
import dev.eva4j.spi.TopKProblem;
import java.util.List;
import java.util.Objects;

/**
 * The CPU {@link SvdBackend}: {@link ComputeSvd} (exact, randomised and warm-started top-k SVDs written on GEMM +
 * gesdd + syevd) over a CPU {@link ComputeBackend}, OpenBLAS, else the pure-Java backend ({@link #chooseCompute()}). Problems of a batch
 * run one after the other; each GEMM uses the compute backend's threads. Nothing is loaded until the first
 * {@link #availability()} or {@link #topK} call.
 */
public final class CpuSvdBackend implements SvdBackend {
    private volatile ComputeSvd svd; // set on first use (or by the constructor that takes a backend)
    private volatile Availability availability;

    /** The service-loader constructor: the compute backend is chosen on first use by {@link #chooseCompute()}. */
    public CpuSvdBackend() {}

    /** Over the given compute backend (tests, or a user who wants a particular one). */
    public CpuSvdBackend(ComputeBackend compute) {
        this.svd = new ComputeSvd(Objects.requireNonNull(compute, "compute"));
    }

    /**
     * The compute backend to wrap: OpenBLAS, or the pure-Java backend when OpenBLAS cannot load (the reason is logged
     * by OpenBLAS's loader and shown by {@code eva4j backends}). May load native libraries.
     */
    static ComputeBackend chooseCompute() {
        OpenBlasBackend openblas = new OpenBlasBackend();
        return openblas.isAvailable() ? openblas : new dev.eva4j.cpu.java.JavaBackend();
    }

    private ComputeSvd svd() {
        ComputeSvd s = svd;
        if (s == null) {
            synchronized (this) {
                s = svd;
                if (s == null) svd = s = new ComputeSvd(chooseCompute());
            }
        }
        return s;
    }

    /** The compute backend the SVDs run on. */
    public ComputeBackend compute() {
        return svd().compute();
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public String description() {
        return "top-k SVDs (exact gesdd, randomised low-rank, warm-started subspace iteration) on the CPU";
    }

    @Override
    public Availability availability() {
        Availability a = availability;
        if (a == null) {
            try {
                ComputeBackend compute = compute();
                Availability c = compute.availability();
                a = c.available()
                        ? Availability.ok("over the " + compute.name() + " compute backend: " + c.reason())
                        : Availability.unavailable("the cpu SVD backend's compute backend '" + compute.name()
                                + "' is unavailable: " + c.reason());
            } catch (RuntimeException | LinkageError e) { // never throws (Provider's contract)
                a = Availability.unavailable("the cpu SVD backend's compute backend failed to initialise: " + e);
            }
            availability = a;
        }
        return a;
    }

    /** See {@link SvdBackend#topK}; an {@link IllegalStateException} with the reason when unavailable. */
    @Override
    public void topK(List<TopKProblem> batch, Mode mode) {
        Objects.requireNonNull(batch, "batch");
        Objects.requireNonNull(mode, "mode");
        Availability a = availability();
        if (!a.available()) throw new IllegalStateException(a.reason());
        svd().topK(batch, mode);
    }
}
