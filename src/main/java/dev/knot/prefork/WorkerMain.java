package dev.knot.prefork;

import static dev.knot.kqueue.Kevent.EVFILT_PROC;
import static dev.knot.kqueue.Kevent.EVFILT_TIMER;
import static dev.knot.kqueue.Kevent.NOTE_EXIT;

import dev.knot.examples.http.HttpServer;
import dev.knot.fork.Inheritance;
import dev.knot.fork.Restoration;
import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A prefork worker: takes the listeners and control channel its master handed it, restores the master's
 * registrations (fork policy COPY) into its own loop, serves HTTP, reports ready and then heartbeats, and drains on
 * the master's word. It exits when the master dies: the control channel reaches EOF and EVFILT_PROC reports the
 * master's exit, whichever comes first.
 *
 * <p>Test hooks (arguments): {@code --crash-on-start} exits with status 1 at once; {@code --hang-after-ms N} stops
 * heartbeating and blocks its loop after N ms.
 */
public final class WorkerMain {
    private WorkerMain() {}

    private static int slot;

    private static void log(String msg) {
        System.err.println(Instant.now() + " knot-worker-" + slot + "[" + ProcessHandle.current().pid() + "]: " + msg);
    }

    public static void main(String[] args) throws Exception {
        long heartbeatMs = 1000;
        long hangAfter = -1;
        List<String> httpOptions = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (HttpServer.Config.isOption(args[i]) && i + 1 < args.length) {
                httpOptions.add(args[i]);
                httpOptions.add(args[++i]);
                continue;
            }
            switch (args[i]) {
                case "--slot" -> slot = Integer.parseInt(args[++i]);
                case "--generation" -> i++;
                case "--heartbeat-ms" -> heartbeatMs = Long.parseLong(args[++i]);
                case "--crash-on-start" -> {
                    log("crashing on start (test hook)");
                    System.exit(1);
                }
                case "--hang-after-ms" -> hangAfter = Long.parseLong(args[++i]);
                default -> throw new IllegalArgumentException("unknown worker option " + args[i]);
            }
        }
        HttpServer.Config httpConfig = HttpServer.Config.defaults().with(httpOptions);
        Inheritance in = Inheritance.fromEnvironment();
        EventLoop loop = EventLoop.open();
        Restoration restored = in.restore(loop.selector());
        StreamSocket channel = StreamSocket.adopt(in.fd(Master.CONTROL_FD));
        List<HttpServer> servers = new ArrayList<>();
        long[] lastStats = new long[2];

        for (int i = 0; ; i++) {
            int fd = in.fd(Master.LISTEN_FD + i);
            if (fd < 0) break;
            ListenSocket l = ListenSocket.adopt(fd);
            Key restoredKey = restored.keys().stream().filter(k -> !k.isKnote() && k.fd() == fd).findFirst().orElse(null);
            servers.add(restoredKey != null ? HttpServer.start(loop, l, httpConfig, restoredKey)
                    : HttpServer.start(loop, l, httpConfig));
        }

        Runnable heartbeat = () -> {
            long requests = 0, open = 0;
            for (HttpServer s : servers) {
                requests += s.requests();
                open += s.openConnections();
            }
            lastStats[0] = requests;
            lastStats[1] = open;
            send(channel, "hb " + requests + " " + open);
        };
        Key heartbeatKey = restored.keys().stream().filter(k -> k.isKnote() && k.filter() == EVFILT_TIMER && k.ident() == Master.HEARTBEAT_TIMER)
                .findFirst().orElse(null);
        if (heartbeatKey != null) {
            loop.attach(heartbeatKey, k -> heartbeat.run());      // the master's timer, copied into this kqueue
        } else {
            loop.scheduleAtFixedRate(heartbeat, heartbeatMs, heartbeatMs, TimeUnit.MILLISECONDS);
        }

        // Commands from the master; EOF means it is gone.
        StringBuilder input = new StringBuilder();
        loop.register(channel, Selector.OP_READ, k -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(256);
                while (true) {
                    int n = channel.read(buf);
                    if (n == 0) break;
                    if (n < 0) {
                        log("master closed the control channel: exiting");
                        loop.shutdownNow();
                        return;
                    }
                    input.append(new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII));
                }
            }
            int nl;
            while ((nl = input.indexOf("\n")) >= 0) {
                String cmd = input.substring(0, nl);
                input.delete(0, nl + 1);
                if (cmd.equals("drain")) {
                    log("draining");
                    int[] left = {servers.size()};
                    if (left[0] == 0) loop.shutdownGracefully();
                    for (HttpServer s : servers) {
                        s.drain(() -> {
                            if (--left[0] == 0) loop.shutdownGracefully();
                        });
                    }
                }
            }
        });
        loop.watch(in.parentPid(), EVFILT_PROC, 0, NOTE_EXIT, 0, k -> {
            log("master " + in.parentPid() + " exited: exiting");
            loop.shutdownNow();
        });
        if (hangAfter >= 0) {
            loop.schedule(() -> {
                log("hanging (test hook)");
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, hangAfter, TimeUnit.MILLISECONDS);
        }
        send(channel, "ready");
        log("ready: " + restored.method() + " (" + restored.registered() + " registrations, " + restored.keventNanos() / 1000 + " us)");
        loop.run();
        System.exit(0);
    }

    private static void send(StreamSocket channel, String line) {
        try (Arena a = Arena.ofConfined()) {
            byte[] b = (line + "\n").getBytes(StandardCharsets.US_ASCII);
            MemorySegment m = a.allocate(b.length);
            MemorySegment.copy(b, 0, m, ValueLayout.JAVA_BYTE, 0, b.length);
            channel.write(m);
        } catch (IOException e) {
            // the master is gone: the EOF or NOTE_EXIT handler ends this worker
        }
    }
}
