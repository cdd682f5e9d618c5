package dev.eva4j.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Finds and loads the NVIDIA libraries the CUDA backend binds through FFM, and says exactly what is missing and where
 * it looked.
 *
 * <h2>What</h2>
 * The driver {@code libcuda.so.1} (installed with the NVIDIA driver, never from a toolkit folder's {@code stubs}); and
 * the toolkit libraries of one CUDA generation: CUDA 13 ({@code libcudart.so.13}, {@code libnvJitLink.so.13},
 * {@code libcublasLt.so.13}, {@code libcublas.so.13}, {@code libcusolver.so.12}) or, when any of those is missing,
 * CUDA 12 ({@code libcudart.so.12}, {@code libnvJitLink.so.12}, {@code libcublasLt.so.12}, {@code libcublas.so.12},
 * {@code libcusolver.so.11}). Generations are never mixed. {@code libcudart} is optional (cuBLAS and cuSOLVER carry
 * their own runtime); {@code libnvJitLink} is needed by cuSOLVER only.
 *
 * <h2>Where, in this order</h2>
 * <ol>
 *   <li>the folders of the environment variable {@value #ENV} (separated by {@code :});</li>
 *   <li>the dynamic loader's own search ({@code dlopen} by soname: {@code LD_LIBRARY_PATH}, the ld.so cache,
 *       system folders);</li>
 *   <li>{@code /usr/local/cuda*}{@code /lib64} and {@code /usr/local/cuda*}{@code /targets/x86_64-linux/lib}
 *       ({@code /usr/local/cuda} first, then versioned folders, newest first);</li>
 *   <li>the pip packages' folders {@code nvidia/cu13/lib} (CUDA 13 wheels) and {@code nvidia/}<i>*</i>{@code /lib}
 *       (CUDA 12 wheels: {@code nvidia/cublas/lib}, ...) under every {@code site-packages}/{@code dist-packages}
 *       folder of the Python installations found ({@code PYTHONPATH}, {@code VIRTUAL_ENV}, {@code CONDA_PREFIX},
 *       {@code /usr/lib/python3*}, {@code /usr/local/lib/python3*}, {@code ~/.local/lib/python3*}, and, when those
 *       do not suffice, what {@code python3 -c "import site; ..."} reports).</li>
 * </ol>
 *
 * <h2>Loading</h2>
 * Dependencies are loaded before the libraries that need them (cudart, nvJitLink, cublasLt, cublas, cusolver): a
 * library loaded from an absolute path satisfies the {@code DT_NEEDED} entry of a later one with the same soname, so
 * the pip wheels' folders work without {@code LD_LIBRARY_PATH}. Lookups live in the global arena (never unloaded).
 *
 * <p>Everything here is testable without a GPU: {@link Search} takes the environment, the {@code /usr/local} root,
 * the Python folders and the system loader as arguments. Instances are immutable; {@link #system()} is computed once
 * and thread-safe.
 */
public final class CudaLibraries {
    /** Environment variable naming folders searched first, separated by {@code :}. */
    public static final String ENV = "EVA4J_CUDA_LIBS";

    /** The libraries, in load order (dependencies first). */
    public enum Library {
        DRIVER("libcuda.so.1", "libcuda.so.1", true),
        CUDART("libcudart.so.13", "libcudart.so.12", false),
        NVJITLINK("libnvJitLink.so.13", "libnvJitLink.so.12", true),
        /** cuSPARSE: cuSOLVER links it (CUDA 12 and 13 both ship libcusparse.so.12); loaded first when found. */
        CUSPARSE("libcusparse.so.12", "libcusparse.so.12", false),
        CUBLASLT("libcublasLt.so.13", "libcublasLt.so.12", true),
        CUBLAS("libcublas.so.13", "libcublas.so.12", true),
        CUSOLVER("libcusolver.so.12", "libcusolver.so.11", true);

        private final String cuda13;
        private final String cuda12;
        private final boolean required;

        Library(String cuda13, String cuda12, boolean required) {
            this.cuda13 = cuda13;
            this.cuda12 = cuda12;
            this.required = required;
        }

        /** The soname of this library in a CUDA generation (13 or 12); the driver's is the same in both. */
        public String soname(int generation) {
            return switch (generation) {
                case 13 -> cuda13;
                case 12 -> cuda12;
                default -> throw new IllegalArgumentException("CUDA generation must be 13 or 12, got " + generation);
            };
        }

        /** Whether the backend cannot work without it (cudart and cusparse are optional: loaded first when found). */
        public boolean required() {
            return required;
        }

        /** The libraries {@code this} needs loaded first (its own dependencies, transitively, in load order). */
        public List<Library> dependencies() {
            return switch (this) {
                case DRIVER, CUDART, NVJITLINK, CUBLASLT -> List.of();
                case CUSPARSE -> List.of(NVJITLINK);
                case CUBLAS -> List.of(CUBLASLT);
                case CUSOLVER -> List.of(NVJITLINK, CUSPARSE, CUBLASLT, CUBLAS);
            };
        }
    }

    /** The toolkit libraries, in load order. */
    static final List<Library> TOOLKIT = List.of(Library.CUDART, Library.NVJITLINK, Library.CUSPARSE, Library.CUBLASLT,
            Library.CUBLAS, Library.CUSOLVER);

    /**
     * Where one library was found: {@code path} is the file, or empty when the system loader found it by soname
     * ({@code where} then says so).
     */
    public record Location(Library library, String soname, Optional<Path> path, String where) {
        @Override
        public String toString() {
            return soname + " (" + where + ")";
        }
    }

    /** Opens a library by soname through the dynamic loader's own search; throws IllegalArgumentException if absent. */
    @FunctionalInterface
    public interface SystemLoader {
        SymbolLookup load(String soname);

        /** The JDK's {@code dlopen} by name, into the global arena. */
        SystemLoader DLOPEN = soname -> SymbolLookup.libraryLookup(soname, Arena.global());

        /** A loader that finds nothing (tests, and searches that must not touch the system). */
        SystemLoader NONE = soname -> {
            throw new IllegalArgumentException("not searched");
        };
    }

    /**
     * The inputs of a search: the environment, the root holding {@code cuda*} folders ({@code /usr/local}), a
     * supplier of Python {@code site-packages}-like folders (asked only when the earlier places lack something), and
     * the system loader.
     */
    public record Search(Map<String, String> env, Path usrLocal, Supplier<List<Path>> pythonSitePackages,
                         SystemLoader systemLoader) {
        public Search {
            Objects.requireNonNull(env, "env");
            Objects.requireNonNull(usrLocal, "usrLocal");
            Objects.requireNonNull(pythonSitePackages, "pythonSitePackages");
            Objects.requireNonNull(systemLoader, "systemLoader");
        }

        /** This machine: the process environment, {@code /usr/local}, the Python folders, {@code dlopen}. */
        public static Search system() {
            Map<String, String> env = System.getenv();
            return new Search(env, Path.of("/usr/local"), () -> PythonFolders.find(env, true), SystemLoader.DLOPEN);
        }
    }

    private final Search search;
    private final List<String> looked;           // every place, in order, for the report
    private final Map<Library, Location> found;  // the libraries of the chosen generation that were found
    private final Map<Library, SymbolLookup> loadedBySystem; // lookups the system loader returned while searching
    private final int generation;                // 13 or 12: the generation chosen (13 when neither is complete)
    private final Map<Library, SymbolLookup> lookups = new EnumMap<>(Library.class);
    private final Map<Library, RuntimeException> loadFailures = new EnumMap<>(Library.class);

    private static volatile CudaLibraries system;

    private CudaLibraries(Search search, List<String> looked, Map<Library, Location> found,
                          Map<Library, SymbolLookup> loadedBySystem, int generation) {
        this.search = search;
        this.looked = List.copyOf(looked);
        EnumMap<Library, Location> copy = new EnumMap<>(Library.class);
        copy.putAll(found);
        this.found = Collections.unmodifiableMap(copy);
        this.loadedBySystem = loadedBySystem;
        this.generation = generation;
    }

    /** The libraries of this machine (searched once, on first call). Never throws. */
    public static CudaLibraries system() {
        CudaLibraries s = system;
        if (s == null) {
            synchronized (CudaLibraries.class) {
                s = system;
                if (s == null) system = s = find(Search.system());
            }
        }
        return s;
    }

    /** Searches for every library as described in the class comment; loads nothing except through the loader. */
    public static CudaLibraries find(Search search) {
        List<Path> folders = new ArrayList<>();
        List<String> looked = new ArrayList<>();
        String env = search.env().get(ENV);
        if (env != null && !env.isBlank()) {
            for (String part : env.split(":")) {
                if (!part.isBlank()) {
                    folders.add(Path.of(part.strip()));
                }
            }
        }
        List<Path> envFolders = List.copyOf(folders);
        List<Path> cudaFolders = usrLocalCudaFolders(search.usrLocal());

        Map<Library, SymbolLookup> bySystem = new EnumMap<>(Library.class);
        Map<Library, Location> best = null;
        int chosen = 13;
        List<Path> python = null;
        for (int generation : new int[] {13, 12}) {
            Map<Library, Location> got = new EnumMap<>(Library.class);
            for (Library lib : Library.values()) {
                if (lib == Library.DRIVER && generation == 12) {
                    // the driver does not depend on the toolkit generation: keep what the first pass found
                    if (best != null && best.containsKey(Library.DRIVER)) got.put(Library.DRIVER, best.get(Library.DRIVER));
                    continue;
                }
                Optional<Location> loc = locate(lib, lib.soname(generation), envFolders, cudaFolders, null, search, bySystem);
                // the Python folders are asked for (a process is started) only when a required library needs them
                if (loc.isEmpty() && lib != Library.DRIVER && (lib.required() || python != null)) {
                    if (python == null) python = pythonLibFolders(search.pythonSitePackages().get());
                    loc = locate(lib, lib.soname(generation), List.of(), List.of(), python, search, bySystem);
                }
                loc.ifPresent(l -> got.put(lib, l));
            }
            if (python != null) { // optional libraries met before the Python folders were listed
                for (Library lib : TOOLKIT) {
                    if (!lib.required() && !got.containsKey(lib)) {
                        locate(lib, lib.soname(generation), List.of(), List.of(), python, search, bySystem)
                                .ifPresent(l -> got.put(lib, l));
                    }
                }
            }
            if (best == null) best = got;
            if (complete(got)) {
                best = got;
                chosen = generation;
                break;
            }
        }
        // the report's list of places
        for (Path p : envFolders) looked.add(ENV + ": " + p);
        looked.add("the dynamic loader's search path (LD_LIBRARY_PATH, ld.so cache, system folders)");
        for (Path p : cudaFolders) looked.add(p.toString());
        if (python != null) {
            if (python.isEmpty()) looked.add("Python packages: no nvidia/*/lib folder found under site-packages");
            for (Path p : python) looked.add(p.toString());
        }
        return new CudaLibraries(search, looked, best, bySystem, chosen);
    }

    private static boolean complete(Map<Library, Location> got) {
        for (Library lib : TOOLKIT) if (lib.required() && !got.containsKey(lib)) return false;
        return true;
    }

    private static Optional<Location> locate(Library lib, String soname, List<Path> envFolders, List<Path> cudaFolders,
                                             List<Path> python, CudaLibraries.Search search,
                                             Map<Library, SymbolLookup> bySystem) {
        for (Path folder : envFolders) {
            Path f = folder.resolve(soname);
            if (Files.isRegularFile(f)) return Optional.of(new Location(lib, soname, Optional.of(f), ENV + " folder " + folder));
        }
        if (python == null) {
            try {
                SymbolLookup l = search.systemLoader().load(soname);
                bySystem.put(lib, l);
                return Optional.of(new Location(lib, soname, Optional.empty(), "found by the dynamic loader"));
            } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                // not on the loader's path
            }
            if (lib != Library.DRIVER) {
                for (Path folder : cudaFolders) {
                    Path f = folder.resolve(soname);
                    if (Files.isRegularFile(f)) return Optional.of(new Location(lib, soname, Optional.of(f), folder.toString()));
                }
            }
            return Optional.empty();
        }
        for (Path folder : python) {
            Path f = folder.resolve(soname);
            if (Files.isRegularFile(f)) return Optional.of(new Location(lib, soname, Optional.of(f), folder.toString()));
        }
        return Optional.empty();
    }

    /** {@code <root>/cuda/lib64}, {@code <root>/cuda/targets/x86_64-linux/lib}, then the same under {@code cuda-*}. */
    static List<Path> usrLocalCudaFolders(Path root) {
        List<Path> dirs = new ArrayList<>();
        List<Path> versioned = new ArrayList<>();
        if (Files.isDirectory(root)) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(root, "cuda*")) {
                for (Path p : ds) if (!p.getFileName().toString().equals("cuda")) versioned.add(p);
            } catch (IOException e) {
                // unreadable: nothing found there
            }
        }
        versioned.sort((a, b) -> compareVersions(b.getFileName().toString(), a.getFileName().toString()));
        List<Path> cudaDirs = new ArrayList<>();
        cudaDirs.add(root.resolve("cuda"));
        cudaDirs.addAll(versioned);
        for (Path c : cudaDirs) {
            dirs.add(c.resolve("lib64"));
            dirs.add(c.resolve("targets/x86_64-linux/lib"));
        }
        return dirs;
    }

    /** Compares names like cuda-12.4 and cuda-13.0 by their numbers. */
    static int compareVersions(String a, String b) {
        String[] x = a.replaceAll("[^0-9.]", "").split("\\.");
        String[] y = b.replaceAll("[^0-9.]", "").split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int xi = i < x.length && !x[i].isEmpty() ? Integer.parseInt(x[i]) : -1;
            int yi = i < y.length && !y[i].isEmpty() ? Integer.parseInt(y[i]) : -1;
            if (xi != yi) return Integer.compare(xi, yi);
        }
        return a.compareTo(b);
    }

    /** For each site-packages folder: {@code nvidia/cu13/lib} first, then every other {@code nvidia/<x>/lib}. */
    static List<Path> pythonLibFolders(List<Path> sitePackages) {
        Set<Path> out = new LinkedHashSet<>();
        for (Path sp : sitePackages) {
            Path nvidia = sp.resolve("nvidia");
            if (!Files.isDirectory(nvidia)) continue;
            Path cu13 = nvidia.resolve("cu13").resolve("lib");
            if (Files.isDirectory(cu13)) out.add(cu13);
            List<Path> others = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(nvidia)) {
                for (Path p : ds) {
                    Path lib = p.resolve("lib");
                    if (!p.getFileName().toString().equals("cu13") && Files.isDirectory(lib)) others.add(lib);
                }
            } catch (IOException e) {
                // unreadable: skip
            }
            others.sort(null);
            out.addAll(others);
        }
        return List.copyOf(out);
    }

    /** Python site-packages folders of this machine. */
    static final class PythonFolders {
        private PythonFolders() {}

        static List<Path> find(Map<String, String> env, boolean askPython) {
            Set<Path> out = new LinkedHashSet<>();
            String pp = env.get("PYTHONPATH");
            if (pp != null) for (String p : pp.split(":")) if (!p.isBlank()) out.add(Path.of(p));
            for (String var : new String[] {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
                String v = env.get(var);
                if (v != null && !v.isBlank()) addPythonLibs(out, Path.of(v, "lib"));
            }
            addPythonLibs(out, Path.of("/usr/local/lib"));
            addPythonLibs(out, Path.of("/usr/lib"));
            addPythonLibs(out, Path.of("/opt/conda/lib"));
            String home = env.get("HOME");
            if (home != null && !home.isBlank()) addPythonLibs(out, Path.of(home, ".local", "lib"));
            if (askPython) out.addAll(askPython());
            out.removeIf(p -> !Files.isDirectory(p));
            return List.copyOf(out);
        }

        private static void addPythonLibs(Set<Path> out, Path lib) {
            if (!Files.isDirectory(lib)) return;
            List<Path> pythons = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(lib, "python3*")) {
                for (Path p : ds) pythons.add(p);
            } catch (IOException e) {
                return;
            }
            pythons.sort((a, b) -> compareVersions(b.getFileName().toString(), a.getFileName().toString()));
            for (Path p : pythons) {
                out.add(p.resolve("site-packages"));
                out.add(p.resolve("dist-packages"));
            }
        }

        /** {@code python3}'s own site folders (5 s at most; empty when there is no python3). */
        private static List<Path> askPython() {
            try {
                Process p = new ProcessBuilder("python3", "-c",
                        "import site,sys\nfor d in site.getsitepackages()+[site.getusersitepackages()]+sys.path: print(d)")
                        .redirectErrorStream(true).start();
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    return List.of();
                }
                List<Path> out = new ArrayList<>();
                for (String line : new String(p.getInputStream().readAllBytes()).split("\n")) {
                    String s = line.strip();
                    if (s.startsWith("/")) out.add(Path.of(s));
                }
                return out;
            } catch (IOException e) {
                return List.of();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return List.of();
            }
        }
    }

    /** The CUDA generation (13 or 12) whose libraries are used; 13 when neither is complete. */
    public int generation() {
        return generation;
    }

    /** Where each library found was found (only the chosen generation's). */
    public Map<Library, Location> found() {
        return found;
    }

    /** Every place searched, in order. */
    public List<String> looked() {
        return looked;
    }

    /** The required libraries for {@code needed} (and their dependencies) that were not found, in load order. */
    public List<String> missing(Library... needed) {
        Set<Library> all = new LinkedHashSet<>();
        for (Library l : needed) {
            all.addAll(l.dependencies());
            all.add(l);
        }
        List<String> out = new ArrayList<>();
        for (Library l : Library.values()) {
            if (all.contains(l) && l.required() && !found.containsKey(l)) {
                out.add(l == Library.DRIVER ? l.soname(13) : l.soname(13) + " (or CUDA 12's " + l.soname(12) + ")");
            }
        }
        return out;
    }

    /**
     * Whether {@code needed} (with dependencies) can be used: empty when all were found, else a one-line reason
     * naming every missing library and the places searched.
     */
    public Optional<String> problem(Library... needed) {
        List<String> missing = missing(needed);
        if (missing.isEmpty()) return Optional.empty();
        return Optional.of(String.join(", ", missing) + " not found (searched " + String.join("; ", looked)
                + "; set " + ENV + " to the folder holding them, e.g. site-packages/nvidia/cu13/lib)");
    }

    /**
     * As {@link #problem} in a short line for a table: the missing sonames and a summary of the places searched
     * ({@link #report()} lists every folder).
     */
    public Optional<String> shortProblem(Library... needed) {
        List<String> missing = new ArrayList<>();
        Set<Library> all = new LinkedHashSet<>();
        for (Library l : needed) {
            all.addAll(l.dependencies());
            all.add(l);
        }
        for (Library l : Library.values()) {
            if (all.contains(l) && l != Library.DRIVER && l.required() && !found.containsKey(l)) missing.add(l.soname(13));
        }
        if (missing.isEmpty()) return Optional.empty();
        return Optional.of("missing " + String.join(", ", missing) + " (nor the CUDA 12 set) in " + looked.size()
                + " places: " + ENV + ", the dynamic loader's path, /usr/local/cuda*, Python's nvidia/*/lib; set "
                + ENV + " to the folder holding them");
    }

    /** A multi-line report: each library with where it was found or "missing", then the places searched. */
    public String report() {
        StringBuilder sb = new StringBuilder();
        sb.append("CUDA ").append(generation).append(" libraries:\n");
        for (Library l : Library.values()) {
            Location loc = found.get(l);
            sb.append("  ").append(l.soname(generation)).append(": ")
                    .append(loc != null ? loc.path().map(Path::toString).orElse(loc.where())
                            : (l.required() ? "MISSING" : "missing (optional)"))
                    .append('\n');
        }
        sb.append("searched:\n");
        for (String p : looked) sb.append("  ").append(p).append('\n');
        return sb.toString();
    }

    /**
     * Loads {@code lib} (after its dependencies) and returns its symbols. Loading is done once per library and
     * remembered, failures included.
     *
     * @throws CudaException naming the library, where it was found (or that it was not) and the loader's message
     */
    public synchronized SymbolLookup load(Library lib) {
        SymbolLookup l = lookups.get(lib);
        if (l != null) return l;
        RuntimeException failed = loadFailures.get(lib);
        if (failed != null) throw failed;
        try {
            for (Library dep : lib.dependencies()) {
                if (dep.required()) {
                    load(dep);
                } else if (found.containsKey(dep)) {
                    try {
                        load(dep);
                    } catch (CudaException e) {
                        // optional: the library that needs it says what is missing when it fails to load
                    }
                }
            }
            if (lib == Library.CUSOLVER || lib == Library.CUBLAS) {
                if (found.containsKey(Library.CUDART)) {
                    try {
                        load(Library.CUDART);
                    } catch (CudaException e) {
                        // optional: the libraries carry their own runtime
                    }
                }
            }
            l = open(lib);
            lookups.put(lib, l);
            return l;
        } catch (CudaException e) {
            loadFailures.put(lib, e);
            throw e;
        }
    }

    private SymbolLookup open(Library lib) {
        Location loc = found.get(lib);
        if (loc == null) {
            Optional<String> p = problem(lib);
            throw new CudaException(p.orElse(lib.soname(generation) + " not found"), null);
        }
        SymbolLookup sys = loadedBySystem.get(lib);
        if (loc.path().isEmpty()) {
            if (sys != null) return sys;
            try {
                return search.systemLoader().load(loc.soname());
            } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                throw new CudaException(loc.soname() + " could not be loaded by soname: " + e.getMessage(), e);
            }
        }
        Path path = loc.path().get();
        try {
            return SymbolLookup.libraryLookup(path, Arena.global());
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            throw new CudaException(loc.soname() + " was found at " + path + " but could not be loaded: "
                    + e.getMessage() + " (a broken or foreign file, or a dependency missing)", e);
        }
    }

    /** Functions for lookups: the symbol or a {@link CudaException} naming the library and the symbol. */
    static Function<String, java.lang.foreign.MemorySegment> symbols(SymbolLookup lookup, String library) {
        return name -> lookup.find(name).orElseThrow(() -> new CudaException(
                library + " has no symbol " + name + " (a library older than this binding expects?)", null));
    }
}
