// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.fork.Handoff;
import dev.knot.fork.Inheritance;
import dev.knot.fork.ListenFds;
import dev.knot.net.ListenSocket;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The master's listening sockets, held for its whole life (closing a listener, or a SO_REUSEPORT member, drops
 * the connections in its queue): bound from the configuration, adopted from systemd's LISTEN_FDS, or inherited
 * from the master this one upgrades. With {@code --reuseport} each address has one socket per worker slot, and
 * the port is locked ({@link PortLock}) so that no second Knot master joins its reuseport group. Loop thread only.
 */
final class Listeners implements AutoCloseable {
    /** Names of the descriptors an upgrading master hands to its successor: "listen.I" and "listen.I.slot.S". */
    static final String HANDED = "listen.";

    /** One listening address: the shared socket, or with SO_REUSEPORT one socket per worker slot. */
    record Listener(SocketAddress address, ListenSocket shared, Map<Integer, ListenSocket> perSlot, String origin) {}

    private final List<Listener> all = new ArrayList<>();
    private final List<PortLock> locks = new ArrayList<>();
    private final boolean inherited;

    private Listeners(boolean inherited) {
        this.inherited = inherited;
    }

    /**
     * Opens the listeners: those an upgrading master handed over ({@code from} non-null), else systemd's, else
     * binds the configured addresses.
     *
     * @param owner what a port lock records about this master
     */
    static Listeners open(PreforkConfig config, Inheritance from, String owner) throws IOException {
        Listeners ls = new Listeners(from != null);
        try {
            if (from != null) {
                ls.adoptHanded(from);
                return ls;
            }
            for (ListenFds.Passed p : ListenFds.adopt()) {
                ls.all.add(new Listener(p.socket().localAddress(), p.socket(), null, "from systemd LISTEN_FDS, name " + p.name()));
            }
            if (!ls.all.isEmpty()) return ls;
            for (SocketAddress a : config.listen()) {
                if (config.reusePort()) {
                    // Lock the port before joining its reuseport group: binding first would steal connections from
                    // the master already serving it until this one gave up. A port chosen by the kernel (0) is
                    // fresh, so it is locked once known.
                    int port = a instanceof InetSocketAddress i ? i.getPort() : -1;
                    if (port > 0) ls.locks.add(PortLock.acquire(config.lockDir(), port, owner));
                    ListenSocket first = bind(a, true);
                    if (port == 0 && first.localAddress() instanceof InetSocketAddress i) {
                        ls.locks.add(PortLock.acquire(config.lockDir(), i.getPort(), owner));
                    }
                    Map<Integer, ListenSocket> perSlot = new LinkedHashMap<>();
                    perSlot.put(1, first);
                    ls.all.add(new Listener(first.localAddress(), null, perSlot, "SO_REUSEPORT, one socket per worker"));
                } else {
                    ListenSocket s = bind(a, false);
                    ls.all.add(new Listener(s.localAddress(), s, null, "shared by all workers"));
                }
            }
            return ls;
        } catch (IOException | RuntimeException e) {
            ls.close();
            throw e;
        }
    }

    private static ListenSocket bind(SocketAddress a, boolean reusePort) throws IOException {
        try {
            return reusePort ? ListenSocket.bind(a, ListenSocket.Options.defaults().reusePort(true)) : ListenSocket.bind(a);
        } catch (IOException e) {
            throw new IOException("cannot listen on " + a + ": " + e.getMessage(), e);
        }
    }

    private void adoptHanded(Inheritance from) throws IOException {
        for (int i = 0; ; i++) {
            int fd = from.fd(HANDED + i);
            Map<Integer, ListenSocket> perSlot = new LinkedHashMap<>();
            String prefix = HANDED + i + ".slot.";
            for (Map.Entry<String, Integer> e : from.fds().entrySet()) {
                if (e.getKey().startsWith(prefix)) perSlot.put(Integer.parseInt(e.getKey().substring(prefix.length())), ListenSocket.adopt(e.getValue()));
            }
            if (fd < 0 && perSlot.isEmpty()) break;
            if (fd >= 0) {
                ListenSocket s = ListenSocket.adopt(fd);
                all.add(new Listener(s.localAddress(), s, null, "inherited from the previous master, shared by all workers"));
            } else {
                ListenSocket any = perSlot.values().iterator().next();
                all.add(new Listener(any.localAddress(), null, perSlot, "inherited from the previous master, SO_REUSEPORT, one socket per worker"));
            }
        }
    }

    /** True if these listeners came from the master this one upgrades (its port locks are still that master's). */
    boolean inherited() {
        return inherited;
    }

    List<Listener> all() {
        return all;
    }

    int size() {
        return all.size();
    }

    /** The socket a worker of {@code slot} gets for listener {@code i}. */
    ListenSocket forSlot(int i, int slot) throws IOException {
        Listener l = all.get(i);
        if (l.shared != null) return l.shared;
        ListenSocket s = l.perSlot.get(slot);
        if (s == null) {
            s = bind(l.address, true);
            l.perSlot.put(slot, s);
        }
        return s;
    }

    /** Hands every socket to a successor master (upgrade). */
    void handTo(Handoff h) {
        for (int i = 0; i < all.size(); i++) {
            Listener l = all.get(i);
            if (l.shared != null) h.fd(HANDED + i, l.shared.fd());
            else l.perSlot.forEach((slot, s) -> h.fd(HANDED + allIndex(l) + ".slot." + slot, s.fd()));
        }
    }

    private int allIndex(Listener l) {
        return all.indexOf(l);
    }

    /** Takes the port locks after the master this one upgraded has exited (fcntl locks are not inherited). */
    void lockPorts(PreforkConfig config, String owner) throws IOException {
        for (Listener l : all) {
            if (l.perSlot != null && l.address instanceof InetSocketAddress a) locks.add(PortLock.acquire(config.lockDir(), a.getPort(), owner));
        }
    }

    @Override
    public void close() {
        for (Listener l : all) {
            closeQuietly(l.shared);
            if (l.perSlot != null) l.perSlot.values().forEach(Listeners::closeQuietly);
        }
        for (PortLock p : locks) closeQuietly(p);
    }

    static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception ignored) {
            // shutting down
        }
    }
}
