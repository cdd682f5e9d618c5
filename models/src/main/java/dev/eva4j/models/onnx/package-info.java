/**
 * ONNX weight import: {@link dev.eva4j.models.onnx.OnnxModelReader} decodes the protobuf wire format of a ModelProto
 * (no protobuf library) into an {@link dev.eva4j.models.onnx.OnnxGraph}; {@link dev.eva4j.models.onnx.OnnxBertImporter}
 * maps a BERT export's initializers to Hugging Face names (anonymous {@code onnx::MatMul_N} weights named by their
 * MatMul node and transposed to [out, in]) and derives its config; {@link dev.eva4j.models.onnx.OnnxModelLoader} is
 * the {@code onnx} {@link dev.eva4j.spi.ModelLoader}. Checked against ONNX Runtime on all-MiniLM-L6-v2 (max relative
 * error of the last hidden state ~6e-7).
 */
package dev.eva4j.models.onnx;
