package dev.eva4j.cli;

import dev.eva4j.cli.bench.GemmTiming;
import dev.eva4j.cli.bench.OpenBlasBaseline;
import dev.eva4j.spi.ComputeBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code eva4j bench gemm}: GFLOP/s of n x n x n sgemm on every available compute backend, beside OpenBLAS measured
 * by itself from C in the same run, with each backend's share of that baseline.
 */
@Command(name = "gemm", mixinStandardHelpOptions = true,
        description = "GFLOP/s of square float32 GEMM (C = A B) on each compute backend, against OpenBLAS itself "
                + "(a C program compiled here, same library, same run).")
final class BenchGemmCommand implements Callable<Integer> {

    @Option(names = "--sizes", split = ",", description = "matrix sizes n (default: ${DEFAULT-VALUE})",
            defaultValue = "512,1024,2048,4096")
    List<Integer> sizes;

    @Option(names = "--backend", split = ",", description = "compute backends to measure (default: every available one)")
    List<String> backends;

    @Option(names = "--threads", description = "threads per backend (default: all cores, ${DEFAULT-VALUE})",
            defaultValue = "${sys:eva4j.bench.threads:-0}")
    int threads;

    @Option(names = "--min-seconds", description = "time each measurement at least this long (default: ${DEFAULT-VALUE})",
            defaultValue = "1.0")
    double minSeconds;

    @Option(names = "--no-baseline", description = "skip the OpenBLAS-from-C baseline")
    boolean noBaseline;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        return run(spec.commandLine().getOut(), spec.commandLine().getErr());
    }

    int run(PrintWriter out, PrintWriter err) throws IOException {
        for (int n : sizes) if (n < 1 || n > 16384) throw new UserException("--sizes: n must be in [1, 16384], got " + n);
        if (minSeconds <= 0 || minSeconds > 600) throw new UserException("--min-seconds must be in (0, 600]");
        int nThreads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        List<ComputeBackend> chosen = chooseBackends();
        Optional<OpenBlasBaseline> baseline = noBaseline ? Optional.empty() : baseline(err);

        Map<String, List<GemmTiming.Result>> results = new LinkedHashMap<>();
        for (int n : sizes) {
            if (baseline.isPresent()) {
                err.printf("  n=%d  OpenBLAS (C) ...%n", n);
                err.flush();
                results.computeIfAbsent("OpenBLAS (C)", k -> new ArrayList<>())
                        .add(baseline.get().run(n, minSeconds, nThreads));
            }
            for (ComputeBackend b : chosen) {
                err.printf("  n=%d  %s ...%n", n, b.name());
                err.flush();
                b.setThreads(nThreads);
                results.computeIfAbsent(b.name(), k -> new ArrayList<>()).add(GemmTiming.run(b, n, minSeconds));
            }
        }
        printTable(out, results, nThreads, baseline.isPresent());
        return 0;
    }

    private List<ComputeBackend> chooseBackends() {
        Providers providers = Providers.of(null);
        if (backends == null || backends.isEmpty()) {
            List<ComputeBackend> available = providers.all(ComputeBackend.class).values().stream()
                    .filter(ComputeBackend::isAvailable).toList();
            if (available.isEmpty()) throw new UserException("no compute backend can work here (see eva4j backends)");
            return available;
        }
        List<ComputeBackend> picked = new ArrayList<>();
        for (String name : backends) picked.add(providers.withBackend(name).compute());
        return picked;
    }

    private Optional<OpenBlasBaseline> baseline(PrintWriter err) {
        Optional<Path> lib = NativeLibraries.openBlasPath();
        if (lib.isEmpty()) {
            err.println("  (no OpenBLAS-from-C baseline: the OpenBLAS library is not loaded here)");
            return Optional.empty();
        }
        try {
            return Optional.of(OpenBlasBaseline.build(lib.get(), lib.get().getParent().resolve("bench")));
        } catch (IOException e) {
            err.println("  (no OpenBLAS-from-C baseline: " + e.getMessage() + ")");
            return Optional.empty();
        }
    }

    private static void printTable(PrintWriter out, Map<String, List<GemmTiming.Result>> results, int threads,
                                   boolean haveBaseline) {
        out.printf("sgemm C = A B, float32, row-major, %d thread(s); GFLOP/s = 2n^3 / median time (best in brackets)%n",
                threads);
        List<String> names = new ArrayList<>(results.keySet());
        StringBuilder head = new StringBuilder(String.format("%6s", "n"));
        for (String name : names) {
            head.append(String.format("  %22s", name));
            if (haveBaseline && !name.equals("OpenBLAS (C)")) head.append(String.format("  %8s", "vs C"));
        }
        out.println(head);
        int rows = results.get(names.getFirst()).size();
        for (int i = 0; i < rows; i++) {
            StringBuilder line = new StringBuilder(String.format("%6d", results.get(names.getFirst()).get(i).n()));
            double base = haveBaseline ? results.get("OpenBLAS (C)").get(i).medianGflops() : 0;
            for (String name : names) {
                GemmTiming.Result r = results.get(name).get(i);
                line.append(String.format("  %13.1f (%6.1f)", r.medianGflops(), r.bestGflops()));
                if (haveBaseline && !name.equals("OpenBLAS (C)")) {
                    line.append(String.format("  %7.1f%%", 100 * r.medianGflops() / base));
                }
            }
            out.println(line);
        }
        out.flush();
    }
}
