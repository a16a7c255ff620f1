// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.fork.ForkPolicy;
import dev.knot.fork.Handoff;
import dev.knot.fork.Inheritance;
import dev.knot.fork.Spawner;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.net.StreamSocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Zero-downtime master upgrade ({@code knotctl upgrade}), as nginx's binary upgrade and Unicorn's USR2 do it: the
 * running master spawns a new master (same command line, or a new jar and extra options) through the fork path,
 * handing it every listening socket as a named descriptor and one end of a socketpair. The new master adopts the
 * sockets instead of binding (so no connection is ever refused: the sockets never close), spawns its workers, and
 * when they are all ready renames its control socket over the old one's path and says {@code ready}; only then does
 * the old master drain its workers and exit. A new master that exits or misses its deadline first leaves the old
 * one serving.
 *
 * <p>The new master is the old one's child, but it is a master, not a worker: it sets no parent-death signal, so
 * it outlives the old master and is reparented when that exits; its own workers' PR_SET_PDEATHSIG and parent
 * checks name it, since it spawned them. Port locks ({@code --reuseport}) are fcntl locks, which a child does not
 * inherit: the new master takes them when the old one has exited. Loop thread.
 */
final class Upgrade {
    /** The descriptor name of the old master's end of the channel, and the variable that marks a successor. */
    static final String CHANNEL_FD = "upgrade";
    static final String ENV = "KNOT_UPGRADE";

    /** The master's own arguments, for the successor's command line (null in an embedded master). */
    static volatile List<String> launchArgs;

    final int pid;
    final StreamSocket channel;
    final long deadline;
    Key channelKey, procKey;
    boolean ready;
    private final StringBuilder input = new StringBuilder();

    private Upgrade(int pid, StreamSocket channel, long deadline) {
        this.pid = pid;
        this.channel = channel;
        this.deadline = deadline;
    }

    /**
     * Spawns the successor: {@code java [this JVM's options] -cp CLASSPATH dev.knot.prefork.Master [this master's
     * arguments] [extra...]}; {@code --jar PATH} in {@code words} replaces the class path (a new version).
     *
     * @throws IllegalArgumentException for bad words or an embedded master
     */
    static Upgrade spawn(List<String> words, Listeners listeners, Selector template, long deadline) throws IOException {
        List<String> args = launchArgs;
        if (args == null) throw new IllegalArgumentException("upgrade needs a master started from the command line (Master.main)");
        String classPath = System.getProperty("java.class.path");
        List<String> extra = new ArrayList<>();
        for (int i = 0; i < words.size(); i++) {
            if (words.get(i).equals("--jar")) {
                if (i + 1 >= words.size()) throw new IllegalArgumentException("--jar needs a path");
                classPath = words.get(++i);
                if (!Files.exists(Path.of(classPath))) throw new IllegalArgumentException("--jar: no such file: " + classPath);
            } else {
                extra.add(words.get(i));
            }
        }
        List<String> all = new ArrayList<>(args);
        all.addAll(extra);
        PreforkConfig.parse(AppConfig.parse(all.toArray(String[]::new)).rest());   // refuse bad options here
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(Master.class.getName());
        cmd.addAll(all);
        StreamSocket[] pair = StreamSocket.pair();
        try (Handoff h = new Handoff(ForkPolicy.DROP)) {
            h.fd(CHANNEL_FD, pair[1].fd());
            listeners.handTo(h);
            h.prepare(template);
            Map<String, String> env = new LinkedHashMap<>(System.getenv());
            env.keySet().removeIf(k -> k.startsWith("LISTEN_") || k.startsWith("KNOT_"));
            env.put(ENV, "1");
            env.putAll(h.environment());
            int pid = Spawner.spawn(new Spawner.Spec(cmd, env, h.fds(), null, null));
            pair[1].close();
            return new Upgrade(pid, pair[0], deadline);
        } catch (IOException | RuntimeException e) {
            Listeners.closeQuietly(pair[0]);
            Listeners.closeQuietly(pair[1]);
            throw e;
        }
    }

    /** Reads the successor's lines; true once it said {@code ready}. */
    boolean read() throws IOException {
        ControlLines.Read r;
        do {
            r = ControlLines.readAvailable(channel, input, 4096);     // an overflow drops the junk and reads on
        } while (r == ControlLines.Read.OVERFLOW);
        if (r == ControlLines.Read.EOF) {
            channelKey.cancelForClose();
            channel.close();
        }
        if (input.indexOf("ready\n") >= 0) ready = true;
        return ready;
    }

    void close() {
        if (channel.isOpen()) {
            if (channelKey != null && channelKey.isValid()) channelKey.cancelForClose();
            Listeners.closeQuietly(channel);
        }
    }

    // ---------------------------------------------------------------- the successor's side

    /** This process's handoff if it was started by {@code knotctl upgrade}, else null. */
    static Inheritance inheritance() throws IOException {
        if (!"1".equals(System.getenv(ENV))) return null;
        Inheritance in = Inheritance.fromEnvironment();
        if (in.fd(CHANNEL_FD) < 0) throw new IOException(ENV + " is set but no " + CHANNEL_FD + " descriptor was handed over");
        return in;
    }

    /** Tells the old master this one serves: it drains and exits. */
    static void announce(Inheritance in) {
        try (StreamSocket s = StreamSocket.adopt(in.fd(CHANNEL_FD)); Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocateFrom("ready\n", StandardCharsets.US_ASCII);
            s.write(m.asSlice(0, 6));
        } catch (IOException e) {
            Master.log("telling the previous master that this one is ready: " + e.getMessage());
        }
    }
}
