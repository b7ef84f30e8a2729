package dev.flare.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad arguments give IllegalArgumentException naming the argument with the expected and actual values. */
class ArgumentValidationTest {

    /** A storage that claims to live on a GPU, to check device mismatches without one. */
    static final class FakeCudaStorage extends Storage {
        FakeCudaStorage(DType dtype, long numel) { super(dtype, numel); }
        @Override public Device device() { return Device.cuda(0); }
        @Override protected void free() {}
        @Override public void copyFromHost(Object src, int srcIndex, long dstIndex, int count) { throw new UnsupportedOperationException(); }
        @Override public void copyToHost(long srcIndex, Object dst, int dstIndex, int count) { throw new UnsupportedOperationException(); }
    }

    private static void fails(Executable call, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String f : fragments)
            assertTrue(e.getMessage().contains(f), "message should contain '" + f + "' but was: " + e.getMessage());
    }

    private final Tensor a23 = Tensor.zeros(2, 3);

    @Test
    void matmulAddBiasShapes() {
        Tensor x = Tensor.zeros(4, 3);
        fails(() -> x.matmulAddBias(Tensor.zeros(5, 2), null), "matmulAddBias: expected self (..., K) and weight (K, N), got shapes [4, 3] and [5, 2]");
        fails(() -> x.matmulAddBias(Tensor.zeros(3), null), "got shapes [4, 3] and [3]");
        fails(() -> x.matmulAddBias(Tensor.zeros(3, 2), Tensor.zeros(3)), "bias must be (2) (weight's columns), got shape [3]");
        fails(() -> x.matmulAddBias(Tensor.zeros(3, 2), Tensor.zeros(DType.F64, Device.CPU, 2)), "matmulAddBias: self is F32 but bias is F64");
        NullPointerException e = assertThrows(NullPointerException.class, () -> x.matmulAddBias(null, null));
        assertTrue(e.getMessage().contains("weight: expected a tensor, got null"), e.getMessage());
    }

    @Test
    void mismatchedDtypesAndDevices() {
        Tensor d = Tensor.zeros(DType.F64, Device.CPU, 2, 3);
        fails(() -> a23.add(d), "add: self is F32 but other is F64", "cast one with .to(dtype)");
        fails(() -> Tensor.where(Tensor.zeros(DType.BOOL, Device.CPU, 3), a23, d), "where: a is F32 but b is F64");
        fails(() -> a23.addInPlace(d), "add_: this is F32 but other is F64");
        fails(() -> Tensor.cat(List.of(a23, d), 0), "cat: tensors[0] is F32 but tensors[1] is F64");
        Tensor gpu = Tensor.of(new FakeCudaStorage(DType.F32, 6), new int[]{2, 3}, new long[]{3, 1}, 0);
        fails(() -> a23.mul(gpu), "mul: self is on cpu but other is on cuda:0", "move one with .to(device)");
        fails(() -> a23.copyFrom(gpu), "copyFrom: src is on cuda:0 but this is on cpu");
    }

    @Test
    void wrongDtypesForTheOp() {
        Tensor i = Tensor.zeros(DType.I32, Device.CPU, 2);
        fails(i::exp, "EXP: expected a floating-point tensor, got I32");
        fails(() -> a23.not(), "NOT: expected a BOOL tensor, got F32");
        fails(() -> i.div(i), "DIV: expected floating-point tensors, got I32 (cast first)");
        fails(() -> a23.and(a23), "AND: expected BOOL tensors, got F32");
        fails(() -> Tensor.where(a23, a23, a23), "where: cond must be BOOL, got F32");
        fails(() -> a23.maskedFill(a23, 1), "maskedFill: mask must be BOOL, got F32");
        fails(() -> i.mean(), "mean: x must be floating point", "got I32");
        fails(() -> Tensor.zeros(DType.BOOL, Device.CPU, 2).max(), "MAX: not defined for BOOL tensors");
        fails(() -> i.var(new int[]{0}, 1, false), "var: x must be floating point");
    }

    @Test
    void unbroadcastableShapes() {
        fails(() -> a23.add(Tensor.zeros(4)), "add: shapes [2, 3] and [4] cannot be broadcast", "3 vs 4");
        fails(() -> a23.lt(Tensor.zeros(3, 3)), "lt: shapes [2, 3] and [3, 3] cannot be broadcast", "2 vs 3");
        fails(() -> Tensor.where(Tensor.zeros(DType.BOOL, Device.CPU, 5), a23, a23), "where: shapes [5] and [2, 3] cannot be broadcast");
        fails(() -> a23.maskedFill(Tensor.zeros(DType.BOOL, Device.CPU, 4, 1, 3), 0),
                "maskedFill: mask of shape [4, 1, 3] must broadcast to the tensor's shape [2, 3], but they broadcast to [4, 2, 3]");
        fails(() -> a23.maskedFill(Tensor.zeros(DType.BOOL, Device.CPU, 2), 0), "maskedFill: shapes [2] and [2, 3] cannot be broadcast");
        fails(() -> a23.copyFrom(Tensor.zeros(3, 3)), "expand: input shape [3, 3] cannot expand to [2, 3]", "dim 0: 3 -> 2");
        fails(() -> a23.addInPlace(Tensor.zeros(2, 2)), "cannot expand to [2, 3]");
    }

    @Test
    void outOfRangeDims() {
        fails(() -> a23.sum(2, false), "dims: expected a dim in [-2, 1] for a tensor of rank 2, got 2");
        fails(() -> a23.sum(new int[]{0, -2}, false), "dims: expected distinct dims, got [0, -2]");
        fails(() -> a23.sum(new int[0], false), "dims: expected at least one dim, got []");
        fails(() -> a23.argmax(-3, false), "dim: expected a dim in [-2, 1]", "got -3");
        fails(() -> a23.transpose(0, 5), "dim1: expected a dim in [-2, 1] for a tensor of rank 2, got 5");
        fails(() -> a23.permute(0), "dims: expected a permutation of 2 dims, got [0]");
        fails(() -> a23.permute(1, 1), "dims: expected a permutation, got [1, 1]");
        fails(() -> a23.narrow(1, 2, 2), "narrow: start 2 and length 2 must lie within dim 1 of size 3");
        fails(() -> a23.select(0, 2), "index: expected in [-2, 1] for dim 0 of shape [2, 3], got 2");
        fails(() -> a23.unsqueeze(3), "dim: expected a dim in [-3, 2] for a tensor of rank 3, got 3");
        fails(() -> a23.squeeze(-3), "dim: expected a dim in [-2, 1]", "got -3");
        fails(() -> Tensor.cat(List.of(a23, Tensor.zeros(2, 4)), 0), "cat: tensors[1] has shape [2, 4] but tensors[0] has [2, 3]");
        fails(() -> Tensor.stack(List.of(a23, Tensor.zeros(3, 2)), 0), "stack: tensors[1] has shape [3, 2] but tensors[0] has [2, 3]");
        fails(() -> Tensor.cat(List.of(), 0), "tensors: expected at least one tensor, got none");
        fails(() -> a23.split(0, 1), "size: expected > 0, got 0");
        fails(() -> a23.chunk(0, 1), "chunks: expected > 0, got 0");
        fails(() -> a23.get(0, 3), "index: 3 is out of range for dim 1 of size 3");
        fails(() -> a23.item(), "item: expected a tensor with one element, got shape [2, 3]");
        fails(() -> Tensor.zeros(0, 3).max(0, false), "MAX: dim 0 of shape [0, 3] is empty");
        fails(() -> Tensor.zeros(0, 3).argmin(0, false), "argmin: dim 0 of shape [0, 3] is empty");
    }

    @Test
    void inPlaceWritesIntoExpandedViewsAreRejected() {
        Tensor e = Tensor.zeros(1, 3).expand(4, 3);
        String shared = "has stride 0 along dim 0 of size 4 (shape [4, 3], an expanded view)";
        fails(() -> e.copyFrom(Tensor.ones(4, 3)), "copyFrom: this " + shared);
        fails(() -> e.addInPlace(Tensor.ones(3)), "add_: this " + shared);
        fails(() -> e.mulInPlace(2), "mul_: this " + shared);
        fails(() -> e.fill(1), "fill: this " + shared);
        Tensor one = Tensor.zeros(1, 3).expand(1, 3);
        one.fill(2);                                     // stride 0 on a size-1 dim is fine
        assertTrue(one.sum().item() == 6, "fill of a size-1 expanded view");
    }

    @Test
    void badViewShapes() {
        fails(() -> a23.view(7), "shape: [7] has 7 elements but the input [2, 3] has 6");
        fails(() -> a23.view(-1, -1), "shape: only one size may be -1, got [-1, -1]");
        fails(() -> a23.view(-1, 4), "shape: [-1, 4] does not fit 6 elements (input shape [2, 3])");
        fails(() -> a23.reshape(-2, 3), "shape: expected sizes >= 0 or one -1, got [-2, 3]");
        fails(() -> a23.t().view(6), "view: a tensor of shape [3, 2] and strides [1, 3] cannot be viewed as [6] without a copy; use reshape()");
        fails(() -> a23.expand(4, 3), "expand: input shape [2, 3] cannot expand to [4, 3] (dim 0: 2 -> 4)");
        fails(() -> a23.expand(3), "expand: target shape [3] has fewer dims than the input [2, 3]");
        fails(() -> a23.expand(-1, 2, 3), "expand: -1 is not allowed for new leading dims");
        fails(() -> Tensor.zeros(-1, 2), "shape: expected non-negative sizes, got [-1, 2]");
        fails(() -> Tensor.fromArray(new float[5], 2, 3), "data: shape [2, 3] needs 6 elements, got an array of 5");
        fails(() -> a23.t().t().t().t().view(3, 2).t().view(6), "cannot be viewed as [6] without a copy");
        fails(() -> Tensor.of(a23.storage(), new int[]{3, 3}, new long[]{3, 1}, 0), "geometry: shape [3, 3] strides [3, 1] offset 0 reaches element 8 of a storage of 6");
    }
}
