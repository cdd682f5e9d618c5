package dev.eva4j.models.peft;

import static dev.eva4j.models.peft.PeftFixtures.BACKEND;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.models.Batch;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.data.BatchReader;
import dev.eva4j.models.data.HfTextEncoder;
import dev.eva4j.models.hf.HfModelLoader;
import dev.eva4j.models.llama.LlamaModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import dev.eva4j.models.tiny.TinyTokenizer;
import dev.eva4j.models.tokenizer.HfTokenizer;
import dev.eva4j.models.train.LoraSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Evaluation agrees with the models' own losses, and counts accuracy as argmax against the label or next token. */
class AdapterEvaluationTest {
    @TempDir
    Path tmp;

    @Test
    void lmLossIsTheModelsCausalLmLossAndAccuracyCountsNextTokens() throws Exception {
        Path llama = tmp.resolve("llama");
        TinyModels.write(llama, TinySpec.llama());
        Random rnd = new Random(2);
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            StringBuilder ids = new StringBuilder("2");
            for (int t = 0, n = 3 + rnd.nextInt(6); t < n; t++) ids.append(", ").append(4 + rnd.nextInt(92));
            jsonl.append("{\"input_ids\": [").append(ids).append("]}\n");
        }
        Path data = Files.writeString(tmp.resolve("lm.jsonl"), jsonl);
        try (LlamaModel model = LlamaModel.load(llama, BACKEND);
             Lora lora = new Lora(model.kernels(), LoraSettings.of(2, 4).modules(model.linears()), 0f, 1)) {
            PeftFixtures.randomise(lora, 0.2, 5);
            Batch batch;
            try (BatchReader r = new BatchReader(data, null, 8, 64, false, -100)) {
                batch = r.next();
            }
            double expectedLoss = model.causalLmLoss(batch, lora, false);
            float[] logits = PeftFixtures.logits(model, batch, lora);
            int[] targets = LlamaModel.nextTokenTargets(batch);
            int V = model.vocabSize();
            long correct = 0, counted = 0;
            for (int i = 0; i < targets.length; i++) {
                if (targets[i] == -100) continue;
                counted++;
                int best = 0;
                for (int v = 1; v < V; v++) if (logits[i * V + v] > logits[i * V + best]) best = v;
                if (best == targets[i]) correct++;
            }
            AdapterEvaluation.Result r;
            try (BatchReader reader = new BatchReader(data, null, 2, 64, false, -100)) {   // three batches
                r = AdapterEvaluation.lm(model, lora, reader);
            }
            assertEquals(counted, r.counted());
            assertEquals(correct, r.correct());
            assertEquals(expectedLoss, r.loss(), 1e-6 * expectedLoss, "token-weighted over batches = mean over all");
        }
    }

    @Test
    void classificationLossAndAccuracy() throws Exception {
        Path bert = tmp.resolve("bert");
        TinyModels.write(bert, TinySpec.bert());
        List<String> words = TinyTokenizer.vocabulary(TinySpec.Arch.BERT, 96).subList(20, 96);
        Random rnd = new Random(4);
        StringBuilder jsonl = new StringBuilder();
        for (int i = 0; i < 7; i++) {
            StringBuilder text = new StringBuilder();
            for (int t = 0, n = 2 + rnd.nextInt(8); t < n; t++) text.append(words.get(rnd.nextInt(words.size()))).append(' ');
            jsonl.append("{\"text\": \"").append(text.toString().strip()).append("\", \"label\": ").append(i % 3).append("}\n");
        }
        Path data = Files.writeString(tmp.resolve("cls.jsonl"), jsonl);
        Path unlabeled = Files.writeString(tmp.resolve("plain.jsonl"), "{\"text\": \"the world\"}\n");
        try (TransformerModel model = new HfModelLoader().load(bert, BACKEND);
             HfTokenizer tok = HfTokenizer.load(bert.resolve("tokenizer.json"), 32);
             Lora lora = new Lora(model.kernels(), LoraSettings.of(2, 4).modules(model.linears()), 0f, 1);
             ClassificationHead head = new ClassificationHead(model.kernels(), 32, 3, ClassificationHead.Pooling.MEAN, 7)) {
            PeftFixtures.randomise(lora, 0.2, 6);
            PeftFixtures.randomise(head, 8);
            Batch all;
            try (BatchReader r = new BatchReader(data, new HfTextEncoder(tok), 16, 32, false, -100)) {
                all = r.next();
            }
            double expectedLoss = head.loss(model, all, all.classLabels(), lora, false);
            float[] probs = head.probabilities(model, all, lora);
            long correct = 0;
            for (int b = 0; b < 7; b++) {
                int best = 0;
                for (int k = 1; k < 3; k++) if (probs[b * 3 + k] > probs[b * 3 + best]) best = k;
                if (best == all.classLabels()[b]) correct++;
            }
            AdapterEvaluation.Result r;
            try (BatchReader reader = new BatchReader(data, new HfTextEncoder(tok), 3, 32, false, -100)) {
                r = AdapterEvaluation.classify(model, lora, head, reader);
            }
            assertEquals(7, r.counted());
            assertEquals(correct, r.correct());
            assertEquals(expectedLoss, r.loss(), 1e-6 * expectedLoss);
            try (BatchReader reader = new BatchReader(unlabeled, new HfTextEncoder(tok), 3, 32, false, -100)) {
                var e = assertThrows(IllegalArgumentException.class, () -> AdapterEvaluation.classify(model, lora, head, reader));
                assertTrue(e.getMessage().contains("no \"label\""), e.getMessage());
            }
            try (ClassificationHead two = new ClassificationHead(model.kernels(), 32, 2, ClassificationHead.Pooling.MEAN, 7);
                 BatchReader reader = new BatchReader(data, new HfTextEncoder(tok), 3, 32, false, -100)) {
                var e = assertThrows(IllegalArgumentException.class, () -> AdapterEvaluation.classify(model, lora, two, reader));
                assertEquals("label 2 is outside [0, 2): the head has 2 labels", e.getMessage());
                assertFalse(e.getMessage().contains("\n"));
            }
        }
    }
}
