package dev.eva4j.api.eva;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where EVA's activations come from: our own models' hooks, another runtime's dumps, or shards from many machines.
 * A batch maps a module path to the masked rows of that layer's input for one forward pass; for an equal-input
 * group it is enough to supply the rows under any one member's path.
 */
public interface ActivationSource extends AutoCloseable {

    /** The target layers, in declaration order. */
    List<TargetLayer> layers();

    /** Equal-input groups (each a list of module paths); layers in none form groups of one. */
    List<List<String>> groups();

    /**
     * Which layers still need rows: the engine calls this before every {@link #next()} with the module paths of all
     * members of the groups that have not converged yet (a group that converged can resume when its rank grows, and
     * is then named again). A source may skip the other layers' rows, and the work that only they need; rows it
     * still returns for them are ignored. The default ignores the hint.
     */
    default void request(Set<String> modules) {
    }

    /**
     * The next batch, or null at the end of the data. Rows stay valid until the next call. Rows that are read-only
     * file mappings may be unloaded ({@link java.lang.foreign.MemorySegment#unload()}) by the engine once it has
     * copied them (they stay readable: the pages are read again from the file when touched).
     */
    Map<String, Rows> next() throws IOException;

    /** Starts again from the first batch (EVA cycles over the data until it converges). */
    void rewind() throws IOException;

    @Override
    void close() throws IOException;
}
