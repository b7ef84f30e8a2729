package dev.flare.training.distributed;

import dev.flare.tensor.Backends;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.cuda.CudaBackend;
import dev.flare.tensor.cuda.Nccl;
import dev.flare.tensor.cuda.NcclCommunicator;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Data parallelism for the trainer: after the micro-batches' backward, every rank's F32 master gradients are
 * summed over ranks with NCCL, bucket by bucket, and divided by the world size, so each rank applies the same
 * update to the same weights. A world of one does nothing (no NCCL needed), so training is unchanged.
 */
public final class DataParallel implements AutoCloseable {
    /** How long ranks wait for each other at start-up (a slow JVM start or a first CUDA context). */
    static final Duration RENDEZVOUS_TIMEOUT = Duration.ofMinutes(5);

    private final ProcessGroup group;
    private final NcclCommunicator comm;          // null: nothing to reduce
    private final long bucketBytes;

    DataParallel(ProcessGroup group, NcclCommunicator comm, long bucketBytes) {
        this.group = group;
        this.comm = comm;
        this.bucketBytes = bucketBytes;
    }

    /** One process alone: no communicator, reduceGradients does nothing. */
    public static DataParallel single() { return new DataParallel(ProcessGroup.single(), null, GradientBuckets.DEFAULT_BUCKET_BYTES); }

    /** For group: a world of one is {@link #single()}; otherwise the rendezvous and an NCCL communicator on device. */
    public static DataParallel join(ProcessGroup group, Device device) throws IOException {
        return group.isDistributed() ? withNccl(group, device) : single();
    }

    /** Always through NCCL, even for a world of one (the CUDA tests check the path that way). */
    public static DataParallel withNccl(ProcessGroup group, Device device) throws IOException {
        if (!(Backends.of(device) instanceof CudaBackend gpu))
            throw new IllegalArgumentException("device: data-parallel training needs CUDA (NCCL), got " + device);
        if (!Nccl.isAvailable()) throw new IllegalStateException(Nccl.unavailableReason());
        byte[] id = Rendezvous.share(group, Nccl::uniqueId, RENDEZVOUS_TIMEOUT);
        return new DataParallel(group, NcclCommunicator.join(gpu, id, group.rank(), group.worldSize()), GradientBuckets.DEFAULT_BUCKET_BYTES);
    }

    public ProcessGroup group() { return group; }

    /** The training-window seed of this rank: rank 0 keeps the run's seed (a world of one is unchanged). */
    public static long shardSeed(long seed, int rank) { return rank == 0 ? seed : seed ^ (0x9E3779B97F4A7C15L * rank); }

    /** Sums the gradients of params over ranks, then divides by the world size (the mean gradient). */
    public void reduceGradients(List<Tensor> params) {
        if (comm == null) return;
        List<Tensor> grads = new ArrayList<>();
        for (Tensor p : params) if (p.grad() != null) grads.add(p.grad());
        long[] bytes = new long[grads.size()];
        for (int i = 0; i < bytes.length; i++) bytes[i] = grads.get(i).numel() * grads.get(i).dtype().byteSize();
        for (GradientBuckets.Bucket b : GradientBuckets.plan(bytes, bucketBytes))
            comm.allReduceSum(grads.subList(b.from(), b.to()));
        if (group.worldSize() > 1)                   // dividing by 1 would only cost a pass over the gradients
            for (Tensor g : grads) g.mulInPlace(1.0 / group.worldSize());
    }

    @Override
    public void close() { if (comm != null) comm.close(); }
}
