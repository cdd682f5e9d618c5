package dev.eva4j.spi;

/**
 * Memory a backend owns: a host segment on CPU backends, a device pointer on a GPU. Created by
 * {@link Kernels#allocate}, filled and read with {@link Kernels#upload} / {@link Kernels#download}, freed by
 * {@link #close()}. A {@link #slice} is a view into its parent (nothing copied, nothing freed when it is closed);
 * closing the parent frees the memory of every view. Buffers are handed only to the {@link Kernels} that made
 * them: every kernel checks its operands' owner, dtype and length and names the operand when one is wrong.
 */
public interface Buffer extends AutoCloseable {

    /** The kernels (backend) that own this memory. */
    Kernels owner();

    DType dtype();

    /** Number of elements. */
    long length();

    default long byteSize() {
        return length() * dtype().bytes();
    }

    /** Elements {@code [offset, offset + length)} as a view sharing this buffer's memory. */
    Buffer slice(long offset, long length);

    /** Whether the memory is still allocated (false after the root buffer was closed). */
    boolean isAlive();

    /** Frees the memory (a no-op on a view and on a buffer already closed). */
    @Override
    void close();
}
