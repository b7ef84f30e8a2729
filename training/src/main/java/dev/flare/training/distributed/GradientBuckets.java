package dev.flare.training.distributed;

import java.util.ArrayList;
import java.util.List;

/**
 * Groups gradients into buckets of about bucketBytes for the all-reduce (PyTorch DDP's default is 25 MiB): one
 * NCCL group per bucket amortizes launch latency over many small tensors without holding the whole model's
 * gradients in one call. Buckets cover consecutive tensors in order, each exactly once; a tensor larger than
 * bucketBytes gets a bucket of its own.
 */
public final class GradientBuckets {
    public static final long DEFAULT_BUCKET_BYTES = 25L << 20;

    /** Tensors [from, to) of the list, bytes in all. */
    public record Bucket(int from, int to, long bytes) {}

    private GradientBuckets() {}

    public static List<Bucket> plan(long[] tensorBytes, long bucketBytes) {
        if (bucketBytes <= 0) throw new IllegalArgumentException("bucketBytes: expected > 0, got " + bucketBytes);
        List<Bucket> out = new ArrayList<>();
        int from = 0;
        long bytes = 0;
        for (int i = 0; i < tensorBytes.length; i++) {
            if (tensorBytes[i] < 0) throw new IllegalArgumentException("tensorBytes[" + i + "]: expected >= 0, got " + tensorBytes[i]);
            if (i > from && bytes + tensorBytes[i] > bucketBytes) {
                out.add(new Bucket(from, i, bytes));
                from = i;
                bytes = 0;
            }
            bytes += tensorBytes[i];
        }
        if (from < tensorBytes.length) out.add(new Bucket(from, tensorBytes.length, bytes));
        return out;
    }
}
