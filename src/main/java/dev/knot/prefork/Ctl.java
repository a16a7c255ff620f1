// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * knotctl: sends one command to a prefork master's control socket and prints the answer.
 * {@code knotctl [--dir DIR] COMMAND}: status, workers, reload, restart --phased, upgrade, stop, scale (see the
 * README). Exit status 0 when the master accepted the command, 1 when it refused or answered an error, 2 when it cannot be reached.
 */
public final class Ctl {
    private Ctl() {}

    /**
     * Runs {@code knotctl}: sends one command to a master's control socket, prints its answer and exits with the
     * status the class comment gives (64 for a usage error).
     *
     * @param args {@code [--dir DIR] COMMAND [ARGS...]}
     */
    public static void main(String[] args) {
        Path dir = PreforkConfig.defaultControlDir();
        StringBuilder cmd = new StringBuilder();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--dir")) {
                if (i + 1 >= args.length) {
                    System.err.println("knotctl: --dir needs a directory");
                    System.exit(64);
                }
                dir = Path.of(args[++i]);
            } else {
                cmd.append(cmd.isEmpty() ? "" : " ").append(args[i]);
            }
        }
        if (cmd.isEmpty()) {
            System.err.println("usage: knotctl [--dir DIR] " + Command.USAGE);
            System.exit(64);
        }
        System.exit(run(dir.resolve("control.sock"), cmd.toString()));
    }

    static int run(Path socket, String command) {
        String answer;
        try {
            answer = send(socket, command);
        } catch (IOException e) {
            System.err.println("knotctl: cannot reach the master at " + socket + ": " + e.getMessage());
            return 2;
        }
        System.out.print(answer);
        return answer.startsWith("error") || answer.startsWith("refused") ? 1 : 0;
    }

    /**
     * Sends a command line, returns the whole answer.
     *
     * @param socket the master's control socket
     * @param command one command line, e.g. {@code "status"}
     * @return the master's whole answer
     * @throws IOException if the socket cannot be reached or the answer cannot be read
     */
    public static String send(Path socket, String command) throws IOException {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            ch.write(ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.UTF_8)));
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            while (ch.read(buf) >= 0) {
                if (!buf.hasRemaining()) break;
            }
            return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
        }
    }
}
