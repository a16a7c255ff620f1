// SPDX-License-Identifier: Apache-2.0
package dev.knot.examples.http;

import dev.knot.loop.Key;
import dev.knot.net.ListenSocket;
import dev.knot.prefork.WorkerApp;
import dev.knot.prefork.WorkerContext;

import java.util.ArrayList;
import java.util.List;

/**
 * The example HTTP server ({@link HttpServer}) as a prefork {@link WorkerApp}: one server per listener the master
 * handed the worker, attached to the READ key restored from the master's snapshot where there is one. It is what
 * the prefork master runs when no {@code --app} is given. Its arguments are the options of
 * {@link HttpServer.Config#with} ({@code --max-connections N}, {@code --header-timeout-ms MS},
 * {@code --idle-timeout-ms MS}, {@code --body-timeout-ms MS}, ...), which the master also takes directly.
 */
public final class HttpApp implements WorkerApp {
    private final List<HttpServer> servers = new ArrayList<>();

    /** Instantiated by the worker. */
    public HttpApp() {}

    @Override
    public void start(WorkerContext ctx) {
        List<ListenSocket> listeners = ctx.listeners();
        HttpServer.Config config = HttpServer.Config.defaults().with(ctx.args());
        for (int i = 0; i < listeners.size(); i++) {
            Key key = ctx.listenKey(i);
            HttpServer s = key != null ? HttpServer.start(ctx.loop(), listeners.get(i), config, key)
                    : HttpServer.start(ctx.loop(), listeners.get(i), config);
            s.observe(ctx::requestDone, () -> ctx.connections(servers.stream().mapToInt(HttpServer::openConnections).sum()));
            servers.add(s);
        }
    }

    /** Every server stops accepting and answers what is in flight; {@code done} runs when the last connection closed. */
    @Override
    public void drain(Runnable done) {
        int[] left = {servers.size()};
        if (left[0] == 0) done.run();
        for (HttpServer s : servers) {
            s.drain(() -> {
                if (--left[0] == 0) done.run();
            });
        }
    }
}
