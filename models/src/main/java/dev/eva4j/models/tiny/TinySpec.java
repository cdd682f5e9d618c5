package dev.eva4j.models.tiny;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.api.tensor.DType;

/**
 * What {@link TinyModels#write} generates: a random model of a given architecture and size, with a fixed seed.
 * Start from {@link #llama()} or {@link #bert()} and change what you need with the {@code with...} methods.
 *
 * @param arch              llama (decoder) or bert (encoder)
 * @param vocabSize         V, at least the tokenizer's special tokens plus one word
 * @param hiddenSize        C, a multiple of {@code heads}
 * @param intermediateSize  the MLP's width
 * @param layers            number of transformer blocks
 * @param heads             attention heads
 * @param kvHeads           key/value heads (llama; fewer than {@code heads} for grouped-query attention; must divide it)
 * @param qwen2Biases       llama arch: write a qwen2 model (q/k/v biases)
 * @param tiedEmbeddings    llama arch: no lm_head.weight, the embedding matrix is the output projection
 * @param llama3RopeScaling llama arch: rope_scaling llama3 (factor 8, low 1, high 4, original 64 positions)
 * @param dtype             F32 or BF16 (also F16) for the weights
 * @param seed              the random seed
 * @param maxPositions      max_position_embeddings
 */
public record TinySpec(Arch arch, int vocabSize, int hiddenSize, int intermediateSize, int layers, int heads, int kvHeads,
                       boolean qwen2Biases, boolean tiedEmbeddings, boolean llama3RopeScaling, DType dtype, long seed,
                       int maxPositions) {

    public enum Arch { LLAMA, BERT }

    public TinySpec {
        if (arch == null) throw new InvalidInputException("arch must be llama or bert");
        if (vocabSize < TinyTokenizer.MIN_VOCAB) {
            throw new InvalidInputException("vocab size must be >= " + TinyTokenizer.MIN_VOCAB + ", got " + vocabSize);
        }
        if (heads < 1 || hiddenSize < 1 || hiddenSize % heads != 0) {
            throw new InvalidInputException("hidden size (" + hiddenSize + ") must be a positive multiple of heads (" + heads + ")");
        }
        if (arch == Arch.LLAMA && (hiddenSize / heads) % 2 != 0) {
            throw new InvalidInputException("head size hidden/heads must be even for RoPE, got " + hiddenSize / heads);
        }
        if (kvHeads < 1 || heads % kvHeads != 0) {
            throw new InvalidInputException("kv heads (" + kvHeads + ") must divide heads (" + heads + ")");
        }
        if (intermediateSize < 1) throw new InvalidInputException("intermediate size must be >= 1, got " + intermediateSize);
        if (layers < 1) throw new InvalidInputException("layers must be >= 1, got " + layers);
        if (maxPositions < 2) throw new InvalidInputException("max positions must be >= 2, got " + maxPositions);
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new InvalidInputException("dtype must be F32, BF16 or F16, got " + dtype);
        }
        if (arch == Arch.BERT && (kvHeads != heads || qwen2Biases || tiedEmbeddings || llama3RopeScaling)) {
            throw new InvalidInputException("GQA, qwen2 biases, tied embeddings and rope scaling are llama options");
        }
    }

    /** A 2-layer Llama: V 96, C 32, 4 heads of 8, MLP 64, F32, seed 42. */
    public static TinySpec llama() {
        return new TinySpec(Arch.LLAMA, 96, 32, 64, 2, 4, 4, false, false, false, DType.F32, 42, 128);
    }

    /** A 2-layer BERT: V 96, C 32, 4 heads, MLP 64, F32, seed 42. */
    public static TinySpec bert() {
        return new TinySpec(Arch.BERT, 96, 32, 64, 2, 4, 4, false, false, false, DType.F32, 42, 128);
    }

    public TinySpec withKvHeads(int n) {
        return new TinySpec(arch, vocabSize, hiddenSize, intermediateSize, layers, heads, n, qwen2Biases, tiedEmbeddings,
                llama3RopeScaling, dtype, seed, maxPositions);
    }

    public TinySpec withQwen2Biases(boolean on) {
        return new TinySpec(arch, vocabSize, hiddenSize, intermediateSize, layers, heads, kvHeads, on, tiedEmbeddings,
                llama3RopeScaling, dtype, seed, maxPositions);
    }

    public TinySpec withTiedEmbeddings(boolean on) {
        return new TinySpec(arch, vocabSize, hiddenSize, intermediateSize, layers, heads, kvHeads, qwen2Biases, on,
                llama3RopeScaling, dtype, seed, maxPositions);
    }

    public TinySpec withLlama3RopeScaling(boolean on) {
        return new TinySpec(arch, vocabSize, hiddenSize, intermediateSize, layers, heads, kvHeads, qwen2Biases,
                tiedEmbeddings, on, dtype, seed, maxPositions);
    }

    public TinySpec withDtype(DType d) {
        return new TinySpec(arch, vocabSize, hiddenSize, intermediateSize, layers, heads, kvHeads, qwen2Biases,
                tiedEmbeddings, llama3RopeScaling, d, seed, maxPositions);
    }

    public TinySpec withSeed(long s) {
        return new TinySpec(arch, vocabSize, hiddenSize, intermediateSize, layers, heads, kvHeads, qwen2Biases,
                tiedEmbeddings, llama3RopeScaling, dtype, s, maxPositions);
    }

    /** Changes the size: vocabulary, hidden, MLP width, layers, heads (kv heads = heads). */
    public TinySpec withSize(int vocab, int hidden, int intermediate, int nLayers, int nHeads) {
        return new TinySpec(arch, vocab, hidden, intermediate, nLayers, nHeads, nHeads, qwen2Biases, tiedEmbeddings,
                llama3RopeScaling, dtype, seed, maxPositions);
    }
}
