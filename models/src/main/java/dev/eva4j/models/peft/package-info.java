/**
 * Interoperability with Hugging Face PEFT: {@link dev.eva4j.models.peft.PeftLoraAdapter} reads and writes LoRA
 * adapter folders (ours or written by Python) and loads them into {@link dev.eva4j.models.nn.Lora} layers and a
 * {@link dev.eva4j.models.nn.ClassificationHead}; {@link dev.eva4j.models.peft.AdapterMerge} merges an adapter into
 * its base model as a Hugging Face checkpoint; {@link dev.eva4j.models.peft.AdapterEvaluation} measures loss and
 * accuracy with an adapter. The formats are described in docs/peft-interop.md.
 */
package dev.eva4j.models.peft;
