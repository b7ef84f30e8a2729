package dev.flare.examples.interop;

import dev.flare.autograd.NoGrad;
import dev.flare.models.gpt.GPT;
import dev.flare.models.gpt.hf.HfGpt2;
import dev.flare.nn.io.SafeTensors;
import dev.flare.tensor.DType;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.random.Generator;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Flare half of the GPT-2 interchange check with Hugging Face transformers ({@code bench/hf-interchange.sh} runs it
 * between the two halves of {@code bench/hf_interchange.py}, on a machine with PyTorch):
 * <ol>
 *   <li>loads HF_DIR, written by GPT2LMHeadModel.save_pretrained, computes logits in F32 on the CPU for the
 *       input_ids in HF_DIR/reference.safetensors and prints the largest difference from the logits stored there;</li>
 *   <li>exports a freshly initialised GPT of the same config (seed 1234) to OUT_DIR with its logits on the same ids
 *       in OUT_DIR/reference.safetensors, for the Python side to load with from_pretrained and compare.</li>
 * </ol>
 * reference.safetensors holds {@code input_ids} (B, T) I64 and {@code logits} (B, T, V) F32.
 *
 * <p>Usage: {@code HfInterchangeCheck HF_DIR OUT_DIR [tolerance]} (default 1e-4). Exit status 0 when step 1 is within
 * the tolerance, 1 when it is not, 2 on bad arguments or unreadable files.
 */
public final class HfInterchangeCheck {
    static final String REFERENCE = "reference.safetensors";
    static final long EXPORT_SEED = 1234;

    public static void main(String[] args) {
        System.exit(run(System.out, args));
    }

    static int run(PrintStream out, String... args) {
        if (args.length < 2 || args.length > 3) {
            out.println("usage: HfInterchangeCheck HF_DIR OUT_DIR [tolerance]");
            return 2;
        }
        try {
            double tol = args.length == 3 ? Double.parseDouble(args[2]) : 1e-4;
            return check(out, Path.of(args[0]), Path.of(args[1]), tol);
        } catch (java.nio.file.NoSuchFileException e) {
            out.println("error: no such file: " + e.getFile());
            return 2;
        } catch (IOException | IllegalArgumentException e) {
            out.println("error: " + e.getMessage());
            return 2;
        }
    }

    private static int check(PrintStream out, Path hfDir, Path outDir, double tol) throws IOException {
        Tensor ids, expected;
        try (SafeTensors ref = SafeTensors.open(hfDir.resolve(REFERENCE))) {
            ids = ref.load("input_ids");
            expected = ref.load("logits").to(DType.F32);
        }
        GPT hf = HfGpt2.load(hfDir);
        out.println("loaded " + hfDir + ": " + hf.config() + ", " + hf.parameterCount() + " parameters");
        Tensor got = logits(hf, ids);
        if (!Arrays.equals(got.shape(), expected.shape()))
            throw new IllegalArgumentException(REFERENCE + ": logits: expected shape " + Arrays.toString(got.shape())
                    + " for input_ids " + Arrays.toString(ids.shape()) + ", got " + Arrays.toString(expected.shape()));
        double diff = maxAbsDiff(got, expected);
        boolean ok = diff <= tol;
        out.printf("hf -> flare: logits %s, max |flare - transformers| = %.3e (tolerance %.0e): %s%n",
                Arrays.toString(got.shape()), diff, tol, ok ? "OK" : "MISMATCH");

        GPT mine = new GPT(hf.config(), new Generator(EXPORT_SEED));
        mine.eval();
        HfGpt2.save(mine, outDir);
        Map<String, Tensor> reference = new LinkedHashMap<>();
        reference.put("input_ids", ids);
        reference.put("logits", logits(mine, ids));
        SafeTensors.save(outDir.resolve(REFERENCE), reference, Map.of("format", "pt"));
        // Our own reader must get the same model back before transformers is asked to.
        double self = maxAbsDiff(logits(HfGpt2.load(outDir), ids), reference.get("logits"));
        out.printf("flare -> hf: exported %s (seed %d) with its logits; re-read by Flare: max |diff| = %.3e%n", outDir, EXPORT_SEED, self);
        return ok && self == 0 ? 0 : 1;
    }

    private static Tensor logits(GPT model, Tensor ids) {
        try (NoGrad ignored = NoGrad.enter()) {
            return model.forward(ids, null).logits().to(DType.F32);
        }
    }

    private static double maxAbsDiff(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double m = 0;
        for (int i = 0; i < x.length; i++) {
            double d = Math.abs((double) x[i] - y[i]);
            if (Double.isNaN(d)) return Double.NaN;   // fails every tolerance check
            m = Math.max(m, d);
        }
        return m;
    }
}
