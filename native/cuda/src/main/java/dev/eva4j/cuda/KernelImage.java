package dev.eva4j.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The fatbin of eva4j's own CUDA kernels, as the build packed it: the class-path resource
 * {@code dev/eva4j/cuda/eva4j-kernels.fatbin} (made by {@code src/main/cuda/build.sh} with nvcc: sm_80 and sm_90 code
 * plus compute_90 PTX), or, where the build found no nvcc, {@code eva4j-kernels.absent} holding the reason. Also a
 * small reader of the fatbin container's entries (kind and architecture), so that what a build produced can be
 * checked without NVIDIA's {@code cuobjdump}. Immutable; thread-safe.
 *
 * @param image  the fatbin's bytes, or null when there is none
 * @param reason why there is no fatbin ("" when there is one)
 */
public record KernelImage(byte[] image, String reason) {
    /** The resource holding the fatbin. */
    public static final String RESOURCE = "eva4j-kernels.fatbin";
    /** The resource the build writes instead when nvcc was not found, holding the reason. */
    public static final String ABSENT = "eva4j-kernels.absent";

    /** Magic number at the start of a fatbin container ({@code 0xBA55ED50}, little-endian). */
    static final int FATBIN_MAGIC = 0xBA55ED50;

    /** One entry of a fatbin: {@code ptx} (kind 1) or {@code elf} (kind 2, a cubin) for an architecture such as 90. */
    public record Entry(String kind, int arch, long size) {
        @Override
        public String toString() {
            return kind + " sm_" + arch + " (" + size + " bytes)";
        }
    }

    /** The kernels this jar carries (loaded once per call; callers cache). */
    public static KernelImage load() {
        try (InputStream in = KernelImage.class.getResourceAsStream(RESOURCE)) {
            if (in != null) return new KernelImage(in.readAllBytes(), "");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the CUDA kernels resource " + RESOURCE, e);
        }
        try (InputStream in = KernelImage.class.getResourceAsStream(ABSENT)) {
            if (in != null) return new KernelImage(null, new String(in.readAllBytes(), StandardCharsets.UTF_8).strip());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + ABSENT, e);
        }
        return new KernelImage(null, "this build has no CUDA kernels: neither " + RESOURCE + " nor " + ABSENT
                + " is on the class path (was native/cuda built by Maven?)");
    }

    /** The fatbin, when the build made one. */
    public Optional<byte[]> fatbin() {
        return Optional.ofNullable(image);
    }

    /**
     * The entries of a fatbin container: a 16-byte header (magic, version, header size, size of what follows), then
     * entries, each a header (kind u16 at 0: 1 PTX, 2 ELF; its own size u32 at 4; payload size u64 at 8; architecture
     * u32 at 28) and its payload.
     *
     * @throws IllegalArgumentException when the bytes are not a well-formed fatbin
     */
    public static List<Entry> entries(byte[] fatbin) {
        ByteBuffer b = ByteBuffer.wrap(fatbin).order(ByteOrder.LITTLE_ENDIAN);
        if (fatbin.length < 16 || b.getInt(0) != FATBIN_MAGIC) {
            throw new IllegalArgumentException("not a fatbin: the magic number 0xBA55ED50 is missing");
        }
        int headerSize = Short.toUnsignedInt(b.getShort(6));
        long end = headerSize + b.getLong(8);
        if (end > fatbin.length) throw new IllegalArgumentException("fatbin truncated: needs " + end + " bytes");
        List<Entry> entries = new ArrayList<>();
        long at = headerSize;
        while (at + 32 <= end) {
            int p = Math.toIntExact(at);
            int kind = Short.toUnsignedInt(b.getShort(p));
            long entryHeader = Integer.toUnsignedLong(b.getInt(p + 4));
            long size = b.getLong(p + 8);
            int arch = b.getInt(p + 28);
            if (entryHeader < 32 || at + entryHeader + size > end) {
                throw new IllegalArgumentException("fatbin entry at byte " + at + " is malformed");
            }
            entries.add(new Entry(kind == 1 ? "ptx" : kind == 2 ? "elf" : "kind" + kind, arch, size));
            at += entryHeader + size;
        }
        return entries;
    }
}
