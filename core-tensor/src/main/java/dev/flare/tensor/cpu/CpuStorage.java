package dev.flare.tensor.cpu;

import dev.flare.tensor.DType;
import dev.flare.tensor.Device;
import dev.flare.tensor.HostArrays;
import dev.flare.tensor.Storage;

/** Host storage: one Java array (see {@link HostArrays} for the type per dtype). Released arrays go to the GC. */
public final class CpuStorage extends Storage {
    private Object array;
    // Unscoped storage only: uncounts the bytes from CpuMemory if the storage is collected unreleased. Scoped storage
    // needs none (its scope releases it): a Cleaner per storage would give the GC a phantom reference to process for
    // each of a training step's thousands of temporaries.
    private java.lang.ref.Cleaner.Cleanable collected;
    // Set once the bytes are counted: a constructor that fails after Storage handed this to a scope (a size over the
    // limit, an array of the wrong type, out of heap) leaves a storage the scope will free but that was never counted.
    private boolean counted;

    public CpuStorage(DType dtype, long numel) {
        super(dtype, numel);
        this.array = HostArrays.allocate(dtype, HostArrays.checkedSize("CPU tensor", numel));
        countBytes();
    }

    /** Wraps an existing array (not copied); its length is the element count. */
    public CpuStorage(DType dtype, Object array) {
        super(dtype, HostArrays.length(array));
        if (array.getClass() != HostArrays.allocate(dtype, 0).getClass())
            throw new IllegalArgumentException("array: expected " + HostArrays.allocate(dtype, 0).getClass().getSimpleName()
                    + " for " + dtype + ", got " + array.getClass().getSimpleName());
        this.array = array;
        countBytes();
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

    private void countBytes() {
        CpuMemory.count(bytes());
        counted = true;
        if (!isScoped()) onUnscoped();
    }

    @Override
    protected void onUnscoped() {
        if (counted && collected == null && !isReleased()) collected = CpuMemory.uncountWhenCollected(this, bytes());
    }

    @Override
    protected void free() {
        array = null;
        if (collected != null) collected.clean();
        else if (counted) CpuMemory.uncount(bytes());
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
