package dev.eva4j.cli;

import dev.eva4j.api.providers.ProviderKind;
import dev.eva4j.api.providers.ProviderRegistry;
import dev.eva4j.api.providers.ProviderSelectionException;
import dev.eva4j.api.providers.ProviderStatus;
import dev.eva4j.api.providers.ProviderTable;
import dev.eva4j.spi.Provider;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code eva4j backends}: every provider on the class path, whether it works here and which one is chosen. */
@Command(name = "backends", mixinStandardHelpOptions = true,
        description = {"Lists every provider (compute and SVD backends, rank allocators, model loaders, activation hooks)"
                + " found on the class path, whether it can work here and why not, and the one eva4j would use.",
                "Add a provider by putting its jar on the class path (EVA4J_CLASSPATH for ./eva4j)."})
final class BackendsCommand implements Callable<Integer> {

    @Option(names = "--backend", description = "compute backend to check as the choice (default: best available; "
            + "also the eva4j.backend property or EVA4J_BACKEND)")
    String backend;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        ProviderRegistry registry = ProviderRegistry.discover(Main.class.getClassLoader());
        List<ProviderStatus> rows = new ArrayList<>();
        for (ProviderKind kind : ProviderKind.values()) rows.addAll(registry.status(kind));
        out.println(ProviderTable.format(rows));
        out.println();
        for (ProviderKind kind : ProviderKind.values()) {
            if (registry.all(kind).isEmpty()) continue;
            if (kind == ProviderKind.MODEL_LOADER) {
                out.println("model loader in use: the first available one whose supports(path) accepts the model");
                continue;
            }
            Optional<String> explicit = kind == ProviderKind.COMPUTE ? Optional.ofNullable(backend) : Optional.empty();
            try {
                Provider chosen = registry.select(kind.type(), explicit, false);
                String why = explicit.isPresent() || registry.requested(kind).isPresent() ? "as requested"
                        : "best available";
                out.printf("%s in use: %s (%s)%n", kind.label(), chosen.name(), why);
            } catch (ProviderSelectionException e) {
                if (explicit.isPresent() || registry.requested(kind).isPresent()) throw new UserException(e.problem());
                out.printf("%s in use: none (%s)%n", kind.label(), e.problem());
            }
        }
        out.flush();
        return 0;
    }
}
