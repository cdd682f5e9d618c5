package dev.eva4j.api.eva;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A snapshot of the process's CPU time, the JIT's compile time and the machine's CPU steal, so that a run can say
 * where its time went beyond its own phases: how many cores it kept busy, how much of that was the JIT compiling,
 * and how much CPU time the host of a virtual machine gave to other guests (steal), which on a shared machine makes
 * the same run take longer. Values the platform does not report are -1. The CPU and steal figures may count in
 * scheduler ticks (10 ms on Linux): meaningful for runs of seconds, not milliseconds.
 */
record ProcessClock(long cpuNanos, long jitMillis, long stealTicks, long totalTicks) {

    static ProcessClock now() {
        long cpu = -1;
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            cpu = os.getProcessCpuTime();
        }
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        long jitMillis = jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : -1;
        long steal = -1, total = -1;
        try { // Linux: the first line of /proc/stat, "cpu user nice system idle iowait irq softirq steal ..."
            String[] f = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
            if (f[0].equals("cpu") && f.length > 8) {
                total = 0;
                for (int i = 1; i < Math.min(f.length, 9); i++) total += Long.parseLong(f[i]);
                steal = Long.parseLong(f[8]);
            }
        } catch (java.io.IOException | RuntimeException e) {
            steal = total = -1;
        }
        return new ProcessClock(cpu, jitMillis, steal, total);
    }

    /** Process CPU seconds since {@code start}, or -1. */
    double cpuSecondsSince(ProcessClock start) {
        return cpuNanos < 0 || start.cpuNanos < 0 ? -1 : (cpuNanos - start.cpuNanos) * 1e-9;
    }

    /** Seconds the JIT spent compiling since {@code start} (summed over compiler threads), or -1. */
    double jitSecondsSince(ProcessClock start) {
        return jitMillis < 0 || start.jitMillis < 0 ? -1 : (jitMillis - start.jitMillis) * 1e-3;
    }

    /** The machine's share of CPU time stolen by the host since {@code start}, in [0, 1], or -1. */
    double stealFractionSince(ProcessClock start) {
        long dt = totalTicks - start.totalTicks;
        return stealTicks < 0 || start.stealTicks < 0 || dt <= 0 ? -1 : (double) (stealTicks - start.stealTicks) / dt;
    }
}
