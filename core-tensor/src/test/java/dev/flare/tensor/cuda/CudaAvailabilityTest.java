package dev.flare.tensor.cuda;

import dev.flare.tensor.Backends;
import dev.flare.tensor.Device;
import org.junit.jupiter.api.Test;

import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.*;

/** Runs everywhere: with or without a GPU, asking about CUDA never throws. */
class CudaAvailabilityTest {
    @Test
    void availabilityAnswersWithoutThrowing() {
        boolean a = Cuda.isAvailable();
        assertEquals(a, Cuda.isAvailable(), "cached");
        if (a) {
            assertNull(Cuda.unavailableReason());
            assertTrue(Cuda.deviceCount() > 0);
            assertFalse(Cuda.describe().isBlank());
        } else {
            assertNotNull(Cuda.unavailableReason());
            assertEquals(0, Cuda.deviceCount());
            assertTrue(Cuda.describe().contains(Cuda.unavailableReason()));
        }
    }

    @Test
    void providerIsRegisteredForCuda() {
        boolean found = false;
        for (Backends.Provider p : ServiceLoader.load(Backends.Provider.class))
            if (p.type() == Device.Type.CUDA && p instanceof CudaBackendProvider) found = true;
        assertTrue(found, "META-INF/services registers CudaBackendProvider");
    }

    @Test
    void withoutCudaTheBackendSaysWhy() {
        if (Cuda.isAvailable()) return;
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backends.of(Device.cuda(0)));
        assertTrue(e.getMessage().contains("CUDA is not available"), e.getMessage());
    }
}
