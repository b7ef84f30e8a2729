package dev.flare.tensor.cuda;

import dev.flare.tensor.Backends;
import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** NCCL on one GPU: the version, and a world-of-one all-reduce (the sum over one rank is the tensor itself). */
@Tag("cuda")
class NcclCudaTest {
    private static void assumeNccl() {
        Assumptions.assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
        Assumptions.assumeTrue(Nccl.isAvailable(), () -> "NCCL unavailable: " + Nccl.unavailableReason());
    }

    @Test
    void loadsAndReportsItsVersion() {
        assumeNccl();
        int v = Nccl.version();
        System.out.println("NCCL " + Nccl.versionText(v) + " from " + Nccl.libraryPath());
        assertTrue(v >= 20000, "version code " + v);
        byte[] a = Nccl.uniqueId(), b = Nccl.uniqueId();
        assertEquals(128, a.length);
        assertFalse(java.util.Arrays.equals(a, b), "two unique ids differ");
    }

    @Test
    void worldOfOneAllReduceLeavesF32Bf16AndF16Unchanged() {
        assumeNccl();
        CudaBackend gpu = (CudaBackend) Backends.of(Device.cuda(0));
        try (NcclCommunicator comm = NcclCommunicator.join(gpu, Nccl.uniqueId(), 0, 1)) {
            for (DType dt : new DType[]{DType.F32, DType.BF16, DType.F16}) {
                float[] host = new float[3 * 1000 + 7];
                for (int i = 0; i < host.length; i++) host[i] = (float) Math.sin(i) * 10;
                Tensor big = Tensor.fromArray(host, host.length).to(dt).to(Device.cuda(0));
                Tensor small = Tensor.fromArray(new float[]{1.5f, -2f}, 2).to(dt).to(Device.cuda(0));
                float[] before = big.to(DType.F32).toFloatArray();
                comm.allReduceSum(List.of(big, small));
                big.mulInPlace(1.0 / comm.worldSize());
                assertArrayEquals(before, big.to(DType.F32).toFloatArray(), dt + ": the sum over one rank, averaged by 1, is the tensor");
                assertArrayEquals(new float[]{1.5f, -2f}, small.to(DType.F32).toFloatArray(), dt.toString());
            }
        }
    }

    @Test
    void aCpuTensorOrAViewIsRefusedByName() {
        assumeNccl();
        CudaBackend gpu = (CudaBackend) Backends.of(Device.cuda(0));
        try (NcclCommunicator comm = NcclCommunicator.join(gpu, Nccl.uniqueId(), 0, 1)) {
            var e = assertThrows(IllegalArgumentException.class, () -> comm.allReduceSum(List.of(Tensor.zeros(4))));
            assertTrue(e.getMessage().contains("cpu") || e.getMessage().contains("CPU"), e.getMessage());
            Tensor m = Tensor.zeros(DType.F32, Device.cuda(0), 4, 3);
            assertThrows(IllegalArgumentException.class, () -> comm.allReduceSum(List.of(m.t())));
        }
    }
}
