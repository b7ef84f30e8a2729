package dev.flare.attention;

/** Which implementation of scaled dot-product attention runs (see {@link Attention} for the dispatch rules). */
public enum AttentionBackend {
    /** FLASH_CUDA for CUDA tensors it supports, FLASH_CPU for CPU tensors without a dense mask, else MATH. */
    AUTO,
    /** The tiled flash kernels on the GPU (bf16/f16/f32, head dim 32/64/96/128/256, no dense mask). */
    FLASH_CUDA,
    /** The same tiled algorithm in Java on the host (any head dim, no dense mask). */
    FLASH_CPU,
    /** The plain reference built from differentiable tensor ops (anything, including dense masks). */
    MATH
}
