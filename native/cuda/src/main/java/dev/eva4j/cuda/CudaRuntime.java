package dev.eva4j.cuda;

import dev.eva4j.spi.Availability;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the {@code cuda} providers share: whether CUDA can work here (libraries, driver, device), and the one
 * {@link CudaContext} of the process (device {@value #DEVICE_ENV} or 0), opened on first use and kept until exit.
 * Thread-safe.
 */
public final class CudaRuntime {
    /** Environment variable choosing the device ordinal (default 0). */
    public static final String DEVICE_ENV = "EVA4J_CUDA_DEVICE";

    private static volatile CudaContext shared;

    private CudaRuntime() {}

    /** The device ordinal to use: {@value #DEVICE_ENV} or 0. */
    static int deviceOrdinal() {
        String v = System.getenv(DEVICE_ENV);
        if (v == null || v.isBlank()) return 0;
        try {
            int d = Integer.parseInt(v.strip());
            if (d < 0) throw new NumberFormatException();
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(DEVICE_ENV + " must be a device ordinal >= 0, got '" + v + "'");
        }
    }

    /**
     * Whether CUDA can work with the libraries {@code needed}: every library found and loadable, the driver
     * initialised, at least one device. Never throws. The reason names what is missing and where it looked; the
     * detail of an available result names the device, the driver and where the libraries came from.
     */
    public static Availability probe(CudaLibraries libraries, CudaLibraries.Library... needed) {
        try {
            List<String> problems = new ArrayList<>();
            Optional<String> missing = libraries.shortProblem(needed);
            if (!libraries.found().containsKey(CudaLibraries.Library.DRIVER)) {
                problems.add("no NVIDIA driver (libcuda.so.1 not found)");
                missing.ifPresent(problems::add);
                return Availability.unavailable(String.join("; ", problems));
            }
            missing.ifPresent(problems::add);
            CudaDriver driver;
            try {
                driver = CudaDriver.system();
            } catch (CudaException e) {
                problems.add(0, "the CUDA driver cannot start: " + e.getMessage());
                return Availability.unavailable(String.join("; ", problems));
            }
            int devices = driver.deviceCount();
            if (devices == 0) problems.add(0, "no CUDA device (the driver reports 0)");
            if (!problems.isEmpty()) return Availability.unavailable(String.join("; ", problems));
            int ordinal = deviceOrdinal();
            if (ordinal >= devices) {
                return Availability.unavailable(DEVICE_ENV + "=" + ordinal + " but only " + devices + " device(s)");
            }
            for (CudaLibraries.Library l : needed) {
                try {
                    libraries.load(l);
                } catch (CudaException e) {
                    return Availability.unavailable(e.getMessage());
                }
            }
            int dev = driver.device(ordinal);
            StringBuilder sb = new StringBuilder();
            sb.append("device ").append(ordinal).append(": ").append(driver.deviceName(dev))
                    .append(" (sm_").append(driver.deviceAttribute(CudaDriver.ATTR_COMPUTE_CAPABILITY_MAJOR, dev))
                    .append(driver.deviceAttribute(CudaDriver.ATTR_COMPUTE_CAPABILITY_MINOR, dev)).append("), driver ")
                    .append(version(driver.driverVersion())).append(", CUDA ").append(libraries.generation())
                    .append(" libraries");
            for (CudaLibraries.Library l : needed) {
                CudaLibraries.Location loc = libraries.found().get(l);
                if (loc != null) sb.append(", ").append(loc.soname()).append(" from ").append(loc.path().map(
                        p -> p.getParent().toString()).orElse(loc.where()));
            }
            return Availability.ok(sb.toString());
        } catch (RuntimeException | LinkageError e) {
            return Availability.unavailable("CUDA probe failed: " + e);
        }
    }

    static String version(int v) {
        return (v / 1000) + "." + (v % 1000) / 10;
    }

    /** The process' CUDA context (opened on first call on device {@link #deviceOrdinal()}). */
    public static CudaContext context() {
        CudaContext c = shared;
        if (c == null) {
            synchronized (CudaRuntime.class) {
                c = shared;
                if (c == null) shared = c = CudaContext.open(deviceOrdinal());
            }
        }
        return c;
    }
}
