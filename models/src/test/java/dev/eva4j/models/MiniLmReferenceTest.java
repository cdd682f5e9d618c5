package dev.eva4j.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.models.bert.BertModel;
import dev.eva4j.models.bert.Pooling;
import dev.eva4j.models.onnx.OnnxModelLoader;
import dev.eva4j.models.tokenizer.EncodedBatch;
import dev.eva4j.models.tokenizer.HfTokenizer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The acceptance check: eva4j's BertModel, loaded from the all-MiniLM-L6-v2 ONNX export through the importer and run
 * on OpenBLAS, against ONNX Runtime running the same file, on 20 varied sentences batched with right padding.
 * Relative error of a sentence = max|a - b| / max|b| over its real tokens (hidden state) or its 384 values (mean
 * pooled embedding); padding positions are not compared (their values mean nothing and differ by design).
 */
class MiniLmReferenceTest {
    private static final double TOLERANCE = 1e-4;

    @Test
    void lastHiddenStateAndMeanPoolingMatchOnnxRuntime() throws Exception {
        OpenBlasBackend backend = new OpenBlasBackend();
        assertTrue(backend.isAvailable(), backend.unavailableReason());
        // one OpenBLAS thread: with two, cblas_sgemm_batch_strided (attention) runs ~450x slower on this 2-core host;
        // the numerics do not depend on it
        backend.setThreads(1);
        try (HfTokenizer tok = HfTokenizer.load(MiniLm.tokenizer(), 128);
                OrtReference ort = new OrtReference(MiniLm.onnx(), 2);
                BertModel model = new OnnxModelLoader().load(MiniLm.onnx(), backend);
                Arena arena = Arena.ofConfined()) {
            assertEquals(Set.of("input_ids", "attention_mask", "token_type_ids"), ort.inputNames());
            assertEquals(Set.of("last_hidden_state"), ort.outputNames());
            System.out.println("ONNX inputs " + ort.inputNames() + ", outputs " + ort.outputNames());

            EncodedBatch b = tok.encode(Sentences.TWENTY);
            int B = b.batchSize(), T = b.seqLen(), C = model.hiddenSize();
            assertEquals(20, B);
            assertEquals(128, T, "the long sentences are truncated to 128 tokens");
            assertTrue(b.truncated()[14] && b.truncated()[15]);

            float[] ref = ort.lastHiddenState(b);
            MemorySegment hidden = model.forward(b.toBatch(), arena);
            float[] ours = hidden.toArray(ValueLayout.JAVA_FLOAT);
            assertEquals(ref.length, ours.length);
            float[] pooled = Pooling.mean(hidden, b.attentionMask(), B, T, C, arena).toArray(ValueLayout.JAVA_FLOAT);

            double worstHidden = 0, worstPooled = 0, maxAbs = 0, maxElemRel = 0;
            for (int s = 0; s < B; s++) {
                int len = b.lengths()[s];
                double diff = 0, scale = 0;
                for (int t = 0; t < len; t++) {
                    for (int c = 0; c < C; c++) {
                        int i = (s * T + t) * C + c;
                        double d = Math.abs(ours[i] - ref[i]);
                        diff = Math.max(diff, d);
                        scale = Math.max(scale, Math.abs(ref[i]));
                        if (Math.abs(ref[i]) > 1e-2) maxElemRel = Math.max(maxElemRel, d / Math.abs(ref[i]));
                    }
                }
                maxAbs = Math.max(maxAbs, diff);
                double relHidden = diff / scale;
                double[] refPooled = new double[C];
                for (int t = 0; t < len; t++) for (int c = 0; c < C; c++) refPooled[c] += ref[(s * T + t) * C + c];
                double pDiff = 0, pScale = 0;
                for (int c = 0; c < C; c++) {
                    double r = refPooled[c] / len;
                    pDiff = Math.max(pDiff, Math.abs(pooled[s * C + c] - r));
                    pScale = Math.max(pScale, Math.abs(r));
                }
                double relPooled = pDiff / pScale;
                System.out.printf("sentence %2d (%3d tokens): hidden rel err %.3e, mean-pooled rel err %.3e%n", s, len,
                        relHidden, relPooled);
                if (relHidden > TOLERANCE || relPooled > TOLERANCE) {
                    System.out.printf("  first values ours %s%n  onnxrt   %s%n", first(ours, s * T * C), first(ref, s * T * C));
                }
                worstHidden = Math.max(worstHidden, relHidden);
                worstPooled = Math.max(worstPooled, relPooled);
            }
            System.out.printf("MiniLM vs ONNX Runtime, 20 sentences x %d tokens: max rel err hidden %.3e, pooled %.3e; "
                    + "elementwise max |a-b| %.3e, max |a-b|/|b| (|b| > 1e-2) %.3e%n", T, worstHidden, worstPooled, maxAbs,
                    maxElemRel);
            assertTrue(worstHidden <= TOLERANCE, "last hidden state max relative error " + worstHidden);
            assertTrue(worstPooled <= TOLERANCE, "mean-pooled embedding max relative error " + worstPooled);
        }
    }

    private static String first(float[] a, int from) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < from + 5; i++) sb.append(String.format("%.6f ", a[i]));
        return sb.toString();
    }
}
