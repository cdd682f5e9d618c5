package dev.eva4j.examples.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.models.tiny.TinyModels;
import dev.eva4j.models.tiny.TinySpec;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The service over real HTTP on localhost (an ephemeral port), with a tiny Llama and pre-tokenised JSONL data. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class EvaServiceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private Path tmp;
    private Path model, data, jobsDir;
    private EvaService service;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    void start(@TempDir Path tmp) throws IOException {
        this.tmp = tmp;
        model = tmp.resolve("tiny-llama");
        TinyModels.write(model, TinySpec.llama());
        data = tmp.resolve("data.jsonl");
        Random rnd = new Random(7); // fixed seed: the same token sequences every run
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 256; i++) {
            int n = 12 + rnd.nextInt(20);
            sb.append("{\"input_ids\": [");
            for (int t = 0; t < n; t++) sb.append(t == 0 ? "" : ", ").append(4 + rnd.nextInt(90));
            sb.append("]}\n");
        }
        Files.writeString(data, sb);
        jobsDir = tmp.resolve("jobs");
        service = new EvaService(0, 2, jobsDir);
    }

    @AfterAll
    void stop() {
        if (service != null) service.close();
    }

    private String base() {
        return "http://localhost:" + service.port();
    }

    private HttpResponse<String> send(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(20));
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private String request(Map<String, Object> extra) throws IOException {
        Map<String, Object> m = new HashMap<>();
        m.put("model", model.toString());
        m.put("data", data.toString());
        m.put("rank", 4);
        m.put("batchSize", 8);
        m.put("maxLength", 32);
        m.putAll(extra);
        return JSON.writeValueAsString(m);
    }

    private String submit(Map<String, Object> extra) throws Exception {
        HttpResponse<String> r = send("POST", "/v1/eva-jobs", request(extra));
        assertEquals(202, r.statusCode(), r.body());
        String id = JSON.readTree(r.body()).get("id").asText();
        assertEquals("/v1/eva-jobs/" + id, r.headers().firstValue("Location").orElseThrow());
        return id;
    }

    private JsonNode status(String id) throws Exception {
        HttpResponse<String> r = send("GET", "/v1/eva-jobs/" + id, null);
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    private JsonNode awaitState(String id, String state, Duration within) throws Exception {
        long end = System.nanoTime() + within.toNanos();
        JsonNode s;
        do {
            s = status(id);
            if (s.get("state").asText().equals(state)) return s;
            if (List.of("done", "failed", "cancelled").contains(s.get("state").asText())) break;
            Thread.sleep(50);
        } while (System.nanoTime() < end);
        return fail("job " + id + " did not reach " + state + ": " + s);
    }

    @Test
    void twoConcurrentJobsBothFinishWithAdapters() throws Exception {
        // two identical jobs on the two workers at once, sharing the one loaded model: with nothing leaking between
        // them (and the shared providers safe to share) they write the same adapter bytes
        Map<String, Object> options = Map.of("tau", 0.9, "maxSteps", 40, "acceptUnconverged", true); // ends in 40 steps
        String a = submit(options);
        String b = submit(options);
        List<byte[]> weights = new ArrayList<>();
        for (String id : List.of(a, b)) {
            JsonNode s = awaitState(id, "done", Duration.ofSeconds(60));
            assertTrue(s.get("step").asInt() > 0, s.toString());
            assertTrue(s.get("tokens").asLong() > 0, s.toString());
            assertTrue(s.has("ranks") && s.get("ranks").size() == 14, s.toString());
            Map<String, byte[]> entries = adapter(id);
            assertTrue(entries.containsKey("adapter_config.json"), entries.keySet().toString());
            assertTrue(entries.containsKey("adapter_model.safetensors"), entries.keySet().toString());
            JsonNode config = JSON.readTree(entries.get("adapter_config.json"));
            assertEquals(4, config.get("r").asInt(), config.toString());
            weights.add(entries.get("adapter_model.safetensors"));
        }
        assertTrue(weights.get(0).length > 8);
        assertArrayEquals(weights.get(0), weights.get(1));
        assertEquals(status(a).get("tokens"), status(b).get("tokens"));
        // and a job with other targets on the same model sees only its own layers
        String c = submit(Map.of("tau", 0.9, "maxSteps", 10, "acceptUnconverged", true, "targets", "q_proj,v_proj"));
        JsonNode s = awaitState(c, "done", Duration.ofSeconds(60));
        assertEquals(4, s.get("layers").asInt(), s.toString()); // 2 blocks x (q_proj, v_proj)
        assertEquals(4, s.get("ranks").size(), s.toString());
        assertEquals(14, status(a).get("layers").asInt()); // 2 blocks x 7 linears
    }

    private Map<String, byte[]> adapter(String id) throws Exception {
        HttpResponse<byte[]> zip = http.send(HttpRequest.newBuilder(URI.create(base() + "/v1/eva-jobs/" + id + "/adapter"))
                .build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, zip.statusCode());
        assertEquals("application/zip", zip.headers().firstValue("Content-Type").orElse(""));
        return unzip(zip.body());
    }

    @Test
    void pollingLoadWhileRunningThenCancelLeavesNothing() throws Exception {
        // tau 1 and a huge maxSteps: the job runs until cancelled
        String id = submit(Map.of("tau", 1.0, "maxSteps", 1_000_000));
        assertEquals(1_000_000, status(id).get("maxSteps").asInt());
        awaitState(id, "running", Duration.ofSeconds(30));
        int failed = 0, sent = 0;
        List<String> problems = new ArrayList<>();
        long start = System.nanoTime();
        long firstStep = -1, lastStep = -1;
        for (int i = 0; i < 500; i++) { // 50 requests a second for 10 seconds
            long due = start + i * 20_000_000L;
            long wait = due - System.nanoTime();
            if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            sent++;
            try {
                HttpResponse<String> r = send("GET", "/v1/eva-jobs/" + id, null);
                if (r.statusCode() != 200) {
                    failed++;
                    problems.add(r.statusCode() + " " + r.body());
                    continue;
                }
                JsonNode s = JSON.readTree(r.body());
                if (!s.get("state").asText().equals("running")) problems.add("state " + s);
                long step = s.get("step").asLong();
                if (firstStep < 0) firstStep = step;
                lastStep = step;
            } catch (IOException e) {
                failed++;
                problems.add(e.toString());
            }
        }
        assertEquals(500, sent);
        double seconds = (System.nanoTime() - start) * 1e-9;
        assertTrue(seconds < 15, "500 status requests took " + seconds + " s: the service fell behind the polling rate");
        assertEquals(0, failed, problems.toString());
        assertTrue(problems.isEmpty(), problems.toString());
        assertTrue(lastStep > firstStep, "EVA made no progress while polled: " + firstStep + " -> " + lastStep);

        HttpResponse<String> early = send("GET", "/v1/eva-jobs/" + id + "/adapter", null);
        assertEquals(409, early.statusCode(), early.body());
        assertTrue(JSON.readTree(early.body()).has("error"));

        HttpResponse<String> del = send("DELETE", "/v1/eva-jobs/" + id, null);
        assertEquals(202, del.statusCode(), del.body());
        awaitState(id, "cancelled", Duration.ofSeconds(30));
        assertEquals(409, send("DELETE", "/v1/eva-jobs/" + id, null).statusCode()); // already ended
        assertEquals(409, send("GET", "/v1/eva-jobs/" + id + "/adapter", null).statusCode());
        assertFalse(Files.exists(service.adapterDir(id).orElseThrow()));
        try (Stream<Path> s = Files.list(jobsDir)) { // no hidden sibling or temp folder of the job either
            List<Path> left = s.filter(p -> p.getFileName().toString().contains(id)).toList();
            assertTrue(left.isEmpty(), left.toString());
        }
        // the cancelled job's worker is free again: a short job after it runs to the end
        String next = submit(Map.of("tau", 0.9, "maxSteps", 5, "acceptUnconverged", true));
        awaitState(next, "done", Duration.ofSeconds(60));
    }

    @Test
    void errorsAreJsonWithTheRightStatus() throws Exception {
        assertError(send("POST", "/v1/eva-jobs", "{\"model\": "), 400, "malformed");
        assertError(send("POST", "/v1/eva-jobs", request(Map.of("rank", -1))), 400, "r");
        assertError(send("POST", "/v1/eva-jobs", request(Map.of("tau", 1.5))), 400, "tau");
        assertError(send("POST", "/v1/eva-jobs", request(Map.of("rnak", 4))), 400, "rnak");
        assertError(send("POST", "/v1/eva-jobs", request(Map.of("batchSize", 0))), 400, "batchSize");
        assertError(send("POST", "/v1/eva-jobs", request(Map.of("backend", "no-such-backend"))), 400, "no-such-backend");
        assertError(send("GET", "/v1/eva-jobs/no-such-job", null), 404, "no-such-job");
        assertError(send("DELETE", "/v1/eva-jobs/no-such-job", null), 404, "no-such-job");
        assertError(send("POST", "/v1/eva-jobs", request(Map.of("model", tmp.resolve("missing").toString()))), 422,
                "does not exist");
        assertError(send("POST", "/v1/eva-jobs", request(Map.of("model", data.toString()))), 422, "no model loader");
        assertError(send("POST", "/v1/eva-jobs", request(Map.of("data", tmp.resolve("missing.jsonl").toString()))), 422,
                "data");
    }

    @Test
    void unknownTargetIsRefusedAtSubmissionOnceTheModelIsLoaded() throws Exception {
        // a job loads the model (it stays cached: --max-models 2 and this test class uses one model)
        String first = submit(Map.of("tau", 0.9, "maxSteps", 3, "acceptUnconverged", true));
        awaitState(first, "done", Duration.ofSeconds(60));
        int jobsBefore = JSON.readTree(send("GET", "/healthz", null).body()).get("jobs").asInt();
        HttpResponse<String> r = send("POST", "/v1/eva-jobs", request(Map.of("targets", "nosuch_proj")));
        assertError(r, 422, "nosuch_proj");
        assertTrue(JSON.readTree(r.body()).get("error").asText().startsWith("targets: "), r.body());
        assertTrue(r.headers().firstValue("Location").isEmpty());
        assertEquals(jobsBefore, JSON.readTree(send("GET", "/healthz", null).body()).get("jobs").asInt(),
                "a refused request created a job");
        assertError(send("POST", "/v1/eva-jobs", request(Map.of("targets", "re:nosuch.*"))), 422, "re:nosuch.*");
        // targets that exist on the model still pass
        String ok = submit(Map.of("tau", 0.9, "maxSteps", 3, "acceptUnconverged", true, "targets", "o_proj"));
        assertEquals(2, awaitState(ok, "done", Duration.ofSeconds(60)).get("layers").asInt());
    }

    @Test
    void unknownTargetOfAModelNotLoadedYetFailsTheJob() throws Exception {
        // a model no job has loaded: the POST does not load it, so the job is accepted and fails with the reason
        Path other = tmp.resolve("tiny-llama-unloaded");
        TinyModels.write(other, TinySpec.llama());
        String id = submit(Map.of("model", other.toString(), "targets", "nosuch_proj"));
        JsonNode s = awaitState(id, "failed", Duration.ofSeconds(60));
        assertTrue(s.get("error").asText().contains("nosuch_proj"), s.toString());
    }

    @Test
    void healthzListsTheProviders() throws Exception {
        HttpResponse<String> r = send("GET", "/healthz", null);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode h = JSON.readTree(r.body());
        assertEquals("ok", h.get("status").asText(), h.toString());
        boolean cpu = false;
        for (JsonNode row : h.get("providers")) {
            assertTrue(row.has("name") && row.has("kind") && row.has("available"), row.toString());
            if (row.get("kind").asText().equals("compute backend") && row.get("available").asBoolean()) cpu = true;
        }
        assertTrue(cpu, "no available compute backend listed: " + h);
    }

    private static void assertError(HttpResponse<String> r, int status, String mentions) throws IOException {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode e = JSON.readTree(r.body());
        assertTrue(e.has("error"), r.body());
        assertTrue(e.get("error").asText().contains(mentions), r.body());
    }

    private static Map<String, byte[]> unzip(byte[] zip) throws IOException {
        Map<String, byte[]> out = new HashMap<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) out.put(e.getName(), in.readAllBytes());
        }
        return out;
    }
}
