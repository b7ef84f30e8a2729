package dev.flare.tensor.ops;

/** Reductions over dims. MEAN needs a floating-point tensor. */
public enum ReduceOp { SUM, MEAN, MAX, MIN }
