package dev.flare.attention;

import dev.flare.tensor.Bytes;
import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.cuda.Cuda;

import java.util.Arrays;

/**
 * What causal flash attention holds beyond its inputs and results, at long sequences (issue: "attention's extra
 * memory is O(B·H·S), measured at S = 65536"). One row per S: the allocator's peak above the inputs minus the
 * output (forward) or minus output and gradients (forward + backward), next to the logsumexp's bytes and the bytes
 * a materialized score matrix would take. On the CPU the Java heap allocated by all threads is shown too.
 *
 * <p>Usage: {@code AttentionMemoryBench cuda|cpu [seq,seq,...]}. CUDA: bf16, B = 1, H = 16, D = 128, default S
 * 16384,65536. CPU: F32, B = 1, H = 1, D = 32, default S 16384,65536.
 */
public final class AttentionMemoryBench {
    private AttentionMemoryBench() {}

    public static void main(String[] args) {
        boolean cuda = args.length == 0 || args[0].equals("cuda");
        if (cuda && !Cuda.isAvailable()) {
            System.out.println("CUDA unavailable: " + Cuda.unavailableReason());
            return;
        }
        int[] seqs = Arrays.stream((args.length > 1 ? args[1] : "16384,65536").split(",")).mapToInt(Integer::parseInt).toArray();
        Device device = cuda ? Device.cuda(0) : Device.CPU;
        AttentionBackend backend = cuda ? AttentionBackend.FLASH_CUDA : AttentionBackend.FLASH_CPU;
        DType dtype = cuda ? DType.BF16 : DType.F32;
        int b = 1, h = cuda ? 16 : 1, d = cuda ? 128 : 32;
        AttentionMemoryProbe.measure(device, backend, dtype, b, h, 256, d);   // module load, class init, JIT
        System.out.printf("%s %s, causal, B=%d H=%d D=%d%n", backend, dtype.name().toLowerCase(), b, h, d);
        System.out.printf("%6s %12s %14s %14s %12s %14s %14s%n", "S", "one tensor", "fwd extra", "fwd+bwd extra",
                "logsumexp", "score matrix", cuda ? "" : "heap (all)");
        for (int s : seqs) {
            long t0 = System.nanoTime();
            AttentionMemoryProbe.Result r = AttentionMemoryProbe.measure(device, backend, dtype, b, h, s, d);
            System.out.printf("%6d %12s %14s %14s %12s %14s %14s   (%.1f s)%n", s, Bytes.human(r.tensorBytes()),
                    Bytes.human(r.forwardExtraBytes()), Bytes.human(r.backwardExtraBytes()), Bytes.human(r.lseBytes()),
                    Bytes.human(r.scoreMatrixBytes()), cuda ? "" : Bytes.human(r.heapBytes()), (System.nanoTime() - t0) * 1e-9);
        }
    }
}
