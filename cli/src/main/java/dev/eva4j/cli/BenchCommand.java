package dev.eva4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code eva4j bench ...}: measurements a person can rerun. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
        subcommands = {BenchGemmCommand.class, BenchEvaCommand.class, BenchTrainCommand.class})
final class BenchCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a benchmark: gemm, eva or train");
    }
}
