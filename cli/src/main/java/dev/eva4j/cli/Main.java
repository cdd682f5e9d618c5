package dev.eva4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code eva4j} command. */
@Command(name = "eva4j", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "EVA-initialised LoRA fine-tuning on the JVM.",
        subcommands = {BackendsCommand.class, InspectCommand.class, InitCommand.class, MakeActivationsCommand.class, MakeTinyModelCommand.class, BenchCommand.class, DemoCommand.class,
                TrainCommand.class, PlotCommand.class, MergeCommand.class, EvalCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // Guice's optional bytecode generation (AOP, fast reflection) goes through sun.misc.Unsafe, which JDK 25
        // warns about at every start; eva4j uses neither, so plain reflection it is (unless the user says otherwise)
        if (System.getProperty("guice_bytecode_gen_option") == null) {
            System.setProperty("guice_bytecode_gen_option", "DISABLED");
        }
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (0 ok, 1 bug, 2 user error). */
    public static int run(String... args) {
        return Errors.configure(new CommandLine(new Main())).execute(args);
    }

    /** As {@link #run(String...)}, printing to the given writers (for embedding and tests). */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cli = Errors.configure(new CommandLine(new Main()));
        cli.setOut(out);
        cli.setErr(err);
        return cli.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
