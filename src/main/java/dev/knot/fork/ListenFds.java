// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import dev.knot.net.ListenSocket;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * systemd's socket activation (sd_listen_fds(3)): listeners passed as descriptors 3, 4, ... with LISTEN_PID naming
 * this process and LISTEN_FDS their count (LISTEN_FDNAMES optional). A prefork master adopts them instead of
 * binding. The variables are honoured only when LISTEN_PID is this process, so a child that inherited them by
 * accident does not take descriptors that are not its own.
 */
public final class ListenFds {
    private ListenFds() {}

    /**
     * A listener passed by the service manager.
     *
     * @param name its name from LISTEN_FDNAMES, or {@code "unknown"}
     * @param socket the adopted listening socket, now owned by the caller
     */
    public record Passed(String name, ListenSocket socket) {}

    /**
     * Adopts this process's socket-activation listeners.
     *
     * @return the listeners in order from descriptor 3; empty if the variables are absent or meant for another pid
     * @throws IOException if a passed descriptor cannot be inspected
     * @throws IllegalArgumentException if LISTEN_FDS is malformed, or a passed descriptor is not a listening socket
     */
    public static List<Passed> adopt() throws IOException {
        return adopt(System.getenv(), ProcessHandle.current().pid());
    }

    /**
     * Adopts the socket-activation listeners an environment describes (systemd's {@code sd_listen_fds}).
     *
     * @param env the environment holding LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES
     * @param pid this process's pid, which LISTEN_PID must name
     * @return the listeners in order from descriptor 3; empty if the variables are absent or meant for another pid
     * @throws IOException if a passed descriptor cannot be inspected
     * @throws IllegalArgumentException if LISTEN_FDS is malformed, or a passed descriptor is not a listening socket
     */
    public static List<Passed> adopt(Map<String, String> env, long pid) throws IOException {
        String listenPid = env.get("LISTEN_PID");
        String count = env.get("LISTEN_FDS");
        if (listenPid == null || count == null || !listenPid.trim().equals(Long.toString(pid))) return List.of();
        int n;
        try {
            n = Integer.parseInt(count.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("LISTEN_FDS is not a number: " + count);
        }
        if (n < 0 || n > 1024) throw new IllegalArgumentException("LISTEN_FDS out of range: " + n);
        String[] names = env.getOrDefault("LISTEN_FDNAMES", "").split(":");
        List<Passed> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String name = i < names.length && !names[i].isEmpty() ? names[i] : "unknown";
            out.add(new Passed(name, ListenSocket.adopt(3 + i)));
        }
        return out;
    }
}
