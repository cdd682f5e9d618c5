/**
 * The contract test kit every compute backend passes (eva4j-testkit; depend on it in test scope).
 *
 * <ul>
 *   <li>{@link dev.eva4j.testkit.KernelContract}: subclass it and return your {@link dev.eva4j.spi.Kernels}; every
 *       kernel's forward and backward pass is compared with the reference on random shapes (odd and prime sizes,
 *       padding, causal masks, GQA, dropout, ignored targets), backward passes must add and accept null gradient
 *       outputs, and bad operands must be {@link java.lang.IllegalArgumentException}s naming the operand.</li>
 *   <li>{@link dev.eva4j.testkit.ReferenceKernels}: the float64 oracle, plain loops as the {@code Kernels} Javadoc
 *       states them; its backward passes are checked against finite differences in the kit's own tests.</li>
 *   <li>{@link dev.eva4j.testkit.Compare}: the norm-wise relative comparison, whose failures print the largest
 *       difference with its index and the first values of both sides.</li>
 * </ul>
 */
package dev.eva4j.testkit;
