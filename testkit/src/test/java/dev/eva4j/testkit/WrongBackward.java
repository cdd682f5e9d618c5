package dev.eva4j.testkit;

import dev.eva4j.spi.Buffer;

/**
 * Deliberately wrong kernels for {@link KitCanFailTest}: the reference with one backward pass broken the way such
 * passes break in practice. Every forward pass is the reference's.
 */
final class WrongBackward {
    private WrongBackward() {}

    /** LayerNorm's backward without the mean(dnorm) term: dinp = rstd (dnorm - norm mean(dnorm norm)). */
    static final class LayerNormWithoutMean extends ReferenceKernels {
        @Override
        public String name() {
            return "wrong-layernorm-backward";
        }

        @Override
        public void layerNormBackward(Buffer dinp, Buffer dweight, Buffer dbias, Buffer dout, Buffer inp,
                                      Buffer weight, Buffer mean, Buffer rstd, int N, int C) {
            super.layerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
            if (dinp == null) return;
            double[] dy = values(dout, N * C);
            double[] w = values(weight, C);
            double[] rs = values(rstd, N);
            double[] dx = values(dinp, N * C);
            for (int n = 0; n < N; n++) {
                double dnormMean = 0;
                for (int c = 0; c < C; c++) dnormMean += w[c] * dy[n * C + c];
                dnormMean /= C;
                for (int c = 0; c < C; c++) dx[n * C + c] += rs[n] * dnormMean; // undo "- mean(dnorm)"
            }
            upload(dinp, 0, dx);
        }
    }

    /**
     * Attention's backward without the softmax Jacobian's correction: dscore = p dp instead of
     * p (dp - sum p dp), so dq and dk are wrong while dv is right.
     */
    static final class AttentionWithoutSoftmaxCorrection extends ReferenceKernels {
        @Override
        public String name() {
            return "wrong-attention-backward";
        }

        @Override
        public void attentionBackward(Buffer dq, Buffer dk, Buffer dv, Buffer dout, Buffer q, Buffer k, Buffer v,
                                      Buffer att, int B, int T, int NH, int NKV, int HS) {
            super.attentionBackward(dq, dk, dv, dout, q, k, v, att, B, T, NH, NKV, HS);
            double[] dy = values(dout, B * T * NH * HS);
            double[] qv = values(q, B * T * NH * HS);
            double[] kv = values(k, B * T * NKV * HS);
            double[] vv = values(v, B * T * NKV * HS);
            double[] p = values(att, B * NH * T * T);
            double[] gq = new double[qv.length];
            double[] gk = new double[kv.length];
            double scale = 1 / Math.sqrt(HS);
            for (int b = 0; b < B; b++) {
                for (int h = 0; h < NH; h++) {
                    int kh = h / (NH / NKV);
                    for (int t = 0; t < T; t++) {
                        int qOff = ((b * T + t) * NH + h) * HS;
                        int row = ((b * NH + h) * T + t) * T;
                        double pdp = 0;
                        for (int s = 0; s < T; s++) {
                            int vOff = ((b * T + s) * NKV + kh) * HS;
                            double dp = 0;
                            for (int i = 0; i < HS; i++) dp += dy[qOff + i] * vv[vOff + i];
                            pdp += p[row + s] * dp;
                        }
                        // add back p[s] * sum(p dp): what the correct pass subtracted
                        for (int s = 0; s < T; s++) {
                            double extra = p[row + s] * pdp * scale;
                            int kOff = ((b * T + s) * NKV + kh) * HS;
                            for (int i = 0; i < HS; i++) {
                                gq[qOff + i] += extra * kv[kOff + i];
                                gk[kOff + i] += extra * qv[qOff + i];
                            }
                        }
                    }
                }
            }
            addInto(dq, gq);
            addInto(dk, gk);
        }
    }

    private static double[] values(Buffer b, int n) {
        double[] values = new double[n];
        b.owner().download(b, 0, values);
        return values;
    }

    private static void addInto(Buffer b, double[] g) {
        if (b == null) return;
        double[] values = values(b, g.length);
        for (int i = 0; i < g.length; i++) values[i] += g[i];
        b.owner().upload(b, 0, values);
    }
}
