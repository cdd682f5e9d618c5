package dev.eva4j.testkit;

import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Capability;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.DropoutMask;
import dev.eva4j.spi.KernelArgs;
import dev.eva4j.spi.Kernels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Set;

/**
 * The float64 oracle every backend is tested against: each kernel of {@link Kernels} as the plain loops its Javadoc
 * describes, in double precision, one thread, no Vector API. Buffers are Java arrays ({@link ReferenceBuffer}): F64 for
 * every float operand (F32 buffers can be allocated, filled, read and copied, not computed on), I32 for ids, positions,
 * targets and masks.
 *
 * <p>Every kernel checks all its operands with {@link KernelArgs} before any work, reads its inputs into fresh arrays,
 * computes, and only then writes its outputs (so an output that is allowed to alias an input reads the input first).
 * A backward pass computes its gradients into zeroed arrays and adds them into the gradient outputs, skipping the ones
 * that are null.
 *
 * <p>The class is open so that a test can perturb one kernel (the kit's own tests do, to prove the contract fails).
 */
public class ReferenceKernels implements Kernels {

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public DType floatType() {
        return DType.F64;
    }

    @Override
    public Set<Capability> capabilities() {
        return Set.of(Capability.FLOAT64);
    }

    // ---------------------------------------------------------------------------------------------------- memory

    @Override
    public Buffer allocate(DType dtype, long length) {
        return ReferenceBuffer.allocate(this, dtype, length);
    }

    @Override
    public void upload(Buffer dst, long offset, float[] src) {
        KernelArgs.check(src != null, "upload", "src is null");
        ReferenceBuffer d = hostRange("upload", "dst", dst, offset, src.length);
        for (int i = 0; i < src.length; i++) d.set(offset + i, src[i]);
    }

    @Override
    public void upload(Buffer dst, long offset, double[] src) {
        KernelArgs.check(src != null, "upload", "src is null");
        ReferenceBuffer d = hostRange("upload", "dst", dst, offset, src.length);
        for (int i = 0; i < src.length; i++) d.set(offset + i, src[i]);
    }

    @Override
    public void upload(Buffer dst, long offset, int[] src) {
        KernelArgs.check(src != null, "upload", "src is null");
        KernelArgs.check(offset >= 0, "upload", "offset " + offset + " is negative");
        ReferenceBuffer d = i32("upload", "dst", dst, offset + src.length, "[offset + src.length]");
        for (int i = 0; i < src.length; i++) d.setInt(offset + i, src[i]);
    }

    @Override
    public void uploadFloats(Buffer dst, long offset, MemorySegment src) {
        KernelArgs.check(src != null, "uploadFloats", "src is null");
        long n = src.byteSize() / 4;
        ReferenceBuffer d = hostRange("uploadFloats", "dst", dst, offset, n);
        for (long i = 0; i < n; i++) d.set(offset + i, src.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i));
    }

    @Override
    public void download(Buffer src, long offset, float[] dst) {
        KernelArgs.check(dst != null, "download", "dst is null");
        ReferenceBuffer s = hostRange("download", "src", src, offset, dst.length);
        for (int i = 0; i < dst.length; i++) dst[i] = (float) s.get(offset + i);
    }

    @Override
    public void download(Buffer src, long offset, double[] dst) {
        KernelArgs.check(dst != null, "download", "dst is null");
        ReferenceBuffer s = hostRange("download", "src", src, offset, dst.length);
        for (int i = 0; i < dst.length; i++) dst[i] = s.get(offset + i);
    }

    @Override
    public void downloadFloats(Buffer src, long offset, MemorySegment dst) {
        KernelArgs.check(dst != null, "downloadFloats", "dst is null");
        long n = dst.byteSize() / 4;
        ReferenceBuffer s = hostRange("downloadFloats", "src", src, offset, n);
        for (long i = 0; i < n; i++) dst.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) s.get(offset + i));
    }

    @Override
    public void copy(Buffer dst, Buffer src, long n) {
        DType dtype = src != null && src.owner() == this ? src.dtype() : floatType();
        ReferenceBuffer s = (ReferenceBuffer) req("copy", "src", src, dtype, n, "[n] = [" + n + "]");
        ReferenceBuffer d = (ReferenceBuffer) req("copy", "dst", dst, dtype, n, "[n] = [" + n + "]");
        if (dtype == DType.I32) {
            int[] values = readInts(s, n);
            for (int i = 0; i < n; i++) d.setInt(i, values[i]);
        } else {
            write(d, read(s, n));
        }
    }

    @Override
    public void fill(Buffer x, double value, long n) {
        ReferenceBuffer b = anyFloat("fill", "x", x, n, "[n] = [" + n + "]");
        for (long i = 0; i < n; i++) b.set(i, value);
    }

    @Override
    public void scale(Buffer x, double factor, long n) {
        ReferenceBuffer b = anyFloat("scale", "x", x, n, "[n] = [" + n + "]");
        for (long i = 0; i < n; i++) b.set(i, b.get(i) * factor);
    }

    // ------------------------------------------------------------------------------------------------ embeddings

    @Override
    public void embeddingForward(Buffer out, Buffer ids, Buffer table, int N, int V, int C, boolean accumulate) {
        String op = "embeddingForward";
        KernelArgs.dims(op, "N, V, C", N, V, C);
        ReferenceBuffer o = f64(op, "out", out, (long) N * C, shape("[N, C]", N, C));
        ReferenceBuffer i = i32(op, "ids", ids, N, shape("[N]", N));
        ReferenceBuffer t = f64(op, "table", table, (long) V * C, shape("[V, C]", V, C));
        int[] id = checkedIds(op, i, N, V);
        double[] tab = read(t, (long) V * C);
        double[] y = accumulate ? read(o, (long) N * C) : new double[N * C];
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) y[n * C + c] += tab[id[n] * C + c];
        }
        write(o, y);
    }

    @Override
    public void embeddingBackward(Buffer dtable, Buffer dout, Buffer ids, int N, int V, int C) {
        String op = "embeddingBackward";
        KernelArgs.dims(op, "N, V, C", N, V, C);
        ReferenceBuffer dt = opt64(op, "dtable", dtable, (long) V * C, shape("[V, C]", V, C));
        ReferenceBuffer d = f64(op, "dout", dout, (long) N * C, shape("[N, C]", N, C));
        ReferenceBuffer i = i32(op, "ids", ids, N, shape("[N]", N));
        int[] id = checkedIds(op, i, N, V);
        double[] dy = read(d, (long) N * C);
        double[] g = new double[V * C];
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) g[id[n] * C + c] += dy[n * C + c];
        }
        addInto(dt, g);
    }

    // ---------------------------------------------------------------------------------------------------- norms

    @Override
    public void layerNormForward(Buffer out, Buffer mean, Buffer rstd, Buffer inp, Buffer weight, Buffer bias,
                                 int N, int C, float eps) {
        String op = "layerNormForward";
        KernelArgs.dims(op, "N, C", N, C);
        ReferenceBuffer o = f64(op, "out", out, (long) N * C, shape("[N, C]", N, C));
        ReferenceBuffer m = opt64(op, "mean", mean, N, shape("[N]", N));
        ReferenceBuffer r = opt64(op, "rstd", rstd, N, shape("[N]", N));
        KernelArgs.check((m == null) == (r == null), op, "mean and rstd are both given or both null");
        ReferenceBuffer x = f64(op, "inp", inp, (long) N * C, shape("[N, C]", N, C));
        ReferenceBuffer w = f64(op, "weight", weight, C, shape("[C]", C));
        ReferenceBuffer b = f64(op, "bias", bias, C, shape("[C]", C));
        double[] in = read(x, (long) N * C);
        double[] wt = read(w, C);
        double[] bs = read(b, C);
        double[] y = new double[N * C];
        double[] means = new double[N];
        double[] rstds = new double[N];
        for (int n = 0; n < N; n++) {
            double mu = 0;
            for (int c = 0; c < C; c++) mu += in[n * C + c];
            mu /= C;
            double var = 0;
            for (int c = 0; c < C; c++) var += (in[n * C + c] - mu) * (in[n * C + c] - mu);
            var /= C;
            double rs = 1 / Math.sqrt(var + eps);
            for (int c = 0; c < C; c++) y[n * C + c] = (in[n * C + c] - mu) * rs * wt[c] + bs[c];
            means[n] = mu;
            rstds[n] = rs;
        }
        write(o, y);
        if (m != null) {
            write(m, means);
            write(r, rstds);
        }
    }

    @Override
    public void layerNormBackward(Buffer dinp, Buffer dweight, Buffer dbias, Buffer dout, Buffer inp, Buffer weight,
                                  Buffer mean, Buffer rstd, int N, int C) {
        String op = "layerNormBackward";
        KernelArgs.dims(op, "N, C", N, C);
        ReferenceBuffer dx = opt64(op, "dinp", dinp, (long) N * C, shape("[N, C]", N, C));
        ReferenceBuffer dw = opt64(op, "dweight", dweight, C, shape("[C]", C));
        ReferenceBuffer db = opt64(op, "dbias", dbias, C, shape("[C]", C));
        ReferenceBuffer d = f64(op, "dout", dout, (long) N * C, shape("[N, C]", N, C));
        ReferenceBuffer x = f64(op, "inp", inp, (long) N * C, shape("[N, C]", N, C));
        ReferenceBuffer w = f64(op, "weight", weight, C, shape("[C]", C));
        ReferenceBuffer m = f64(op, "mean", mean, N, shape("[N]", N));
        ReferenceBuffer r = f64(op, "rstd", rstd, N, shape("[N]", N));
        double[] dy = read(d, (long) N * C);
        double[] in = read(x, (long) N * C);
        double[] wt = read(w, C);
        double[] means = read(m, N);
        double[] rstds = read(r, N);
        double[] gx = new double[N * C];
        double[] gw = new double[C];
        double[] gb = new double[C];
        for (int n = 0; n < N; n++) {
            // with norm = (x - mean) rstd and dnorm = weight dout:
            // dx = rstd (dnorm - mean(dnorm) - norm mean(dnorm norm))
            double dnormMean = 0;
            double dnormNormMean = 0;
            for (int c = 0; c < C; c++) {
                double norm = (in[n * C + c] - means[n]) * rstds[n];
                double dnorm = wt[c] * dy[n * C + c];
                dnormMean += dnorm;
                dnormNormMean += dnorm * norm;
            }
            dnormMean /= C;
            dnormNormMean /= C;
            for (int c = 0; c < C; c++) {
                double norm = (in[n * C + c] - means[n]) * rstds[n];
                double dnorm = wt[c] * dy[n * C + c];
                gb[c] += dy[n * C + c];
                gw[c] += norm * dy[n * C + c];
                gx[n * C + c] = rstds[n] * (dnorm - dnormMean - norm * dnormNormMean);
            }
        }
        addInto(dx, gx);
        addInto(dw, gw);
        addInto(db, gb);
    }

    @Override
    public void rmsNormForward(Buffer out, Buffer rstd, Buffer inp, Buffer weight, int N, int C, float eps) {
        String op = "rmsNormForward";
        KernelArgs.dims(op, "N, C", N, C);
        ReferenceBuffer o = f64(op, "out", out, (long) N * C, shape("[N, C]", N, C));
        ReferenceBuffer r = opt64(op, "rstd", rstd, N, shape("[N]", N));
        ReferenceBuffer x = f64(op, "inp", inp, (long) N * C, shape("[N, C]", N, C));
        ReferenceBuffer w = f64(op, "weight", weight, C, shape("[C]", C));
        double[] in = read(x, (long) N * C);
        double[] wt = read(w, C);
        double[] y = new double[N * C];
        double[] rstds = new double[N];
        for (int n = 0; n < N; n++) {
            double ms = 0;
            for (int c = 0; c < C; c++) ms += in[n * C + c] * in[n * C + c];
            ms /= C;
            double rs = 1 / Math.sqrt(ms + eps);
            for (int c = 0; c < C; c++) y[n * C + c] = in[n * C + c] * rs * wt[c];
            rstds[n] = rs;
        }
        write(o, y);
        if (r != null) write(r, rstds);
    }

    @Override
    public void rmsNormBackward(Buffer dinp, Buffer dweight, Buffer dout, Buffer inp, Buffer weight, Buffer rstd,
                                int N, int C) {
        String op = "rmsNormBackward";
        KernelArgs.dims(op, "N, C", N, C);
        ReferenceBuffer dx = opt64(op, "dinp", dinp, (long) N * C, shape("[N, C]", N, C));
        ReferenceBuffer dw = opt64(op, "dweight", dweight, C, shape("[C]", C));
        ReferenceBuffer d = f64(op, "dout", dout, (long) N * C, shape("[N, C]", N, C));
        ReferenceBuffer x = f64(op, "inp", inp, (long) N * C, shape("[N, C]", N, C));
        ReferenceBuffer w = f64(op, "weight", weight, C, shape("[C]", C));
        ReferenceBuffer r = f64(op, "rstd", rstd, N, shape("[N]", N));
        double[] dy = read(d, (long) N * C);
        double[] in = read(x, (long) N * C);
        double[] wt = read(w, C);
        double[] rstds = read(r, N);
        double[] gx = new double[N * C];
        double[] gw = new double[C];
        for (int n = 0; n < N; n++) {
            // y = x rstd w with rstd = (mean(x^2) + eps)^-1/2: dx = rstd (w dout - x rstd^2 mean(w dout x))
            double rs = rstds[n];
            double dot = 0;
            for (int c = 0; c < C; c++) dot += wt[c] * dy[n * C + c] * in[n * C + c];
            dot /= C;
            for (int c = 0; c < C; c++) {
                gx[n * C + c] = rs * (wt[c] * dy[n * C + c] - in[n * C + c] * rs * rs * dot);
                gw[c] += dy[n * C + c] * in[n * C + c] * rs;
            }
        }
        addInto(dx, gx);
        addInto(dw, gw);
    }

    // -------------------------------------------------------------------------------------------------- linear

    @Override
    public void matmulForward(Buffer out, Buffer inp, Buffer weight, Buffer bias, int N, int IN, int OUT) {
        String op = "matmulForward";
        KernelArgs.dims(op, "N, IN, OUT", N, IN, OUT);
        ReferenceBuffer o = f64(op, "out", out, (long) N * OUT, shape("[N, OUT]", N, OUT));
        ReferenceBuffer x = f64(op, "inp", inp, (long) N * IN, shape("[N, IN]", N, IN));
        ReferenceBuffer w = f64(op, "weight", weight, (long) OUT * IN, shape("[OUT, IN]", OUT, IN));
        ReferenceBuffer b = opt64(op, "bias", bias, OUT, shape("[OUT]", OUT));
        double[] in = read(x, (long) N * IN);
        double[] wt = read(w, (long) OUT * IN);
        double[] bs = b == null ? new double[OUT] : read(b, OUT);
        double[] y = new double[N * OUT];
        for (int n = 0; n < N; n++) {
            for (int o2 = 0; o2 < OUT; o2++) {
                double sum = bs[o2];
                for (int i = 0; i < IN; i++) sum += in[n * IN + i] * wt[o2 * IN + i];
                y[n * OUT + o2] = sum;
            }
        }
        write(o, y);
    }

    @Override
    public void matmulBackward(Buffer dinp, Buffer dweight, Buffer dbias, Buffer dout, Buffer inp, Buffer weight,
                               int N, int IN, int OUT) {
        String op = "matmulBackward";
        KernelArgs.dims(op, "N, IN, OUT", N, IN, OUT);
        ReferenceBuffer dx = opt64(op, "dinp", dinp, (long) N * IN, shape("[N, IN]", N, IN));
        ReferenceBuffer dw = opt64(op, "dweight", dweight, (long) OUT * IN, shape("[OUT, IN]", OUT, IN));
        ReferenceBuffer db = opt64(op, "dbias", dbias, OUT, shape("[OUT]", OUT));
        ReferenceBuffer d = f64(op, "dout", dout, (long) N * OUT, shape("[N, OUT]", N, OUT));
        ReferenceBuffer x = f64(op, "inp", inp, (long) N * IN, shape("[N, IN]", N, IN));
        ReferenceBuffer w = f64(op, "weight", weight, (long) OUT * IN, shape("[OUT, IN]", OUT, IN));
        double[] dy = read(d, (long) N * OUT);
        double[] in = read(x, (long) N * IN);
        double[] wt = read(w, (long) OUT * IN);
        double[] gx = new double[N * IN];
        double[] gw = new double[OUT * IN];
        double[] gb = new double[OUT];
        for (int n = 0; n < N; n++) {
            for (int o2 = 0; o2 < OUT; o2++) {
                double g = dy[n * OUT + o2];
                gb[o2] += g;
                for (int i = 0; i < IN; i++) {
                    gx[n * IN + i] += g * wt[o2 * IN + i];
                    gw[o2 * IN + i] += g * in[n * IN + i];
                }
            }
        }
        addInto(dx, gx);
        addInto(dw, gw);
        addInto(db, gb);
    }

    @Override
    public void loraForward(Buffer out, Buffer xa, Buffer inp, Buffer weight, Buffer bias, Buffer a, Buffer b,
                            float scale, float dropout, long seed, int N, int IN, int OUT, int R) {
        String op = "loraForward";
        KernelArgs.dims(op, "N, IN, OUT, R", N, IN, OUT, R);
        KernelArgs.check(dropout >= 0 && dropout < 1, op, "dropout must be in [0, 1), got " + dropout);
        ReferenceBuffer o = f64(op, "out", out, (long) N * OUT, shape("[N, OUT]", N, OUT));
        ReferenceBuffer s = f64(op, "xa", xa, (long) N * R, shape("[N, R]", N, R));
        ReferenceBuffer x = f64(op, "inp", inp, (long) N * IN, shape("[N, IN]", N, IN));
        ReferenceBuffer w = f64(op, "weight", weight, (long) OUT * IN, shape("[OUT, IN]", OUT, IN));
        ReferenceBuffer bs = opt64(op, "bias", bias, OUT, shape("[OUT]", OUT));
        ReferenceBuffer la = f64(op, "a", a, (long) R * IN, shape("[R, IN]", R, IN));
        ReferenceBuffer lb = f64(op, "b", b, (long) OUT * R, shape("[OUT, R]", OUT, R));
        double[] in = read(x, (long) N * IN);
        double[] wt = read(w, (long) OUT * IN);
        double[] bias0 = bs == null ? new double[OUT] : read(bs, OUT);
        double[] av = read(la, (long) R * IN);
        double[] bv = read(lb, (long) OUT * R);
        double[] dropped = dropped(in, seed, dropout);
        double[] xav = new double[N * R];
        for (int n = 0; n < N; n++) {
            for (int r = 0; r < R; r++) {
                double sum = 0;
                for (int i = 0; i < IN; i++) sum += dropped[n * IN + i] * av[r * IN + i];
                xav[n * R + r] = sum;
            }
        }
        double[] y = new double[N * OUT];
        for (int n = 0; n < N; n++) {
            for (int o2 = 0; o2 < OUT; o2++) {
                double base = bias0[o2];
                for (int i = 0; i < IN; i++) base += in[n * IN + i] * wt[o2 * IN + i];
                double lora = 0;
                for (int r = 0; r < R; r++) lora += xav[n * R + r] * bv[o2 * R + r];
                y[n * OUT + o2] = base + (double) scale * lora;
            }
        }
        write(o, y);
        write(s, xav);
    }

    @Override
    public void loraBackward(Buffer dinp, Buffer da, Buffer db, Buffer dout, Buffer inp, Buffer xa, Buffer weight,
                             Buffer a, Buffer b, float scale, float dropout, long seed, int N, int IN, int OUT, int R) {
        String op = "loraBackward";
        KernelArgs.dims(op, "N, IN, OUT, R", N, IN, OUT, R);
        KernelArgs.check(dropout >= 0 && dropout < 1, op, "dropout must be in [0, 1), got " + dropout);
        ReferenceBuffer dx = opt64(op, "dinp", dinp, (long) N * IN, shape("[N, IN]", N, IN));
        ReferenceBuffer dA = opt64(op, "da", da, (long) R * IN, shape("[R, IN]", R, IN));
        ReferenceBuffer dB = opt64(op, "db", db, (long) OUT * R, shape("[OUT, R]", OUT, R));
        ReferenceBuffer d = f64(op, "dout", dout, (long) N * OUT, shape("[N, OUT]", N, OUT));
        ReferenceBuffer x = f64(op, "inp", inp, (long) N * IN, shape("[N, IN]", N, IN));
        ReferenceBuffer s = f64(op, "xa", xa, (long) N * R, shape("[N, R]", N, R));
        ReferenceBuffer w = f64(op, "weight", weight, (long) OUT * IN, shape("[OUT, IN]", OUT, IN));
        ReferenceBuffer la = f64(op, "a", a, (long) R * IN, shape("[R, IN]", R, IN));
        ReferenceBuffer lb = f64(op, "b", b, (long) OUT * R, shape("[OUT, R]", OUT, R));
        double[] dy = read(d, (long) N * OUT);
        double[] in = read(x, (long) N * IN);
        double[] xav = read(s, (long) N * R);
        double[] wt = read(w, (long) OUT * IN);
        double[] av = read(la, (long) R * IN);
        double[] bv = read(lb, (long) OUT * R);
        double[] dropped = dropped(in, seed, dropout);
        double sc = scale;
        // g = scale dout B [N, R]
        double[] g = new double[N * R];
        for (int n = 0; n < N; n++) {
            for (int r = 0; r < R; r++) {
                double sum = 0;
                for (int o2 = 0; o2 < OUT; o2++) sum += dy[n * OUT + o2] * bv[o2 * R + r];
                g[n * R + r] = sc * sum;
            }
        }
        // db += scale dout^T xa
        double[] gB = new double[OUT * R];
        for (int o2 = 0; o2 < OUT; o2++) {
            for (int r = 0; r < R; r++) {
                double sum = 0;
                for (int n = 0; n < N; n++) sum += dy[n * OUT + o2] * xav[n * R + r];
                gB[o2 * R + r] = sc * sum;
            }
        }
        // da += g^T drop(inp)
        double[] gA = new double[R * IN];
        for (int r = 0; r < R; r++) {
            for (int i = 0; i < IN; i++) {
                double sum = 0;
                for (int n = 0; n < N; n++) sum += g[n * R + r] * dropped[n * IN + i];
                gA[r * IN + i] = sum;
            }
        }
        // dinp += dout W + drop'(g A)
        double[] gx = new double[N * IN];
        for (int n = 0; n < N; n++) {
            for (int i = 0; i < IN; i++) {
                double base = 0;
                for (int o2 = 0; o2 < OUT; o2++) base += dy[n * OUT + o2] * wt[o2 * IN + i];
                double lora = 0;
                for (int r = 0; r < R; r++) lora += g[n * R + r] * av[r * IN + i];
                gx[n * IN + i] = base + DropoutMask.factor(seed, (long) n * IN + i, dropout) * lora;
            }
        }
        addInto(dx, gx);
        addInto(dA, gA);
        addInto(dB, gB);
    }

    /** drop(inp): each element times its {@link DropoutMask} factor (element index n * IN + i). */
    private static double[] dropped(double[] inp, long seed, float dropout) {
        double[] out = new double[inp.length];
        for (int i = 0; i < inp.length; i++) out[i] = inp[i] * DropoutMask.factor(seed, i, dropout);
        return out;
    }

    // ----------------------------------------------------------------------------------------------- attention

    @Override
    public void attentionForward(Buffer out, Buffer att, Buffer q, Buffer k, Buffer v, Buffer mask,
                                 int B, int T, int NH, int NKV, int HS, boolean causal) {
        String op = "attentionForward";
        KernelArgs.dims(op, "B, T, NH, NKV, HS", B, T, NH, NKV, HS);
        KernelArgs.check(NH % NKV == 0, op, "NH=" + NH + " is not a multiple of NKV=" + NKV);
        String qShape = shape("[B, T, NH, HS]", B, T, NH, HS);
        String kvShape = shape("[B, T, NKV, HS]", B, T, NKV, HS);
        long qn = (long) B * T * NH * HS;
        long kvn = (long) B * T * NKV * HS;
        ReferenceBuffer o = f64(op, "out", out, qn, qShape);
        ReferenceBuffer p = opt64(op, "att", att, (long) B * NH * T * T, shape("[B, NH, T, T]", B, NH, T, T));
        ReferenceBuffer qb = f64(op, "q", q, qn, qShape);
        ReferenceBuffer kb = f64(op, "k", k, kvn, kvShape);
        ReferenceBuffer vb = f64(op, "v", v, kvn, kvShape);
        ReferenceBuffer mb = mask == null ? null : i32(op, "mask", mask, (long) B * T, shape("[B, T]", B, T));
        double[] qv = read(qb, qn);
        double[] kv = read(kb, kvn);
        double[] vv = read(vb, kvn);
        int[] visibleKey = mb == null ? null : readInts(mb, (long) B * T);
        double[] y = new double[(int) qn];
        double[] probs = new double[B * NH * T * T];
        double scale = 1 / Math.sqrt(HS);
        int group = NH / NKV;
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                int kh = h / group;
                for (int t = 0; t < T; t++) {
                    int qOff = ((b * T + t) * NH + h) * HS;
                    int row = ((b * NH + h) * T + t) * T;
                    double[] score = new double[T];
                    boolean[] visible = new boolean[T];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s < T; s++) {
                        visible[s] = (visibleKey == null || visibleKey[b * T + s] != 0) && (!causal || s <= t);
                        if (!visible[s]) continue;
                        int kOff = ((b * T + s) * NKV + kh) * HS;
                        double dot = 0;
                        for (int i = 0; i < HS; i++) dot += qv[qOff + i] * kv[kOff + i];
                        score[s] = dot * scale;
                        max = Math.max(max, score[s]);
                    }
                    if (max == Double.NEGATIVE_INFINITY) continue; // no visible key: p = 0, output 0
                    double sum = 0;
                    for (int s = 0; s < T; s++) if (visible[s]) sum += Math.exp(score[s] - max);
                    for (int s = 0; s < T; s++) {
                        if (!visible[s]) continue;
                        double pr = Math.exp(score[s] - max) / sum;
                        probs[row + s] = pr;
                        int vOff = ((b * T + s) * NKV + kh) * HS;
                        for (int i = 0; i < HS; i++) y[qOff + i] += pr * vv[vOff + i];
                    }
                }
            }
        }
        write(o, y);
        if (p != null) write(p, probs);
    }

    @Override
    public void attentionBackward(Buffer dq, Buffer dk, Buffer dv, Buffer dout, Buffer q, Buffer k, Buffer v,
                                  Buffer att, int B, int T, int NH, int NKV, int HS) {
        String op = "attentionBackward";
        KernelArgs.dims(op, "B, T, NH, NKV, HS", B, T, NH, NKV, HS);
        KernelArgs.check(NH % NKV == 0, op, "NH=" + NH + " is not a multiple of NKV=" + NKV);
        String qShape = shape("[B, T, NH, HS]", B, T, NH, HS);
        String kvShape = shape("[B, T, NKV, HS]", B, T, NKV, HS);
        long qn = (long) B * T * NH * HS;
        long kvn = (long) B * T * NKV * HS;
        ReferenceBuffer dqb = opt64(op, "dq", dq, qn, qShape);
        ReferenceBuffer dkb = opt64(op, "dk", dk, kvn, kvShape);
        ReferenceBuffer dvb = opt64(op, "dv", dv, kvn, kvShape);
        ReferenceBuffer d = f64(op, "dout", dout, qn, qShape);
        ReferenceBuffer qb = f64(op, "q", q, qn, qShape);
        ReferenceBuffer kb = f64(op, "k", k, kvn, kvShape);
        ReferenceBuffer vb = f64(op, "v", v, kvn, kvShape);
        ReferenceBuffer p = f64(op, "att", att, (long) B * NH * T * T, shape("[B, NH, T, T]", B, NH, T, T));
        double[] dy = read(d, qn);
        double[] qv = read(qb, qn);
        double[] kv = read(kb, kvn);
        double[] vv = read(vb, kvn);
        double[] probs = read(p, (long) B * NH * T * T);
        double[] gq = new double[(int) qn];
        double[] gk = new double[(int) kvn];
        double[] gv = new double[(int) kvn];
        double scale = 1 / Math.sqrt(HS);
        int group = NH / NKV;
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                int kh = h / group;
                for (int t = 0; t < T; t++) {
                    int qOff = ((b * T + t) * NH + h) * HS;
                    int row = ((b * NH + h) * T + t) * T;
                    // dp[s] = dout . v[s]; dv[s] += p[s] dout
                    double[] dp = new double[T];
                    for (int s = 0; s < T; s++) {
                        int vOff = ((b * T + s) * NKV + kh) * HS;
                        for (int i = 0; i < HS; i++) {
                            dp[s] += dy[qOff + i] * vv[vOff + i];
                            gv[vOff + i] += probs[row + s] * dy[qOff + i];
                        }
                    }
                    // through the softmax: dscore[s] = p[s] (dp[s] - sum_s' p[s'] dp[s'])
                    double pdp = 0;
                    for (int s = 0; s < T; s++) pdp += probs[row + s] * dp[s];
                    for (int s = 0; s < T; s++) {
                        double dscore = probs[row + s] * (dp[s] - pdp) * scale;
                        int kOff = ((b * T + s) * NKV + kh) * HS;
                        for (int i = 0; i < HS; i++) {
                            gq[qOff + i] += dscore * kv[kOff + i];
                            gk[kOff + i] += dscore * qv[qOff + i];
                        }
                    }
                }
            }
        }
        addInto(dqb, gq);
        addInto(dkb, gk);
        addInto(dvb, gv);
    }

    @Override
    public void ropeForward(Buffer out, Buffer inp, Buffer positions, Buffer invFreq, int N, int H, int HS) {
        String op = "ropeForward";
        KernelArgs.dims(op, "N, H, HS", N, H, HS);
        KernelArgs.check(HS % 2 == 0, op, "HS=" + HS + " is odd");
        long n = (long) N * H * HS;
        ReferenceBuffer o = f64(op, "out", out, n, shape("[N, H, HS]", N, H, HS));
        ReferenceBuffer x = f64(op, "inp", inp, n, shape("[N, H, HS]", N, H, HS));
        ReferenceBuffer pos = i32(op, "positions", positions, N, shape("[N]", N));
        ReferenceBuffer f = f64(op, "invFreq", invFreq, HS / 2, shape("[HS/2]", HS / 2));
        double[] y = rotate(read(x, n), readInts(pos, N), read(f, HS / 2), N, H, HS, 1);
        write(o, y);
    }

    @Override
    public void ropeBackward(Buffer dinp, Buffer dout, Buffer positions, Buffer invFreq, int N, int H, int HS) {
        String op = "ropeBackward";
        KernelArgs.dims(op, "N, H, HS", N, H, HS);
        KernelArgs.check(HS % 2 == 0, op, "HS=" + HS + " is odd");
        long n = (long) N * H * HS;
        ReferenceBuffer dx = opt64(op, "dinp", dinp, n, shape("[N, H, HS]", N, H, HS));
        ReferenceBuffer d = f64(op, "dout", dout, n, shape("[N, H, HS]", N, H, HS));
        ReferenceBuffer pos = i32(op, "positions", positions, N, shape("[N]", N));
        ReferenceBuffer f = f64(op, "invFreq", invFreq, HS / 2, shape("[HS/2]", HS / 2));
        addInto(dx, rotate(read(d, n), readInts(pos, N), read(f, HS / 2), N, H, HS, -1));
    }

    /** Rotate-half RoPE by the angle {@code sign * pos[n] * invFreq[i]} (sign -1: the transpose, for backward). */
    private static double[] rotate(double[] x, int[] pos, double[] invFreq, int N, int H, int HS, int sign) {
        int half = HS / 2;
        double[] y = new double[x.length];
        for (int n = 0; n < N; n++) {
            for (int h = 0; h < H; h++) {
                int off = (n * H + h) * HS;
                for (int i = 0; i < half; i++) {
                    double angle = sign * pos[n] * invFreq[i];
                    double cos = Math.cos(angle);
                    double sin = Math.sin(angle);
                    double x1 = x[off + i];
                    double x2 = x[off + i + half];
                    y[off + i] = x1 * cos - x2 * sin;
                    y[off + i + half] = x2 * cos + x1 * sin;
                }
            }
        }
        return y;
    }

    // --------------------------------------------------------------------------------------------- elementwise

    @Override
    public void geluForward(Buffer out, Buffer inp, long n) {
        String op = "geluForward";
        ReferenceBuffer o = f64(op, "out", out, n, "[n] = [" + n + "]");
        ReferenceBuffer x = f64(op, "inp", inp, n, "[n] = [" + n + "]");
        double[] in = read(x, n);
        double[] y = new double[in.length];
        for (int i = 0; i < in.length; i++) y[i] = in[i] * phi(in[i]);
        write(o, y);
    }

    @Override
    public void geluBackward(Buffer dinp, Buffer dout, Buffer inp, long n) {
        String op = "geluBackward";
        ReferenceBuffer dx = opt64(op, "dinp", dinp, n, "[n] = [" + n + "]");
        ReferenceBuffer d = f64(op, "dout", dout, n, "[n] = [" + n + "]");
        ReferenceBuffer x = f64(op, "inp", inp, n, "[n] = [" + n + "]");
        double[] dy = read(d, n);
        double[] in = read(x, n);
        double[] g = new double[in.length];
        for (int i = 0; i < in.length; i++) {
            // gelu(x) = x Phi(x): gelu'(x) = Phi(x) + x phi(x), phi the standard normal density
            double density = Math.exp(-0.5 * in[i] * in[i]) / Math.sqrt(2 * Math.PI);
            g[i] = (phi(in[i]) + in[i] * density) * dy[i];
        }
        addInto(dx, g);
    }

    /** The standard normal distribution function, 0.5 (1 + erf(x / sqrt 2)). */
    private static double phi(double x) {
        return 0.5 * (1 + Erf.erf(x / Math.sqrt(2)));
    }

    @Override
    public void swigluForward(Buffer out, Buffer gate, Buffer up, long n) {
        String op = "swigluForward";
        ReferenceBuffer o = f64(op, "out", out, n, "[n] = [" + n + "]");
        ReferenceBuffer g = f64(op, "gate", gate, n, "[n] = [" + n + "]");
        ReferenceBuffer u = f64(op, "up", up, n, "[n] = [" + n + "]");
        double[] gv = read(g, n);
        double[] uv = read(u, n);
        double[] y = new double[gv.length];
        for (int i = 0; i < y.length; i++) y[i] = gv[i] * sigmoid(gv[i]) * uv[i];
        write(o, y);
    }

    @Override
    public void swigluBackward(Buffer dgate, Buffer dup, Buffer dout, Buffer gate, Buffer up, long n) {
        String op = "swigluBackward";
        ReferenceBuffer dg = opt64(op, "dgate", dgate, n, "[n] = [" + n + "]");
        ReferenceBuffer du = opt64(op, "dup", dup, n, "[n] = [" + n + "]");
        ReferenceBuffer d = f64(op, "dout", dout, n, "[n] = [" + n + "]");
        ReferenceBuffer g = f64(op, "gate", gate, n, "[n] = [" + n + "]");
        ReferenceBuffer u = f64(op, "up", up, n, "[n] = [" + n + "]");
        double[] dy = read(d, n);
        double[] gv = read(g, n);
        double[] uv = read(u, n);
        double[] gGate = new double[gv.length];
        double[] gUp = new double[gv.length];
        for (int i = 0; i < gv.length; i++) {
            // silu(x) = x s(x), s the logistic sigmoid: silu'(x) = s(x) (1 + x (1 - s(x)))
            double s = sigmoid(gv[i]);
            gGate[i] = dy[i] * uv[i] * s * (1 + gv[i] * (1 - s));
            gUp[i] = dy[i] * gv[i] * s;
        }
        addInto(dg, gGate);
        addInto(du, gUp);
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    @Override
    public void residualForward(Buffer out, Buffer a, Buffer b, long n) {
        String op = "residualForward";
        ReferenceBuffer o = f64(op, "out", out, n, "[n] = [" + n + "]");
        ReferenceBuffer x = f64(op, "a", a, n, "[n] = [" + n + "]");
        ReferenceBuffer y = f64(op, "b", b, n, "[n] = [" + n + "]");
        double[] av = read(x, n);
        double[] bv = read(y, n);
        double[] sum = new double[av.length];
        for (int i = 0; i < sum.length; i++) sum[i] = av[i] + bv[i];
        write(o, sum);
    }

    @Override
    public void residualBackward(Buffer da, Buffer db, Buffer dout, long n) {
        String op = "residualBackward";
        ReferenceBuffer ga = opt64(op, "da", da, n, "[n] = [" + n + "]");
        ReferenceBuffer gb = opt64(op, "db", db, n, "[n] = [" + n + "]");
        ReferenceBuffer d = f64(op, "dout", dout, n, "[n] = [" + n + "]");
        double[] dy = read(d, n);
        addInto(ga, dy);
        addInto(gb, dy);
    }

    // ------------------------------------------------------------------------------------------ loss and pooling

    @Override
    public double crossEntropyForward(Buffer probs, Buffer logits, Buffer targets, int N, int V, int ignoreIndex) {
        String op = "crossEntropyForward";
        KernelArgs.dims(op, "N, V", N, V);
        ReferenceBuffer p = f64(op, "probs", probs, (long) N * V, shape("[N, V]", N, V));
        ReferenceBuffer l = f64(op, "logits", logits, (long) N * V, shape("[N, V]", N, V));
        ReferenceBuffer t = i32(op, "targets", targets, N, shape("[N]", N));
        int[] target = checkedTargets(op, t, N, V, ignoreIndex);
        double[] x = read(l, (long) N * V);
        double[] pr = new double[N * V];
        double loss = 0;
        int count = 0;
        for (int n = 0; n < N; n++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < V; j++) max = Math.max(max, x[n * V + j]);
            double sum = 0;
            for (int j = 0; j < V; j++) sum += Math.exp(x[n * V + j] - max);
            for (int j = 0; j < V; j++) pr[n * V + j] = Math.exp(x[n * V + j] - max) / sum;
            if (target[n] == ignoreIndex) continue;
            loss += Math.log(sum) - (x[n * V + target[n]] - max); // -log softmax, without forming the probability
            count++;
        }
        write(p, pr);
        return count == 0 ? 0 : loss / count;
    }

    @Override
    public void crossEntropyBackward(Buffer dlogits, Buffer probs, Buffer targets, int N, int V, int ignoreIndex,
                                     float dloss) {
        String op = "crossEntropyBackward";
        KernelArgs.dims(op, "N, V", N, V);
        ReferenceBuffer dl = opt64(op, "dlogits", dlogits, (long) N * V, shape("[N, V]", N, V));
        ReferenceBuffer p = f64(op, "probs", probs, (long) N * V, shape("[N, V]", N, V));
        ReferenceBuffer t = i32(op, "targets", targets, N, shape("[N]", N));
        int[] target = checkedTargets(op, t, N, V, ignoreIndex);
        double[] pr = read(p, (long) N * V);
        int count = 0;
        for (int n = 0; n < N; n++) if (target[n] != ignoreIndex) count++;
        double[] g = new double[N * V];
        for (int n = 0; n < N; n++) {
            if (target[n] == ignoreIndex) continue;
            for (int j = 0; j < V; j++) {
                double onehot = j == target[n] ? 1 : 0;
                g[n * V + j] = dloss * (pr[n * V + j] - onehot) / count;
            }
        }
        addInto(dl, g);
    }

    @Override
    public void meanPoolForward(Buffer out, Buffer inp, Buffer mask, int B, int T, int C) {
        String op = "meanPoolForward";
        KernelArgs.dims(op, "B, T, C", B, T, C);
        ReferenceBuffer o = f64(op, "out", out, (long) B * C, shape("[B, C]", B, C));
        ReferenceBuffer x = f64(op, "inp", inp, (long) B * T * C, shape("[B, T, C]", B, T, C));
        ReferenceBuffer m = i32(op, "mask", mask, (long) B * T, shape("[B, T]", B, T));
        double[] in = read(x, (long) B * T * C);
        int[] keep = readInts(m, (long) B * T);
        double[] y = new double[B * C];
        for (int b = 0; b < B; b++) {
            int count = 0;
            for (int t = 0; t < T; t++) {
                if (keep[b * T + t] == 0) continue;
                count++;
                for (int c = 0; c < C; c++) y[b * C + c] += in[(b * T + t) * C + c];
            }
            for (int c = 0; c < C; c++) y[b * C + c] = count == 0 ? 0 : y[b * C + c] / count;
        }
        write(o, y);
    }

    @Override
    public void meanPoolBackward(Buffer dinp, Buffer dout, Buffer mask, int B, int T, int C) {
        String op = "meanPoolBackward";
        KernelArgs.dims(op, "B, T, C", B, T, C);
        ReferenceBuffer dx = opt64(op, "dinp", dinp, (long) B * T * C, shape("[B, T, C]", B, T, C));
        ReferenceBuffer d = f64(op, "dout", dout, (long) B * C, shape("[B, C]", B, C));
        ReferenceBuffer m = i32(op, "mask", mask, (long) B * T, shape("[B, T]", B, T));
        double[] dy = read(d, (long) B * C);
        int[] keep = readInts(m, (long) B * T);
        double[] g = new double[B * T * C];
        for (int b = 0; b < B; b++) {
            int count = 0;
            for (int t = 0; t < T; t++) if (keep[b * T + t] != 0) count++;
            for (int t = 0; t < T; t++) {
                if (keep[b * T + t] == 0) continue;
                for (int c = 0; c < C; c++) g[(b * T + t) * C + c] = dy[b * C + c] / count;
            }
        }
        addInto(dx, g);
    }

    @Override
    public void clsPoolForward(Buffer out, Buffer inp, int B, int T, int C) {
        String op = "clsPoolForward";
        KernelArgs.dims(op, "B, T, C", B, T, C);
        ReferenceBuffer o = f64(op, "out", out, (long) B * C, shape("[B, C]", B, C));
        ReferenceBuffer x = f64(op, "inp", inp, (long) B * T * C, shape("[B, T, C]", B, T, C));
        double[] in = read(x, (long) B * T * C);
        double[] y = new double[B * C];
        for (int b = 0; b < B; b++) {
            for (int c = 0; c < C; c++) y[b * C + c] = in[(b * T) * C + c];
        }
        write(o, y);
    }

    @Override
    public void clsPoolBackward(Buffer dinp, Buffer dout, int B, int T, int C) {
        String op = "clsPoolBackward";
        KernelArgs.dims(op, "B, T, C", B, T, C);
        ReferenceBuffer dx = opt64(op, "dinp", dinp, (long) B * T * C, shape("[B, T, C]", B, T, C));
        ReferenceBuffer d = f64(op, "dout", dout, (long) B * C, shape("[B, C]", B, C));
        double[] dy = read(d, (long) B * C);
        double[] g = new double[B * T * C];
        for (int b = 0; b < B; b++) {
            for (int c = 0; c < C; c++) g[(b * T) * C + c] = dy[b * C + c];
        }
        addInto(dx, g);
    }

    // ------------------------------------------------------------------------------------------------ optimiser

    @Override
    public void adamw(Buffer params, Buffer grads, Buffer m, Buffer v, long n, float lr, float beta1, float beta2,
                      float eps, float weightDecay, int step) {
        String op = "adamw";
        KernelArgs.check(step >= 1, op, "step must be >= 1, got " + step);
        ReferenceBuffer p = f64(op, "params", params, n, "[n] = [" + n + "]");
        ReferenceBuffer g = f64(op, "grads", grads, n, "[n] = [" + n + "]");
        ReferenceBuffer mb = f64(op, "m", m, n, "[n] = [" + n + "]");
        ReferenceBuffer vb = f64(op, "v", v, n, "[n] = [" + n + "]");
        double[] pv = read(p, n);
        double[] gv = read(g, n);
        double[] mv = read(mb, n);
        double[] vv = read(vb, n);
        double correction1 = 1 - Math.pow(beta1, step);
        double correction2 = 1 - Math.pow(beta2, step);
        for (int i = 0; i < pv.length; i++) {
            pv[i] *= 1 - (double) lr * weightDecay;
            mv[i] = beta1 * mv[i] + (1 - (double) beta1) * gv[i];
            vv[i] = beta2 * vv[i] + (1 - (double) beta2) * gv[i] * gv[i];
            pv[i] -= (lr / correction1) * mv[i] / (Math.sqrt(vv[i]) / Math.sqrt(correction2) + eps);
        }
        write(p, pv);
        write(mb, mv);
        write(vb, vv);
    }

    @Override
    public double norm(Buffer grads, long n) {
        ReferenceBuffer g = f64("norm", "grads", grads, n, "[n] = [" + n + "]");
        double sum = 0;
        for (double x : read(g, n)) sum += x * x;
        return Math.sqrt(sum);
    }

    // ------------------------------------------------------------------------------------------------- helpers

    private ReferenceBuffer f64(String op, String operand, Buffer buffer, long elements, String shape) {
        return (ReferenceBuffer) req(op, operand, buffer, DType.F64, elements, shape);
    }

    /** A gradient or saved output that may be null: null stays null. */
    private ReferenceBuffer opt64(String op, String operand, Buffer buffer, long elements, String shape) {
        return buffer == null ? null : f64(op, operand, buffer, elements, shape);
    }

    private ReferenceBuffer i32(String op, String operand, Buffer buffer, long elements, String shape) {
        return (ReferenceBuffer) req(op, operand, buffer, DType.I32, elements, shape);
    }

    /** F64 or F32 (the memory operations accept both float types). */
    private ReferenceBuffer anyFloat(String op, String operand, Buffer buffer, long elements, String shape) {
        boolean f32 = buffer != null && buffer.owner() == this && buffer.dtype() == DType.F32;
        return (ReferenceBuffer) req(op, operand, buffer, f32 ? DType.F32 : DType.F64, elements, shape);
    }

    private ReferenceBuffer hostRange(String op, String operand, Buffer buffer, long offset, long count) {
        KernelArgs.check(offset >= 0, op, "offset " + offset + " is negative");
        return anyFloat(op, operand, buffer, offset + count, "[offset + count] = [" + offset + " + " + count + "]");
    }

    private Buffer req(String op, String operand, Buffer buffer, DType dtype, long elements, String shape) {
        KernelArgs.require(this, op, operand, buffer, dtype, elements, shape);
        return buffer;
    }

    private static String shape(String layout, int... dims) {
        return layout + " = " + Arrays.toString(dims);
    }

    private static int[] checkedIds(String op, ReferenceBuffer ids, int N, int V) {
        int[] id = readInts(ids, N);
        for (int n = 0; n < N; n++) {
            if (id[n] < 0 || id[n] >= V) {
                throw new IllegalArgumentException(op + ": ids[" + n + "] = " + id[n] + " is outside [0, V=" + V + ")");
            }
        }
        return id;
    }

    private static int[] checkedTargets(String op, ReferenceBuffer targets, int N, int V, int ignoreIndex) {
        int[] target = readInts(targets, N);
        for (int n = 0; n < N; n++) {
            if (target[n] != ignoreIndex && (target[n] < 0 || target[n] >= V)) {
                throw new IllegalArgumentException(op + ": targets[" + n + "] = " + target[n] + " is outside [0, V="
                        + V + ") and is not the ignore index " + ignoreIndex);
            }
        }
        return target;
    }

    private static double[] read(ReferenceBuffer buffer, long n) {
        double[] values = new double[Math.toIntExact(n)];
        for (int i = 0; i < values.length; i++) values[i] = buffer.get(i);
        return values;
    }

    private static int[] readInts(ReferenceBuffer buffer, long n) {
        int[] values = new int[Math.toIntExact(n)];
        for (int i = 0; i < values.length; i++) values[i] = buffer.getInt(i);
        return values;
    }

    private static void write(ReferenceBuffer buffer, double[] values) {
        for (int i = 0; i < values.length; i++) buffer.set(i, values[i]);
    }

    /** buffer[i] += values[i]; nothing when the buffer is null (an unwanted gradient). */
    private static void addInto(ReferenceBuffer buffer, double[] values) {
        if (buffer == null) return;
        for (int i = 0; i < values.length; i++) buffer.set(i, buffer.get(i) + values[i]);
    }
}
