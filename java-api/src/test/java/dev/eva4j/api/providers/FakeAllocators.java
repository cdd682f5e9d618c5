package dev.eva4j.api.providers;

import dev.eva4j.spi.Availability;
import dev.eva4j.spi.RankAllocator;
import java.util.List;

/** Test providers registered in src/test/resources/META-INF/services. */
final class FakeAllocators {
    private FakeAllocators() {}

    abstract static class Base implements RankAllocator {
        @Override
        public int[] allocate(List<double[]> spectra, int budget, int[] maxRanks) {
            int[] r = new int[maxRanks.length];
            for (int i = 0; i < r.length && budget > 0; i++) {
                r[i] = Math.min(budget, maxRanks[i]);
                budget -= r[i];
            }
            return r;
        }
    }

    public static final class Slow extends Base {
        public String name() { return "slow"; }
        public int priority() { return 10; }
        public Availability availability() { return Availability.ok("always works"); }
    }

    public static final class Fast extends Base {
        public String name() { return "fast"; }
        public int priority() { return 100; }
        public Availability availability() { return Availability.unavailable("needs libmoon.so.1"); }
    }

    public static final class Explodes extends Base {
        public Explodes() { throw new IllegalStateException("constructor blew up"); }
        public String name() { return "explodes"; }
        public int priority() { return 1000; }
        public Availability availability() { return Availability.ok(""); }
    }

    public static final class CheckThrows extends Base {
        public String name() { return "check-throws"; }
        public int priority() { return 500; }
        public Availability availability() { throw new UnsatisfiedLinkError("libfoo.so: cannot open"); }
    }
}
