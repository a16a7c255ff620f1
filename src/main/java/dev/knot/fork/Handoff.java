// SPDX-License-Identifier: Apache-2.0
package dev.knot.fork;

import static dev.knot.kqueue.Kevent.EVFILT_READ;
import static dev.knot.kqueue.Kevent.EVFILT_VNODE;
import static dev.knot.kqueue.Kevent.EVFILT_WRITE;
import static dev.knot.kqueue.Kevent.EV_ADD;

import dev.knot.kqueue.KnoteState;
import dev.knot.kqueue.Kqueue;
import dev.knot.kqueue.KqueueException;
import dev.knot.loop.Selector;
import dev.knot.system.Processes;
import dev.knot.sys.ErrnoException;
import dev.knot.system.Fds;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parent's half of the fork path: the descriptors a child gets, and (policy COPY) a snapshot of a selector's
 * registrations, both described in environment variables of the child's own.
 *
 * <p>Descriptors are handed in order and become 3, 4, 5... in the child ({@link Spawner}); their names travel in
 * {@value #ENV_FD_NAMES}. The snapshot goes in {@value #ENV_SNAPSHOT} (base64) or, when larger than Linux lets one
 * environment string be, in a memfd handed as one more descriptor ({@value #ENV_SNAPSHOT_FD}). A fresh random
 * spawn token and the parent's pid let the child refuse anything not meant for it. Not thread-safe; the selector
 * must be read on its own thread. {@link #close()} releases the memfd (the child has its own copy by then).
 */
public final class Handoff implements AutoCloseable {
    /** The child's variable naming the handed descriptors, comma-separated, in order from descriptor 3. */
    public static final String ENV_FD_NAMES = "KNOT_FD_NAMES";
    /**
     * The child's variable saying what each handed descriptor is (listen, stream, dgram, pipe, memfd, file, ...),
     * comma-separated in the order of {@link #ENV_FD_NAMES}; the child checks each before it uses it.
     */
    public static final String ENV_FD_KINDS = "KNOT_FD_KINDS";
    /** The child's variable holding the parent's pid, checked against its real parent. */
    public static final String ENV_PARENT_PID = "KNOT_PARENT_PID";
    /** The child's variable holding the random spawn token (hex) that ties the snapshot to this spawn. */
    public static final String ENV_TOKEN = "KNOT_SPAWN_TOKEN";
    /** The child's variable holding the {@link ForkPolicy} name. */
    public static final String ENV_POLICY = "KNOT_FORK_POLICY";
    /** The child's variable holding an inline snapshot (Base64). */
    public static final String ENV_SNAPSHOT = "KNOT_SNAPSHOT";
    /** The child's variable naming the memfd that holds a snapshot too large for the environment. */
    public static final String ENV_SNAPSHOT_FD = "KNOT_SNAPSHOT_FD";
    /** The child's variable counting registrations left out because their descriptor was not handed. */
    public static final String ENV_SKIPPED = "KNOT_SNAPSHOT_SKIPPED";
    /**
     * The child's variable giving each handed descriptor's number, comma-separated in the order of
     * {@link #ENV_FD_NAMES}, when the handoff keeps the parent's numbers ({@link #keepNumbers(boolean)}); without
     * it the numbers are 3, 4, 5...
     */
    public static final String ENV_FD_NUMBERS = "KNOT_FD_NUMBERS";
    /**
     * The child's variable naming the parent's kqueue descriptor, handed under its own number so that the kernel's
     * KQUEUE_CPONFORK copy of it reaches the child ({@link Inheritance#inheritedKqueue()}); only where
     * {@link Kqueue#copiesOnFork()} holds, in the same-numbers mode, with policy COPY and no key opted out.
     */
    public static final String ENV_KQUEUE_FD = "KNOT_KQUEUE_FD";
    static final String KQUEUE_FD_NAME = "knot.kqueue";
    /** Linux caps one environment string at 128 KiB; larger snapshots go through a memfd. */
    static final int INLINE_LIMIT = 64 * 1024;
    static final String SNAPSHOT_FD_NAME = "knot.snapshot";

    private final ForkPolicy policy;
    private final LinkedHashMap<String, Integer> named = new LinkedHashMap<>();
    private final Map<String, String> env = new LinkedHashMap<>();
    private final List<Integer> fds = new ArrayList<>();
    private int memfd = -1;
    private int skipped;
    private int excluded;
    private int entries;
    private boolean keepNumbers;

    /**
     * Starts describing one child's handoff.
     *
     * @param policy whether the child starts empty (DROP) or with the parent's registrations (COPY, ...)
     */
    public Handoff(ForkPolicy policy) {
        this.policy = policy;
    }

    /**
     * Hands {@code fd} (which stays the caller's) to the child under {@code name}; order matters: 3, 4, 5...
     *
     * @param name the descriptor's name in the child; not empty, no {@code ','} or {@code '='}, used once
     * @param fd a descriptor of this process
     * @return this handoff, for chaining
     * @throws IllegalArgumentException if the name is malformed or already used
     */
    public Handoff fd(String name, int fd) {
        if (name.isEmpty() || name.contains(",") || name.contains("=")) throw new IllegalArgumentException("bad descriptor name '" + name + "'");
        if (named.putIfAbsent(name, fd) != null) throw new IllegalArgumentException("descriptor name '" + name + "' used twice");
        return this;
    }

    /**
     * Chooses the same-numbers mode: the child gets every handed descriptor under the number it has here (spawn
     * it with {@link Spawner.Spec#keepNumbers()} true, as {@link #keepsNumbers()} says), not renumbered to 3, 4,
     * ...; everything else is still closed. This is what a kernel-copied kqueue needs (FreeBSD's KQUEUE_CPONFORK:
     * the copy's descriptor knotes name the parent's numbers). Handed descriptors must be 3 or above. Call before
     * {@link #prepare}.
     *
     * @param keep true for the same-numbers mode
     * @return this handoff, for chaining
     */
    public Handoff keepNumbers(boolean keep) {
        this.keepNumbers = keep;
        return this;
    }

    /** {@return true in the same-numbers mode: pass it to {@link Spawner.Spec}} */
    public boolean keepsNumbers() {
        return keepNumbers;
    }

    /**
     * Fixes what the child gets: with a copying policy, snapshots {@code selector}'s knotes (the READ/WRITE interest
     * of its keys whose descriptors are handed, and its watched knotes, each with its state where the kqueue can
     * export it, see {@link dev.knot.kqueue.KnoteState}), filter by filter as FreeBSD's KQUEUE_CPONFORK copies
     * them: descriptor knotes only for handed descriptors (FreeBSD skips knotes whose descriptor the child lacks),
     * never knotes on a kqueue's descriptor, and under COPY_FD or COPY_NONFD only the one kind; keys that opted out
     * ({@link dev.knot.loop.Key#copyOnFork(boolean)}) never.
     *
     * @param selector the parent's selector (ignored for DROP), read on its own thread
     * @return this handoff, for chaining
     * @throws IOException if the memfd for a large snapshot cannot be created or written
     * @throws IllegalArgumentException in the same-numbers mode, for a handed descriptor below 3
     */
    public Handoff prepare(Selector selector) throws IOException {
        byte[] token = new byte[16];
        new SecureRandom().nextBytes(token);
        int pid = (int) ProcessHandle.current().pid();
        List<Integer> handed = new ArrayList<>(named.values());
        List<String> names = new ArrayList<>(named.keySet());
        env.put(ENV_PARENT_PID, Integer.toString(pid));
        env.put(ENV_TOKEN, HexFormat.of().formatHex(token));
        env.put(ENV_POLICY, policy.name());
        if (keepNumbers) {
            for (int fd : handed) if (fd < 3) throw new IllegalArgumentException("descriptor " + fd + " cannot keep its number: 0, 1 and 2 are the child's stdio");
        }
        if (policy != ForkPolicy.DROP) {
            Snapshot snap = snapshot(selector, handed, pid, token);
            entries = snap.entries().size();
            byte[] bytes = snap.encode();
            String inline = Base64.getEncoder().encodeToString(bytes);
            if (inline.length() <= INLINE_LIMIT) {
                env.put(ENV_SNAPSHOT, inline);
            } else {
                memfd = memfd(bytes);
                handed.add(memfd);
                names.add(SNAPSHOT_FD_NAME);
                env.put(ENV_SNAPSHOT_FD, Integer.toString(keepNumbers ? memfd : 3 + handed.size() - 1));
            }
            env.put(ENV_SKIPPED, Integer.toString(skipped));
            // INHERIT (unverified: no FreeBSD host has run it): the kernel copies a CPONFORK kqueue into the child at
            // the same number, knotes and state included, and the same-numbers spawn keeps it open across exec. The
            // kernel copies every knote, so only a plain COPY with no opt-outs can take this path.
            Kqueue kq = selector.kqueue();
            if (keepNumbers && Kqueue.copiesOnFork() && policy == ForkPolicy.COPY && excluded == 0 && (kq.flags() & Kqueue.CPONFORK) != 0) {
                handed.add(kq.fd());
                names.add(KQUEUE_FD_NAME);
                env.put(ENV_KQUEUE_FD, Integer.toString(kq.fd()));
            }
        }
        env.put(ENV_FD_NAMES, String.join(",", names));
        List<String> kinds = new ArrayList<>();
        for (int fd : handed) kinds.add(FdKind.of(fd));
        env.put(ENV_FD_KINDS, String.join(",", kinds));
        if (keepNumbers) {
            List<String> numbers = new ArrayList<>();
            for (int fd : handed) numbers.add(Integer.toString(fd));
            env.put(ENV_FD_NUMBERS, String.join(",", numbers));
        }
        fds.addAll(handed);
        return this;
    }

    private Snapshot snapshot(Selector selector, List<Integer> handed, int pid, byte[] token) throws IOException {
        List<Snapshot.Entry> list = new ArrayList<>();
        java.util.Set<Integer> kqueueFds = new java.util.HashSet<>();
        for (int fd : handed) if (FdKind.isKqueue(fd)) kqueueFds.add(fd);
        Kqueue kq = selector.kqueue();
        boolean withState = Kqueue.exportsKnoteState();
        IOException[] failure = new IOException[1];
        selector.forEachKey(k -> {
            if (failure[0] != null) return;
            boolean fdKnote = !k.isKnote() || k.filter() == EVFILT_VNODE;
            int kinds = k.isKnote() ? 1 : Integer.bitCount(k.interest());
            if (!k.copiesOnFork() || !(fdKnote ? policy.copiesFdKnotes() : policy.copiesNonFdKnotes())) {
                excluded += kinds;
                return;
            }
            if (k.isKnote()) {
                int fdIndex = -1;
                if (k.filter() == EVFILT_VNODE) {
                    fdIndex = handed.indexOf((int) k.ident());
                    if (fdIndex < 0) {
                        skipped++;
                        return;
                    }
                }
                KnoteState st = null;
                if (withState) {
                    try {
                        st = kq.knoteState(k.ident(), k.filter());
                    } catch (KqueueException e) {
                        failure[0] = e;
                        return;
                    }
                    if (st == null) {
                        skipped++;                              // gone from the kernel (a oneshot that fired)
                        return;
                    }
                }
                list.add(st == null
                        ? new Snapshot.Entry(k.ident(), k.filter(), k.knoteFlags(), k.knoteFflags(), k.knoteData(), k.token(), fdIndex)
                        : new Snapshot.Entry(k.ident(), k.filter(), k.knoteFlags(), k.knoteFflags(), k.knoteData(), k.token(), fdIndex,
                                Snapshot.STATE_CAPTURED | st.state(), st.fflags(), st.data(), st.expiryMonotonicNanos()));
                return;
            }
            int fdIndex = handed.indexOf(k.fd());
            // FreeBSD copies a knote on a kqueue only if that kqueue is copied too; an emulated kqueue handed to a
            // child would be shared with it (an epoll instance), not copied, so such knotes never travel.
            if (fdIndex < 0 || kqueueFds.contains(k.fd())) {
                skipped += kinds;
                return;
            }
            if ((k.interest() & Selector.OP_READ) != 0) list.add(new Snapshot.Entry(k.fd(), EVFILT_READ, EV_ADD, 0, 0, k.token(), fdIndex));
            if ((k.interest() & Selector.OP_WRITE) != 0) list.add(new Snapshot.Entry(k.fd(), EVFILT_WRITE, EV_ADD, 0, 0, k.token(), fdIndex));
        });
        if (failure[0] != null) throw failure[0];
        return new Snapshot(pid, token, handed.size(), list);
    }

    private static int memfd(byte[] bytes) throws ErrnoException {
        return Processes.memfd(SNAPSHOT_FD_NAME, bytes);
    }

    /** {@return the variables to add to the child's environment} */
    public Map<String, String> environment() {
        return Map.copyOf(env);
    }

    /** {@return the descriptors to hand, in order (for {@link Spawner.Spec#fds()})} */
    public List<Integer> fds() {
        return List.copyOf(fds);
    }

    /** {@return how many registrations the snapshot holds} */
    public int entries() {
        return entries;
    }

    /** {@return how many registrations were left out because the child cannot have them (descriptor not handed, ...)} */
    public int skipped() {
        return skipped;
    }

    /** {@return how many registrations the policy or a key's opt-out left out} */
    public int excluded() {
        return excluded;
    }

    @Override
    public void close() {
        Fds.closeQuietly(memfd);
        memfd = -1;
    }
}
