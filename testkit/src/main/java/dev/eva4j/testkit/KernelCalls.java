package dev.eva4j.testkit;

import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Kernels;
import java.util.List;

/**
 * Every buffer-taking call of {@link Kernels} at one small fixed shape, its operands named as the interface's
 * parameters, so that {@link KernelContract} can hand each operand a wrong buffer in turn. Zero-filled buffers are
 * valid for every operand (id 0, target 0, position 0, mask 0), so the valid call is all zeros.
 */
final class KernelCalls {
    private KernelCalls() {}

    /** What an operand holds: float-type values or I32 ids, positions, targets and masks. */
    enum Kind { FLOAT, INT }

    /**
     * One operand of a call: its parameter name, kind and the elements the shape needs; {@code nullable} when the
     * Javadoc allows null (a gradient output, saved statistics, a bias, the attention mask); {@code anyDtype} when
     * the kernel takes every dtype (copy: only a mismatch between its operands is wrong, checked on its own).
     */
    record Operand(String name, Kind kind, long length, boolean nullable, boolean anyDtype) {
        Operand(String name, Kind kind, long length, boolean nullable) {
            this(name, kind, length, nullable, false);
        }
    }

    /** Invokes the kernel with one buffer per operand, in the order of {@link Call#operands}. */
    @FunctionalInterface
    interface Invoker {
        void invoke(Kernels kernels, Buffer[] operands);
    }

    record Call(String kernel, List<Operand> operands, Invoker invoker) {}

    // the shape: every operand holds at least 2 elements, so a buffer one element short still exists
    static final int N = 3;
    static final int C = 5;
    static final int V = 4;
    static final int IN = 3;
    static final int OUT = 2;
    static final int R = 2;
    static final int B = 2;
    static final int T = 3;
    static final int NH = 2;
    static final int NKV = 1;
    static final int HS = 4;
    static final int H = 2;
    static final long n = 6;

    private static Operand f(String name, long length) {
        return new Operand(name, Kind.FLOAT, length, false);
    }

    private static Operand i(String name, long length) {
        return new Operand(name, Kind.INT, length, false);
    }

    /** A float operand the Javadoc allows to be null. */
    private static Operand fNull(String name, long length) {
        return new Operand(name, Kind.FLOAT, length, true);
    }

    static List<Call> all() {
        long q = (long) B * T * NH * HS;
        long kv = (long) B * T * NKV * HS;
        return List.of(
                new Call("copy", List.of(new Operand("dst", Kind.FLOAT, n, false, true),
                        new Operand("src", Kind.FLOAT, n, false, true)), (k, o) -> k.copy(o[0], o[1], n)),
                new Call("fill", List.of(f("x", n)), (k, o) -> k.fill(o[0], 1.5, n)),
                new Call("scale", List.of(f("x", n)), (k, o) -> k.scale(o[0], 0.5, n)),
                new Call("embeddingForward", List.of(f("out", N * C), i("ids", N), f("table", V * C)),
                        (k, o) -> k.embeddingForward(o[0], o[1], o[2], N, V, C, false)),
                new Call("embeddingBackward", List.of(fNull("dtable", V * C), f("dout", N * C), i("ids", N)),
                        (k, o) -> k.embeddingBackward(o[0], o[1], o[2], N, V, C)),
                new Call("layerNormForward", List.of(f("out", N * C), fNull("mean", N), fNull("rstd", N),
                        f("inp", N * C), f("weight", C), f("bias", C)),
                        (k, o) -> k.layerNormForward(o[0], o[1], o[2], o[3], o[4], o[5], N, C, 1e-5f)),
                new Call("layerNormBackward", List.of(fNull("dinp", N * C), fNull("dweight", C), fNull("dbias", C),
                        f("dout", N * C), f("inp", N * C), f("weight", C), f("mean", N), f("rstd", N)),
                        (k, o) -> k.layerNormBackward(o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], N, C)),
                new Call("rmsNormForward", List.of(f("out", N * C), fNull("rstd", N), f("inp", N * C),
                        f("weight", C)),
                        (k, o) -> k.rmsNormForward(o[0], o[1], o[2], o[3], N, C, 1e-5f)),
                new Call("rmsNormBackward", List.of(fNull("dinp", N * C), fNull("dweight", C), f("dout", N * C),
                        f("inp", N * C), f("weight", C), f("rstd", N)),
                        (k, o) -> k.rmsNormBackward(o[0], o[1], o[2], o[3], o[4], o[5], N, C)),
                new Call("matmulForward", List.of(f("out", N * OUT), f("inp", N * IN), f("weight", OUT * IN),
                        fNull("bias", OUT)),
                        (k, o) -> k.matmulForward(o[0], o[1], o[2], o[3], N, IN, OUT)),
                new Call("matmulBackward", List.of(fNull("dinp", N * IN), fNull("dweight", OUT * IN),
                        fNull("dbias", OUT), f("dout", N * OUT), f("inp", N * IN), f("weight", OUT * IN)),
                        (k, o) -> k.matmulBackward(o[0], o[1], o[2], o[3], o[4], o[5], N, IN, OUT)),
                new Call("loraForward", List.of(f("out", N * OUT), f("xa", N * R), f("inp", N * IN),
                        f("weight", OUT * IN), fNull("bias", OUT), f("a", R * IN), f("b", OUT * R)),
                        (k, o) -> k.loraForward(o[0], o[1], o[2], o[3], o[4], o[5], o[6], 2f, 0.25f, 7L,
                                N, IN, OUT, R)),
                new Call("loraBackward", List.of(fNull("dinp", N * IN), fNull("da", R * IN), fNull("db", OUT * R),
                        f("dout", N * OUT), f("inp", N * IN), f("xa", N * R), f("weight", OUT * IN), f("a", R * IN),
                        f("b", OUT * R)),
                        (k, o) -> k.loraBackward(o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8], 2f, 0.25f, 7L,
                                N, IN, OUT, R)),
                new Call("attentionForward", List.of(f("out", q), fNull("att", (long) B * NH * T * T), f("q", q),
                        f("k", kv), f("v", kv), new Operand("mask", Kind.INT, (long) B * T, true)),
                        (k, o) -> k.attentionForward(o[0], o[1], o[2], o[3], o[4], o[5], B, T, NH, NKV, HS, true)),
                new Call("attentionBackward", List.of(fNull("dq", q), fNull("dk", kv), fNull("dv", kv), f("dout", q),
                        f("q", q), f("k", kv), f("v", kv), f("att", (long) B * NH * T * T)),
                        (k, o) -> k.attentionBackward(o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7],
                                B, T, NH, NKV, HS)),
                new Call("ropeForward", List.of(f("out", N * H * HS), f("inp", N * H * HS), i("positions", N),
                        f("invFreq", HS / 2)),
                        (k, o) -> k.ropeForward(o[0], o[1], o[2], o[3], N, H, HS)),
                new Call("ropeBackward", List.of(fNull("dinp", N * H * HS), f("dout", N * H * HS), i("positions", N),
                        f("invFreq", HS / 2)),
                        (k, o) -> k.ropeBackward(o[0], o[1], o[2], o[3], N, H, HS)),
                new Call("geluForward", List.of(f("out", n), f("inp", n)), (k, o) -> k.geluForward(o[0], o[1], n)),
                new Call("geluBackward", List.of(fNull("dinp", n), f("dout", n), f("inp", n)),
                        (k, o) -> k.geluBackward(o[0], o[1], o[2], n)),
                new Call("swigluForward", List.of(f("out", n), f("gate", n), f("up", n)),
                        (k, o) -> k.swigluForward(o[0], o[1], o[2], n)),
                new Call("swigluBackward", List.of(fNull("dgate", n), fNull("dup", n), f("dout", n), f("gate", n),
                        f("up", n)),
                        (k, o) -> k.swigluBackward(o[0], o[1], o[2], o[3], o[4], n)),
                new Call("residualForward", List.of(f("out", n), f("a", n), f("b", n)),
                        (k, o) -> k.residualForward(o[0], o[1], o[2], n)),
                new Call("residualBackward", List.of(fNull("da", n), fNull("db", n), f("dout", n)),
                        (k, o) -> k.residualBackward(o[0], o[1], o[2], n)),
                new Call("crossEntropyForward", List.of(f("probs", N * V), f("logits", N * V), i("targets", N)),
                        (k, o) -> k.crossEntropyForward(o[0], o[1], o[2], N, V, -100)),
                new Call("crossEntropyBackward", List.of(fNull("dlogits", N * V), f("probs", N * V),
                        i("targets", N)),
                        (k, o) -> k.crossEntropyBackward(o[0], o[1], o[2], N, V, -100, 1f)),
                new Call("meanPoolForward", List.of(f("out", B * C), f("inp", B * T * C), i("mask", B * T)),
                        (k, o) -> k.meanPoolForward(o[0], o[1], o[2], B, T, C)),
                new Call("meanPoolBackward", List.of(fNull("dinp", B * T * C), f("dout", B * C), i("mask", B * T)),
                        (k, o) -> k.meanPoolBackward(o[0], o[1], o[2], B, T, C)),
                new Call("clsPoolForward", List.of(f("out", B * C), f("inp", B * T * C)),
                        (k, o) -> k.clsPoolForward(o[0], o[1], B, T, C)),
                new Call("clsPoolBackward", List.of(fNull("dinp", B * T * C), f("dout", B * C)),
                        (k, o) -> k.clsPoolBackward(o[0], o[1], B, T, C)),
                new Call("adamw", List.of(f("params", n), f("grads", n), f("m", n), f("v", n)),
                        (k, o) -> k.adamw(o[0], o[1], o[2], o[3], n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1)),
                new Call("norm", List.of(f("grads", n)), (k, o) -> k.norm(o[0], n)));
    }
}
