package dev.eva4j.cpu.svd;

import dev.eva4j.api.svd.ComputeSvd;
import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.SvdBackend;
import dev.eva4j.spi.TopKProblem;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CPU {@link SvdBackend}: {@link ComputeSvd} (exact, randomised and warm-started top-k SVDs written on GEMM +
 * gesdd + syevd) over a compute backend with host linear algebra. Wired by the Guice module it runs on the compute
 * backend the run uses ({@link #using}); found alone (the service loader, nothing wired) it runs on OpenBLAS, else on
 * the pure-Java backend ({@link #chooseCompute()}). Problems of a batch run one after the other; each GEMM uses the
 * compute backend's threads. Nothing is loaded until the first {@link #availability()} or {@link #topK} call.
 */
public final class CpuSvdBackend implements SvdBackend {
    private static final Logger log = LoggerFactory.getLogger(CpuSvdBackend.class);

    private volatile ComputeSvd svd; // set on first use (or by the constructor that takes a backend)
    private volatile Availability availability;

    /** The service-loader constructor: the compute backend is chosen on first use by {@link #chooseCompute()}. */
    public CpuSvdBackend() {}

    /** Over the given compute backend (see {@link #using}, which checks that it can carry the SVDs). */
    public CpuSvdBackend(ComputeBackend compute) {
        this.svd = new ComputeSvd(Objects.requireNonNull(compute, "compute"));
    }

    /**
     * The compute backend to wrap when none was given: OpenBLAS, or the pure-Java backend when OpenBLAS cannot load
     * (the reason is logged by OpenBLAS's loader and shown by {@code eva4j backends}). May load native libraries.
     */
    static ComputeBackend chooseCompute() {
        OpenBlasBackend openblas = new OpenBlasBackend();
        return openblas.isAvailable() ? openblas : new dev.eva4j.cpu.java.JavaBackend();
    }

    /**
     * This backend on {@code compute} when the SVDs can run there ({@link #cannotRunOn} says why not), else this
     * backend unchanged, with the reason logged.
     */
    @Override
    public SvdBackend using(ComputeBackend compute) {
        Objects.requireNonNull(compute, "compute");
        ComputeSvd current = svd;
        if (current != null && current.compute() == compute) return this;
        Optional<String> why = cannotRunOn(compute);
        if (why.isPresent()) {
            log.info("the cpu SVD backend keeps its own compute backend: {}", why.get());
            return this;
        }
        return new CpuSvdBackend(compute);
    }

    /**
     * Why the SVDs cannot run on {@code compute}, or empty when they can: it must be available, work on host memory
     * ({@link Capability#HOST_MEMORY}) and carry out the host linear algebra the SVDs call besides GEMM (a 2 x 2
     * {@code sgesdd} and {@code dsyevd} are tried: a backend may leave LAPACK out).
     */
    static Optional<String> cannotRunOn(ComputeBackend compute) {
        String name = compute.name();
        try {
            Availability a = compute.availability();
            if (!a.available()) return Optional.of("compute backend '" + name + "' is unavailable: " + a.reason());
            if (!compute.has(Capability.HOST_MEMORY)) {
                return Optional.of("compute backend '" + name + "' does not work on host memory");
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment a32 = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 2f, 1f, 1f, 2f);
                compute.sgesdd(2, 2, a32, arena.allocate(ValueLayout.JAVA_FLOAT, 2),
                        arena.allocate(ValueLayout.JAVA_FLOAT, 4), arena.allocate(ValueLayout.JAVA_FLOAT, 4));
                MemorySegment a64 = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, 2, 1, 1, 2);
                compute.dsyevd(2, a64, arena.allocate(ValueLayout.JAVA_DOUBLE, 2));
            }
            return Optional.empty();
        } catch (RuntimeException | LinkageError e) {
            return Optional.of("compute backend '" + name + "' has no host linear algebra for the SVDs ("
                    + (e.getMessage() != null ? e.getMessage() : e.toString()) + ")");
        }
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
        ComputeSvd s = svd;
        return "top-k SVDs (exact gesdd, randomised low-rank, warm-started subspace iteration) on the CPU"
                + (s != null ? ", on the " + s.compute().name() + " compute backend" : "");
    }

    @Override
    public String toString() {
        ComputeSvd s = svd;
        return "cpu SVD backend on " + (s != null ? s.compute().name() : "(not chosen yet)");
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

    /** True: {@link ComputeSvd} solves float64 problems in float64 throughout. */
    @Override
    public boolean supportsFloat64() {
        return true;
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
