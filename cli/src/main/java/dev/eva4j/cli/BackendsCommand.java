package dev.eva4j.cli;

import dev.eva4j.api.providers.ProviderKind;
import dev.eva4j.api.providers.ProviderRegistry;
import dev.eva4j.api.providers.ProviderSelectionException;
import dev.eva4j.api.providers.ProviderStatus;
import dev.eva4j.api.providers.ProviderTable;
import dev.eva4j.spi.Availability;
import dev.eva4j.spi.Provider;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code eva4j backends}: every provider on the class path, whether it works here, what each compute backend can do,
 * and which one of each kind the Guice wiring chooses — as every other command gets it.
 */
@Command(name = "backends", mixinStandardHelpOptions = true,
        description = {"Lists every provider (compute and SVD backends, rank allocators, model loaders) found on the "
                + "class path, whether it can work here and why not, the capabilities of each compute backend, and "
                + "the one eva4j would use of each kind (marked *).",
                "Add a provider by putting its jar on the class path (EVA4J_CLASSPATH for ./eva4j)."})
final class BackendsCommand implements Callable<Integer> {

    @Option(names = "--backend", description = "compute backend to check as the choice (default: best available; "
            + "also the eva4j.backend property or EVA4J_BACKEND)")
    String backend;

    @Option(names = "--svd-backend", description = "SVD backend to check as the choice (default: the best available, "
            + "on the chosen compute backend)")
    String svdBackend;

    @Option(names = "--allocator", description = "rank allocator to check as the choice (default: best available)")
    String allocator;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Providers providers = Providers.quiet(backend, svdBackend, allocator);
        ProviderRegistry registry = providers.registry();
        Map<ProviderKind, Provider> chosen = new EnumMap<>(ProviderKind.class);
        List<String> choices = new ArrayList<>();
        for (ProviderKind kind : ProviderKind.values()) {
            if (registry.all(kind).isEmpty()) continue;
            if (kind == ProviderKind.MODEL_LOADER) {
                choices.add("model loader in use: the first available one whose supports(path) accepts the model");
                continue;
            }
            boolean requested = providers.requested(kind).isPresent();
            try {
                Provider p = providers.chosen(kind);
                chosen.put(kind, p);
                String why = requested ? "as requested" : "best available";
                if (kind == ProviderKind.SVD && !requested && chosen.containsKey(ProviderKind.COMPUTE)) {
                    String compute = chosen.get(ProviderKind.COMPUTE).name();
                    why += providers.svdCompute().isPresent() ? ", on the " + compute + " compute backend"
                            : "; it does not run on the " + compute + " compute backend";
                }
                choices.add(String.format("%s in use: %s (%s)", kind.label(), p.name(), why));
            } catch (ProviderSelectionException e) {
                if (requested) throw new UserException(e.problem());
                choices.add(String.format("%s in use: none (%s)", kind.label(), e.problem()));
            }
        }
        List<ProviderStatus> rows = new ArrayList<>();
        for (ProviderKind kind : ProviderKind.values()) {
            for (ProviderStatus r : registry.status(kind)) rows.add(asChosen(r, chosen.get(kind)));
        }
        out.println(ProviderTable.format(rows, r -> !r.broken() && chosen.containsKey(r.kind())
                && chosen.get(r.kind()).name().equals(r.name())));
        out.println();
        if (rows.stream().anyMatch(r -> r.name().equals("cuda") && !r.available())) {
            // which CUDA library is missing and every folder searched (the table's detail is one line)
            out.println(dev.eva4j.cuda.CudaLibraries.system().report().stripTrailing());
            out.println();
        }
        choices.forEach(out::println);
        out.flush();
        return 0;
    }

    /**
     * The row as the chosen provider sees itself: the chosen SVD backend is bound to the chosen compute backend and
     * says so in its detail, where the discovered one speaks of the compute backend it would pick alone.
     */
    private static ProviderStatus asChosen(ProviderStatus row, Provider chosen) {
        if (chosen == null || row.broken() || !row.name().equals(chosen.name())) return row;
        Availability a = chosen.availability();
        return new ProviderStatus(row.kind(), row.name(), row.priority(), a.available(), a.reason(),
                row.implementation(), false, row.capabilities());
    }
}
