// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_WRITE;
import static dev.knot.kqueue.Kevent.EV_ADD;
import static dev.knot.kqueue.Kevent.EV_DELETE;
import static dev.knot.kqueue.Kevent.EV_DISABLE;
import static dev.knot.kqueue.Kevent.EV_ERROR;
import static dev.knot.kqueue.Kevent.EV_RECEIPT;

import dev.knot.kqueue.KeventArray;
import dev.knot.kqueue.KnoteState;
import dev.knot.kqueue.Kqueue;
import dev.knot.kqueue.KqueueException;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.sys.Errno;
import dev.knot.system.Fds;
import dev.knot.sys.Platform;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The child's half of the fork path: the descriptors and registrations its parent handed it ({@link Handoff}).
 *
 * <p>Trust: a child accepts only what its own parent prepared for it. {@link #fromEnvironment()} checks that the
 * parent named in the environment is this process's actual parent, that every handed descriptor is open, and
 * {@link #restore} that the snapshot carries the same parent pid and spawn token. Handed descriptors are made
 * close-on-exec so they do not leak to the child's own children.
 */
public final class Inheritance {
    private final ForkPolicy policy;
    private final int parentPid;
    private final byte[] token;
    private final LinkedHashMap<String, Integer> fds;
    private final Map<String, String> env;
    /** Handed descriptor numbers by index, as the snapshot's fdIndex counts them (the memfd included). */
    private final int[] byIndex;

    private Inheritance(ForkPolicy policy, int parentPid, byte[] token, LinkedHashMap<String, Integer> fds, Map<String, String> env) {
        this.policy = policy;
        this.parentPid = parentPid;
        this.token = token;
        this.fds = fds;
        this.env = env;
        this.byIndex = fds.values().stream().mapToInt(Integer::intValue).toArray();
    }

    /** The child's number of the handed descriptor at {@code index}. */
    private int fdAt(int index) {
        return byIndex[index];
    }

    /** {@return true if this process was started by a Knot parent (its environment carries a spawn token)} */
    public static boolean present() {
        return System.getenv(Handoff.ENV_TOKEN) != null;
    }

    /**
     * Reads this process's environment; see {@link #from(Map, long)}.
     *
     * @return what this process inherited from its Knot parent
     * @throws SnapshotException if the variables are missing or malformed, the parent is not ours, or a handed descriptor is
     *         not open
     */
    public static Inheritance fromEnvironment() throws SnapshotException {
        long parent = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L);
        return from(System.getenv(), parent);
    }

    /**
     * Reads a handoff from an environment.
     *
     * @param env the environment to read (the variables {@link Handoff} wrote)
     * @param actualParentPid this process's real parent, which must be the one the environment names
     * @return what the environment hands over
     * @throws SnapshotException if variables are missing or malformed, the parent is not ours, or a handed
     *         descriptor is not open
     */
    public static Inheritance from(Map<String, String> env, long actualParentPid) throws SnapshotException {
        Platform.requireLinux("Knot's fork path");
        String tok = require(env, Handoff.ENV_TOKEN);
        byte[] token;
        try {
            token = HexFormat.of().parseHex(tok);
        } catch (IllegalArgumentException e) {
            throw new SnapshotException(Handoff.ENV_TOKEN + " is not hex");
        }
        if (token.length != 16) throw new SnapshotException(Handoff.ENV_TOKEN + " must be 16 bytes");
        int parent;
        try {
            parent = Integer.parseInt(require(env, Handoff.ENV_PARENT_PID));
        } catch (NumberFormatException e) {
            throw new SnapshotException(Handoff.ENV_PARENT_PID + " is not a pid");
        }
        if (parent != actualParentPid) {
            throw new SnapshotException("foreign handoff: the environment names parent " + parent + " but this process's parent is " + actualParentPid);
        }
        ForkPolicy policy;
        try {
            policy = ForkPolicy.valueOf(require(env, Handoff.ENV_POLICY));
        } catch (IllegalArgumentException e) {
            throw new SnapshotException(Handoff.ENV_POLICY + " is not one of " + java.util.Arrays.toString(ForkPolicy.values()));
        }
        LinkedHashMap<String, Integer> fds = new LinkedHashMap<>();
        String names = env.getOrDefault(Handoff.ENV_FD_NAMES, "");
        if (!names.isEmpty()) {
            String[] n = names.split(",", -1);
            String kindList = env.get(Handoff.ENV_FD_KINDS);
            if (kindList == null) throw new SnapshotException(Handoff.ENV_FD_NAMES + " names descriptors but there is no " + Handoff.ENV_FD_KINDS);
            String[] kinds = kindList.split(",", -1);
            if (kinds.length != n.length) {
                throw new SnapshotException(Handoff.ENV_FD_KINDS + " has " + kinds.length + " entries for " + n.length + " names in " + Handoff.ENV_FD_NAMES);
            }
            int[] numbers = numbers(env.get(Handoff.ENV_FD_NUMBERS), n.length);
            for (int i = 0; i < n.length; i++) {
                int fd = numbers == null ? 3 + i : numbers[i];
                if (n[i].isEmpty()) throw new SnapshotException(Handoff.ENV_FD_NAMES + " has an empty name at position " + i + ": '" + names + "'");
                if (fds.containsKey(n[i])) {
                    throw new SnapshotException(Handoff.ENV_FD_NAMES + " names '" + n[i] + "' twice (descriptors " + fds.get(n[i]) + " and " + fd + ")");
                }
                if (!Fds.isOpen(fd)) throw new SnapshotException("handed descriptor " + fd + " (" + n[i] + ") is not open");
                String actual;
                try {
                    actual = FdKind.of(fd);
                    Fds.setCloseOnExec(fd, true);
                } catch (IOException e) {
                    throw new SnapshotException("handed descriptor " + fd + " (" + n[i] + "): " + e.getMessage(), e);
                }
                if (!actual.equals(kinds[i])) {
                    throw new SnapshotException("handed descriptor " + fd + " (" + n[i] + ") is " + FdKind.describe(actual)
                            + ", but the parent handed " + FdKind.describe(kinds[i]));
                }
                fds.put(n[i], fd);
            }
        }
        return new Inheritance(policy, parent, token, fds, env);
    }

    /** The handed descriptors' numbers in the same-numbers mode, checked; null when they are 3, 4, 5... */
    private static int[] numbers(String list, int count) throws SnapshotException {
        if (list == null) return null;
        String[] parts = list.split(",", -1);
        if (parts.length != count) {
            throw new SnapshotException(Handoff.ENV_FD_NUMBERS + " has " + parts.length + " numbers for " + count + " names in " + Handoff.ENV_FD_NAMES);
        }
        int[] numbers = new int[count];
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int i = 0; i < count; i++) {
            try {
                numbers[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new SnapshotException(Handoff.ENV_FD_NUMBERS + " has '" + parts[i] + "', not a descriptor number");
            }
            if (numbers[i] < 3) throw new SnapshotException(Handoff.ENV_FD_NUMBERS + " names descriptor " + numbers[i] + ", one of stdio");
            if (!seen.add(numbers[i])) throw new SnapshotException(Handoff.ENV_FD_NUMBERS + " names descriptor " + numbers[i] + " twice");
        }
        return numbers;
    }

    private static String require(Map<String, String> env, String name) throws SnapshotException {
        String v = env.get(name);
        if (v == null || v.isEmpty()) throw new SnapshotException("the environment has no " + name);
        return v;
    }

    /** {@return the fork policy the parent chose} */
    public ForkPolicy policy() {
        return policy;
    }

    /** {@return the parent's pid as it announced it (checked against the real parent)} */
    public int parentPid() {
        return parentPid;
    }

    /** {@return the handed descriptors by name, in order} */
    public Map<String, Integer> fds() {
        return Collections.unmodifiableMap(fds);
    }

    /**
     * {@return the descriptor handed under {@code name}, or -1}
     *
     * @param name a name the parent gave with {@link Handoff#fd(String, int)}
     */
    public int fd(String name) {
        return fds.getOrDefault(name, -1);
    }

    /**
     * Takes the kernel's copy of the parent's kqueue, where the parent handed it ({@link Handoff#ENV_KQUEUE_FD}:
     * FreeBSD with KQUEUE_CPONFORK, same-numbers mode): a kqueue holding the parent's knotes with their state,
     * owned by the caller from now on. Unverified: Knot has not run this on a FreeBSD host. Call it before
     * {@link #restore}, which otherwise closes the copy (its knotes would fire beside the replayed ones).
     *
     * @return the inherited kqueue, or null if the parent handed none (always on Linux)
     * @throws KqueueException if the handed descriptor is not a kqueue
     */
    public Kqueue inheritedKqueue() throws KqueueException {
        Integer fd = fds.get(Handoff.KQUEUE_FD_NAME);
        if (fd == null || !Kqueue.copiesOnFork() || !env.getOrDefault(Handoff.ENV_KQUEUE_FD, "").equals(fd.toString())) return null;
        fds.remove(Handoff.KQUEUE_FD_NAME);
        return Kqueue.adopt(fd);
    }

    /**
     * Brings the parent's registrations into {@code selector}'s kqueue as the policy says. With COPY they are
     * replayed in one kevent batch, each with EV_RECEIPT; if any fails, those that succeeded are deleted again and
     * a {@link SnapshotException} names the failure, so the kqueue is never left half-registered.
     *
     * @param selector the child's fresh selector, on its own thread
     * @return how the registrations arrived, why, and what was restored
     * @throws SnapshotException if the snapshot cannot be read or a registration failed (none is left behind)
     * @throws KqueueException if the replaying kevent call itself fails
     */
    public Restoration restore(Selector selector) throws SnapshotException, KqueueException {
        if (policy == ForkPolicy.DROP) {
            return new Restoration(CopyMethod.NONE, "fork policy DROP: the child starts with an empty kqueue", 0, 0, 0, Map.of(), List.of());
        }
        Integer copy = fds.remove(Handoff.KQUEUE_FD_NAME);
        if (copy != null) Fds.closeQuietly(copy);            // not taken by inheritedKqueue(): it would fire twice
        Snapshot snap = Snapshot.decode(snapshotBytes());
        if (snap.parentPid() != parentPid || !Arrays.equals(snap.token(), token)) {
            throw new SnapshotException("foreign snapshot: made by pid " + snap.parentPid() + " for another spawn, not by our parent " + parentPid);
        }
        String skippedVar = env.getOrDefault(Handoff.ENV_SKIPPED, "0");
        int skipped;
        try {
            skipped = Integer.parseInt(skippedVar);
        } catch (NumberFormatException e) {
            skipped = -1;
        }
        if (skipped < 0) throw new SnapshotException(Handoff.ENV_SKIPPED + " must be a count, not '" + skippedVar + "'");
        checkEntries(snap);
        return replay(selector, snap, skipped, inheritReason());
    }

    /**
     * Entries a selector key can hold: READ and WRITE knotes on handed descriptors (not the snapshot's own memfd),
     * added level-triggered and enabled, as {@link Handoff} writes them. A disabled, one-shot, edge-triggered or
     * dispatch entry would leave a key that believes its knote is armed when the kernel's is not (a listener that
     * never accepts), so it fails the child instead.
     */
    private void checkEntries(Snapshot snap) throws SnapshotException {
        int handed = fds.size() + (env.containsKey(Handoff.ENV_SNAPSHOT_FD) ? 1 : 0);
        int snapshotIndex = env.containsKey(Handoff.ENV_SNAPSHOT_FD) ? handed - 1 : -1;
        int allowed = EV_ADD | dev.knot.kqueue.Kevent.EV_ENABLE | EV_RECEIPT;
        List<Snapshot.Entry> entries = snap.entries();
        for (int i = 0; i < entries.size(); i++) {
            Snapshot.Entry e = entries.get(i);
            boolean fdFilter = e.filter() == EVFILT_READ || e.filter() == EVFILT_WRITE;
            if (!fdFilter && !e.isFdKnote()) continue;
            String what = "snapshot entry " + i + " (" + dev.knot.kqueue.Kevent.filterName(e.filter()) + ", descriptor index " + e.fdIndex() + ")";
            if (e.fdIndex() < 0 || e.fdIndex() >= handed || e.fdIndex() == snapshotIndex) {
                throw new SnapshotException(what + " names no handed descriptor");
            }
            if (fdFilter && (e.flags() & ~allowed) != 0) {
                throw new SnapshotException(what + " has flags 0x" + Integer.toHexString(e.flags())
                        + " (EV_DISABLE, EV_ONESHOT, EV_CLEAR or EV_DISPATCH) that a selector key cannot hold");
            }
        }
    }

    /** Why the registrations are replayed rather than inherited from a kernel copy. */
    static String inheritReason() {
        if (Platform.CURRENT == Platform.LINUX) {
            return "RE-REGISTER: Linux has no kqueue to copy; Knot's emulation is an epoll instance, which fork(2) would "
                    + "share with the parent rather than copy, so the parent's snapshot was replayed";
        }
        if (!Kqueue.copiesOnFork()) return "RE-REGISTER: this kernel does not copy kqueues into children (no KQUEUE_CPONFORK)";
        return "RE-REGISTER: the kernel copies a KQUEUE_CPONFORK kqueue into a spawned child (with the same-numbers "
                + "spawn mode its descriptor knotes name the right descriptors, and inheritedKqueue() takes the copy), "
                + "but a Selector cannot run on an adopted kqueue yet and Knot has not verified INHERIT on a FreeBSD "
                + "host; the parent's snapshot was replayed";
    }

    private byte[] snapshotBytes() throws SnapshotException {
        String inline = env.get(Handoff.ENV_SNAPSHOT);
        if (inline != null) {
            try {
                return Base64.getDecoder().decode(inline);
            } catch (IllegalArgumentException e) {
                throw new SnapshotException("snapshot in " + Handoff.ENV_SNAPSHOT + " is not base64");
            }
        }
        String fdVar = env.get(Handoff.ENV_SNAPSHOT_FD);
        if (fdVar == null) throw new SnapshotException("policy COPY but the environment carries no snapshot");
        int fd = fd(Handoff.SNAPSHOT_FD_NAME);
        if (fd < 0 || !fdVar.equals(Integer.toString(fd))) throw new SnapshotException(Handoff.ENV_SNAPSHOT_FD + " does not name the handed snapshot descriptor");
        try {
            // Opening /proc/self/fd/N gives a fresh file position, so the whole memfd is read.
            return Files.readAllBytes(Path.of("/proc/self/fd/" + fd));
        } catch (IOException e) {
            throw new SnapshotException("cannot read the snapshot from descriptor " + fd + ": " + e.getMessage(), e);
        } finally {
            Fds.closeQuietly(fd);
            fds.remove(Handoff.SNAPSHOT_FD_NAME);
        }
    }

    private Restoration replay(Selector selector, Snapshot snap, int skipped, String reason) throws SnapshotException, KqueueException {
        List<Snapshot.Entry> entries = snap.entries();
        int n = entries.size();
        // One key per descriptor (its READ and WRITE entries) or per watched knote, created before the batch so the
        // kernel gets the child's tokens.
        Map<Integer, Integer> interestByFd = new LinkedHashMap<>();
        for (Snapshot.Entry e : entries) {
            if (e.filter() == EVFILT_READ || e.filter() == EVFILT_WRITE) {
                interestByFd.merge(fdAt(e.fdIndex()), e.filter() == EVFILT_READ ? Selector.OP_READ : Selector.OP_WRITE, (x, y) -> x | y);
            }
        }
        Map<Integer, Key> fdKeys = new HashMap<>();
        Map<Long, Key> byToken = new HashMap<>();
        List<Key> keys = new ArrayList<>(n);
        java.util.Set<Key> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        long[] childIdent = new long[n];
        Key[] keyOf = new Key[n];
        for (int i = 0; i < n; i++) {
            Snapshot.Entry e = entries.get(i);
            Key k;
            if (e.filter() == EVFILT_READ || e.filter() == EVFILT_WRITE) {
                int fd = fdAt(e.fdIndex());
                k = fdKeys.computeIfAbsent(fd, f -> selector.adopt(f, interestByFd.get(f), null));
                childIdent[i] = fd;
            } else {
                childIdent[i] = e.isFdKnote() ? fdAt(e.fdIndex()) : e.ident();
                k = selector.adoptWatch(childIdent[i], e.filter(), e.flags() & ~EV_ADD, e.fflags(), e.data(), null);
            }
            keyOf[i] = k;
            if (seen.add(k)) keys.add(k);
            byToken.put(e.token(), k);
        }
        try (KeventArray changes = KeventArray.allocate(Math.max(1, n)); KeventArray results = KeventArray.allocate(Math.max(1, n))) {
            for (int i = 0; i < n; i++) {
                Snapshot.Entry e = entries.get(i);
                // A knote disabled in the parent is added disabled, so it cannot fire between the batch and its state.
                int disable = e.hasState() && (e.state() & Snapshot.STATE_DISABLED) != 0 ? EV_DISABLE : 0;
                changes.set(i, childIdent[i], e.filter(), e.flags() | EV_ADD | EV_RECEIPT | disable, e.fflags(), e.data(), keyOf[i].token());
            }
            Kqueue kq = selector.kqueue();
            long t0 = System.nanoTime();
            int r = kq.kevent(changes, n, results, n, 0);
            long nanos = System.nanoTime() - t0;
            String failure = null;
            boolean[] ok = new boolean[n];
            for (int j = 0; j < r; j++) {
                // Receipts come back in change order; match them to entries by (ident, filter) to be safe.
                int i = indexOf(changes, n, j, results.ident(j), results.filter(j), ok);
                if (i < 0) continue;
                if ((results.flags(j) & EV_ERROR) != 0 && results.data(j) == 0) {
                    ok[i] = true;
                } else if (failure == null) {
                    failure = "entry " + i + " (" + dev.knot.kqueue.Kevent.filterName(entries.get(i).filter()) + ", ident " + childIdent[i]
                            + "): " + Errno.name((int) results.data(j));
                }
            }
            if (failure == null && r < n) failure = "the kernel acknowledged " + r + " of " + n + " registrations";
            if (failure == null) failure = restoreStates(kq, entries, childIdent);
            if (failure != null) {
                rollBack(kq, changes, n, ok);
                for (Key k : keys) k.cancelForClose();
                throw new SnapshotException("snapshot replay failed at " + failure + "; nothing was registered");
            }
            return new Restoration(CopyMethod.REREGISTER, reason, n, skipped, nanos, Collections.unmodifiableMap(byToken), List.copyOf(keys));
        }
    }

    /**
     * Gives each replayed knote the state its parent's had (pending events, timer schedules, counts); the kevent
     * batch that registered them collected no events, so nothing has been delivered in between.
     *
     * @return null, or what failed
     */
    private static String restoreStates(Kqueue kq, List<Snapshot.Entry> entries, long[] childIdent) {
        for (int i = 0; i < entries.size(); i++) {
            Snapshot.Entry e = entries.get(i);
            if (!e.hasState()) continue;
            if (!Kqueue.exportsKnoteState()) return "entry " + i + " carries knote state, which this kqueue cannot take";
            int bits = e.state() & ~Snapshot.STATE_CAPTURED;
            try {
                kq.restoreKnoteState(new KnoteState(childIdent[i], e.filter(), bits, e.stateFflags(), e.stateData(), e.expiry()));
            } catch (KqueueException ex) {
                return "entry " + i + " (" + dev.knot.kqueue.Kevent.filterName(e.filter()) + ", ident " + childIdent[i] + "): state: " + ex.errnoName();
            }
        }
        return null;
    }

    private static int indexOf(KeventArray changes, int n, int hint, long ident, int filter, boolean[] done) {
        if (hint < n && !done[hint] && changes.ident(hint) == ident && changes.filter(hint) == filter) return hint;
        for (int i = 0; i < n; i++) {
            if (!done[i] && changes.ident(i) == ident && changes.filter(i) == filter) return i;
        }
        return -1;
    }

    private static void rollBack(Kqueue kq, KeventArray changes, int n, boolean[] ok) throws KqueueException {
        try (KeventArray del = KeventArray.allocate(Math.max(1, n)); KeventArray res = KeventArray.allocate(Math.max(1, n))) {
            int m = 0;
            for (int i = 0; i < n; i++) {
                if (ok[i]) del.set(m++, changes.ident(i), changes.filter(i), EV_DELETE | EV_RECEIPT, 0, 0, 0);
            }
            if (m > 0) kq.kevent(del, m, res, m, 0);
        }
    }
}
