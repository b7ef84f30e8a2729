package dev.flare.training.checkpoint;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Publishes a directory all at once: its files are written into a temporary sibling, every file and the
 * directory are fsync'ed, and the directory is renamed into place (an atomic rename on one file system),
 * then the parent is fsync'ed. A crash at any point leaves either no directory or a complete one, plus at
 * most a {@code *.tmp-*} leftover that {@link #cleanLeftovers} removes.
 */
public final class AtomicDirectory {
    private AtomicDirectory() {}

    /** Writes the directory's contents into the folder it is given. */
    @FunctionalInterface
    public interface Filler {
        void fill(Path dir) throws IOException;
    }

    public static void write(Path target, Filler filler) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        if (Files.exists(target)) throw new IOException(target + ": already exists; refusing to overwrite a checkpoint");
        Path tmp = parent.resolve(target.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        Files.createDirectory(tmp);
        try {
            filler.fill(tmp);
            try (Stream<Path> files = Files.walk(tmp)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) fsync(f, false);
            }
            fsync(tmp, true);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException(parent + ": this file system cannot rename atomically, so checkpoints would not be crash-safe", e);
            }
            fsync(parent, true);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
    }

    /** Writes one small file atomically (temporary file, fsync, rename). */
    public static void writeFile(Path target, byte[] content) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Path tmp = parent.resolve(target.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        Files.write(tmp, content);
        fsync(tmp, false);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsync(parent, true);
    }

    /** Removes temporary leftovers of interrupted writes in dir. */
    public static void cleanLeftovers(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> p.getFileName().toString().contains(".tmp-")).toList()) deleteTree(p);
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }

    private static void fsync(Path p, boolean directory) throws IOException {
        try (FileChannel ch = FileChannel.open(p, directory ? StandardOpenOption.READ : StandardOpenOption.WRITE)) {
            ch.force(true);
        } catch (IOException e) {
            if (!directory) throw e;         // some file systems cannot fsync a directory; the rename is still atomic
        }
    }
}
