package dev.eva4j.models;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.eva4j.models.tokenizer.EncodedBatch;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/** ONNX Runtime (CPU) running an ONNX BERT export: the independent reference for eva4j's forward pass. */
public final class OrtReference implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    public OrtReference(Path onnx, int intraOpThreads) throws OrtException {
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(intraOpThreads);
            opts.setInterOpNumThreads(1);
            session = env.createSession(onnx.toString(), opts);
        }
    }

    public Set<String> inputNames() throws OrtException {
        return session.getInputNames();
    }

    public Set<String> outputNames() throws OrtException {
        return session.getOutputNames();
    }

    /** last_hidden_state [B, T, C] for the batch, row-major. */
    public float[] lastHiddenState(EncodedBatch b) throws OrtException {
        long[] shape = {b.batchSize(), b.seqLen()};
        try (OnnxTensor ids = OnnxTensor.createTensor(env, longs(b.inputIds()), shape);
                OnnxTensor mask = OnnxTensor.createTensor(env, longs(b.attentionMask()), shape);
                OnnxTensor types = OnnxTensor.createTensor(env, longs(b.tokenTypeIds()), shape);
                OrtSession.Result r = session.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
            OnnxTensor out = (OnnxTensor) r.get("last_hidden_state").orElseThrow();
            FloatBuffer fb = out.getFloatBuffer();
            float[] a = new float[fb.remaining()];
            fb.get(a);
            return a;
        }
    }

    private static LongBuffer longs(int[] v) {
        LongBuffer b = LongBuffer.allocate(v.length);
        for (int x : v) b.put(x);
        return b.flip();
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
