package dev.eva4j.models.onnx;

import java.nio.charset.StandardCharsets;

/**
 * A cursor over protobuf wire-format bytes [start, end) of one message. Every read checks bounds; a malformed
 * message is a {@link ProtoException} (never an index error, never a loop that does not advance).
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int I64 = 1;
    static final int LEN = 2;
    static final int I32 = 5;

    private final byte[] buf;
    private int pos;
    private final int end;
    private int tag;

    ProtoReader(byte[] buf, int start, int end) {
        if (start < 0 || end > buf.length || start > end) throw new ProtoException("message bounds out of range");
        this.buf = buf;
        this.pos = start;
        this.end = end;
    }

    boolean hasMore() {
        return pos < end;
    }

    /** Reads the next tag; returns its field number (>= 1). */
    int nextField() {
        long t = readVarint();
        if (t > 0xFFFF_FFFFL || (t >>> 3) == 0) throw new ProtoException("bad field tag " + t + " at byte " + pos);
        tag = (int) t;
        return tag >>> 3;
    }

    int wireType() {
        return tag & 7;
    }

    long readVarint() {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= end) throw new ProtoException("truncated varint at byte " + pos);
            byte b = buf[pos++];
            result |= (long) (b & 0x7F) << shift;
            if (b >= 0) return result;
        }
        throw new ProtoException("varint longer than 10 bytes at byte " + pos);
    }

    /** The current field as a varint (checks its wire type). */
    long varint() {
        expect(VARINT);
        return readVarint();
    }

    /** The current field's length-delimited payload as a sub-reader; advances past it. */
    ProtoReader message() {
        int[] r = lenRange();
        return new ProtoReader(buf, r[0], r[1]);
    }

    String string() {
        int[] r = lenRange();
        return new String(buf, r[0], r[1] - r[0], StandardCharsets.UTF_8);
    }

    /** [start, end) of the current length-delimited field inside the buffer; advances past it. */
    int[] lenRange() {
        expect(LEN);
        long len = readVarint();
        if (len < 0 || len > end - pos) {
            throw new ProtoException("field " + (tag >>> 3) + " claims " + len + " bytes but only " + (end - pos) + " remain");
        }
        int start = pos;
        pos += (int) len;
        return new int[] {start, pos};
    }

    byte[] buffer() {
        return buf;
    }

    /** Skips the current field's value, whatever its wire type. */
    void skip() {
        switch (wireType()) {
            case VARINT -> readVarint();
            case I64 -> advance(8);
            case LEN -> lenRange();
            case I32 -> advance(4);
            default -> throw new ProtoException("unsupported wire type " + wireType() + " for field " + (tag >>> 3)
                    + " at byte " + pos);
        }
    }

    /**
     * A repeated int64/int32 field: either one packed run or one unpacked element per call. Appends to {@code out}.
     */
    void varints(LongList out) {
        if (wireType() == LEN) {
            ProtoReader p = message();
            while (p.hasMore()) out.add(p.readVarint());
        } else {
            out.add(varint());
        }
    }

    /** A repeated float field (packed or not), appended as little-endian bytes to {@code out}. */
    void fixed32s(ByteList out) {
        if (wireType() == LEN) {
            int[] r = lenRange();
            if ((r[1] - r[0]) % 4 != 0) throw new ProtoException("packed float field of " + (r[1] - r[0]) + " bytes");
            out.add(buf, r[0], r[1] - r[0]);
        } else {
            expect(I32);
            int start = pos;
            advance(4);
            out.add(buf, start, 4);
        }
    }

    private void advance(int n) {
        if (end - pos < n) throw new ProtoException("truncated fixed-width field at byte " + pos);
        pos += n;
    }

    private void expect(int wire) {
        if (wireType() != wire) {
            throw new ProtoException("field " + (tag >>> 3) + " has wire type " + wireType() + ", expected " + wire);
        }
    }

    /** A malformed message; the reader turns it into a one-line error naming the file. */
    static final class ProtoException extends RuntimeException {
        ProtoException(String message) {
            super(message, null, false, false);
        }
    }

    /** A growable long array. */
    static final class LongList {
        private long[] a = new long[8];
        private int n;

        void add(long v) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }

    /** A growable byte array. */
    static final class ByteList {
        private byte[] a = new byte[0];
        private int n;

        void add(byte[] src, int off, int len) {
            if (a.length - n < len) a = java.util.Arrays.copyOf(a, Math.max(Math.addExact(n, len), a.length * 2));
            System.arraycopy(src, off, a, n, len);
            n += len;
        }

        int size() {
            return n;
        }

        byte[] toArray() {
            return n == a.length ? a : java.util.Arrays.copyOf(a, n);
        }
    }
}
