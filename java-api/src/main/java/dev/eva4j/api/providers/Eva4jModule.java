package dev.eva4j.api.providers;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.Singleton;
import com.google.inject.multibindings.MapBinder;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Provider;
import dev.eva4j.spi.SvdBackend;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Guice wiring of the plug-ins, the one way the CLI, a service and library users get their providers: every
 * discovered provider is bound by name in a {@code Map<String, T>} per kind (a {@link MapBinder}), and each kind's
 * interface is bound to the chosen provider — the one the user named, else the best available (see
 * {@link ProviderRegistry#select}). The {@link SvdBackend} follows the chosen {@link ComputeBackend}
 * ({@link SvdBackend#using}) unless the user named an SVD backend. Choices are made lazily, on first injection, so a
 * kind nobody asks for never fails; the {@link ProviderRegistry} itself is bound too (for listings).
 *
 * <pre>{@code
 * Injector injector = Guice.createInjector(Eva4jModule.builder().backend("openblas").build());
 * ComputeBackend backend = injector.getInstance(ComputeBackend.class);
 * SvdBackend svd = injector.getInstance(SvdBackend.class); // computes on that backend
 * }</pre>
 */
public final class Eva4jModule extends AbstractModule {
    private final ProviderRegistry registry;
    private final Map<ProviderKind, String> overrides;
    private final boolean logSkipped;

    private Eva4jModule(ProviderRegistry registry, Map<ProviderKind, String> overrides, boolean logSkipped) {
        this.registry = registry;
        this.overrides = overrides;
        this.logSkipped = logSkipped;
    }

    public static Builder builder() {
        return new Builder();
    }

    public ProviderRegistry registry() {
        return registry;
    }

    /**
     * The provider of a kind the user named: through the builder (a command-line flag), else the system property,
     * else the environment variable; empty when the best available one is to be used.
     */
    public Optional<String> requested(ProviderKind kind) {
        return Optional.ofNullable(overrides.get(kind)).or(() -> registry.requested(kind));
    }

    @Override
    protected void configure() {
        bind(ProviderRegistry.class).toInstance(registry);
        for (ProviderKind kind : ProviderKind.values()) {
            bindKind(kind, kind.type());
        }
    }

    private <T extends Provider> void bindKind(ProviderKind kind, Class<T> type) {
        MapBinder<String, T> byName = MapBinder.newMapBinder(binder(), String.class, type);
        for (T p : registry.all(type)) {
            byName.addBinding(p.name()).toInstance(p);
        }
        if (kind == ProviderKind.SVD) return; // see svdBackend()
        Optional<String> explicit = Optional.ofNullable(overrides.get(kind));
        bind(type).toProvider(() -> registry.select(type, explicit, logSkipped)).in(Scopes.SINGLETON);
    }

    /** The chosen SVD backend, computing on the chosen compute backend unless the user named the SVD backend. */
    @Provides
    @Singleton
    SvdBackend svdBackend(com.google.inject.Provider<ComputeBackend> compute) {
        SvdBackend chosen = registry.select(SvdBackend.class, Optional.ofNullable(overrides.get(ProviderKind.SVD)),
                logSkipped);
        if (requested(ProviderKind.SVD).isPresent()) return chosen;
        return Objects.requireNonNull(chosen.using(compute.get()), () -> chosen.name() + ".using() returned null");
    }

    /** Collects the user's choices (command-line flags) before the module is built. */
    public static final class Builder {
        private ClassLoader loader = Thread.currentThread().getContextClassLoader();
        private ProviderRegistry registry;
        private final Map<ProviderKind, String> overrides = new EnumMap<>(ProviderKind.class);
        private boolean logSkipped = true;

        public Builder classLoader(ClassLoader loader) {
            this.loader = Objects.requireNonNull(loader);
            return this;
        }

        public Builder registry(ProviderRegistry registry) {
            this.registry = registry;
            return this;
        }

        /** Names the provider of a kind to use, overriding the system property and environment; null clears. */
        public Builder use(ProviderKind kind, String name) {
            if (name == null || name.isBlank()) overrides.remove(kind);
            else overrides.put(kind, name.strip());
            return this;
        }

        /** Names the compute backend ({@code --backend}). */
        public Builder backend(String name) {
            return use(ProviderKind.COMPUTE, name);
        }

        /** Names the SVD backend ({@code --svd-backend}); it then keeps its own compute backend. */
        public Builder svdBackend(String name) {
            return use(ProviderKind.SVD, name);
        }

        /** Names the rank allocator ({@code --allocator}). */
        public Builder rankAllocator(String name) {
            return use(ProviderKind.RANK_ALLOCATOR, name);
        }

        /** Whether choosing a provider logs the better ones it skipped and why (default true). */
        public Builder logSkipped(boolean logSkipped) {
            this.logSkipped = logSkipped;
            return this;
        }

        public Eva4jModule build() {
            ProviderRegistry r = registry != null ? registry : ProviderRegistry.discover(
                    loader != null ? loader : Eva4jModule.class.getClassLoader());
            return new Eva4jModule(r, Map.copyOf(overrides), logSkipped);
        }
    }
}
