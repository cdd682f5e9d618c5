package dev.eva4j.cli;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code eva4j demo}: the README's main job. Until the models issue lands (EVA on all-MiniLM-L6-v2), it runs the GEMM
 * benchmark that everything else stands on, and says so.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Runs the embedded default job. In this version: the GEMM benchmark (EVA on a real model comes "
                + "with the models issue).")
final class DemoCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        var out = spec.commandLine().getOut();
        out.println("eva4j demo: EVA on a real model is not in this version yet; running the GEMM benchmark"
                + " (eva4j bench gemm --sizes 512,1024,2048) instead.");
        out.flush();
        BenchGemmCommand bench = new BenchGemmCommand();
        bench.sizes = List.of(512, 1024, 2048);
        bench.minSeconds = 1.0;
        return bench.run(out, spec.commandLine().getErr());
    }
}
