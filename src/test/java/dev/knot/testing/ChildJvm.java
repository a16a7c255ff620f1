// SPDX-License-Identifier: Apache-2.0
package dev.knot.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Starts real child JVMs on the test class path: for native-access checks, leak probes and prefork tests. */
public final class ChildJvm {
    private ChildJvm() {}

    public record Result(int exit, String stdout, String stderr) {}

    /**
     * Opens what the JDK opens lazily and keeps (the SecureRandom behind temporary file names holds /dev/random and
     * /dev/urandom), so that descriptor counts taken after this call are not disturbed by {@link #run}.
     */
    public static void warmUp() throws IOException {
        File.createTempFile("knot-warm", ".tmp").delete();
    }

    /** The java launcher of the JDK running the tests. */
    public static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The class path of this test JVM (Knot's classes and the test classes). */
    public static String classPath() {
        return System.getProperty("java.class.path");
    }

    /** A command line {@code java [jvmArgs] -cp <test class path> mainClass args}. */
    public static List<String> command(List<String> jvmArgs, String mainClass, String... args) {
        return command(classPath(), jvmArgs, mainClass, args);
    }

    /** A command line {@code java [jvmArgs] -cp classPath mainClass args}. */
    public static List<String> command(String classPath, List<String> jvmArgs, String mainClass, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs a command to completion (or kills it after {@code timeoutSeconds}) and captures both streams. */
    public static Result run(List<String> command, long timeoutSeconds) throws IOException, InterruptedException {
        File out = File.createTempFile("knot-child", ".out");
        File err = File.createTempFile("knot-child", ".err");
        try {
            Process p = new ProcessBuilder(command).redirectOutput(out).redirectError(err).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError("child timed out after " + timeoutSeconds + " s: " + command + "\nstderr: "
                        + java.nio.file.Files.readString(err.toPath(), StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), java.nio.file.Files.readString(out.toPath(), StandardCharsets.UTF_8),
                    java.nio.file.Files.readString(err.toPath(), StandardCharsets.UTF_8));
        } finally {
            out.delete();
            err.delete();
        }
    }
}
