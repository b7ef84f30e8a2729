package dev.flare.tensor.cuda;

import dev.flare.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * One rank's NCCL communicator on one device. Collectives are queued on the device backend's stream, so they
 * follow the kernels that produced their inputs and precede those that read the results, with no extra sync.
 */
public final class NcclCommunicator implements AutoCloseable {
    private final NcclLibrary lib;
    private final CudaBackend backend;
    private final int rank, worldSize;
    private MemorySegment comm;

    private NcclCommunicator(NcclLibrary lib, CudaBackend backend, MemorySegment comm, int rank, int worldSize) {
        this.lib = lib;
        this.backend = backend;
        this.comm = comm;
        this.rank = rank;
        this.worldSize = worldSize;
    }

    /**
     * Joins the communicator of worldSize ranks identified by uniqueId (the same 128 bytes on every rank). Blocks
     * until every rank has joined. backend's device must be this rank's GPU.
     */
    public static NcclCommunicator join(CudaBackend backend, byte[] uniqueId, int rank, int worldSize) {
        if (uniqueId.length != Nccl.UNIQUE_ID_BYTES)
            throw new IllegalArgumentException("uniqueId: expected " + Nccl.UNIQUE_ID_BYTES + " bytes, got " + uniqueId.length);
        if (worldSize < 1 || rank < 0 || rank >= worldSize)
            throw new IllegalArgumentException("rank " + rank + " of world size " + worldSize + ": expected 0 <= rank < worldSize");
        NcclLibrary lib = NcclLibrary.get();
        backend.context().makeCurrent();              // NCCL uses the calling thread's current device
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            MemorySegment id = a.allocate(NcclLibrary.UNIQUE_ID);
            id.copyFrom(MemorySegment.ofArray(uniqueId));
            Nccl.check(lib.commInitRank(out, worldSize, id, rank), "ncclCommInitRank(rank " + rank + " of " + worldSize + ")");
            return new NcclCommunicator(lib, backend, out.get(ValueLayout.ADDRESS, 0), rank, worldSize);
        }
    }

    public int rank() { return rank; }

    public int worldSize() { return worldSize; }

    /** Sums each tensor in place over all ranks, as one NCCL group (one launch per group, not per tensor). */
    public void allReduceSum(List<Tensor> tensors) {
        if (comm == null) throw new IllegalStateException("NCCL communicator already closed");
        backend.context().makeCurrent();
        Nccl.check(lib.groupStart(), "ncclGroupStart");
        RuntimeException failed = null;
        for (Tensor t : tensors) {
            try {
                queue(t);
            } catch (RuntimeException e) {
                failed = e;
                break;
            }
        }
        Nccl.check(lib.groupEnd(), "ncclGroupEnd");      // a group must be closed even when a call failed
        if (failed != null) throw failed;
        for (Tensor t : tensors) t.storage().bumpVersion();
    }

    private void queue(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s) || s.backend() != backend)
            throw new IllegalArgumentException("all-reduce: expected a tensor on " + backend.device() + ", got one on " + t.device());
        if (!t.isContiguous()) throw new IllegalArgumentException("all-reduce: expected a contiguous tensor, got shape strides of a view");
        if (t.numel() == 0) return;
        MemorySegment p = MemorySegment.ofAddress(s.address(t.offset()));
        Nccl.check(lib.allReduce(p, p, t.numel(), Nccl.dataType(t.dtype()), Nccl.SUM, comm, backend.stream().segment()),
                "ncclAllReduce(" + t.dtype() + ", " + t.numel() + " elements)");
    }

    @Override
    public void close() {
        if (comm == null) return;
        backend.context().makeCurrent();
        MemorySegment c = comm;
        comm = null;
        Nccl.check(lib.commDestroy(c), "ncclCommDestroy");
    }
}
