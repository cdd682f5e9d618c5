package dev.eva4j.examples.service;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.ProvisionException;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.api.eva.EvaEngine;
import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.api.peft.PeftAdapterWriter;
import dev.eva4j.api.providers.Eva4jModule;
import dev.eva4j.api.providers.ProviderKind;
import dev.eva4j.api.providers.ProviderRegistry;
import dev.eva4j.api.providers.ProviderSelectionException;
import dev.eva4j.api.providers.ProviderStatus;
import dev.eva4j.models.Targets;
import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.data.BatchReader;
import dev.eva4j.models.data.HfTextEncoder;
import dev.eva4j.models.data.ModelActivationSource;
import dev.eva4j.models.tokenizer.HfTokenizer;
import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.InvalidInputException;
import dev.eva4j.spi.ModelLoader;
import dev.eva4j.spi.RankAllocator;
import dev.eva4j.spi.SvdBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * EVA as jobs of an HTTP service, on eva4j's public API only (see README.md beside the pom for the endpoints).
 *
 * <p>Threads: the HTTP server answers on a small pool of its own and never runs EVA; every job runs on a bounded pool
 * of platform threads ({@code --workers}, default 2), queued beyond that. Platform threads, not virtual ones: EVA's
 * forward passes and SVDs are native calls (FFM downcalls into BLAS/LAPACK and the CPU kernels), which pin a virtual
 * thread to its carrier for their whole duration, so virtual threads would buy nothing and could starve the carriers.
 */
public final class EvaService implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final Path jobsDir;
    private final HttpServer server;
    private final ExecutorService httpThreads;
    private final ThreadPoolExecutor workers;
    private final Models models;
    private final Map<String, Job> jobs = new ConcurrentHashMap<>();
    private final Map<String, Wiring> wirings = new ConcurrentHashMap<>();

    /** The providers one backend choice gives, from one injector over {@link Eva4jModule} (as the CLI gets them). */
    record Wiring(ComputeBackend compute, SvdBackend svd, RankAllocator allocator, List<ModelLoader> loaders,
                  ProviderRegistry registry) {
        static Wiring of(String backend) {
            Injector injector = Guice.createInjector(Eva4jModule.builder()
                    .classLoader(EvaService.class.getClassLoader()).backend(backend).build());
            try {
                ProviderRegistry registry = injector.getInstance(ProviderRegistry.class);
                return new Wiring(injector.getInstance(ComputeBackend.class), injector.getInstance(SvdBackend.class),
                        injector.getInstance(RankAllocator.class), registry.all(ModelLoader.class), registry);
            } catch (ProvisionException e) {
                for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
                    if (c instanceof ProviderSelectionException p) throw p;
                }
                throw e;
            }
        }
    }

    /** The default number of models kept loaded while no job uses them ({@code --max-models}). */
    public static final int DEFAULT_MAX_MODELS = 2;

    /**
     * Starts the service on {@code port} (0: any free port) with {@code workers} EVA threads, keeping at most
     * {@value #DEFAULT_MAX_MODELS} models loaded; adapters go under {@code jobsDir} (created if needed), one folder per
     * finished job.
     */
    public EvaService(int port, int workers, Path jobsDir) throws IOException {
        this(port, workers, DEFAULT_MAX_MODELS, jobsDir);
    }

    /**
     * As {@link #EvaService(int, int, Path)}, keeping at most {@code maxModels} models loaded: beyond that the least
     * recently used model that no running job uses is closed (a model in use is never closed).
     */
    public EvaService(int port, int workers, int maxModels, Path jobsDir) throws IOException {
        if (workers < 1) throw new IllegalArgumentException("--workers must be >= 1, got " + workers);
        this.models = new Models(maxModels);
        this.jobsDir = Files.createDirectories(jobsDir);
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(workers, workers, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> Thread.ofPlatform().name("eva-job-" + n.incrementAndGet()).daemon(true).unstarted(r));
        this.httpThreads = Executors.newFixedThreadPool(4, r -> Thread.ofPlatform().name("eva-http").daemon(true).unstarted(r));
        this.server = HttpServer.create(new InetSocketAddress(port), 64);
        server.setExecutor(httpThreads);
        server.createContext("/v1/eva-jobs", this::jobs);
        server.createContext("/healthz", ex -> handle(ex, () -> {
            if (!ex.getRequestMethod().equals("GET")) return Reply.error(405, "use GET");
            return new Reply(200, health());
        }));
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public static void main(String[] args) throws IOException {
        int port = 8080, workers = 2, maxModels = DEFAULT_MAX_MODELS;
        Path dir = Path.of("eva-service-jobs");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) usage("missing value after " + a);
            String v = args[++i];
            switch (a) {
                case "--port" -> port = intArg(a, v);
                case "--workers" -> workers = intArg(a, v);
                case "--max-models" -> maxModels = intArg(a, v);
                case "--jobs-dir" -> dir = Path.of(v);
                default -> usage("unknown option " + a);
            }
        }
        if (port < 0 || port > 65535) usage("--port must be in [0, 65535], got " + port);
        if (workers < 1) usage("--workers must be >= 1, got " + workers);
        if (maxModels < 1) usage("--max-models must be >= 1, got " + maxModels);
        EvaService service = new EvaService(port, workers, maxModels, dir);
        Runtime.getRuntime().addShutdownHook(new Thread(service::close));
        System.err.printf("eva-service listening on http://localhost:%d (%d EVA worker thread(s), up to %d model(s) "
                + "kept loaded, adapters under %s)%n", service.port(), workers, maxModels, dir.toAbsolutePath());
    }

    private static int intArg(String name, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            usage(name + " needs an integer, got '" + v + "'");
            return -1;
        }
    }

    private static void usage(String problem) {
        System.err.println("eva-service: " + problem + "\nusage: EvaService [--port N (8080)] [--workers N (2)] "
                + "[--max-models N (2)] [--jobs-dir DIR (./eva-service-jobs)]");
        System.exit(2);
    }

    // ---- HTTP ----

    private record Reply(int status, Object body, Map<String, String> headers) {
        Reply(int status, Object body) {
            this(status, body, Map.of());
        }

        static Reply error(int status, String message) {
            return new Reply(status, Map.of("error", message));
        }
    }

    /** A request that gets an error reply (the HTTP status and a one-line reason). */
    private static final class HttpError extends RuntimeException {
        final int status;

        HttpError(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    private interface Handler {
        Reply handle() throws IOException;
    }

    private void handle(HttpExchange ex, Handler h) throws IOException {
        Reply r;
        try {
            r = h.handle();
        } catch (HttpError e) {
            r = Reply.error(e.status, e.getMessage());
        } catch (RuntimeException | IOException e) {
            r = Reply.error(500, String.valueOf(e.getMessage()));
        }
        try (ex) {
            if (r.body == null) { // the handler has written the response itself
                return;
            }
            byte[] bytes = JSON.writeValueAsBytes(r.body);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            r.headers.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
            ex.sendResponseHeaders(r.status, bytes.length);
            ex.getResponseBody().write(bytes);
        }
    }

    private void jobs(HttpExchange ex) throws IOException {
        handle(ex, () -> {
            String path = ex.getRequestURI().getPath();
            String[] parts = path.substring("/v1/eva-jobs".length()).split("/");
            // "" -> collection; "/ID" -> ["", ID]; "/ID/adapter" -> ["", ID, "adapter"]
            String method = ex.getRequestMethod();
            if (parts.length <= 1) {
                if (!method.equals("POST")) return Reply.error(405, "use POST on /v1/eva-jobs");
                return submit(ex.getRequestBody());
            }
            Job job = jobs.get(parts[1]);
            if (job == null) throw new HttpError(404, "no job '" + parts[1] + "'");
            if (parts.length == 2) {
                return switch (method) {
                    case "GET" -> new Reply(200, job.status());
                    case "DELETE" -> {
                        if (!job.cancel()) throw new HttpError(409, "job " + job.id + " has already ended ("
                                + job.state().name().toLowerCase(java.util.Locale.ROOT) + ")");
                        yield new Reply(202, job.status());
                    }
                    default -> Reply.error(405, "use GET or DELETE on a job");
                };
            }
            if (parts.length == 3 && parts[2].equals("adapter")) {
                if (!method.equals("GET")) return Reply.error(405, "use GET on a job's adapter");
                if (job.state() != Job.State.DONE) {
                    throw new HttpError(409, "job " + job.id + " is " + job.state().name().toLowerCase(java.util.Locale.ROOT)
                            + ": its adapter exists once it is done");
                }
                ex.getResponseHeaders().set("Content-Type", "application/zip");
                ex.getResponseHeaders().set("Content-Disposition", "attachment; filename=\"" + job.id + "-adapter.zip\"");
                ex.sendResponseHeaders(200, 0); // chunked
                try (ZipOutputStream zip = new ZipOutputStream(ex.getResponseBody())) {
                    zip(job.adapterDir, zip);
                }
                return new Reply(200, null);
            }
            throw new HttpError(404, "no such resource: " + path);
        });
    }

    private static void zip(Path dir, ZipOutputStream zip) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                zip.putNextEntry(new ZipEntry(dir.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, zip);
                zip.closeEntry();
            }
        }
    }

    private ObjectNode health() {
        ObjectNode o = JSON.createObjectNode();
        ProviderRegistry registry;
        try {
            registry = wiring(null).registry();
            o.put("status", "ok");
        } catch (RuntimeException e) { // no usable provider of some kind: still list what was found
            registry = ProviderRegistry.discover(EvaService.class.getClassLoader());
            o.put("status", "degraded");
            o.put("problem", String.valueOf(e.getMessage()));
        }
        ArrayNode rows = o.putArray("providers");
        for (ProviderKind kind : ProviderKind.values()) {
            for (ProviderStatus s : registry.status(kind)) {
                ObjectNode row = rows.addObject();
                row.put("kind", kind.label());
                row.put("name", s.name());
                row.put("priority", s.priority());
                row.put("available", s.available());
                if (s.reason() != null && !s.reason().isEmpty()) row.put("reason", s.reason());
            }
        }
        o.put("jobs", jobs.size());
        o.put("workers", workers.getMaximumPoolSize());
        return o;
    }

    private Wiring wiring(String backend) {
        return wirings.computeIfAbsent(backend == null ? "" : backend, b -> Wiring.of(b.isEmpty() ? null : b));
    }

    // ---- jobs ----

    private Reply submit(InputStream body) throws IOException {
        JobRequest req;
        try {
            req = JSON.readValue(body, JobRequest.class);
        } catch (JacksonException e) {
            throw new HttpError(400, "malformed job request: " + e.getOriginalMessage());
        }
        if (req == null) throw new HttpError(400, "malformed job request: empty body");
        if (req.model() == null || req.model().isBlank()) throw new HttpError(400, "'model' (a path) is required");
        if (req.data() == null || req.data().isBlank()) throw new HttpError(400, "'data' (a JSONL path) is required");
        EvaConfig config = config(req);
        if (req.batchSizeOr() < 1) throw new HttpError(400, "batchSize must be >= 1, got " + req.batchSizeOr());
        if (req.maxLengthOr() < 1) throw new HttpError(400, "maxLength must be >= 1, got " + req.maxLengthOr());
        Wiring wiring;
        try {
            wiring = wiring(req.backend());
        } catch (InvalidInputException e) {
            throw new HttpError(400, "backend: " + e.getMessage());
        }
        Path model = Path.of(req.model()).toAbsolutePath().normalize();
        Path data = Path.of(req.data()).toAbsolutePath().normalize();
        if (!Files.exists(model)) throw new HttpError(422, "model: " + model + " does not exist");
        try {
            Models.loaderFor(wiring.loaders(), model);
        } catch (InvalidInputException e) {
            throw new HttpError(422, "model: " + e.getMessage());
        }
        if (!Files.isRegularFile(data) || !Files.isReadable(data)) {
            throw new HttpError(422, "data: " + data + " is not a readable file");
        }
        checkTargets(req.targets(), model, wiring);
        String id = UUID.randomUUID().toString();
        Job job = new Job(id, req, jobsDir.resolve(id), config.maxSteps());
        jobs.put(id, job);
        synchronized (job) { // the future is set before the worker can see a cancel
            job.future(workers.submit(() -> run(job, wiring, config, model, data)));
        }
        return new Reply(202, job.status(), Map.of("Location", "/v1/eva-jobs/" + id));
    }

    /**
     * Checks {@code targets} against the model's linear layers when the model is loaded already (a 422 naming the
     * problem); when it is not, the check waits for the job's own load (the job fails with the reason), so the HTTP
     * thread never loads a model. The lease keeps the model from being closed during the check.
     */
    private void checkTargets(String targets, Path model, Wiring wiring) {
        Optional<Models.Lease> cached = models.acquireIfLoaded(model, wiring.compute());
        if (cached.isEmpty()) return;
        try (Models.Lease lease = cached.get()) {
            Targets.select(lease.model().linears(), targets);
        } catch (InvalidInputException e) {
            throw new HttpError(422, "targets: " + e.getMessage().replaceFirst("^--targets ", ""));
        }
    }

    private static EvaConfig config(JobRequest req) {
        EvaConfig.Builder b = EvaConfig.builder();
        if (req.rank() != null) b.r(req.rank());
        if (req.alpha() != null) b.alpha(req.alpha());
        if (req.rho() != null) b.rho(req.rho());
        if (req.tau() != null) b.tau(req.tau());
        if (req.maxSteps() != null) b.maxSteps(req.maxSteps());
        if (req.seed() != null) b.seed(req.seed());
        if (req.acceptUnconverged() != null) b.acceptUnconverged(req.acceptUnconverged());
        try {
            return b.build();
        } catch (IllegalArgumentException e) { // InvalidInputException is one
            throw new HttpError(400, "options: " + e.getMessage());
        }
    }

    /**
     * One job on a worker thread. Everything the job allocates (its tokenizer, batch reader, the source's batch arena,
     * the engine's PCA state) is local to this method and released when it returns, whichever way: the shared model
     * is only read, under a lease released when the method returns (so the model may be closed once no job uses it). The adapter is written last, by {@link PeftAdapterWriter} (which builds it beside its place and
     * renames it), so a cancelled or failed job leaves no folder.
     */
    private void run(Job job, Wiring wiring, EvaConfig config, Path modelPath, Path data) {
        if (!job.start()) return; // cancelled while queued
        JobRequest req = job.request;
        try (Models.Lease lease = models.acquire(modelPath, wiring.compute(), wiring.loaders())) { // released in any case
            TransformerModel model = lease.model();
            Path tokenizerFile = tokenizer(modelPath);
            HfTokenizer tokenizer = tokenizerFile == null ? null : HfTokenizer.load(tokenizerFile, Math.max(2, req.maxLengthOr()));
            EvaResult result;
            try (tokenizer; BatchReader reader = new BatchReader(data, tokenizer == null ? null : new HfTextEncoder(tokenizer),
                    req.batchSizeOr(), req.maxLengthOr(), config.useLabelMask(), config.labelMaskValue());
                 ModelActivationSource source = new ModelActivationSource(model, Targets.select(model.linears(), req.targets()),
                         reader)) {
                result = new EvaEngine(config, wiring.svd(), wiring.allocator()).run(source, job, job.cancelRequested::get);
            }
            if (job.cancelRequested.get()) { // cancelled after the last step: write nothing
                job.cancelled();
                return;
            }
            PeftAdapterWriter.write(job.adapterDir, result, new PeftAdapterWriter.Options(modelPath.toString(), null, 0.0));
            if (!job.finish()) deleteTree(job.adapterDir); // a cancel raced with the write
        } catch (CancellationException e) {
            job.cancelled();
        } catch (IOException | RuntimeException e) {
            job.fail(e.getMessage() == null ? e.toString() : e.getMessage());
        } catch (Error e) {
            job.fail(e.toString());
            throw e;
        }
    }

    /** tokenizer.json in the model folder (or beside an ONNX file), or null: then the data must be pre-tokenised. */
    private static Path tokenizer(Path model) {
        Path dir = Files.isDirectory(model) ? model : model.getParent();
        Path std = dir.resolve("tokenizer.json");
        return Files.isRegularFile(std) ? std : null;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** The folder a job's adapter goes to (exists only once the job is done). */
    Optional<Path> adapterDir(String id) {
        return Optional.ofNullable(jobs.get(id)).map(j -> j.adapterDir);
    }

    /** Stops the server, cancels running jobs, waits for the workers and closes the shared models. */
    @Override
    public void close() {
        server.stop(0);
        for (Job j : jobs.values()) j.cancel();
        workers.shutdown();
        try {
            workers.awaitTermination(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        httpThreads.shutdownNow();
        models.close();
    }
}
