package dev.flare.tensor.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A page-locked host buffer through which host arrays are copied to and from the device: the Java array is copied
 * into pinned memory (FFM bulk copy), then cuMemcpyHtoDAsync on the backend's stream moves it at full PCIe speed,
 * in chunks of {@value #SIZE} bytes. Copies are synchronous for the caller (the array may be reused on return) and
 * ordered with the kernels on the stream.
 */
@SuppressWarnings("restricted")
final class PinnedStaging {
    static final int SIZE = 16 << 20;

    /** Exposes the address of JCuda host memory (getNativePointer is protected). */
    static final class HostPointer extends Pointer {
        long address() { return getNativePointer(); }
    }

    private final CudaContext context;
    private final CudaStream stream;
    private HostPointer pointer;
    private MemorySegment segment;

    PinnedStaging(CudaContext context, CudaStream stream) {
        this.context = context;
        this.stream = stream;
    }

    private void ensure() {
        if (pointer != null) return;
        context.makeCurrent();
        HostPointer p = new HostPointer();
        CudaException.check(JCudaDriver.cuMemHostAlloc(p, SIZE, 0), "cuMemHostAlloc(" + SIZE + " bytes)");
        pointer = p;
        segment = MemorySegment.ofAddress(p.address()).reinterpret(SIZE);
    }

    static ValueLayout layout(Object array) {
        return switch (array) {
            case float[] a -> ValueLayout.JAVA_FLOAT;
            case double[] a -> ValueLayout.JAVA_DOUBLE;
            case short[] a -> ValueLayout.JAVA_SHORT;
            case int[] a -> ValueLayout.JAVA_INT;
            case long[] a -> ValueLayout.JAVA_LONG;
            case byte[] a -> ValueLayout.JAVA_BYTE;
            default -> throw new IllegalArgumentException("host array: unsupported type " + array.getClass().getSimpleName());
        };
    }

    /** dst[dstByte ..] = array[index .. index + count). */
    synchronized void toDevice(Object array, int index, int count, CUdeviceptr dst, long dstByte) {
        if (count == 0) return;
        ensure();
        context.makeCurrent();
        ValueLayout l = layout(array);
        int esize = (int) l.byteSize();
        int perChunk = SIZE / esize;
        for (int done = 0; done < count; ) {
            int n = Math.min(perChunk, count - done);
            MemorySegment.copy(array, index + done, segment, l, 0, n);
            CudaException.check(JCudaDriver.cuMemcpyHtoDAsync(dst.withByteOffset(dstByte + (long) done * esize), pointer,
                    (long) n * esize, stream.handle()), "cuMemcpyHtoDAsync");
            // The buffer is reused by the next chunk (and the next call): wait for the copy.
            stream.synchronize();
            done += n;
        }
    }

    /** array[index .. index + count) = src[srcByte ..]. Waits for the kernels queued before. */
    synchronized void toHost(CUdeviceptr src, long srcByte, Object array, int index, int count) {
        if (count == 0) return;
        ensure();
        context.makeCurrent();
        ValueLayout l = layout(array);
        int esize = (int) l.byteSize();
        int perChunk = SIZE / esize;
        for (int done = 0; done < count; ) {
            int n = Math.min(perChunk, count - done);
            CudaException.check(JCudaDriver.cuMemcpyDtoHAsync(pointer, src.withByteOffset(srcByte + (long) done * esize),
                    (long) n * esize, stream.handle()), "cuMemcpyDtoHAsync");
            stream.synchronize();
            MemorySegment.copy(segment, l, 0, array, index + done, n);
            done += n;
        }
    }
}
