package dev.eva4j.api.providers;

import dev.eva4j.spi.Availability;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Provider;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every provider found on the class path with {@link ServiceLoader}, by kind, best first (priority descending, then
 * name). A provider class that fails to construct is kept as a broken row of the table, never an error at start-up.
 */
public final class ProviderRegistry {
    private static final Logger log = LoggerFactory.getLogger(ProviderRegistry.class);

    private final Map<ProviderKind, List<Provider>> providers = new EnumMap<>(ProviderKind.class);
    private final Map<ProviderKind, List<ProviderStatus>> broken = new EnumMap<>(ProviderKind.class);
    private final Function<String, String> environment;

    private ProviderRegistry(Function<String, String> environment) {
        this.environment = environment;
    }

    /** Discovers the providers visible to the given class loader. */
    public static ProviderRegistry discover(ClassLoader loader) {
        return discover(loader, System::getenv);
    }

    /** As {@link #discover(ClassLoader)}, reading overrides from the given environment (for tests). */
    public static ProviderRegistry discover(ClassLoader loader, Function<String, String> environment) {
        ProviderRegistry r = new ProviderRegistry(environment);
        for (ProviderKind kind : ProviderKind.values()) {
            List<Provider> found = new ArrayList<>();
            List<ProviderStatus> bad = new ArrayList<>();
            Iterator<? extends ServiceLoader.Provider<? extends Provider>> it =
                    ServiceLoader.load(kind.type(), loader).stream().iterator();
            while (true) {
                ServiceLoader.Provider<? extends Provider> p;
                try {
                    if (!it.hasNext()) break;
                    p = it.next();
                } catch (ServiceConfigurationError e) {
                    bad.add(brokenRow(kind, "?", e));
                    continue;
                }
                try {
                    Provider provider = p.get();
                    if (found.stream().anyMatch(q -> q.name().equals(provider.name()))) {
                        bad.add(new ProviderStatus(kind, provider.name(), provider.priority(), false,
                                "a second provider with this name (" + provider.getClass().getName()
                                        + ") is ignored", provider.getClass().getName(), true, Set.of()));
                        continue;
                    }
                    found.add(provider);
                } catch (ServiceConfigurationError | RuntimeException | LinkageError e) {
                    bad.add(brokenRow(kind, p.type().getName(), e));
                }
            }
            found.sort(Comparator.comparingInt(Provider::priority).reversed().thenComparing(Provider::name));
            r.providers.put(kind, List.copyOf(found));
            r.broken.put(kind, List.copyOf(bad));
        }
        return r;
    }

    private static ProviderStatus brokenRow(ProviderKind kind, String impl, Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String why = root.getMessage() == null ? root.toString()
                : root.getClass().getSimpleName() + ": " + root.getMessage().lines().findFirst().orElse("");
        return new ProviderStatus(kind, impl.substring(impl.lastIndexOf('.') + 1), Integer.MIN_VALUE, false,
                "could not be created: " + why, impl, true, Set.of());
    }

    /** Providers of a kind, best first. */
    @SuppressWarnings("unchecked")
    public <T extends Provider> List<T> all(Class<T> type) {
        return (List<T>) providers.get(kindOf(type));
    }

    public List<Provider> all(ProviderKind kind) {
        return providers.get(kind);
    }

    public <T extends Provider> Optional<T> byName(Class<T> type, String name) {
        return all(type).stream().filter(p -> p.name().equals(name)).findFirst();
    }

    /** Every row of the table for one kind: providers best first, broken ones last. */
    public List<ProviderStatus> status(ProviderKind kind) {
        List<ProviderStatus> rows = new ArrayList<>();
        for (Provider p : providers.get(kind)) {
            Availability a = safeAvailability(p);
            Set<Capability> caps = kind == ProviderKind.COMPUTE ? capabilities((ComputeBackend) p) : Set.of();
            rows.add(new ProviderStatus(kind, p.name(), p.priority(), a.available(), a.reason(),
                    p.getClass().getName(), false, caps));
        }
        rows.addAll(broken.get(kind));
        return rows;
    }

    /** The name the user asked for through the system property or environment variable, if any. */
    public Optional<String> requested(ProviderKind kind) {
        String v = System.getProperty(kind.systemProperty());
        if (v == null || v.isBlank()) v = environment.apply(kind.environmentVariable());
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.strip());
    }

    /**
     * The provider to use: the one named by {@code explicit} (a command-line flag), else by the system property,
     * else by the environment variable, else the best available one. Logs, when it skips a better provider, why.
     *
     * @throws ProviderSelectionException when the named one is unknown or unavailable, or none is available
     */
    public <T extends Provider> T select(Class<T> type, Optional<String> explicit) {
        return select(type, explicit, true);
    }

    /** As {@link #select(Class, Optional)}; {@code logSkipped} false keeps quiet about skipped providers. */
    public <T extends Provider> T select(Class<T> type, Optional<String> explicit, boolean logSkipped) {
        ProviderKind kind = kindOf(type);
        Optional<String> wanted = explicit.filter(s -> !s.isBlank()).or(() -> requested(kind));
        List<T> candidates = all(type);
        if (wanted.isPresent()) {
            String name = wanted.get();
            T p = candidates.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow(() ->
                    failure(kind, "no " + kind.label() + " named '" + name + "'"));
            Availability a = safeAvailability(p);
            if (!a.available()) {
                throw failure(kind, kind.label() + " '" + name + "' cannot work here: " + a.reason());
            }
            return p;
        }
        for (T p : candidates) {
            Availability a = safeAvailability(p);
            if (a.available()) return p;
            if (logSkipped) log.info("{} '{}' unavailable ({}); trying the next one", kind.label(), p.name(), a.reason());
        }
        throw failure(kind, candidates.isEmpty() ? "no " + kind.label() + " is on the class path"
                : "no " + kind.label() + " can work here");
    }

    private ProviderSelectionException failure(ProviderKind kind, String problem) {
        return new ProviderSelectionException(problem, ProviderTable.format(status(kind)));
    }

    /**
     * What a compute backend says it can do ({@link ComputeBackend#capabilities}), or nothing when it cannot tell
     * here (an unavailable backend may have no kernels to ask). Never throws.
     */
    public static Set<Capability> capabilities(ComputeBackend backend) {
        try {
            Set<Capability> c = backend.capabilities();
            return c == null ? Set.of() : Set.copyOf(c);
        } catch (RuntimeException | LinkageError e) {
            return Set.of();
        }
    }

    static Availability safeAvailability(Provider p) {
        try {
            Availability a = p.availability();
            return a == null ? Availability.unavailable("provider returned no availability") : a;
        } catch (RuntimeException | LinkageError e) {
            return Availability.unavailable("availability check failed: " + e);
        }
    }

    static ProviderKind kindOf(Class<? extends Provider> type) {
        for (ProviderKind k : ProviderKind.values()) {
            if (k.type().equals(type)) return k;
        }
        throw new IllegalArgumentException("not a provider kind: " + type.getName());
    }
}
