package dev.eva4j.api.providers;

import com.google.inject.AbstractModule;
import com.google.inject.Scopes;
import com.google.inject.multibindings.MapBinder;
import dev.eva4j.spi.Provider;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Guice wiring of the plug-ins: every discovered provider is bound by name in a {@code Map<String, T>} per kind
 * (a {@link MapBinder}), and each kind's interface is bound to the chosen provider — the one the user named, else
 * the best available (see {@link ProviderRegistry#select}). The choice is made lazily, on first injection, so a kind
 * nobody asks for never fails.
 *
 * <pre>{@code
 * Injector injector = Guice.createInjector(Eva4jModule.builder().backend("openblas").build());
 * ComputeBackend backend = injector.getInstance(ComputeBackend.class);
 * }</pre>
 */
public final class Eva4jModule extends AbstractModule {
    private final ProviderRegistry registry;
    private final Map<ProviderKind, String> overrides;

    private Eva4jModule(ProviderRegistry registry, Map<ProviderKind, String> overrides) {
        this.registry = registry;
        this.overrides = overrides;
    }

    public static Builder builder() {
        return new Builder();
    }

    public ProviderRegistry registry() {
        return registry;
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
        Optional<String> explicit = Optional.ofNullable(overrides.get(kind));
        bind(type).toProvider(() -> registry.select(type, explicit)).in(Scopes.SINGLETON);
    }

    /** Collects the user's choices (command-line flags) before the module is built. */
    public static final class Builder {
        private ClassLoader loader = Thread.currentThread().getContextClassLoader();
        private ProviderRegistry registry;
        private final Map<ProviderKind, String> overrides = new EnumMap<>(ProviderKind.class);

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

        public Eva4jModule build() {
            ProviderRegistry r = registry != null ? registry : ProviderRegistry.discover(
                    loader != null ? loader : Eva4jModule.class.getClassLoader());
            return new Eva4jModule(r, Map.copyOf(overrides));
        }
    }
}
