/** Element types and shape helpers shared by every tensor format eva4j reads or writes. */
package dev.eva4j.api.tensor;
