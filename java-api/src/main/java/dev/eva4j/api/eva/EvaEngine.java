package dev.eva4j.api.eva;

import dev.eva4j.spi.InvalidInputException;
import dev.eva4j.spi.RankAllocator;
import dev.eva4j.spi.SvdBackend;
import dev.eva4j.spi.TopKProblem;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * EVA over any {@link ActivationSource} (docs/eva.md): incremental PCA per equal-input group, convergence by cosine
 * similarity against moving rank targets, redistribution by a {@link RankAllocator} after every step, and the LoRA A
 * matrices at the end. Memory is bounded by one batch plus the per-group state, whatever the data size: within a
 * step the groups are prepared, solved (one batched {@link SvdBackend#topK} call per chunk) and committed in chunks
 * whose SVD problems take at most {@code stepBytes} (a chunk holds at least one group), so a step's working memory
 * is bounded by max(stepBytes, the largest group's problem) rather than the sum over all groups. The chunking does
 * not change results: every problem is solved on its own, with its own seed.
 *
 * <p>Thread-safety: an engine holds no state between runs (each run keeps its PCA state, ranks and counters to
 * itself), so one engine may run several sources one after the other, and separate engines may run at once on
 * separate threads, each with its own {@link ActivationSource}. One run happens on the calling thread; its
 * {@link ProgressListener} and cancellation flag are called on that thread. The {@link SvdBackend} and
 * {@link RankAllocator} given must themselves be safe to share when engines run at once.
 */
public final class EvaEngine {
    /** Default bound on the SVD problems of one chunk of a step: 256 MiB. */
    public static final long DEFAULT_STEP_BYTES = 256L << 20;
    /**
     * Whitening refuses a component whose singular value is at most this fraction of the group's largest one in
     * float32 mode (float32 cannot resolve smaller ones: they are rounding noise of a rank-deficient input).
     */
    public static final double WHITEN_MIN_RATIO_F32 = 1e-6;
    /** The same bound in float64 mode. */
    public static final double WHITEN_MIN_RATIO_F64 = 1e-13;

    private final EvaConfig config;
    private final SvdBackend svd;
    private final RankAllocator allocator;
    private final long stepBytes;

    public EvaEngine(EvaConfig config, SvdBackend svd, RankAllocator allocator) {
        this(config, svd, allocator, DEFAULT_STEP_BYTES);
    }

    /**
     * @param stepBytes bound on the bytes of the SVD problems (stacked matrices M and their answers) prepared at once
     *                  within a step, >= 1; a group larger than that is still solved, alone
     * @throws IllegalArgumentException when {@code config} asks for float64 and {@code svd} cannot compute in it
     */
    public EvaEngine(EvaConfig config, SvdBackend svd, RankAllocator allocator, long stepBytes) {
        this.config = Objects.requireNonNull(config, "config");
        this.svd = Objects.requireNonNull(svd, "svd");
        this.allocator = Objects.requireNonNull(allocator, "allocator");
        if (stepBytes < 1) throw new IllegalArgumentException("stepBytes must be >= 1, got " + stepBytes);
        this.stepBytes = stepBytes;
        if (config.precision() == EvaConfig.Precision.FLOAT64 && !svd.supportsFloat64()) {
            throw new InvalidInputException("the SVD backend '" + svd.name() + "' computes in float32 only; "
                    + "precision float64 needs one that supports float64 (the cpu SVD backend does)");
        }
    }

    /** One equal-input group: members (indices into the layer list) share one incremental PCA. */
    private static final class Group {
        final int[] members;
        final IncrementalPca pca;
        boolean[] converged;
        int steps;
        boolean done;
        int maxRows; // the most rows one batch gave this group
        boolean supplied; // whether any batch held an entry (possibly of 0 rows) for this group

        Group(int[] members, int d, int k, boolean float64) {
            this.members = members;
            this.pca = new IncrementalPca(d, k, float64);
            this.converged = new boolean[k];
        }
    }

    public EvaResult run(ActivationSource source) throws IOException {
        return run(source, ProgressListener.NONE);
    }

    /**
     * @throws EvaNotConvergedException when max_steps passed with unconverged layers and the config does not accept
     * @throws IllegalArgumentException on bad input (dimensions, NaN/Inf, empty source, rank > d), on data that
     *     never gives a group the k rows one step needs (all positions masked, or too few tokens per batch: detected
     *     after one full pass, or at max_steps), and when whitening would divide by a zero or tiny singular value
     */
    public EvaResult run(ActivationSource source, ProgressListener progress) throws IOException {
        return run(source, progress, () -> false);
    }

    /**
     * As {@link #run(ActivationSource, ProgressListener)}, and stops when {@code cancelled} says so. The flag is read
     * once per step, after the progress callback and before the next batch is fetched from the source, so a cancel
     * takes effect between steps: the step under way finishes, no further batch is read, and the run ends with a
     * {@link CancellationException}. Nothing is returned or written then; the per-group state of the run becomes
     * garbage as the exception unwinds (the caller closes its source, which frees the batch memory it holds).
     *
     * @param cancelled read on the calling thread once per step; may be set from any thread (back it with a volatile
     *                  field or an atomic)
     * @throws CancellationException when {@code cancelled} returned true before a step
     */
    public EvaResult run(ActivationSource source, ProgressListener progress, BooleanSupplier cancelled)
            throws IOException {
        Objects.requireNonNull(cancelled, "cancelled");
        Run run = new Run(source.layers(), source.groups());
        boolean[] sawData = {false};
        try (Workspace workspace = new Workspace()) {
            return run.loop(progress, cancelled, (needed, step) -> {
                long t0 = System.nanoTime();
                source.request(needed);
                Map<String, Rows> batch = source.next();
                if (batch == null) {
                    if (!sawData[0]) throw new InvalidInputException("the activation source holds no batch");
                    checkEveryGroupStepped(run.groups, run.layers, "in a full pass over the data"); // cycling cannot help
                    source.rewind();
                    source.request(needed);
                    batch = source.next();
                    if (batch == null) throw new InvalidInputException("the activation source is empty after rewinding");
                }
                long t1 = System.nanoTime();
                run.sourceNanos += t1 - t0;
                sawData[0] = true;
                long consumed = stepAll(batch, run.layers, run.groupOf, run.groups, step, workspace);
                run.svdNanos += System.nanoTime() - t1;
                return consumed;
            });
        }
    }

    /**
     * EVA over rounds of mergeable states ({@link StateSource}, e.g. a cluster's workers): each round's state of a
     * group is absorbed into the group's running state ({@link IncrementalPca#absorb}: the SVD of
     * [diag(S) V; diag(S_round) V_round; mean correction] on this engine's SVD backend), then convergence and ranks are
     * decided as after a step over rows. When a round's state is full-rank (min(d, rows) components) for the rows of
     * one batch, the result is what {@link #run(ActivationSource, ProgressListener, BooleanSupplier)} gives over the
     * same batches (exactly with {@link SvdBackend.Mode#EXACT}); a round state of fewer rows than k is skipped, as a
     * step over rows skips such a batch. A round counts as a step ({@link EvaConfig#maxSteps()}, the report's steps).
     * The time a round takes at the source is reported as activation time, the absorbing SVDs as SVD time.
     *
     * <p>The same cancellation contract as {@link #run(ActivationSource, ProgressListener, BooleanSupplier)}.
     *
     * @throws IllegalArgumentException on states of the wrong shape or precision, or for modules that are not targets
     */
    public EvaResult run(StateSource source, ProgressListener progress, BooleanSupplier cancelled) throws IOException {
        Objects.requireNonNull(cancelled, "cancelled");
        Run run = new Run(source.layers(), source.groups());
        boolean f64 = config.precision() == EvaConfig.Precision.FLOAT64;
        return run.loop(progress, cancelled, (needed, step) -> {
            long t0 = System.nanoTime();
            StateSource.Round round = source.next(needed, step);
            long t1 = System.nanoTime();
            run.sourceNanos += t1 - t0;
            if (round == null) throw new IllegalStateException("the state source returned no round");
            Map<Group, IncrementalPca.State> input = new LinkedHashMap<>();
            for (Map.Entry<String, Integer> e : round.maxRows().entrySet()) {
                Group g = run.group(e.getKey(), step);
                g.supplied = true;
                g.maxRows = Math.max(g.maxRows, e.getValue());
            }
            for (Map.Entry<String, IncrementalPca.State> e : round.states().entrySet()) {
                Group g = run.group(e.getKey(), step);
                IncrementalPca.State st = e.getValue();
                if (st.d() != g.pca.dim() || st.float64() != f64 || (!g.pca.hasComponents() && st.k() < g.pca.components()
                        && st.n() >= g.pca.components())) {
                    throw new IllegalArgumentException("layer '" + e.getKey() + "': round " + step + " has a state of d = "
                            + st.d() + ", k = " + st.k() + (st.float64() ? " (float64)" : " (float32)") + ", expected d = "
                            + g.pca.dim() + ", k >= " + g.pca.components() + (f64 ? " (float64)" : " (float32)"));
                }
                g.supplied = true;
                input.putIfAbsent(g, st);
            }
            for (Group g : run.groups) {
                IncrementalPca.State st = input.get(g);
                // fewer rows than k: skipped, as a step over rows skips a batch with fewer than k real tokens
                if (g.done || st == null || st.n() < g.pca.components()) continue;
                double[] sims = g.pca.absorb(st, svd, config.svd(), config.seed());
                g.steps++;
                if (sims != null) for (int c = 0; c < sims.length; c++) g.converged[c] = sims[c] >= config.tau();
            }
            run.svdNanos += System.nanoTime() - t1;
            if (round.passDone()) checkEveryGroupStepped(run.groups, run.layers, "in a full pass over the data");
            return round.rows();
        });
    }

    /** One step of a run: given the modules still needed and the step number (1, 2, ...), returns rows consumed. */
    @FunctionalInterface
    private interface Stepper {
        long step(Set<String> needed, int step) throws IOException;
    }

    /** The state of one run: layers, groups and time spent, shared by the row and the state variants. */
    private final class Run {
        final List<TargetLayer> layers;
        final List<Group> groups;
        final Map<String, Group> groupOf = new HashMap<>();
        long sourceNanos, svdNanos;

        Run(List<TargetLayer> declaredLayers, List<List<String>> declaredGroups) {
            layers = List.copyOf(declaredLayers);
            if (layers.isEmpty()) throw new IllegalArgumentException("no target layers");
            Map<String, Integer> index = new LinkedHashMap<>();
            for (int i = 0; i < layers.size(); i++) {
                TargetLayer l = layers.get(i);
                if (index.put(l.module(), i) != null) throw new IllegalArgumentException("layer '" + l.module() + "' is declared twice");
                if (config.r() > l.inFeatures()) {
                    throw new InvalidInputException("rank r = " + config.r() + " exceeds in_features = " + l.inFeatures()
                            + " of layer '" + l.module() + "'");
                }
            }
            groups = buildGroups(layers, index, declaredGroups);
            for (Group g : groups) for (int m : g.members) groupOf.put(layers.get(m).module(), g);
        }

        Group group(String module, int step) {
            Group g = groupOf.get(module);
            if (g == null) throw new IllegalArgumentException("round " + step + " has a state for '" + module
                    + "', which is not a target layer");
            return g;
        }

        EvaResult loop(ProgressListener progress, BooleanSupplier cancelled, Stepper stepper) throws IOException {
            int budget = config.r() * layers.size();
            int[] maxRanks = new int[layers.size()];
            for (Group g : groups) for (int m : g.members) maxRanks[m] = g.pca.components();
            int[] ranks = maxRanks.clone(); // before the first allocation every layer wants all of its components

            long start = System.nanoTime();
            ProcessClock clock = ProcessClock.now();
            int step = 0;
            long tokens = 0;
            while (true) {
                int done = 0;
                for (Group g : groups) {
                    g.done = allConverged(g.converged, groupRank(g, ranks));
                    if (g.done) done += g.members.length;
                }
                progress.step(step, config.maxSteps(), done, layers.size(), tokens);
                if (done == layers.size() || step >= config.maxSteps()) break;
                if (cancelled.getAsBoolean()) throw new CancellationException("EVA cancelled after " + step + " step(s)");
                Set<String> needed = new LinkedHashSet<>();
                for (Group g : groups) if (!g.done) for (int m : g.members) needed.add(layers.get(m).module());
                step++;
                tokens += stepper.step(Collections.unmodifiableSet(needed), step);
                if (groups.stream().allMatch(g -> g.pca.hasComponents())) {
                    ranks = allocate(groups, layers.size(), budget, maxRanks);
                    Map<String, Integer> now = new LinkedHashMap<>();
                    for (int i = 0; i < layers.size(); i++) now.put(layers.get(i).module(), ranks[i]);
                    progress.ranks(step, Collections.unmodifiableMap(now));
                }
            }
            checkEveryGroupStepped(groups, layers, "in " + step + " step(s)");
            ProcessClock end = ProcessClock.now();
            EvaResult.Timings timings = new EvaResult.Timings(sourceNanos * 1e-9, svdNanos * 1e-9,
                    (System.nanoTime() - start) * 1e-9, PeakMemory.residentBytes(), end.cpuSecondsSince(clock),
                    end.jitSecondsSince(clock), end.stealFractionSince(clock));
            EvaResult result = result(layers, groups, ranks, step, timings);
            if (!result.converged() && !config.acceptUnconverged()) throw new EvaNotConvergedException(result);
            return result;
        }
    }

    private List<Group> buildGroups(List<TargetLayer> layers, Map<String, Integer> index, List<List<String>> declared) {
        int[] groupOf = new int[layers.size()];
        Arrays.fill(groupOf, -1);
        List<int[]> memberLists = new ArrayList<>();
        for (List<String> g : declared) {
            if (g.isEmpty()) continue;
            int[] members = new int[g.size()];
            for (int i = 0; i < g.size(); i++) {
                Integer li = index.get(g.get(i));
                if (li == null) throw new IllegalArgumentException("group member '" + g.get(i) + "' is not a target layer");
                if (groupOf[li] >= 0) throw new IllegalArgumentException("layer '" + g.get(i) + "' is in two groups");
                if (layers.get(li).inFeatures() != layers.get(index.get(g.getFirst())).inFeatures()) {
                    throw new IllegalArgumentException("group of '" + g.getFirst() + "' mixes in_features");
                }
                groupOf[li] = memberLists.size();
                members[i] = li;
            }
            Arrays.sort(members);
            memberLists.add(members);
        }
        for (int i = 0; i < layers.size(); i++) {
            if (groupOf[i] < 0) {
                groupOf[i] = memberLists.size();
                memberLists.add(new int[] {i});
            }
        }
        memberLists.sort((x, y) -> Integer.compare(x[0], y[0])); // groups in declaration order of their first member
        List<Group> groups = new ArrayList<>();
        for (int[] members : memberLists) {
            int d = layers.get(members[0]).inFeatures();
            groups.add(new Group(members, d, Math.min(config.components(), d),
                    config.precision() == EvaConfig.Precision.FLOAT64));
        }
        return groups;
    }

    /**
     * Fails with the cause when some group never had the k rows a step needs: every position masked (no rows at
     * all), or batches too small. Without this the loop would run to max_steps and report "did not converge".
     */
    private static void checkEveryGroupStepped(List<Group> groups, List<TargetLayer> layers, String when) {
        for (Group g : groups) {
            if (g.pca.hasComponents()) continue;
            String layer = "layer '" + layers.get(g.members[0]).module() + "'";
            int k = g.pca.components();
            if (!g.supplied) {
                throw new InvalidInputException(layer + " received no rows " + when + ": the activation source "
                        + "never supplied this layer's rows");
            }
            if (g.maxRows == 0) {
                throw new InvalidInputException(layer + " received no rows " + when + ": every position is masked "
                        + "(attention mask 0, or a label equal to the label mask value), so there is nothing to learn from");
            }
            throw new InvalidInputException(layer + " never received the k = " + k + " rows one step needs " + when
                    + " (at most " + g.maxRows + " real-token rows in a batch): too little data to learn from; use more "
                    + "tokens per batch (--batch-size, --max-length, --rows-per-step) or a smaller r * rho");
        }
    }

    // Runs one step for every group that is not done, in chunks of at most stepBytes of SVD problems (one backend
    // batch per chunk); returns rows consumed.
    private long stepAll(Map<String, Rows> batch, List<TargetLayer> layers, Map<String, Group> groupOf,
                         List<Group> groups, int step, Workspace workspace) {
        Map<Group, Rows> input = new LinkedHashMap<>();
        for (Map.Entry<String, Rows> e : batch.entrySet()) {
            Group g = groupOf.get(e.getKey());
            if (g == null) throw new IllegalArgumentException("batch " + step + " has activations for '" + e.getKey()
                    + "', which is not a target layer");
            Rows r = e.getValue();
            int d = g.pca.dim();
            if (r.dim() != d) throw new IllegalArgumentException("layer '" + e.getKey() + "': batch " + step + " has rows of "
                    + r.dim() + " features, expected in_features = " + d);
            input.putIfAbsent(g, r);
        }
        long consumed = 0;
        boolean warm = config.svd() == SvdBackend.Mode.WARM;
        List<Group> todo = new ArrayList<>();
        for (Group g : groups) {
            Rows r = input.get(g);
            if (g.done || r == null) continue;
            g.supplied = true;
            g.maxRows = Math.max(g.maxRows, r.count());
            if (r.count() < g.pca.components()) continue; // too few real tokens: skip
            todo.add(g);
            consumed = Math.max(consumed, r.count());
        }
        for (int next = 0; next < todo.size(); ) {
            List<Group> chunk = new ArrayList<>();
            long bytes = 0;
            while (next < todo.size()) {
                Group g = todo.get(next);
                long b = g.pca.stepBytes(input.get(g).count(), warm);
                if (!chunk.isEmpty() && bytes + b > stepBytes) break;
                chunk.add(g);
                bytes += b;
                next++;
            }
            // the chunk's problems are sliced from one buffer kept between steps: no allocation, zeroing or page
            // faults per step (M, S, V^T and the warm start are written in full before they are read)
            SegmentAllocator slices = workspace.slices(bytes + chunk.size() * SLICE_SLACK);
            List<IncrementalPca.Step> prepared = new ArrayList<>();
            for (Group g : chunk) {
                Rows r = input.get(g);
                try {
                    prepared.add(g.pca.prepare(r.data(), r.count(), slices, config.seed(), warm));
                } catch (IncrementalPca.NonFiniteInputException e) {
                    throw new InvalidInputException("layer '" + layers.get(g.members[0]).module() + "': batch "
                            + step + " holds " + e.getMessage());
                }
                // rows mapped read-only from a file (the safetensors source) are copied into M now: drop their
                // pages so that resident memory does not grow with every group of the batch
                if (r.data().isMapped() && r.data().isReadOnly()) r.data().unload();
            }
            svd.topK(prepared.stream().map(IncrementalPca.Step::problem).toList(), config.svd());
            for (int i = 0; i < chunk.size(); i++) {
                Group g = chunk.get(i);
                double[] sims = g.pca.commit(prepared.get(i));
                g.steps++;
                if (sims != null) for (int c = 0; c < sims.length; c++) g.converged[c] = sims[c] >= config.tau();
            }
        }
        return consumed;
    }

    /** Room per problem for aligning its four slices (M, S, V^T, warm start) to 64 bytes. */
    private static final long SLICE_SLACK = 4 * 64;

    /**
     * A run's SVD working memory: one native buffer, grown when a chunk needs more, sliced afresh for every chunk.
     * Not zeroed between uses. A new buffer has a quarter more room than asked for: the number of real tokens varies
     * from batch to batch, and every regrowth pays for faulting in fresh pages (the demo's ~130 MB took ~0.3 s each
     * time on a 2-core virtual machine, and the buffer had grown four times per run).
     */
    private static final class Workspace implements AutoCloseable {
        private Arena arena;
        private MemorySegment buffer = MemorySegment.NULL;

        SegmentAllocator slices(long bytes) {
            if (buffer.byteSize() < bytes) {
                if (arena != null) arena.close();
                arena = Arena.ofShared();
                buffer = arena.allocate(bytes + bytes / 4, 64);
            }
            return SegmentAllocator.slicingAllocator(buffer);
        }

        @Override
        public void close() {
            if (arena != null) arena.close();
            arena = null;
            buffer = MemorySegment.NULL;
        }
    }

    private int[] allocate(List<Group> groups, int layers, int budget, int[] maxRanks) {
        List<double[]> spectra = new ArrayList<>(java.util.Collections.nCopies(layers, (double[]) null));
        for (Group g : groups) {
            double[] evr = g.pca.hasComponents() ? g.pca.explainedVarianceRatio() : new double[g.pca.components()];
            for (int m : g.members) spectra.set(m, evr);
        }
        int[] raw = allocator.allocate(spectra, budget, maxRanks);
        if (raw.length != layers) throw new IllegalStateException("rank allocator '" + allocator.name() + "' returned "
                + raw.length + " ranks for " + layers + " layers");
        int[] ranks = new int[layers];
        for (Group g : groups) { // members offer identical candidates: split the group's total evenly, first ones first
            int total = 0;
            for (int m : g.members) total += raw[m];
            int each = total / g.members.length, extra = total % g.members.length;
            for (int i = 0; i < g.members.length; i++) {
                ranks[g.members[i]] = Math.min(maxRanks[g.members[i]], each + (i < extra ? 1 : 0));
            }
        }
        return ranks;
    }

    private static int groupRank(Group g, int[] ranks) {
        int r = 0;
        for (int m : g.members) r = Math.max(r, ranks[m]);
        return r;
    }

    private static boolean allConverged(boolean[] converged, int upTo) {
        for (int i = 0; i < upTo; i++) if (!converged[i]) return false;
        return true;
    }

    /**
     * Divides row i of A by sqrt(S_i), on the layer's own copy. A singular value that is not finite, or at most
     * {@link #WHITEN_MIN_RATIO_F32} (float64: {@link #WHITEN_MIN_RATIO_F64}) of the largest, is refused with the layer
     * named: dividing by it would write Inf/NaN or amplified rounding noise into the adapter.
     */
    private void whiten(float[] a, int rank, int d, float[] s, double[] comps64, double[] s64, String module) {
        boolean f64 = config.precision() == EvaConfig.Precision.FLOAT64;
        double ratio = f64 ? WHITEN_MIN_RATIO_F64 : WHITEN_MIN_RATIO_F32;
        double largest = s64[0];
        for (int i = 0; i < rank; i++) {
            if (!Double.isFinite(s64[i]) || !(s64[i] > ratio * largest)) {
                throw new InvalidInputException("layer '" + module + "': cannot whiten component " + i + " of rank "
                        + rank + ": its singular value " + s64[i] + " is " + (s64[i] == 0 ? "zero" : "at most " + ratio
                        + " of the largest (" + largest + ")") + "; the layer's inputs are rank-deficient (a constant "
                        + "or duplicated column?): run without whitening, or with a smaller r");
            }
        }
        for (int i = 0; i < rank; i++) {
            if (f64) {
                double scale = 1 / Math.sqrt(s64[i]);
                for (int j = 0; j < d; j++) a[i * d + j] = (float) (comps64[i * d + j] * scale);
            } else {
                float scale = (float) (1 / Math.sqrt(s[i]));
                for (int j = 0; j < d; j++) a[i * d + j] *= scale;
            }
        }
    }

    private EvaResult result(List<TargetLayer> layers, List<Group> groups, int[] ranks, int steps,
                             EvaResult.Timings timings) {
        LayerResult[] out = new LayerResult[layers.size()];
        List<String> unconverged = new ArrayList<>();
        for (Group g : groups) {
            boolean done = g.pca.hasComponents() && allConverged(g.converged, groupRank(g, ranks));
            float[] comps = g.pca.componentsCopy();
            float[] s = g.pca.singularValues();
            double[] s64 = g.pca.singularValues64();
            double[] spectrum = g.pca.hasComponents() ? g.pca.explainedVarianceRatio() : new double[0];
            int d = g.pca.dim();
            for (int m : g.members) {
                TargetLayer l = layers.get(m);
                int rank = comps == null ? 0 : ranks[m];
                float[] a = new float[rank * d]; // a copy per layer: whitening never touches shared state
                if (rank > 0) System.arraycopy(comps, 0, a, 0, rank * d);
                if (config.whiten() && rank > 0) whiten(a, rank, d, s, g.pca.componentsCopy64(), s64, l.module());
                double alpha = config.adjustScalingFactors() ? config.alpha() * rank / config.r() : config.alpha();
                out[m] = new LayerResult(l, rank, alpha, a, spectrum, g.steps, g.pca.samplesSeen(), done,
                        layers.get(g.members[0]).module());
                if (!done) unconverged.add(l.module());
            }
        }
        return new EvaResult(config, List.of(out), steps, unconverged.isEmpty(), List.copyOf(unconverged), allocator.name(),
                timings);
    }
}
