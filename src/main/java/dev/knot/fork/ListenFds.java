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

    /** A listener passed by the service manager, and its name (LISTEN_FDNAMES, or "unknown"). */
    public record Passed(String name, ListenSocket socket) {}

    /** Adopts this process's socket-activation listeners; none if the variables are absent or meant for another pid. */
    public static List<Passed> adopt() throws IOException {
        return adopt(System.getenv(), ProcessHandle.current().pid());
    }

    /**
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
