// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * knotctl: sends one command to a prefork master's control socket and prints the answer.
 * {@code knotctl [--dir DIR] [--timeout SECONDS] COMMAND} (the answer is waited for 120 s unless told otherwise): status, workers, reload, restart --phased, upgrade, stop, scale (see the
 * README). Exit status 0 when the master accepted the command, 1 when it refused or answered an error, 2 when it cannot be reached.
 */
public final class Ctl {
    private Ctl() {}

    /**
     * Runs {@code knotctl}: sends one command to a master's control socket, prints its answer and exits with the
     * status the class comment gives (64 for a usage error).
     *
     * @param args {@code [--dir DIR] [--timeout SECONDS] COMMAND [ARGS...]}
     */
    public static void main(String[] args) {
        Path dir = PreforkConfig.defaultControlDir();
        long timeoutMillis = DEFAULT_TIMEOUT_MILLIS;
        StringBuilder cmd = new StringBuilder();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--dir")) {
                if (i + 1 >= args.length) {
                    System.err.println("knotctl: --dir needs a directory");
                    System.exit(64);
                }
                dir = Path.of(args[++i]);
            } else if (args[i].equals("--timeout") && cmd.isEmpty()) {
                if (i + 1 >= args.length || !args[i + 1].matches("[1-9][0-9]{0,6}")) {
                    System.err.println("knotctl: --timeout needs a whole number of seconds (1 to 9999999)");
                    System.exit(64);
                }
                timeoutMillis = Long.parseLong(args[++i]) * 1000;
            } else {
                cmd.append(cmd.isEmpty() ? "" : " ").append(args[i]);
            }
        }
        if (cmd.isEmpty()) {
            System.err.println("usage: knotctl [--dir DIR] [--timeout SECONDS] " + Command.USAGE);
            System.exit(64);
        }
        System.exit(run(dir.resolve("control.sock"), cmd.toString(), timeoutMillis));
    }

    static int run(Path socket, String command, long timeoutMillis) {
        String answer;
        try {
            answer = send(socket, command, timeoutMillis);
        } catch (IOException e) {
            System.err.println("knotctl: cannot reach the master at " + socket + ": " + e.getMessage());
            return 2;
        }
        System.out.print(answer);
        return answer.startsWith("error") || answer.startsWith("refused") ? 1 : 0;
    }

    /** How long {@link #send(Path, String)} waits for the master's whole answer (an upgrade answers when it is done). */
    public static final long DEFAULT_TIMEOUT_MILLIS = 120_000;

    /**
     * Sends a command line, returns the whole answer; waits at most {@link #DEFAULT_TIMEOUT_MILLIS}.
     *
     * @param socket the master's control socket
     * @param command one command line, e.g. {@code "status"}
     * @return the master's whole answer
     * @throws IOException if the socket cannot be reached, the answer cannot be read, or it is not complete in time
     */
    public static String send(Path socket, String command) throws IOException {
        return send(socket, command, DEFAULT_TIMEOUT_MILLIS);
    }

    /**
     * Sends a command line and returns the whole answer (the master closes the connection after it). Never waits
     * longer than {@code timeoutMillis} for it: a master whose loop is stuck must not hang its operator too.
     *
     * @param socket the master's control socket
     * @param command one command line, e.g. {@code "status"}
     * @param timeoutMillis the longest wait for the answer, in milliseconds
     * @return the master's whole answer
     * @throws java.net.SocketTimeoutException if the answer is not complete within {@code timeoutMillis}
     * @throws IOException if the socket cannot be reached or the answer cannot be read
     */
    public static String send(Path socket, String command, long timeoutMillis) throws IOException {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
             Selector sel = Selector.open()) {
            ch.write(ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.UTF_8)));
            ch.configureBlocking(false);
            ch.register(sel, SelectionKey.OP_READ);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            while (buf.hasRemaining()) {
                int n = ch.read(buf);
                if (n < 0) break;
                if (n > 0) continue;
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new SocketTimeoutException("no complete answer to '" + command + "' from the master at " + socket
                            + " within " + timeoutMillis + " ms");
                }
                sel.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                sel.selectedKeys().clear();
            }
            return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
        }
    }
}
