// SPDX-License-Identifier: Apache-2.0
package dev.knot.emulation;

import static dev.knot.bindings.linux.errno_h.EINVAL;

import dev.knot.bindings.linux.signal_h;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * The process-wide bridge from JVM signal handling to EVFILT_SIGNAL knotes. The first knote for a signal installs a
 * {@code sun.misc.Signal} handler that counts the delivery on every knote watching it; the last one to go puts the
 * previous handler back. While a signal is watched, its previous handler does not run: for TERM, INT and HUP the
 * JVM's shutdown is replaced by the event (README, "Linux emulation"). Signals the JVM keeps for itself (QUIT, and
 * KILL and STOP, which nobody can catch) are refused with EINVAL.
 */
final class SignalBridge {
    private SignalBridge() {}

    private record Watcher(EpollKqueue kq, Knote kn, long token) {}

    private static final class Subscription implements SignalHandler {
        final Signal signal;
        SignalHandler previous;
        final CopyOnWriteArrayList<Watcher> watchers = new CopyOnWriteArrayList<>();

        Subscription(Signal signal) {
            this.signal = signal;
        }

        @Override
        public void handle(Signal sig) {
            for (Watcher w : watchers) w.kq.signalArrived(w.kn, w.token);
        }
    }

    private static final Map<Integer, Subscription> SUBSCRIPTIONS = new HashMap<>();

    static synchronized int subscribe(EpollKqueue kq, Knote kn) {
        int signo = (int) kn.ident;
        Subscription sub = SUBSCRIPTIONS.get(signo);
        if (sub == null) {
            String name = name(signo);
            if (name == null) return EINVAL;
            try {
                sub = new Subscription(new Signal(name));
                sub.previous = Signal.handle(sub.signal, sub);
            } catch (IllegalArgumentException refusedByTheJvm) {
                return EINVAL;
            }
            SUBSCRIPTIONS.put(signo, sub);
        }
        sub.watchers.add(new Watcher(kq, kn, kn.token));
        return 0;
    }

    static synchronized void unsubscribe(EpollKqueue kq, Knote kn) {
        Subscription sub = SUBSCRIPTIONS.get((int) kn.ident);
        if (sub == null) return;
        sub.watchers.removeIf(w -> w.kq == kq && w.kn == kn && w.token == kn.token);
        if (sub.watchers.isEmpty()) {
            SUBSCRIPTIONS.remove((int) kn.ident);
            Signal.handle(sub.signal, sub.previous);
        }
    }

    /** The name sun.misc.Signal knows the signal by. */
    static String name(int signo) {
        if (signo == signal_h.SIGHUP) return "HUP";
        if (signo == signal_h.SIGINT) return "INT";
        if (signo == signal_h.SIGQUIT) return "QUIT";
        if (signo == signal_h.SIGILL) return "ILL";
        if (signo == signal_h.SIGTRAP) return "TRAP";
        if (signo == signal_h.SIGABRT) return "ABRT";
        if (signo == signal_h.SIGBUS) return "BUS";
        if (signo == signal_h.SIGFPE) return "FPE";
        if (signo == signal_h.SIGKILL) return "KILL";
        if (signo == signal_h.SIGUSR1) return "USR1";
        if (signo == signal_h.SIGSEGV) return "SEGV";
        if (signo == signal_h.SIGUSR2) return "USR2";
        if (signo == signal_h.SIGPIPE) return "PIPE";
        if (signo == signal_h.SIGALRM) return "ALRM";
        if (signo == signal_h.SIGTERM) return "TERM";
        if (signo == signal_h.SIGCHLD) return "CHLD";
        if (signo == signal_h.SIGCONT) return "CONT";
        if (signo == signal_h.SIGSTOP) return "STOP";
        if (signo == signal_h.SIGTSTP) return "TSTP";
        if (signo == signal_h.SIGTTIN) return "TTIN";
        if (signo == signal_h.SIGTTOU) return "TTOU";
        if (signo == signal_h.SIGURG) return "URG";
        if (signo == signal_h.SIGXCPU) return "XCPU";
        if (signo == signal_h.SIGXFSZ) return "XFSZ";
        if (signo == signal_h.SIGVTALRM) return "VTALRM";
        if (signo == signal_h.SIGPROF) return "PROF";
        if (signo == signal_h.SIGWINCH) return "WINCH";
        if (signo == signal_h.SIGIO) return "IO";
        if (signo == signal_h.SIGPWR) return "PWR";
        if (signo == signal_h.SIGSYS) return "SYS";
        return null;
    }
}
