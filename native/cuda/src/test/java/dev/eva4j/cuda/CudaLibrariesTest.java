package dev.eva4j.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.cuda.CudaLibraries.Library;
import dev.eva4j.cuda.CudaLibraries.Search;
import dev.eva4j.cuda.CudaLibraries.SystemLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Library discovery with fake library folders (empty files): order of places, generations, dependencies, report. */
class CudaLibrariesTest {
    static final List<String> CUDA13 = List.of("libcudart.so.13", "libnvJitLink.so.13", "libcublasLt.so.13",
            "libcublas.so.13", "libcusolver.so.12");
    static final List<String> CUDA12 = List.of("libcudart.so.12", "libnvJitLink.so.12", "libcublasLt.so.12",
            "libcublas.so.12", "libcusolver.so.11");

    @TempDir
    Path tmp;

    static Path touch(Path dir, String... names) throws IOException {
        Files.createDirectories(dir);
        for (String n : names) Files.writeString(dir.resolve(n), "");
        return dir;
    }

    Search search(Map<String, String> env, List<Path> python) {
        return new Search(env, tmp.resolve("usr-local"), () -> python, SystemLoader.NONE);
    }

    @Test
    void environmentFoldersComeFirstInTheirOrder() throws IOException {
        Path first = touch(tmp.resolve("first"), "libcublas.so.13");
        Path second = touch(tmp.resolve("second"), CUDA13.toArray(String[]::new));
        touch(tmp.resolve("usr-local/cuda/lib64"), CUDA13.toArray(String[]::new));
        CudaLibraries libs = CudaLibraries.find(search(Map.of(CudaLibraries.ENV, first + ":" + second), List.of()));
        assertEquals(13, libs.generation());
        assertEquals(first.resolve("libcublas.so.13"), libs.found().get(Library.CUBLAS).path().orElseThrow());
        assertEquals(second.resolve("libcusolver.so.12"), libs.found().get(Library.CUSOLVER).path().orElseThrow());
        assertTrue(libs.missing(Library.CUSOLVER).isEmpty());
        assertEquals(CudaLibraries.ENV + ": " + first, libs.looked().get(0));
    }

    @Test
    void usrLocalCudaFoldersAreSearchedNewestVersionFirst() throws IOException {
        touch(tmp.resolve("usr-local/cuda-12.4/lib64"), CUDA13.toArray(String[]::new));
        touch(tmp.resolve("usr-local/cuda-13.0/targets/x86_64-linux/lib"), CUDA13.toArray(String[]::new));
        CudaLibraries libs = CudaLibraries.find(search(Map.of(), List.of()));
        assertEquals(tmp.resolve("usr-local/cuda-13.0/targets/x86_64-linux/lib/libcublas.so.13"),
                libs.found().get(Library.CUBLAS).path().orElseThrow());
        List<String> looked = libs.looked();
        assertTrue(looked.indexOf(tmp.resolve("usr-local/cuda/lib64").toString())
                < looked.indexOf(tmp.resolve("usr-local/cuda-13.0/lib64").toString()), looked.toString());
        assertTrue(looked.indexOf(tmp.resolve("usr-local/cuda-13.0/lib64").toString())
                < looked.indexOf(tmp.resolve("usr-local/cuda-12.4/lib64").toString()), looked.toString());
    }

    @Test
    void cuda13IsPreferredAndCuda12IsAWholeFallbackNeverAMix() throws IOException {
        Path d = touch(tmp.resolve("libs"), CUDA12.toArray(String[]::new));
        touch(d, "libcublas.so.13", "libcublasLt.so.13"); // an incomplete CUDA 13 set
        CudaLibraries libs = CudaLibraries.find(search(Map.of(CudaLibraries.ENV, d.toString()), List.of()));
        assertEquals(12, libs.generation());
        assertEquals("libcublas.so.12", libs.found().get(Library.CUBLAS).soname());
        assertEquals("libcusolver.so.11", libs.found().get(Library.CUSOLVER).soname());
        touch(d, CUDA13.toArray(String[]::new));
        libs = CudaLibraries.find(search(Map.of(CudaLibraries.ENV, d.toString()), List.of()));
        assertEquals(13, libs.generation());
        for (Library l : CudaLibraries.TOOLKIT) {
            if (l.required()) assertEquals(l.soname(13), libs.found().get(l).soname());
        }
    }

    @Test
    void pythonWheelsCu13FolderBeforeTheOthersAndOnlyWhenNeeded() throws IOException {
        Path site = tmp.resolve("site-packages");
        touch(site.resolve("nvidia/cublas/lib"), "libcublas.so.13", "libcublasLt.so.13");
        touch(site.resolve("nvidia/cu13/lib"), CUDA13.toArray(String[]::new));
        CudaLibraries libs = CudaLibraries.find(search(Map.of(), List.of(site)));
        assertEquals(site.resolve("nvidia/cu13/lib/libcublas.so.13"), libs.found().get(Library.CUBLAS).path().orElseThrow());
        assertTrue(libs.looked().contains(site.resolve("nvidia/cublas/lib").toString()));

        AtomicInteger asked = new AtomicInteger();
        Path env = touch(tmp.resolve("env"), CUDA13.toArray(String[]::new));
        CudaLibraries.find(new Search(Map.of(CudaLibraries.ENV, env.toString()), tmp.resolve("none"), () -> {
            asked.incrementAndGet();
            return List.of(site);
        }, SystemLoader.NONE));
        assertEquals(0, asked.get(), "Python folders are not searched when everything was found before");
    }

    @Test
    void theDynamicLoaderIsAskedBySonameAfterTheEnvironment() throws IOException {
        List<String> asked = new ArrayList<>();
        SystemLoader loader = soname -> {
            asked.add(soname);
            throw new IllegalArgumentException("no " + soname);
        };
        Path env = touch(tmp.resolve("env"), "libcublas.so.13");
        CudaLibraries.find(new Search(Map.of(CudaLibraries.ENV, env.toString()), tmp.resolve("none"), List::of, loader));
        assertFalse(asked.contains("libcublas.so.13"), "found in the environment's folder first");
        assertTrue(asked.contains("libcuda.so.1") && asked.contains("libcusolver.so.12"), asked.toString());
        assertTrue(asked.indexOf("libcusolver.so.12") < asked.indexOf("libcusolver.so.11"), asked.toString());
    }

    @Test
    void reportNamesEveryMissingLibraryAndEveryPlace() throws IOException {
        Path site = tmp.resolve("site-packages");
        touch(site.resolve("nvidia/cu13/lib"), "libcublas.so.13", "libcublasLt.so.13");
        Path env = tmp.resolve("env");
        Files.createDirectories(env);
        CudaLibraries libs = CudaLibraries.find(search(Map.of(CudaLibraries.ENV, env.toString()), List.of(site)));
        String problem = libs.problem(Library.CUSOLVER).orElseThrow();
        assertTrue(problem.startsWith("libnvJitLink.so.13 (or CUDA 12's libnvJitLink.so.12), libcusolver.so.12"), problem);
        assertFalse(problem.contains("libcublas.so.13 ("), "cuBLAS was found: " + problem);
        assertTrue(problem.contains(env.toString()) && problem.contains(site.resolve("nvidia/cu13/lib").toString())
                && problem.contains("dynamic loader") && problem.contains("EVA4J_CUDA_LIBS"), problem);
        assertTrue(libs.problem(Library.CUBLAS).isEmpty());
        String report = libs.report();
        assertTrue(report.contains("libcusolver.so.12: MISSING") && report.contains("libcudart.so.13: missing (optional)")
                && report.contains("libcuda.so.1: MISSING"), report);
    }

    @Test
    void dependenciesLoadFirstAndABrokenFileGivesAClearError() throws IOException {
        assertEquals(List.of(Library.NVJITLINK, Library.CUSPARSE, Library.CUBLASLT, Library.CUBLAS),
                Library.CUSOLVER.dependencies());
        assertEquals(List.of(Library.CUBLASLT), Library.CUBLAS.dependencies());
        Path d = touch(tmp.resolve("broken"), CUDA13.toArray(String[]::new)); // empty files: not ELF
        CudaLibraries libs = CudaLibraries.find(search(Map.of(CudaLibraries.ENV, d.toString()), List.of()));
        CudaException e = assertThrows(CudaException.class, () -> libs.load(Library.CUSOLVER));
        assertTrue(e.getMessage().startsWith("libnvJitLink.so.13 was found at " + d.resolve("libnvJitLink.so.13")
                + " but could not be loaded"), e.getMessage());
        CudaException again = assertThrows(CudaException.class, () -> libs.load(Library.CUSOLVER));
        assertEquals(e.getMessage(), again.getMessage(), "the failure is remembered");
        CudaException cublas = assertThrows(CudaException.class, () -> libs.load(Library.CUBLAS));
        assertTrue(cublas.getMessage().startsWith("libcublasLt.so.13 was found"), cublas.getMessage());
    }

    @Test
    void aMissingLibraryCannotBeLoaded() {
        CudaLibraries libs = CudaLibraries.find(search(Map.of(), List.of()));
        CudaException e = assertThrows(CudaException.class, () -> libs.load(Library.DRIVER));
        assertTrue(e.getMessage().startsWith("libcuda.so.1 not found"), e.getMessage());
    }

    @Test
    void versionOrderAndSonames() {
        assertTrue(CudaLibraries.compareVersions("cuda-13.0", "cuda-12.9") > 0);
        assertTrue(CudaLibraries.compareVersions("cuda-12.10", "cuda-12.9") > 0);
        assertEquals("libcusolver.so.11", Library.CUSOLVER.soname(12));
        assertEquals("libcuda.so.1", Library.DRIVER.soname(12));
        assertThrows(IllegalArgumentException.class, () -> Library.CUBLAS.soname(11));
    }
}
