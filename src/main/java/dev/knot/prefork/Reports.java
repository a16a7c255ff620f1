// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import java.util.Locale;

/**
 * The answers of {@code status} and {@code workers}, as text (one fact per line, columns for workers) and as JSON
 * (written by hand: the core depends on nothing but the JDK). Loop thread.
 */
final class Reports {
    private Reports() {}

    static String status(Master m) {
        StringBuilder sb = new StringBuilder();
        sb.append("master ").append(ProcessHandle.current().pid()).append('\n');
        sb.append("state ").append(m.stateName()).append('\n');
        for (Listeners.Listener l : m.listenerList()) sb.append("listen ").append(l.address()).append(" (").append(l.origin()).append(")\n");
        sb.append("workers ").append(running(m)).append('/').append(m.target).append('\n');
        sb.append("ready ").append(ready(m)).append('\n');
        sb.append("generation ").append(m.generation).append('\n');
        sb.append("uptime ").append((System.nanoTime() - m.startedNanos) / 1_000_000_000L).append(" s\n");
        sb.append("requests ").append(requests(m)).append('\n');
        sb.append("open files ").append(FileLimit.name(m.openFiles)).append(" (master)");
        for (Worker x : m.workerList()) sb.append(", ").append(FileLimit.name(x.openFiles)).append(" (worker ").append(x.slot).append(')');
        sb.append('\n');
        if (m.succession.upgrade != null) sb.append("upgrade new master pid ").append(m.succession.upgrade.pid).append(" starting\n");
        return sb.toString();
    }

    static String workers(Master m) {
        StringBuilder sb = new StringBuilder("slot pid generation state uptime_s requests connections heartbeat_ms pss_kb restarts\n");
        long now = System.nanoTime();
        for (Worker x : m.workerList()) {
            sb.append(x.slot).append(' ').append(x.pid).append(' ').append(x.generation).append(' ').append(x.state()).append(' ')
              .append((now - x.started) / 1_000_000_000L).append(' ').append(x.requests).append(' ').append(x.connections).append(' ')
              .append((now - x.lastHeartbeat) / 1_000_000L).append(' ').append(x.pssKb).append(' ').append(x.restarts).append('\n');
        }
        return sb.toString();
    }

    static String statusJson(Master m) {
        Json j = new Json().open();
        j.field("master_pid", ProcessHandle.current().pid()).field("state", m.stateName()).field("generation", m.generation);
        j.field("workers_target", m.target).field("workers_running", running(m)).field("workers_ready", ready(m));
        j.field("workers_starting", m.starting()).field("uptime_ms", (System.nanoTime() - m.startedNanos) / 1_000_000L);
        j.field("requests", requests(m));
        j.field("open_files_limit", m.openFiles);
        j.field("upgrade_pid", m.succession.upgrade == null ? -1 : m.succession.upgrade.pid);
        j.key("listeners").openArray();
        for (Listeners.Listener l : m.listenerList()) {
            j.open().field("address", String.valueOf(l.address())).field("origin", l.origin()).close();
        }
        j.closeArray();
        return j.close().toString() + "\n";
    }

    static String workersJson(Master m) {
        long now = System.nanoTime();
        Json j = new Json().open().key("workers").openArray();
        for (Worker x : m.workerList()) {
            j.open().field("pid", x.pid).field("slot", x.slot).field("generation", x.generation).field("state", x.state());
            j.field("uptime_ms", (now - x.started) / 1_000_000L).field("requests", x.requests).field("max_requests", x.maxRequests);
            j.field("connections", x.connections).field("open_files_limit", x.openFiles).field("pss_kb", x.pssKb).field("gc_count", x.gcCount).field("gc_ms", x.gcMillis);
            j.field("loop_lag_us", x.loopLagMicros).field("heartbeat_age_ms", (now - x.lastHeartbeat) / 1_000_000L);
            j.field("restarts", x.restarts).field("last_restart_reason", x.lastRestartReason).close();
        }
        return j.closeArray().close().toString() + "\n";
    }

    private static long running(Master m) {
        return m.workerList().stream().filter(x -> !x.draining()).count();
    }

    private static long ready(Master m) {
        return m.workerList().stream().filter(Worker::serving).count();
    }

    private static long requests(Master m) {
        return m.workerList().stream().mapToLong(x -> x.requests).sum();
    }

    /** A minimal JSON writer: objects, arrays, strings, numbers, null. */
    static final class Json {
        private final StringBuilder sb = new StringBuilder();
        private boolean first = true;

        Json open() {
            comma();
            sb.append('{');
            first = true;
            return this;
        }

        Json close() {
            sb.append('}');
            first = false;
            return this;
        }

        Json openArray() {
            comma();
            sb.append('[');
            first = true;
            return this;
        }

        Json closeArray() {
            sb.append(']');
            first = false;
            return this;
        }

        Json key(String k) {
            comma();
            string(k);
            sb.append(':');
            first = true;       // the value that follows takes no comma
            return this;
        }

        Json field(String k, long v) {
            key(k);
            sb.append(v);
            first = false;
            return this;
        }

        Json field(String k, String v) {
            key(k);
            if (v == null) sb.append("null");
            else string(v);
            first = false;
            return this;
        }

        private void comma() {
            if (!first) sb.append(',');
        }

        private void string(String s) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    default -> {
                        if (c < 0x20) sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                        else sb.append(c);
                    }
                }
            }
            sb.append('"');
        }

        @Override
        public String toString() {
            return sb.toString();
        }
    }
}
