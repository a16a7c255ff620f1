// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import static dev.knot.kqueue.Kevent.EVFILT_PROC;
import static dev.knot.kqueue.Kevent.NOTE_EXIT;

import dev.knot.fork.Inheritance;
import dev.knot.fork.Spawner;
import dev.knot.loop.Selector;
import dev.knot.sys.ErrnoException;
import dev.knot.system.Processes;

import java.io.IOException;
import java.util.List;

/**
 * The master's side of {@code knotctl upgrade} (see {@link Upgrade}): as the old master, the successor it started
 * and what to do when that one is ready or gone; as the new master, the predecessor it takes over from. Loop
 * thread.
 */
final class Succession {
    private final Master m;
    /** The successor started by {@code knotctl upgrade}, while it comes up. */
    Upgrade upgrade;
    /** The handoff from the master this one upgrades (null for a fresh start), and whether it was told "ready". */
    Inheritance predecessor;
    private boolean announced;
    String owner;

    Succession(Master m) {
        this.m = m;
    }

    /** Watches the predecessor (if any) once this master serves its control socket. */
    void started() {
        if (predecessor == null) return;
        int old = predecessor.parentPid();
        Master.log("upgrade: taking over from master " + old + " with its " + m.listeners.size() + " listeners");
        m.loop.watch(old, EVFILT_PROC, 0, NOTE_EXIT, 0, k -> predecessorExited(old));
        m.loop.execute(this::maybeAnnounce);
    }

    /** Kills a successor that is not ready by its deadline (the periodic check). */
    void check(long now) {
        Upgrade u = upgrade;
        if (u == null || u.ready || now - u.deadline <= 0) return;
        Master.log("upgrade: new master pid " + u.pid + " is not ready after " + 2 * m.config.bootTimeout().toMillis() + " ms: killing it");
        try {
            Processes.kill(u.pid, Processes.SIGKILL);
        } catch (ErrnoException e) {
            // exited meanwhile: its NOTE_EXIT reports the failure
        }
    }

    /** A successor whose workers are all ready takes the control socket over and tells its predecessor. */
    void maybeAnnounce() {
        if (predecessor == null || announced || m.state != Master.State.RUNNING) return;
        if (m.workers.values().stream().filter(Worker::serving).count() < m.target) return;
        announced = true;
        try {
            m.control.promote();
        } catch (IOException e) {
           Master.log("upgrade: cannot take the control socket over: " + e.getMessage());
        }
        Upgrade.announce(predecessor);
       Master.log("upgrade: " + m.target + " workers ready; the control socket is " + m.control.path() + "; master " + predecessor.parentPid() + " drains");
    }

    void predecessorExited(int old) {
       Master.log("upgrade: master " + old + " has exited");
        try {
            m.listeners.lockPorts(m.config, owner);
        } catch (IOException e) {
           Master.log("upgrade: " + e.getMessage());
        }
    }

    /** {@code knotctl upgrade}: starts the successor; this master keeps serving until it says it is ready. */
    String startUpgrade(List<String> words) {
        if (m.state != Master.State.RUNNING) return "error: an upgrade needs a running master; it is " + m.stateName() + "\n";
        if (upgrade != null) return "error: an upgrade is in flight (new master pid " + upgrade.pid + ")\n";
        if (predecessor != null && !announced) return "error: this master is still taking over from master " + predecessor.parentPid() + "\n";
        Upgrade u;
        try {
            u = Upgrade.spawn(words, m.listeners, m.template, System.nanoTime() + 2 * m.config.bootTimeout().toNanos());
        } catch (IllegalArgumentException e) {
            return "error: " + e.getMessage() + "\n";
        } catch (IOException e) {
            return "error: cannot start the new master: " + e.getMessage() + "\n";
        }
        upgrade = u;
        u.channelKey = m.loop.register(u.channel, Selector.OP_READ, k -> {
            if (u.read() && upgrade == u) upgraded(u);
        });
        u.procKey = m.loop.watch(u.pid, EVFILT_PROC, 0, NOTE_EXIT, 0, k -> upgradeExited(u, (int) k.eventData()));
       Master.log("upgrade: started new master pid " + u.pid);
        return "upgrading: new master pid " + u.pid + "\n";
    }

    private void upgraded(Upgrade u) {
       Master.log("upgrade: new master pid " + u.pid + " serves; this master drains its workers and exits");
        u.close();
        upgrade = null;
        m.stop(false);
    }

    private void upgradeExited(Upgrade u, int status) {
        try {
            int reaped = Spawner.reap(u.pid, false);
            if (reaped >= 0) status = reaped;
        } catch (IOException e) {
            // reaped already
        }
        if (upgrade != u) return;
        upgrade = null;
        u.close();
        String how = Spawner.termSignal(status) != 0 ? "killed by signal " + Spawner.termSignal(status) : "exit code " + Spawner.exitCode(status);
       Master.log("upgrade failed: new master pid " + u.pid + " exited (" + how + ") before its workers were ready; this master keeps serving");
    }
}
