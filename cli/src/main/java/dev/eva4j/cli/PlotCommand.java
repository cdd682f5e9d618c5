package dev.eva4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code eva4j plot}: the loss curves of several training runs overlaid in one PNG. */
@Command(name = "plot", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Draws the training loss per step (lines) and evaluation loss (dots) of one or more runs of "
                + "'eva4j train' into one PNG, each run labelled with its folder's name.")
final class PlotCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "PNG", description = "the PNG to write (replaced atomically)")
    Path out;

    @Option(names = "--title", defaultValue = "training loss", description = "chart title (default: ${DEFAULT-VALUE})")
    String title;

    @Parameters(arity = "1..*", paramLabel = "RUN_DIR", description = "output folders of 'eva4j train' (or metrics.jsonl files)")
    List<Path> runs;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (!out.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
            throw new UserException("--out must name a .png file, got " + out);
        }
        List<RunMetrics> metrics = new ArrayList<>();
        for (Path run : runs) metrics.add(RunMetrics.read(run));
        LossPlot.write(out, title, metrics);
        int steps = metrics.stream().mapToInt(m -> m.loss().size()).sum();
        spec.commandLine().getOut().printf("plotted %d run(s), %d step(s) in all, to %s%n", metrics.size(), steps, out);
        return 0;
    }
}
