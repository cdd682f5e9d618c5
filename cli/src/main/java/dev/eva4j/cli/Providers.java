package dev.eva4j.cli;

import com.google.inject.ConfigurationException;
import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.ProvisionException;
import com.google.inject.util.Types;
import dev.eva4j.api.providers.Eva4jModule;
import dev.eva4j.api.providers.ProviderKind;
import dev.eva4j.api.providers.ProviderRegistry;
import dev.eva4j.api.providers.ProviderSelectionException;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Provider;
import dev.eva4j.spi.RankAllocator;
import dev.eva4j.spi.SvdBackend;
import java.util.Map;
import java.util.Optional;

/**
 * The providers of one command, from one injector over {@link Eva4jModule} with the user's flags: the same wiring a
 * library user or a service gets. A provider the user named that cannot work here surfaces as the
 * {@link ProviderSelectionException} (a one-line user error, exit code 2, with the provider table), not as Guice's
 * wrapper.
 */
final class Providers {
    private final Eva4jModule module;
    private final Injector injector;

    private Providers(Eva4jModule module) {
        this.module = module;
        this.injector = Guice.createInjector(module);
    }

    /** Providers found on the CLI's class path, with the user's choices (null: best available). */
    static Providers of(String backend, String svdBackend, String rankAllocator) {
        return new Providers(choices(backend, svdBackend, rankAllocator).build());
    }

    /** With only a compute backend named (or none). */
    static Providers of(String backend) {
        return of(backend, null, null);
    }

    /**
     * The same providers (no second discovery) with another compute backend named: for commands that measure several.
     * Choices of the other kinds carry over.
     */
    Providers withBackend(String backend) {
        Eva4jModule.Builder b = Eva4jModule.builder().registry(registry()).backend(backend);
        for (ProviderKind kind : ProviderKind.values()) {
            if (kind != ProviderKind.COMPUTE) module.requested(kind).ifPresent(name -> b.use(kind, name));
        }
        return new Providers(b.build());
    }

    /** Quiet about better providers skipped (the listing shows them); for {@code eva4j backends}. */
    static Providers quiet(String backend, String svdBackend, String rankAllocator) {
        return new Providers(choices(backend, svdBackend, rankAllocator).logSkipped(false).build());
    }

    private static Eva4jModule.Builder choices(String backend, String svdBackend, String rankAllocator) {
        return Eva4jModule.builder().classLoader(Main.class.getClassLoader())
                .backend(backend).svdBackend(svdBackend).rankAllocator(rankAllocator);
    }

    ComputeBackend compute() {
        return get(ComputeBackend.class);
    }

    SvdBackend svd() {
        return get(SvdBackend.class);
    }

    RankAllocator rankAllocator() {
        return get(RankAllocator.class);
    }

    /**
     * The compute backend the chosen SVD backend runs on when it follows the chosen one ({@link SvdBackend#using}
     * gave a bound instance); empty when the SVD backend was named, cannot run there, or uses no compute backend.
     */
    Optional<ComputeBackend> svdCompute() {
        SvdBackend svd = svd();
        if (requested(ProviderKind.SVD).isPresent()) return Optional.empty();
        boolean bound = registry().byName(SvdBackend.class, svd.name()).map(found -> found != svd).orElse(false);
        return bound ? Optional.of(compute()) : Optional.empty();
    }

    /** The chosen provider of a kind. */
    Provider chosen(ProviderKind kind) {
        return get(kind.type());
    }

    /** Every provider of a kind by name, best first. */
    @SuppressWarnings("unchecked")
    <T extends Provider> Map<String, T> all(Class<T> type) {
        return (Map<String, T>) injector.getInstance(Key.get(Types.mapOf(String.class, type)));
    }

    /** Every provider found, with its status (for listings). */
    ProviderRegistry registry() {
        return injector.getInstance(ProviderRegistry.class);
    }

    /** The provider of a kind the user named (flag, system property or environment), if any. */
    Optional<String> requested(ProviderKind kind) {
        return module.requested(kind);
    }

    private <T> T get(Class<T> type) {
        try {
            return injector.getInstance(type);
        } catch (ProvisionException | ConfigurationException e) {
            for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
                if (c instanceof ProviderSelectionException p) throw p;
            }
            throw e;
        }
    }
}
