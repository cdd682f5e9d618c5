package dev.eva4j.models.train;

import static dev.eva4j.models.train.InitFixtures.assertClose;
import static dev.eva4j.models.train.InitFixtures.batch;
import static dev.eva4j.models.train.InitFixtures.hidden;
import static dev.eva4j.models.train.InitFixtures.load;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.cpu.java.JavaBackend;
import dev.eva4j.models.Batch;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.hf.FloatTensor;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.tiny.TinySpec;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** PiSSA and OLoRA: their factors against independent decompositions, and the export for the original weights. */
class WeightInitTest {
    @TempDir
    static Path tmp;

    /** A 48 x 32 (out x in) layer of the tiny Llama with MLP width 48. */
    static TinySpec llama() {
        return TinySpec.llama().withSize(96, 32, 48, 1, 4);
    }

    @Test
    void pissaARowsAreTheScaledTopRightSingularVectors() throws Exception {
        try (TransformerModel model = load(tmp, "llama-mlp48", llama())) {
            String path = "model.layers.0.mlp.gate_proj"; // [48, 32]
            float[] w = model.parameters().read(path + ".weight");
            int out = 48, in = 32, r = 5;
            LoraSettings s = LoraSettings.of(r, 2.5).withTargets("gate_proj");
            InitPlan plan = LoraInit.plan(LoraInit.PISSA, model, s, 0, InitFixtures.BACKEND);
            try (Lora lora = new Lora(model.kernels(), plan.modules(), 0f, 1)) {
                plan.apply(lora);
                float scale = lora.module(path).scale();
                assertEquals(0.5f, scale);
                float[] a = lora.params().read(path + ".lora_A.weight"), b = lora.params().read(path + ".lora_B.weight");
                // an independent SVD: the pure-Java backend's one-sided Jacobi, in float64
                HostLinearAlgebra.Svd ref = HostLinearAlgebra.svd(new JavaBackend(), out, in, w);
                for (int k = 0; k < r; k++) {
                    double norm = 0, dot = 0;
                    for (int i = 0; i < in; i++) {
                        norm += (double) a[k * in + i] * a[k * in + i];
                        dot += a[k * in + i] * ref.vt()[k * in + i];
                    }
                    assertEquals(Math.sqrt(ref.s()[k] / scale), Math.sqrt(norm), 1e-5 * Math.sqrt(ref.s()[0] / scale),
                            "|A row " + k + "| = sqrt(S_k / s)");
                    double sign = Math.signum(dot), root = Math.sqrt(ref.s()[k] / scale);
                    for (int i = 0; i < in; i++) {
                        assertEquals(sign * root * ref.vt()[k * in + i], a[k * in + i], 1e-5 * root, "A[" + k + ", " + i + "]");
                    }
                    for (int o = 0; o < out; o++) {
                        assertEquals(sign * root * ref.u()[o * ref.p() + k], b[o * r + k], 1e-5 * root, "B[" + o + ", " + k + "]");
                    }
                }
                // the residual is W minus its best rank-r approximation
                float[] res = model.parameters().read(path + ".weight");
                for (int o = 0; o < out; o++) {
                    for (int i = 0; i < in; i++) {
                        double low = 0;
                        for (int k = 0; k < r; k++) low += ref.u()[o * ref.p() + k] * ref.s()[k] * ref.vt()[k * in + i];
                        assertEquals(w[o * in + i] - low, res[o * in + i], 1e-5 * ref.s()[0]);
                    }
                }
            }
        }
    }

    @Test
    void oloraIsTheLeadingPartOfAQrDecomposition() throws Exception {
        try (TransformerModel model = load(tmp, "llama-mlp48", llama())) {
            String path = "model.layers.0.mlp.down_proj"; // [32, 48]
            int out = 32, in = 48, r = 6;
            float[] w = model.parameters().read(path + ".weight");
            InitPlan plan = LoraInit.plan(LoraInit.OLORA, model, LoraSettings.of(r, 12).withTargets("down_proj"), 0, null);
            try (Lora lora = new Lora(model.kernels(), plan.modules(), 0f, 1)) {
                plan.apply(lora);
                float[] a = lora.params().read(path + ".lora_A.weight"), b = lora.params().read(path + ".lora_B.weight");
                // Gram-Schmidt (twice) on W's first r columns, in float64
                double[][] q = new double[r][out];
                for (int j = 0; j < r; j++) {
                    for (int o = 0; o < out; o++) q[j][o] = w[o * in + j];
                    for (int pass = 0; pass < 2; pass++) {
                        for (int p = 0; p < j; p++) {
                            double d = 0;
                            for (int o = 0; o < out; o++) d += q[p][o] * q[j][o];
                            for (int o = 0; o < out; o++) q[j][o] -= d * q[p][o];
                        }
                    }
                    double n = 0;
                    for (int o = 0; o < out; o++) n += q[j][o] * q[j][o];
                    for (int o = 0; o < out; o++) q[j][o] /= Math.sqrt(n);
                }
                for (int j = 0; j < r; j++) {
                    double sign = Math.signum(b[j]) * Math.signum(q[j][0]);
                    for (int o = 0; o < out; o++) assertEquals(sign * q[j][o], b[o * r + j], 1e-5, "B = Q[:, :r]");
                    for (int i = 0; i < in; i++) {
                        double rji = 0;
                        for (int o = 0; o < out; o++) rji += q[j][o] * w[o * in + i];
                        assertEquals(sign * rji, a[j * in + i], 1e-5, "A = R[:r] at (" + j + ", " + i + ")");
                        if (i < j) assertEquals(0, a[j * in + i], "R is upper triangular");
                    }
                }
            }
        }
    }

    @Test
    void householderSignsFollowLapack() {
        // numpy / torch.linalg.qr([[3, 1], [4, 2]]): Q = [[-0.6, -0.8], [-0.8, 0.6]], R = [[-5, -2.2], [0, 0.4]]
        HostLinearAlgebra.Qr qr = HostLinearAlgebra.qrLeading(2, 2, new float[] {3, 1, 4, 2}, 2);
        assertArrayEquals(new double[] {-0.6, -0.8, -0.8, 0.6}, qr.q(), 1e-12);
        assertArrayEquals(new double[] {-5, -2.2, 0, 0.4}, qr.rr(), 1e-6);
        assertThrows(IllegalArgumentException.class, () -> HostLinearAlgebra.qrLeading(2, 2, new float[4], 3));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({"PISSA, bert", "PISSA, llama", "OLORA, bert", "OLORA, llama"})
    void theExportGivesTheTrainedModelOnTheOriginalWeights(LoraInit kind, String arch) throws Exception {
        TinySpec spec = arch.equals("bert") ? TinySpec.bert() : TinySpec.llama();
        String first = arch.equals("bert") ? "query" : "q_proj";
        LoraSettings s = LoraSettings.of(4, 6).withPatterns(Map.of(first, 3), Map.of(first, 2.0));
        Batch batch = batch(96);
        try (TransformerModel residual = load(tmp, arch, spec); TransformerModel original = load(tmp, arch, spec)) {
            InitPlan plan = LoraInit.plan(kind, residual, s, 0, InitFixtures.BACKEND);
            try (Lora lora = new Lora(residual.kernels(), plan.modules(), 0f, 1)) {
                InitialAdapter initial = plan.apply(lora);
                // "training": move every A and B away from its initial value
                Random rnd = new Random(4);
                for (Lora.Module m : lora.modules()) {
                    for (String name : List.of(m.aName(), m.bName())) {
                        float[] x = lora.params().read(name);
                        for (int i = 0; i < x.length; i++) x[i] += (float) (0.05 * rnd.nextGaussian());
                        lora.params().write(name, x);
                    }
                }
                PissaExport.Converted c = PissaExport.convert(lora, initial);
                assertEquals(8, c.settings().r());
                assertEquals(12, c.settings().alpha());
                Map<String, FloatTensor> tensors = c.tensors();
                assertEquals(2 * lora.modules().size(), tensors.size());
                for (Lora.Module m : lora.modules()) {
                    PissaExport.Module e = c.modules().stream().filter(x -> x.path().equals(m.path())).findFirst().orElseThrow();
                    assertEquals(2 * m.rank(), e.rank());
                    assertEquals(m.scale(), c.settings().scaleOf(m.path()), 1e-7, m.path() + ": same scaling");
                    // W_res + s B A == W + s' B' A'
                    float[] wRes = residual.parameters().read(m.path() + ".weight");
                    float[] w = original.parameters().read(m.path() + ".weight");
                    float[] a = lora.params().read(m.aName()), b = lora.params().read(m.bName());
                    float[] trained = plus(wRes, b, a, m.out(), m.in(), m.rank(), m.scale());
                    float[] exported = plus(w, e.b(), e.a(), m.out(), m.in(), e.rank(), c.settings().scaleOf(m.path()));
                    assertClose(kind + " " + m.path() + ": W_res + s B A vs W + s' B' A'", trained, exported, 1e-5);
                    assertArrayEquals(e.a(), tensors.get(m.path() + ".lora_A.weight").values());
                }
                // and the model outputs agree: residual base + trained adapter vs original base + converted adapter
                List<Lora.Module> modules = c.settings().modules(original.linears());
                try (Lora converted = new Lora(original.kernels(), modules, 0f, 1)) {
                    for (PissaExport.Module e : c.modules()) {
                        converted.params().write(e.aName(), e.a());
                        converted.params().write(e.bName(), e.b());
                    }
                    assertClose(kind + " " + arch + ": outputs", hidden(residual, batch, lora),
                            hidden(original, batch, converted), 1e-5);
                }
            }
        }
    }

    /** w + scale * b a in float64. Shapes: w [out, in]; b [out, r]; a [r, in]. */
    private static float[] plus(float[] w, float[] b, float[] a, int out, int in, int r, double scale) {
        float[] y = new float[out * in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double acc = 0;
                for (int k = 0; k < r; k++) acc += (double) b[o * r + k] * a[k * in + i];
                y[o * in + i] = (float) (w[o * in + i] + scale * acc);
            }
        }
        return y;
    }

    @Test
    void exportSettingsKeepEveryLayersScaling() {
        List<dev.eva4j.models.LinearModule> linears = List.of(new dev.eva4j.models.LinearModule("l.0.q", 64, 64),
                new dev.eva4j.models.LinearModule("l.0.v", 64, 64), new dev.eva4j.models.LinearModule("l.1.q", 64, 64));
        for (boolean rslora : List.of(false, true)) {
            LoraSettings s = LoraSettings.of(4, 8).withRslora(rslora)
                    .withPatterns(Map.of("q", 2), Map.of("l.1.q", 5.0, "v", 3.0));
            LoraSettings d = PissaExport.settings(s);
            assertEquals(8, d.r());
            assertEquals(rslora ? 8 * Math.sqrt(2) : 16, d.alpha(), 1e-12);
            Map<String, Float> before = new HashMap<>(), after = new HashMap<>();
            for (Lora.Module m : s.modules(linears)) before.put(m.path(), m.scale());
            for (Lora.Module m : d.modules(linears)) {
                after.put(m.path(), m.scale());
                assertEquals(2 * s.rankOf(m.path()), m.rank(), m.path());
            }
            for (String p : before.keySet()) assertEquals(before.get(p), after.get(p), 1e-6, (rslora ? "rslora " : "") + p);
        }
    }

    @Test
    void onlyWeightChangingInitsNeedAnExport() throws Exception {
        try (TransformerModel model = load(tmp, "llama-mlp48", llama())) {
            InitPlan plan = LoraInit.plan(LoraInit.LORA, model, LoraSettings.of(2, 2), 0, null);
            try (Lora lora = new Lora(model.kernels(), plan.modules(), 0f, 1)) {
                InitialAdapter initial = plan.apply(lora);
                var e = assertThrows(IllegalArgumentException.class, () -> PissaExport.convert(lora, initial));
                assertTrue(e.getMessage().contains("needs no conversion"), e.getMessage());
            }
        }
    }
}
