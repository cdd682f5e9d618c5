package dev.eva4j.models.bert;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.Batch;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.hf.HfFolder;
import dev.eva4j.models.hf.TensorSource;
import dev.eva4j.models.nn.Linears;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.nn.TrainingPass;
import dev.eva4j.models.nn.Workspace;
import dev.eva4j.spi.ActivationHook;
import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A BERT encoder (Hugging Face's BertModel without the pooler), computed only through a backend's {@link Kernels}.
 * Per layer (N = B*T rows, C hidden, I intermediate):
 * <pre>
 *   q, k, v = x Wq^T + bq, x Wk^T + bk, x Wv^T + bv     hooks: query, key, value (one input x)
 *   a = attention(q, k, v, padding mask)                 hook: attention.output.dense
 *   x1 = layernorm(a Wo^T + bo + x)
 *   u = x1 Wi^T + bi; g = gelu(u)                        hooks: intermediate.dense (x1), output.dense (g)
 *   x2 = layernorm(g Wd^T + bd + x1)
 * </pre>
 * after embeddings (word + position + token type 0, LayerNorm). Positions count from 0 in every sequence (right
 * padding); padded keys get no attention weight, so a real token's output depends neither on the padding nor on the
 * other sequences of the batch. Weights live in one backend block owned by the model until {@link #close()}.
 */
public final class BertModel implements TransformerModel {
    private final BertConfig config;
    private final Kernels k;
    private final BertWeights weights;
    private final List<LinearModule> linears;
    private final List<List<String>> groups;
    private Pass inference;
    private Pass training;

    private BertModel(BertConfig config, BertWeights weights) {
        this.config = config;
        this.k = weights.block().kernels();
        this.weights = weights;
        int C = config.hiddenSize(), I = config.intermediateSize();
        var lin = new ArrayList<LinearModule>();
        var grp = new ArrayList<List<String>>();
        for (int i = 0; i < config.numLayers(); i++) {
            String[] p = paths(i);
            lin.add(new LinearModule(p[0], C, C));
            lin.add(new LinearModule(p[1], C, C));
            lin.add(new LinearModule(p[2], C, C));
            lin.add(new LinearModule(p[3], C, C));
            lin.add(new LinearModule(p[4], C, I));
            lin.add(new LinearModule(p[5], I, C));
            grp.add(List.of(p[0], p[1], p[2]));
        }
        this.linears = List.copyOf(lin);
        this.groups = List.copyOf(grp);
    }

    private static String[] paths(int layer) {
        String[] p = new String[BertTensors.LINEARS.size()];
        for (int j = 0; j < p.length; j++) p[j] = BertTensors.layer(layer, BertTensors.LINEARS.get(j));
        return p;
    }

    /** Reads config.json and the weights of a Hugging Face BERT folder onto {@code backend}. */
    public static BertModel load(HfFolder folder, ComputeBackend backend) {
        return create(BertConfig.fromJson(folder.config(), folder.path().toString()), folder.tensors(), backend);
    }

    /**
     * Uploads the weights from {@code tensors} (Hugging Face names, optionally under {@code bert.}) into one block
     * of the backend's memory.
     *
     * @throws IllegalArgumentException one line naming a missing tensor, or a tensor with its expected and actual shape
     */
    public static BertModel create(BertConfig config, TensorSource tensors, ComputeBackend backend) {
        return create(config, tensors, Objects.requireNonNull(backend, "backend").kernels());
    }

    /** As {@link #create(BertConfig, TensorSource, ComputeBackend)} on the given kernels (e.g. the float64 reference). */
    public static BertModel create(BertConfig config, TensorSource tensors, Kernels kernels) {
        return new BertModel(config, BertWeights.load(config, tensors, Objects.requireNonNull(kernels, "kernels")));
    }

    public BertConfig config() {
        return config;
    }

    public BertWeights weights() {
        return weights;
    }

    @Override
    public dev.eva4j.models.nn.ParameterBlock parameters() {
        return weights.block();
    }

    @Override
    public Kernels kernels() {
        return k;
    }

    @Override
    public String modelType() {
        return "bert";
    }

    @Override
    public int hiddenSize() {
        return config.hiddenSize();
    }

    @Override
    public List<LinearModule> linears() {
        return linears;
    }

    @Override
    public List<List<String>> equalInputGroups() {
        return groups;
    }

    /** The last hidden state [B, T, C], without hooks or adapters. */
    public MemorySegment forward(Batch batch, Arena arena) {
        return forward(batch, arena, Set.of(), null);
    }

    @Override
    public synchronized MemorySegment forward(Batch batch, Arena arena, Set<String> hooked, ActivationHook hook) {
        if (!hooked.isEmpty()) Objects.requireNonNull(hook, "hook");
        return run(batch, null, arena, hooked, hook);
    }

    @Override
    public synchronized void collect(Batch batch, Set<String> hooked, ActivationHook hook) {
        int wanted = 0;
        for (LinearModule l : linears) if (hooked.contains(l.path())) wanted++;
        if (wanted == 0) return;
        Objects.requireNonNull(hook, "hook");
        inference = reuse(inference, batch, null, false);
        inference.forward(batch, hooked, hook, wanted);
    }

    @Override
    public synchronized MemorySegment forward(Batch batch, Lora lora, Arena arena) {
        return run(batch, lora, arena, Set.of(), null);
    }

    @Override
    public synchronized Buffer hidden(Batch batch, Lora lora) {
        return infer(batch, lora, Set.of(), null);
    }

    /** An inference pass in the reused workspace; its last hidden state (valid until the next one). */
    private Buffer infer(Batch batch, Lora lora, Set<String> hooked, ActivationHook hook) {
        inference = reuse(inference, batch, lora, false);
        inference.forward(batch, hooked, hook);
        return inference.hidden();
    }

    private MemorySegment run(Batch batch, Lora lora, Arena arena, Set<String> hooked, ActivationHook hook) {
        Buffer hidden = infer(batch, lora, hooked, hook);
        MemorySegment out = arena.allocate((long) batch.tokens() * config.hiddenSize() * Float.BYTES, 64);
        k.downloadFloats(hidden, 0, out);
        return out;
    }

    @Override
    public synchronized TrainingPass train(Batch batch, Lora lora) {
        training = reuse(training, batch, lora, true);
        training.forward(batch, Set.of(), null);
        return training;
    }

    private boolean closed;

    private Pass reuse(Pass pass, Batch batch, Lora lora, boolean train) {
        if (closed) throw new IllegalStateException(this + " is closed");
        if (batch.seqLen() > config.maxPositions()) {
            throw new InvalidInputException("sequence length " + batch.seqLen() + " exceeds max_position_embeddings "
                    + config.maxPositions());
        }
        batch.requireIdsBelow(config.vocabSize(), false, 0);
        if (pass != null && pass.B == batch.batchSize() && pass.T == batch.seqLen() && pass.lora == lora) return pass;
        if (pass != null) pass.close();
        return new Pass(batch.batchSize(), batch.seqLen(), lora, train);
    }

    /** One layer's activations; in inference the fields alias a few shared buffers. */
    private static final class Acts {
        Buffer xin, q, k, v, att, ctx, h1, x1, mean1, rstd1, u, g, h2, x2, mean2, rstd2;
        final Map<String, Buffer> xa = new HashMap<>();
    }

    /** Activations of one (B, T) shape: a set per layer in training, one shared set in inference. */
    private final class Pass implements TrainingPass, AutoCloseable {
        final int B, T, N;
        final Lora lora;
        final boolean train;
        final Workspace ws = new Workspace(k);
        final Arena host = Arena.ofShared();
        final MemorySegment tokenMask;
        final Buffer ids, positions, types, mask;
        final Acts[] acts;
        final Buffer hidden;
        // backward scratch
        Buffer dX, dH, dX1, dG, dU, dCtx, dQ, dK, dV, dXin;

        Pass(int B, int T, Lora lora, boolean train) {
            this.B = B;
            this.T = T;
            this.N = B * T;
            this.lora = lora;
            this.train = train;
            int C = config.hiddenSize(), I = config.intermediateSize(), NH = config.numHeads(), L = config.numLayers();
            try {
                tokenMask = host.allocate(N);
                ids = ws.ints(N);
                int[] pos = new int[N];
                for (int i = 0; i < N; i++) pos[i] = i % T;
                positions = ws.ints(pos);
                types = ws.ints(N);
                mask = ws.ints(N);
                acts = new Acts[L];
                if (train) {
                    Buffer x = ws.floats((long) N * C);
                    for (int l = 0; l < L; l++) {
                        Acts a = new Acts();
                        a.xin = x;
                        a.q = ws.floats((long) N * C);
                        a.k = ws.floats((long) N * C);
                        a.v = ws.floats((long) N * C);
                        a.att = ws.floats((long) B * NH * T * T);
                        a.ctx = ws.floats((long) N * C);
                        a.h1 = ws.floats((long) N * C);
                        a.x1 = ws.floats((long) N * C);
                        a.mean1 = ws.floats(N);
                        a.rstd1 = ws.floats(N);
                        a.u = ws.floats((long) N * I);
                        a.g = ws.floats((long) N * I);
                        a.h2 = ws.floats((long) N * C);
                        a.x2 = ws.floats((long) N * C);
                        a.mean2 = ws.floats(N);
                        a.rstd2 = ws.floats(N);
                        if (lora != null) {
                            for (String p : paths(l)) {
                                Lora.Module m = lora.module(p);
                                if (m != null) a.xa.put(p, ws.floats((long) N * m.rank()));
                            }
                        }
                        acts[l] = a;
                        x = a.x2;
                    }
                    hidden = x;
                } else {
                    Acts a = new Acts();
                    a.xin = a.x1 = a.x2 = ws.floats((long) N * C);
                    a.q = ws.floats((long) N * C);
                    a.k = ws.floats((long) N * C);
                    a.v = ws.floats((long) N * C);
                    a.ctx = ws.floats((long) N * C);
                    a.h1 = a.h2 = ws.floats((long) N * C);
                    a.u = a.g = ws.floats((long) N * I);
                    if (lora != null) {
                        Buffer xa = ws.floats((long) N * lora.maxRank());
                        for (Lora.Module m : lora.modules()) a.xa.put(m.path(), xa);
                    }
                    java.util.Arrays.fill(acts, a);
                    hidden = a.x2;
                }
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        @Override
        public Buffer hidden() {
            return hidden;
        }

        void forward(Batch batch, Set<String> hooked, ActivationHook hook) {
            forward(batch, hooked, hook, -1);
        }

        /** Stops once {@code stopAfter} (> 0) hooked paths have been reported; -1: the whole model. */
        private int pending;

        void forward(Batch batch, Set<String> hooked, ActivationHook hook, int stopAfter) {
            pending = stopAfter;
            int C = config.hiddenSize(), I = config.intermediateSize(), NH = config.numHeads(), HS = config.headSize();
            float eps = (float) config.layerNormEps();
            MemorySegment.copy(batch.tokenMask(), 0, tokenMask, ValueLayout.JAVA_BYTE, 0, N);
            k.upload(ids, 0, batch.inputIds());
            k.upload(mask, 0, batch.attentionMask());
            Buffer x = acts[0].xin;
            k.embeddingForward(x, ids, weights.word(), N, config.vocabSize(), C, false);
            k.embeddingForward(x, positions, weights.position(), N, config.maxPositions(), C, true);
            k.embeddingForward(x, types, weights.tokenType(), N, config.typeVocabSize(), C, true);
            k.layerNormForward(x, null, null, x, weights.embLnW(), weights.embLnB(), N, C, eps);
            for (int l = 0; l < config.numLayers(); l++) {
                BertWeights.Layer w = weights.layers().get(l);
                Acts a = acts[l];
                String[] p = paths(l);
                if (report(hooked, hook, p[0], a.xin, C)) return;
                if (report(hooked, hook, p[1], a.xin, C)) return;
                if (report(hooked, hook, p[2], a.xin, C)) return;
                Linears.forward(k, lora, train, p[0], a.q, a.xa.get(p[0]), a.xin, w.qW(), w.qB(), N, C, C);
                Linears.forward(k, lora, train, p[1], a.k, a.xa.get(p[1]), a.xin, w.kW(), w.kB(), N, C, C);
                Linears.forward(k, lora, train, p[2], a.v, a.xa.get(p[2]), a.xin, w.vW(), w.vB(), N, C, C);
                k.attentionForward(a.ctx, a.att, a.q, a.k, a.v, mask, B, T, NH, NH, HS, false);
                if (report(hooked, hook, p[3], a.ctx, C)) return;
                // layers without an adapter take the fused kernels (epilogue in one pass over the output)
                if (Linears.adapted(lora, p[3])) {
                    Linears.forward(k, lora, train, p[3], a.h1, a.xa.get(p[3]), a.ctx, w.oW(), w.oB(), N, C, C);
                    k.residualForward(a.h1, a.h1, a.xin, (long) N * C);
                    k.layerNormForward(a.x1, a.mean1, a.rstd1, a.h1, w.ln1W(), w.ln1B(), N, C, eps);
                } else {
                    k.matmulResidualLayerNormForward(a.h1, a.x1, a.mean1, a.rstd1, a.ctx, w.oW(), w.oB(), a.xin,
                            w.ln1W(), w.ln1B(), N, C, C, eps);
                }
                if (report(hooked, hook, p[4], a.x1, C)) return;
                if (Linears.adapted(lora, p[4])) {
                    Linears.forward(k, lora, train, p[4], a.u, a.xa.get(p[4]), a.x1, w.iW(), w.iB(), N, C, I);
                    k.geluForward(a.g, a.u, (long) N * I);
                } else {
                    k.matmulGeluForward(a.u, a.g, a.x1, w.iW(), w.iB(), N, C, I);
                }
                if (report(hooked, hook, p[5], a.g, I)) return;
                if (Linears.adapted(lora, p[5])) {
                    Linears.forward(k, lora, train, p[5], a.h2, a.xa.get(p[5]), a.g, w.dW(), w.dB(), N, I, C);
                    k.residualForward(a.h2, a.h2, a.x1, (long) N * C);
                    k.layerNormForward(a.x2, a.mean2, a.rstd2, a.h2, w.ln2W(), w.ln2B(), N, C, eps);
                } else {
                    k.matmulResidualLayerNormForward(a.h2, a.x2, a.mean2, a.rstd2, a.g, w.dW(), w.dB(), a.x1,
                            w.ln2W(), w.ln2B(), N, I, C, eps);
                }
            }
        }

        /** Reports {@code x} when {@code path} is hooked; true when the pass may stop (every wanted path reported). */
        private boolean report(Set<String> hooked, ActivationHook hook, String path, Buffer x, int in) {
            if (!hooked.contains(path)) return false;
            hook.onInput(path, x, N, in, tokenMask);
            return pending > 0 && --pending == 0;
        }

        @Override
        public void backward(Buffer dHidden) {
            if (!train) throw new IllegalStateException("backward needs a training pass");
            int C = config.hiddenSize(), I = config.intermediateSize(), NH = config.numHeads(), HS = config.headSize();
            long nc = (long) N * C, ni = (long) N * I;
            if (dX == null) {
                dX = ws.floats(nc);
                dH = ws.floats(nc);
                dX1 = ws.floats(nc);
                dG = ws.floats(ni);
                dU = ws.floats(ni);
                dCtx = ws.floats(nc);
                dQ = ws.floats(nc);
                dK = ws.floats(nc);
                dV = ws.floats(nc);
                dXin = ws.floats(nc);
            }
            k.copy(dX, dHidden, nc);
            for (int l = config.numLayers() - 1; l >= 0; l--) {
                BertWeights.Layer w = weights.layers().get(l);
                Acts a = acts[l];
                String[] p = paths(l);
                boolean inputGrad = l > 0;
                k.fill(dH, 0, nc);
                k.layerNormBackward(dH, null, null, dX, a.h2, w.ln2W(), a.mean2, a.rstd2, N, C);
                k.copy(dX1, dH, nc);
                k.fill(dG, 0, ni);
                Linears.backward(k, lora, p[5], dG, dH, a.xa.get(p[5]), a.g, w.dW(), N, I, C);
                k.fill(dU, 0, ni);
                k.geluBackward(dU, dG, a.u, ni);
                Linears.backward(k, lora, p[4], dX1, dU, a.xa.get(p[4]), a.x1, w.iW(), N, C, I);
                k.fill(dH, 0, nc);
                k.layerNormBackward(dH, null, null, dX1, a.h1, w.ln1W(), a.mean1, a.rstd1, N, C);
                k.copy(dXin, dH, nc);
                k.fill(dCtx, 0, nc);
                Linears.backward(k, lora, p[3], dCtx, dH, a.xa.get(p[3]), a.ctx, w.oW(), N, C, C);
                k.fill(dQ, 0, nc);
                k.fill(dK, 0, nc);
                k.fill(dV, 0, nc);
                k.attentionBackward(dQ, dK, dV, dCtx, a.q, a.k, a.v, a.att, B, T, NH, NH, HS);
                Buffer dIn = inputGrad ? dXin : null;
                Linears.backward(k, lora, p[0], dIn, dQ, a.xa.get(p[0]), a.xin, w.qW(), N, C, C);
                Linears.backward(k, lora, p[1], dIn, dK, a.xa.get(p[1]), a.xin, w.kW(), N, C, C);
                Linears.backward(k, lora, p[2], dIn, dV, a.xa.get(p[2]), a.xin, w.vW(), N, C, C);
                Buffer t = dX;
                dX = dXin;
                dXin = t;
            }
        }

        @Override
        public void close() {
            ws.close();
            if (host.scope().isAlive()) host.close();
        }
    }

    @Override
    public synchronized void close() {
        if (inference != null) inference.close();
        if (training != null) training.close();
        inference = training = null;
        closed = true;
        weights.close();
    }

    @Override
    public String toString() {
        return "BertModel[" + config.numLayers() + " layers, C=" + config.hiddenSize() + ", " + config.numHeads()
                + " heads]";
    }
}
