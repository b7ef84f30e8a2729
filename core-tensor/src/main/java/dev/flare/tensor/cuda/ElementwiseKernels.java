package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.BinaryOp;
import dev.flare.tensor.ops.UnaryOp;
import jcuda.driver.JCudaDriver;

/**
 * Launches the kernels of {@code ElementwiseKernels.cu}: copy/cast, fill, unary, binary, binary with a scalar and
 * where, over operands of any strides (broadcast operands have stride 0; the output may be a strided view and may
 * be the very same view as an input). Contiguous F32/BF16/F16 operands with 16-byte aligned data take vectorized
 * kernels (unary, binary, binary with a scalar, and F32 <-> BF16/F16 casts; each thread moves {@value #UNROLL}
 * 16-byte vectors per operand per iteration), and so does a binary op with a row vector or a column broadcast over
 * a contiguous matrix; the strided kernels are their reference. Same-dtype contiguous
 * copies are a device-to-device memcpy; contiguous fills a memset.
 */
final class ElementwiseKernels {
    static final int THREADS = 256;
    /** 16-byte vectors per operand per thread per iteration of the vector kernels (FLARE_UNROLL in flare_cuda.cuh). */
    static final int UNROLL = 4;

    /** Blocks of a vector kernel over n elements of t. */
    static long vecBlocks(long n, DType t) {
        return CudaModule.blocksFor(Math.ceilDiv(Math.ceilDiv(n, 16 / t.byteSize()), UNROLL), THREADS);
    }

    private final CudaBackend backend;
    private final CudaModule module;

    ElementwiseKernels(CudaBackend backend) {
        this.backend = backend;
        this.module = CudaModule.load(ElementwiseKernels.class, backend.context());
    }

    /** Kernel-name suffix of a dtype. */
    static String suffix(DType t) {
        return switch (t) {
            case F32 -> "f32";
            case F64 -> "f64";
            case BF16 -> "bf16";
            case F16 -> "f16";
            case I32 -> "i32";
            case I64 -> "i64";
            case BOOL -> "b8";
        };
    }

    /** Suffix of the raw-copy kernels for a dtype's element size. */
    static String sizeSuffix(DType t) { return "e" + t.byteSize(); }

    private static boolean vectorType(DType t) { return t == DType.F32 || t == DType.BF16 || t == DType.F16; }

    private static long addr(Tensor t) { return ((CudaStorage) t.storage()).address(); }

    /** Address of the tensor's first element. */
    private static long first(Tensor t) { return ((CudaStorage) t.storage()).address(t.offset()); }

    private static boolean aligned16(Tensor... ts) {
        for (Tensor t : ts) if ((first(t) & 15) != 0) return false;
        return true;
    }

    private void launchGeom(String kernel, StridedGeometry g, java.util.function.Function<long[], Object[]> args) {
        g.forEachLaunch(s -> module.launch(kernel, CudaModule.blocksFor(s[1], THREADS), THREADS, 0, backend.stream(), args.apply(s)));
    }

    // ---- copy / fill ------------------------------------------------------------------------------------------

    void copy(Tensor src, Tensor dst) {
        StridedGeometry g = StridedGeometry.of(dst.shape(), src, dst);
        if (g.isEmpty()) return;
        DType s = src.dtype(), d = dst.dtype();
        long sp = addr(src), dp = addr(dst);
        if (s == d) {
            if (g.isFlat()) {
                long from = first(src), to = first(dst);
                if (from == to) return;
                CudaStorage ds = (CudaStorage) dst.storage(), ss = (CudaStorage) src.storage();
                backend.context().makeCurrent();
                CudaException.check(JCudaDriver.cuMemcpyDtoDAsync(ds.pointer().withByteOffset(dst.offset() * d.byteSize()),
                        ss.pointer().withByteOffset(src.offset() * s.byteSize()), g.numel * s.byteSize(),
                        backend.stream().handle()), "cuMemcpyDtoDAsync");
                return;
            }
            launchGeom("copy_" + sizeSuffix(s), g, st -> new Object[]{st, sp, dp});
        } else if ((s == DType.F32 && d.isHalf()) || (s.isHalf() && d == DType.F32)) {
            if (g.isFlat() && aligned16(src, dst)) {
                // 8 elements (16 bytes of the half type) per vector step.
                module.launch("cast_vec_" + suffix(s) + "_" + suffix(d), CudaModule.blocksFor(Math.ceilDiv(g.numel, 8L * UNROLL), THREADS),
                        THREADS, 0, backend.stream(), g.numel, first(src), first(dst));
                return;
            }
            launchGeom("cast_" + suffix(s) + "_" + suffix(d), g, st -> new Object[]{st, sp, dp});
        } else {
            launchGeom("cast_any", g, st -> new Object[]{st, s.ordinal(), d.ordinal(), sp, dp});
        }
    }

    void fill(Tensor dst, double value) {
        StridedGeometry g = StridedGeometry.of(dst.shape(), dst);
        if (g.isEmpty()) return;
        DType t = dst.dtype();
        long bits = HostConvert.bits(t, value);
        if (g.isFlat()) {
            CudaStorage ds = (CudaStorage) dst.storage();
            var p = ds.pointer().withByteOffset(dst.offset() * t.byteSize());
            var st = backend.stream().handle();
            backend.context().makeCurrent();
            int r = switch (t.byteSize()) {
                case 1 -> JCudaDriver.cuMemsetD8Async(p, (byte) bits, g.numel, st);
                case 2 -> JCudaDriver.cuMemsetD16Async(p, (short) bits, g.numel, st);
                case 4 -> JCudaDriver.cuMemsetD32Async(p, (int) bits, g.numel, st);
                default -> (bits >>> 32) == (bits & 0xFFFF_FFFFL)
                        ? JCudaDriver.cuMemsetD32Async(p, (int) bits, g.numel * 2, st) : Integer.MIN_VALUE;
            };
            if (r != Integer.MIN_VALUE) {
                CudaException.check(r, "cuMemsetAsync");
                return;
            }
        }
        long dp = addr(dst);
        launchGeom("fill_" + sizeSuffix(t), g, st -> new Object[]{st, dp, bits});
    }

    // ---- unary / binary ---------------------------------------------------------------------------------------

    void unary(UnaryOp op, Tensor x, Tensor out) {
        StridedGeometry g = StridedGeometry.of(out.shape(), x, out);
        if (g.isEmpty()) return;
        DType t = x.dtype();
        if (g.isFlat() && vectorType(t) && aligned16(x, out)) {
            long n = g.numel;
            module.launch("unary_vec_" + suffix(t), vecBlocks(n, t), THREADS, 0,
                    backend.stream(), n, op.ordinal(), first(x), first(out));
            return;
        }
        long xp = addr(x), op_ = addr(out);
        launchGeom("unary_" + suffix(t), g, st -> new Object[]{st, op.ordinal(), xp, op_});
    }

    void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        StridedGeometry g = StridedGeometry.of(out.shape(), a, b, out);
        if (g.isEmpty()) return;
        DType t = a.dtype();
        if (!op.isComparison() && g.isFlat() && vectorType(t) && aligned16(a, b, out)) {
            long n = g.numel;
            module.launch("binary_vec_" + suffix(t), vecBlocks(n, t), THREADS, 0,
                    backend.stream(), n, op.ordinal(), first(a), first(b), first(out));
            return;
        }
        if (!op.isComparison() && vectorType(t) && binaryBroadcast(op, g, a, b, out)) return;
        long ap = addr(a), bp = addr(b), outp = addr(out);
        launchGeom("binary_" + suffix(t), g, st -> new Object[]{st, op.ordinal(), ap, bp, outp});
    }

    /** Row vectors narrower than one 32-pack slab keep the flat kernel (the slab kernel would idle most lanes). */
    private static final int ROWVEC_MIN_PACKS = 32;

    /**
     * The 16-byte path for one contiguous operand and one broadcast over a contiguous (rows, cols) output: a row
     * vector (strides 0, 1: bias adds; binary_rowvec_vec when at least 32 packs wide) or a column (strides 1, 0:
     * per-row scales), cols a multiple of the pack.
     * Returns false, launching nothing, for any other layout.
     */
    private boolean binaryBroadcast(BinaryOp op, StridedGeometry g, Tensor a, Tensor b, Tensor out) {
        if (g.rank != 2) return false;
        long rows = g.sizes[0], cols = g.sizes[1];
        int pack = 16 / a.dtype().byteSize();
        long[] sa = g.strides[0], sb = g.strides[1], so = g.strides[2];
        if (so[0] != cols || so[1] != 1 || cols % pack != 0 || rows * cols / pack >= Integer.MAX_VALUE) return false;
        boolean aDense = sa[0] == cols && sa[1] == 1, bDense = sb[0] == cols && sb[1] == 1;
        if (aDense == bDense) return false;
        Tensor dense = aDense ? a : b, bcast = aDense ? b : a;
        long[] sc = aDense ? sb : sa;
        boolean rowVector = sc[0] == 0 && sc[1] == 1, column = sc[0] == 1 && sc[1] == 0;
        if (!(rowVector || column) || !aligned16(dense, out) || (rowVector && !aligned16(bcast))) return false;
        long packs = rows * cols / pack;
        int cpacks = (int) (cols / pack);
        if (rowVector && cpacks >= ROWVEC_MIN_PACKS) {
            // block (32 column packs, 8 row lanes), 2 rows per lane per pass; grid.y capped, the kernel loops
            int gridY = (int) Math.min(Math.ceilDiv(rows, 16), 65535);
            module.launch("binary_rowvec_vec_" + suffix(a.dtype()), Math.ceilDiv(cpacks, 32), gridY, 32, 8, 0,
                    backend.stream(), rows, cpacks, op.ordinal(), first(dense), first(bcast), first(out), aDense ? 0 : 1);
            return true;
        }
        module.launch("binary_bcast_vec_" + suffix(a.dtype()), CudaModule.blocksFor(Math.ceilDiv(packs, UNROLL), THREADS),
                THREADS, 0, backend.stream(), packs, op.ordinal(), first(dense), first(bcast), first(out),
                (int) (cols / pack), column ? 1 : 0, aDense ? 0 : 1);
        return true;
    }

    void binaryScalar(BinaryOp op, Tensor a, double scalar, boolean scalarFirst, Tensor out) {
        StridedGeometry g = StridedGeometry.of(out.shape(), a, out);
        if (g.isEmpty()) return;
        DType t = a.dtype();
        int first = scalarFirst ? 1 : 0;
        if (!op.isComparison() && g.isFlat() && vectorType(t) && aligned16(a, out)) {
            long n = g.numel;
            module.launch("binary_scalar_vec_" + suffix(t), vecBlocks(n, t),
                    THREADS, 0, backend.stream(), n, op.ordinal(), first(a), (float) scalar, first, first(out));
            return;
        }
        // Integer tensors: an integral scalar computes in 64-bit integers, any other in double (truncated on store).
        boolean integral = scalar == Math.rint(scalar) && Math.abs(scalar) < 0x1p63;
        int mode = integral ? 0 : 1;
        long sl = integral ? (long) scalar : 0;
        long ap = addr(a), outp = addr(out);
        launchGeom("binary_scalar_" + suffix(t), g, st -> new Object[]{st, op.ordinal(), ap, scalar, sl, mode, first, outp});
    }

    void where(Tensor cond, Tensor a, Tensor b, Tensor out) {
        StridedGeometry g = StridedGeometry.of(out.shape(), cond, a, b, out);
        if (g.isEmpty()) return;
        long cp = addr(cond), ap = addr(a), bp = addr(b), outp = addr(out);
        launchGeom("where_" + sizeSuffix(out.dtype()), g, st -> new Object[]{st, cp, ap, bp, outp});
    }
}
