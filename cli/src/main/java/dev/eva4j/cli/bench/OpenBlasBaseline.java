package dev.eva4j.cli.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * OpenBLAS measured by itself: a small C program (a resource of this jar) compiled with the machine's C compiler
 * against the very libopenblas.so.0 eva4j loads, run as a child process. Gives the "OpenBLAS itself" column of
 * {@code eva4j bench gemm} in the same run as eva4j's own figures.
 */
public final class OpenBlasBaseline {
    private final Path binary;

    private OpenBlasBaseline(Path binary) {
        this.binary = binary;
    }

    /**
     * Compiles the baseline next to the library (once); empty with the reason logged by the caller when there is no
     * C compiler.
     */
    public static OpenBlasBaseline build(Path libopenblas, Path workDir) throws IOException {
        Files.createDirectories(workDir);
        Path src = workDir.resolve("openblas_sgemm_bench.c");
        Path bin = workDir.resolve("openblas_sgemm_bench");
        try (InputStream in = OpenBlasBaseline.class.getResourceAsStream("/dev/eva4j/cli/openblas_sgemm_bench.c")) {
            if (in == null) throw new IOException("baseline source missing from the eva4j-cli jar");
            byte[] code = in.readAllBytes();
            if (Files.exists(bin) && Files.exists(src) && java.util.Arrays.equals(Files.readAllBytes(src), code)) {
                return new OpenBlasBaseline(bin);
            }
            Files.write(src, code);
        }
        Path dir = libopenblas.toAbsolutePath().getParent();
        Path tmp = workDir.resolve("openblas_sgemm_bench.tmp");
        String out = exec(List.of(compiler(), "-O2", "-o", tmp.toString(), src.toString(), "-L" + dir,
                "-l:" + libopenblas.getFileName(), "-Wl,-rpath," + dir), 120);
        if (!Files.exists(tmp)) throw new IOException("compiling the OpenBLAS baseline failed: " + out.strip());
        Files.move(tmp, bin, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return new OpenBlasBaseline(bin);
    }

    /** The C compiler to use: $CC, else cc. */
    static String compiler() {
        return Optional.ofNullable(System.getenv("CC")).filter(s -> !s.isBlank()).orElse("cc");
    }

    public GemmTiming.Result run(int n, double minSeconds, int threads) throws IOException {
        String out = exec(List.of(binary.toString(), Integer.toString(n), Double.toString(minSeconds),
                Integer.toString(threads)), 600).strip();
        String[] f = out.split("\\s+");
        if (f.length != 4) throw new IOException("unexpected output from the OpenBLAS baseline: " + out);
        return new GemmTiming.Result(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Double.parseDouble(f[2]),
                Double.parseDouble(f[3]));
    }

    private static String exec(List<String> command, int timeoutSeconds) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().remove("OPENBLAS_NUM_THREADS");
        // the same kernels as eva4j's copy of the library runs (it may have set an inherited OPENBLAS_CORETYPE aside)
        dev.eva4j.cpu.openblas.OpenBlasLibrary.coreName().ifPresent(c -> pb.environment().put("OPENBLAS_CORETYPE", c));
        Process p = pb.start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(command.getFirst() + " timed out");
            }
            if (p.exitValue() != 0 && !command.getFirst().endsWith("cc")) {
                throw new IOException(command.getFirst() + " exited " + p.exitValue() + ": " + out.strip());
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
