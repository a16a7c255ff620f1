// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import dev.knot.loop.EventLoop;
import dev.knot.loop.Key;
import dev.knot.loop.Selector;
import dev.knot.net.ListenSocket;

import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;

/**
 * A program that is the master of its own app through {@link Prefork#builder()}: two workers of {@link Greeting}; the
 * master's command-line options in {@code args} (the test's --listen and --control-dir) go through {@link Prefork.Builder#options}.
 */
public final class EmbeddedMaster {
    private EmbeddedMaster() {}

    /** Answers every connection with {@code embedded slot N args [...]} and closes it. */
    public static final class Greeting implements WorkerApp {
        @Override
        public void start(WorkerContext ctx) {
            for (int i = 0; i < ctx.listeners().size(); i++) {
                ListenSocket l = ctx.listeners().get(i);
                EventLoop.Handler h = k -> l.acceptAll(ctx.loop(), k, s -> {
                    try (Arena a = Arena.ofConfined(); s) {
                        String line = "embedded slot " + ctx.slot() + " args " + ctx.args() + "\n";
                        s.write(a.allocateFrom(line, StandardCharsets.US_ASCII).asSlice(0, line.length()));
                    }
                    ctx.requestDone();
                });
                Key key = ctx.listenKey(i);
                if (key != null) ctx.loop().attach(key, h);
                else ctx.loop().register(l.fd(), Selector.OP_READ, h);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Master master = Prefork.builder()
                .workers(2)
                .app(Greeting.class)
                .appArgs("from", "the builder")
                .options(args)
                .build();
        System.exit(master.run());
    }
}
