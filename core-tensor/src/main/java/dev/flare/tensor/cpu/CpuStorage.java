package dev.flare.tensor.cpu;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.HostArrays;
import dev.flare.tensor.Storage;

/** Host storage: one Java array (see {@link HostArrays} for the type per dtype). Released arrays go to the GC. */
public final class CpuStorage extends Storage {
    private Object array;
    private final java.lang.ref.Cleaner.Cleanable counted;     // CpuMemory's count of these bytes

    public CpuStorage(DType dtype, long numel) {
        super(dtype, numel);
        this.array = HostArrays.allocate(dtype, HostArrays.checkedSize("CPU tensor", numel));
        this.counted = CpuMemory.track(this, bytes());
    }

    /** Wraps an existing array (not copied); its length is the element count. */
    public CpuStorage(DType dtype, Object array) {
        super(dtype, HostArrays.length(array));
        if (array.getClass() != HostArrays.allocate(dtype, 0).getClass())
            throw new IllegalArgumentException("array: expected " + HostArrays.allocate(dtype, 0).getClass().getSimpleName()
                    + " for " + dtype + ", got " + array.getClass().getSimpleName());
        this.array = array;
        this.counted = CpuMemory.track(this, bytes());
    }

    @Override
    public Device device() { return Device.CPU; }

    /** The backing array; throws if released. */
    public Object array() {
        checkLive();
        return array;
    }

    public float[] floats() { return (float[]) array(); }
    public double[] doubles() { return (double[]) array(); }
    public short[] shorts() { return (short[]) array(); }
    public int[] ints() { return (int[]) array(); }
    public long[] longs() { return (long[]) array(); }
    public byte[] bytes8() { return (byte[]) array(); }

    @Override
    protected void free() {
        array = null;
        counted.clean();
    }

    @Override
    public void copyFromHost(Object srcArray, int srcIndex, long dstIndex, int count) {
        System.arraycopy(srcArray, srcIndex, array(), Math.toIntExact(dstIndex), count);
    }

    @Override
    public void copyToHost(long srcIndex, Object dstArray, int dstIndex, int count) {
        System.arraycopy(array(), Math.toIntExact(srcIndex), dstArray, dstIndex, count);
    }
}
