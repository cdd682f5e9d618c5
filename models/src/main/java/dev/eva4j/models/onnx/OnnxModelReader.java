package dev.eva4j.models.onnx;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.onnx.ProtoReader.ByteList;
import dev.eva4j.models.onnx.ProtoReader.LongList;
import dev.eva4j.models.onnx.ProtoReader.ProtoException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads an ONNX model file (protobuf ModelProto) far enough to import weights: the graph's nodes (name, op type,
 * inputs, outputs, INT/INTS/TENSOR attributes), its initializers (FLOAT, INT64, INT32, INT8 and UINT8 data from
 * {@code raw_data}, {@code float_data}, {@code int64_data} or {@code int32_data}) and its input/output names. No protobuf library: the wire format is
 * decoded by {@link ProtoReader}, and unknown fields are skipped.
 *
 * <p>A file that is not a well-formed ONNX model (truncated, corrupted, external data, over 2 GiB) is an
 * {@link IllegalArgumentException} with one line naming the file and the problem.
 */
public final class OnnxModelReader {
    // ModelProto
    private static final int MODEL_GRAPH = 7;
    // GraphProto
    private static final int GRAPH_NODE = 1;
    private static final int GRAPH_NAME = 2;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_INPUT = 11;
    private static final int GRAPH_OUTPUT = 12;
    // NodeProto
    private static final int NODE_INPUT = 1;
    private static final int NODE_OUTPUT = 2;
    private static final int NODE_NAME = 3;
    private static final int NODE_OP_TYPE = 4;
    private static final int NODE_ATTRIBUTE = 5;
    // AttributeProto
    private static final int ATTR_NAME = 1;
    private static final int ATTR_I = 3;
    private static final int ATTR_T = 5;
    private static final int ATTR_INTS = 8;
    // TensorProto
    private static final int TENSOR_DIMS = 1;
    private static final int TENSOR_DATA_TYPE = 2;
    private static final int TENSOR_FLOAT_DATA = 4;
    private static final int TENSOR_INT32_DATA = 5;
    private static final int TENSOR_INT64_DATA = 7;
    private static final int TENSOR_NAME = 8;
    private static final int TENSOR_RAW_DATA = 9;
    private static final int TENSOR_DATA_LOCATION = 14;
    // ValueInfoProto
    private static final int VALUE_INFO_NAME = 1;

    private OnnxModelReader() {}

    /** Reads the graph of the ONNX model at {@code file}. */
    public static OnnxGraph read(Path file) throws IOException {
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException("ONNX model " + file + " does not exist");
        }
        if (size > Integer.MAX_VALUE - 8) {
            throw new InvalidInputException("ONNX model " + file + " is " + size
                    + " bytes; models over 2 GiB (external data) are not supported");
        }
        return parse(Files.readAllBytes(file), file.toString());
    }

    /** Parses ONNX model bytes; {@code source} names them in error messages. The tensors may share {@code bytes}. */
    public static OnnxGraph parse(byte[] bytes, String source) {
        try {
            OnnxGraph graph = null;
            ProtoReader model = new ProtoReader(bytes, 0, bytes.length);
            while (model.hasMore()) {
                if (model.nextField() == MODEL_GRAPH) {
                    graph = graph(model.message());
                } else {
                    model.skip();
                }
            }
            if (graph == null) throw new ProtoException("no graph in the model");
            return graph;
        } catch (ProtoException | ArithmeticException e) {
            throw new InvalidInputException("ONNX model " + source + " is not valid: " + oneLine(e.getMessage())
                    + " (truncated or corrupted file?)");
        }
    }

    /** Names read from a corrupt file may hold any bytes: escape control characters so the message stays one line. */
    static String oneLine(String s) {
        if (s == null) return "";
        StringBuilder sb = new StringBuilder(s.length());
        s.codePoints().forEach(c -> {
            if (Character.isISOControl(c) || c == 0x2028 || c == 0x2029 || c == 0x85) {
                sb.append(String.format("\\u%04x", c));
            } else {
                sb.appendCodePoint(c);
            }
        });
        return sb.toString();
    }

    private static OnnxGraph graph(ProtoReader g) {
        String name = "";
        List<OnnxNode> nodes = new ArrayList<>();
        Map<String, OnnxTensor> initializers = new LinkedHashMap<>();
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        while (g.hasMore()) {
            switch (g.nextField()) {
                case GRAPH_NODE -> nodes.add(node(g.message()));
                case GRAPH_NAME -> name = g.string();
                case GRAPH_INITIALIZER -> {
                    OnnxTensor t = tensor(g.message());
                    if (initializers.put(t.name(), t) != null) throw new ProtoException("initializer '" + t.name() + "' appears twice");
                }
                case GRAPH_INPUT -> inputs.add(valueInfoName(g.message()));
                case GRAPH_OUTPUT -> outputs.add(valueInfoName(g.message()));
                default -> g.skip();
            }
        }
        return new OnnxGraph(name, nodes, initializers, inputs, outputs);
    }

    private static OnnxNode node(ProtoReader n) {
        String name = "";
        String opType = "";
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        Map<String, long[]> ints = new HashMap<>();
        Map<String, OnnxTensor> tensors = new HashMap<>();
        while (n.hasMore()) {
            switch (n.nextField()) {
                case NODE_INPUT -> inputs.add(n.string());
                case NODE_OUTPUT -> outputs.add(n.string());
                case NODE_NAME -> name = n.string();
                case NODE_OP_TYPE -> opType = n.string();
                case NODE_ATTRIBUTE -> attribute(n.message(), ints, tensors);
                default -> n.skip();
            }
        }
        return new OnnxNode(name, opType, inputs, outputs, ints, tensors);
    }

    private static void attribute(ProtoReader a, Map<String, long[]> ints, Map<String, OnnxTensor> tensors) {
        String name = "";
        LongList values = new LongList();
        boolean hasInts = false;
        OnnxTensor t = null;
        while (a.hasMore()) {
            switch (a.nextField()) {
                case ATTR_NAME -> name = a.string();
                case ATTR_I -> {
                    values.add(a.varint());
                    hasInts = true;
                }
                case ATTR_INTS -> {
                    a.varints(values);
                    hasInts = true;
                }
                case ATTR_T -> t = tensor(a.message());
                default -> a.skip();
            }
        }
        if (hasInts) ints.put(name, values.toArray());
        if (t != null) tensors.put(name, t);
    }

    private static OnnxTensor tensor(ProtoReader t) {
        String name = "";
        LongList dims = new LongList();
        int dataType = 0;
        int[] raw = null;
        ByteList floatData = new ByteList();
        LongList int64Data = new LongList();
        LongList int32Data = new LongList(); // also holds INT8 and UINT8 values when there is no raw_data
        boolean external = false;
        while (t.hasMore()) {
            switch (t.nextField()) {
                case TENSOR_DIMS -> t.varints(dims);
                case TENSOR_DATA_TYPE -> dataType = (int) t.varint();
                case TENSOR_FLOAT_DATA -> t.fixed32s(floatData);
                case TENSOR_INT64_DATA -> t.varints(int64Data);
                case TENSOR_INT32_DATA -> t.varints(int32Data);
                case TENSOR_NAME -> name = t.string();
                case TENSOR_RAW_DATA -> raw = t.lenRange();
                case TENSOR_DATA_LOCATION -> external = t.varint() == 1;
                default -> t.skip();
            }
        }
        if (external) throw new ProtoException("tensor '" + name + "' keeps its data in an external file (not supported)");
        long[] shape = dims.toArray();
        long numel = 1;
        for (long d : shape) {
            if (d < 0) throw new ProtoException("tensor '" + name + "' has a negative dimension " + d);
            numel = Math.multiplyExact(numel, d);
        }
        MemorySegment data;
        if (raw != null) {
            data = MemorySegment.ofArray(t.buffer()).asSlice(raw[0], raw[1] - raw[0]);
        } else if (dataType == OnnxTensor.FLOAT) {
            data = MemorySegment.ofArray(floatData.toArray());
        } else if (dataType == OnnxTensor.INT64) {
            long[] v = int64Data.toArray();
            ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(v.length, 8)).order(ByteOrder.LITTLE_ENDIAN);
            for (long x : v) b.putLong(x);
            data = MemorySegment.ofArray(b.array());
        } else if (dataType == OnnxTensor.INT8 || dataType == OnnxTensor.UINT8) {
            long[] v = int32Data.toArray();
            byte[] b = new byte[v.length];
            for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
            data = MemorySegment.ofArray(b);
        } else if (dataType == OnnxTensor.INT32) {
            long[] v = int32Data.toArray();
            ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(v.length, 4)).order(ByteOrder.LITTLE_ENDIAN);
            for (long x : v) b.putInt((int) x);
            data = MemorySegment.ofArray(b.array());
        } else {
            data = MemorySegment.NULL; // other types: kept for their name and shape only
        }
        int elementBytes = switch (dataType) {
            case OnnxTensor.FLOAT, OnnxTensor.INT32 -> 4;
            case OnnxTensor.INT64 -> 8;
            case OnnxTensor.INT8, OnnxTensor.UINT8 -> 1;
            default -> 0;
        };
        if (elementBytes > 0 && data.byteSize() != Math.multiplyExact(numel, elementBytes)) {
            throw new ProtoException("tensor '" + name + "' has dims " + java.util.Arrays.toString(shape) + " ("
                    + numel + " elements) but " + data.byteSize() + " bytes of data");
        }
        return new OnnxTensor(name, dataType, shape, data);
    }

    private static String valueInfoName(ProtoReader v) {
        String name = "";
        while (v.hasMore()) {
            if (v.nextField() == VALUE_INFO_NAME) name = v.string();
            else v.skip();
        }
        return name;
    }
}
