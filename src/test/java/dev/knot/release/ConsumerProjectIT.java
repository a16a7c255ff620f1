// SPDX-License-Identifier: Apache-2.0
package dev.knot.release;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A library user's first hour, as a test: install Knot's artifacts into a Maven local repository, build a separate
 * project that depends on {@code dev.knot:knot} and {@code requires dev.knot}, whose only source is README's echo
 * server, then run it on the module path and echo through it.
 *
 * <p>The local repository is a fresh temporary one (deleted afterwards), so nothing of the user's is touched; the
 * outer build's local repository serves as a file repository for Maven's own plugins, so no network is needed when
 * it has them.
 */
class ConsumerProjectIT {
    private static final Path JAR = Path.of(System.getProperty("knot.jar", "target/knot.jar"));
    private static final Path POM = Path.of(System.getProperty("knot.pom", "pom.xml"));
    private static final String VERSION = System.getProperty("knot.version", "0.1.0");
    private static final Path README = POM.resolveSibling("README.md");

    private Path dir;
    private Process server;

    @AfterEach
    void cleanUp() throws IOException, InterruptedException {
        if (server != null) {
            server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (dir != null) {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
    }

    @Test
    void aMavenProjectBuildsReadmesEchoServerAgainstTheInstalledModuleAndEchoes() throws Exception {
        String mvn = findOnPath("mvn");
        assumeTrue(mvn != null, "no mvn on PATH to build the consumer project with");
        dir = Files.createTempDirectory("knot-consumer");
        Path repo = dir.resolve("repo");
        Path settings = dir.resolve("settings.xml");
        String outerRepo = System.getProperty("knot.localRepository", System.getProperty("user.home") + "/.m2/repository");
        Files.writeString(settings, """
                <settings>
                  <localRepository>%s</localRepository>
                  <profiles><profile><id>outer</id>
                    <repositories><repository><id>outer</id><url>%s</url></repository></repositories>
                    <pluginRepositories><pluginRepository><id>outer</id><url>%s</url></pluginRepository></pluginRepositories>
                  </profile></profiles>
                  <activeProfiles><activeProfile>outer</activeProfile></activeProfiles>
                </settings>
                """.formatted(repo, Path.of(outerRepo).toUri(), Path.of(outerRepo).toUri()));

        // What `mvn install` does with this project's artifacts, into the temporary local repository.
        Path sources = JAR.resolveSibling("artifacts").resolve("knot-" + VERSION + "-sources.jar");
        Path javadoc = JAR.resolveSibling("artifacts").resolve("knot-" + VERSION + "-javadoc.jar");
        assertTrue(Files.isRegularFile(sources) && Files.isRegularFile(javadoc), "sources and javadoc jars in target/artifacts");
        run(dir, mvn, "-B", "-q", "-s", settings.toString(), "org.apache.maven.plugins:maven-install-plugin:3.1.2:install-file",
                "-Dfile=" + JAR, "-DpomFile=" + POM, "-Dsources=" + sources, "-Djavadoc=" + javadoc);
        Path installed = repo.resolve("dev/knot/knot/" + VERSION);
        for (String suffix : List.of(".jar", ".pom", "-sources.jar", "-javadoc.jar")) {
            assertTrue(Files.isRegularFile(installed.resolve("knot-" + VERSION + suffix)), "installed knot-" + VERSION + suffix);
        }

        Path project = dir.resolve("consumer");
        Path src = Files.createDirectories(project.resolve("src/main/java/echo"));
        Files.writeString(project.resolve("pom.xml"), """
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <modelVersion>4.0.0</modelVersion>
                  <groupId>example</groupId>
                  <artifactId>consumer</artifactId>
                  <version>1</version>
                  <properties>
                    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
                    <maven.compiler.release>25</maven.compiler.release>
                  </properties>
                  <dependencies>
                    <dependency><groupId>dev.knot</groupId><artifactId>knot</artifactId><version>%s</version></dependency>
                  </dependencies>
                  <build>
                    <plugins>
                      <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
                      <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.14.0</version></plugin>
                    </plugins>
                  </build>
                </project>
                """.formatted(VERSION));
        Files.writeString(project.resolve("src/main/java/module-info.java"), "module echo { requires dev.knot; }\n");
        Files.writeString(src.resolve("Echo.java"), "package echo;\n\n" + readmeEcho());
        run(project, mvn, "-B", "-q", "-s", settings.toString(), "compile");

        Path knotJar = installed.resolve("knot-" + VERSION + ".jar");
        server = new ProcessBuilder(java(), "--enable-native-access=dev.knot",
                "--module-path", knotJar + File.pathSeparator + project.resolve("target/classes"),
                "-m", "echo/echo.Echo", "0").redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertTrue(line != null && line.startsWith("echo on port "), "first line: " + line);
        int port = Integer.parseInt(line.substring("echo on port ".length()).trim());

        byte[] sent = new byte[1 << 20];
        new Random(12).nextBytes(sent);
        byte[] got = new byte[sent.length];
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000);
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    OutputStream o = s.getOutputStream();     // closing it would close the socket
                    o.write(sent);
                    s.shutdownOutput();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            InputStream in = s.getInputStream();
            int off = 0;
            while (off < got.length) {
                int n = in.read(got, off, got.length - off);
                if (n < 0) break;
                off += n;
            }
            writer.join(30_000);
            assertEquals(sent.length, off, "bytes echoed");
            assertEquals(-1, in.read(), "the server closes after echoing everything");
        }
        assertArrayEquals(sent, got);
    }

    /** The Java block between README's readme-echo markers. */
    static String readmeEcho() throws IOException {
        String md = Files.readString(README);
        int begin = md.indexOf("<!-- readme-echo:begin -->");
        int end = md.indexOf("<!-- readme-echo:end -->");
        assertTrue(begin >= 0 && end > begin, "README has the readme-echo markers");
        String block = md.substring(begin, end);
        int code = block.indexOf("```java\n") + "```java\n".length();
        return block.substring(code, block.lastIndexOf("```"));
    }

    private static void run(Path cwd, String... command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().merge("MAVEN_OPTS", "--sun-misc-unsafe-memory-access=allow", (a, b) -> a + " " + b);
        Path log = Files.createTempFile(cwd, "mvn", ".log");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        boolean done = p.waitFor(5, TimeUnit.MINUTES);
        if (!done) p.destroyForcibly().waitFor();
        String output = Files.readString(log);
        Files.delete(log);
        assertTrue(done && p.exitValue() == 0, "command failed: " + String.join(" ", command) + "\n" + output);
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String findOnPath(String name) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) return p.toString();
        }
        return null;
    }
}
