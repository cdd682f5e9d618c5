package dev.eva4j.api.providers;

import dev.eva4j.spi.Availability;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Kernels;
import dev.eva4j.spi.SvdBackend;
import dev.eva4j.spi.TopKProblem;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Test compute and SVD backends registered in src/test/resources/META-INF/services: they only say who they are and
 * what they can do; none computes.
 */
final class FakeBackends {
    private FakeBackends() {}

    abstract static class Compute implements ComputeBackend {
        public Availability availability() { return Availability.ok("fake"); }
        public Kernels kernels() { throw new UnsupportedOperationException(name() + ": a test fake has no kernels"); }
        public void sgemm(Transpose ta, Transpose tb, int m, int n, int k, float alpha, MemorySegment a, int lda,
                          MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
            throw new UnsupportedOperationException("fake");
        }
        public void sgemmStridedBatched(Transpose ta, Transpose tb, int m, int n, int k, float alpha, MemorySegment a,
                                        int lda, long sa, MemorySegment b, int ldb, long sb, float beta,
                                        MemorySegment c, int ldc, long sc, int batch) {
            throw new UnsupportedOperationException("fake");
        }
        public void sgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
            throw new UnsupportedOperationException("fake");
        }
        public void dgesdd(int m, int n, MemorySegment a, MemorySegment s, MemorySegment u, MemorySegment vt) {
            throw new UnsupportedOperationException("fake");
        }
        public void ssyevd(int n, MemorySegment a, MemorySegment w) { throw new UnsupportedOperationException("fake"); }
        public void dsyevd(int n, MemorySegment a, MemorySegment w) { throw new UnsupportedOperationException("fake"); }
        public int threads() { return 1; }
        public void setThreads(int threads) {}
    }

    /** The best compute backend here. */
    public static final class HostCompute extends Compute {
        public String name() { return "host"; }
        public int priority() { return 50; }
        public Set<Capability> capabilities() { return EnumSet.of(Capability.HOST_MEMORY, Capability.NATIVE_LINEAR_ALGEBRA); }
    }

    /** A worse one, named by the tests. */
    public static final class OtherCompute extends Compute {
        public String name() { return "other"; }
        public int priority() { return 5; }
        public Set<Capability> capabilities() { return EnumSet.of(Capability.HOST_MEMORY); }
    }

    /** One that cannot say what it can do (its kernels are missing here). */
    public static final class MuteCompute extends Compute {
        public String name() { return "mute"; }
        public int priority() { return 1; }
        public Availability availability() { return Availability.unavailable("no device"); }
    }

    /** An SVD backend that follows the compute backend it is given (null: not bound to one). */
    public static final class Follower implements SvdBackend {
        private final ComputeBackend compute;

        public Follower() { this(null); }
        Follower(ComputeBackend compute) { this.compute = compute; }

        ComputeBackend compute() { return compute; }
        public String name() { return "follower"; }
        public int priority() { return 20; }
        public Availability availability() { return Availability.ok("fake"); }
        public void topK(List<TopKProblem> batch, Mode mode) { throw new UnsupportedOperationException("fake"); }
        @Override
        public SvdBackend using(ComputeBackend compute) { return new Follower(compute); }
    }

    /** An SVD backend without a compute backend of its own to follow (SvdBackend.using's default). */
    public static final class Loner implements SvdBackend {
        public String name() { return "loner"; }
        public int priority() { return 10; }
        public Availability availability() { return Availability.ok("fake"); }
        public void topK(List<TopKProblem> batch, Mode mode) { throw new UnsupportedOperationException("fake"); }
    }
}
