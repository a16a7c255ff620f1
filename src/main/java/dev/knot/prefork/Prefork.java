// SPDX-License-Identifier: Apache-2.0
package dev.knot.prefork;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An embeddable prefork master: a Java program becomes the master of its own app without the command line.
 *
 * <pre>{@code
 * int status = Prefork.builder()
 *         .listen(new InetSocketAddress("127.0.0.1", 8080))
 *         .workers(4)
 *         .app(MyApp.class)
 *         .build()
 *         .run();          // blocks until the master stops; 0 after a stop, non-zero after a halt
 * }</pre>
 *
 * <p>Workers are new JVMs started with this JVM's {@code java.class.path} plus {@link Builder#classpath}, so an app
 * class given with {@link Builder#app(Class)} must be on one of them (a class defined at run time, or loaded by some
 * other class loader, cannot be found by a worker). Every setting a builder method does not cover is reachable
 * through {@link Builder#options}, which takes the master's command-line options ({@link PreforkConfig#usage()}).
 *
 * <p>Threading: a builder belongs to one thread. {@link Master#run()} runs the master on the calling thread; while it
 * runs, the master handles HUP, TERM, INT, TTIN, TTOU and WINCH in this JVM (TERM and INT no longer end the JVM at
 * once but stop the master, which then returns). Stop it with {@link Master#requestStop(boolean)} from any thread,
 * or with {@code knotctl stop}.
 */
public final class Prefork {
    private Prefork() {}

    /**
     * A builder with the master's defaults ({@link PreforkConfig#defaults()}, {@link AppConfig#defaults()}).
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Collects a master's settings; {@link #build()} checks them. Not thread-safe. */
    public static final class Builder {
        private final List<String> options = new ArrayList<>();
        private String appClass = AppLoader.DEFAULT_APP;
        private final List<Path> classPath = new ArrayList<>();
        private final List<String> appArgs = new ArrayList<>();
        private Path aotCache;

        private Builder() {}

        /** The command-line options collected so far (for tests). */
        List<String> options() {
            return List.copyOf(options);
        }

        /**
         * Adds an address to listen on (the first call replaces the default 127.0.0.1:8080).
         *
         * @param address an {@link InetSocketAddress} (port 0 picks one) or a {@link UnixDomainSocketAddress}
         * @return this builder
         * @throws IllegalArgumentException for another kind of address
         */
        public Builder listen(SocketAddress address) {
            String a = switch (address) {
                case InetSocketAddress i when i.getAddress() instanceof java.net.Inet6Address v6 ->
                        "[" + v6.getHostAddress() + "]:" + i.getPort();
                case InetSocketAddress i -> (i.getAddress() != null ? i.getAddress().getHostAddress() : i.getHostString()) + ":" + i.getPort();
                case UnixDomainSocketAddress u -> "unix:" + u.getPath();
                default -> throw new IllegalArgumentException("cannot listen on a " + address.getClass().getName());
            };
            return options("--listen", a);
        }

        /**
         * Sets the number of workers.
         *
         * @param n 0 to 1024
         * @return this builder
         */
        public Builder workers(int n) {
            return options("--workers", Integer.toString(n));
        }

        /**
         * Sets the directory of the control socket ({@code knotctl --dir DIR}).
         *
         * @param dir a directory only this user may enter (created if missing)
         * @return this builder
         */
        public Builder controlDir(Path dir) {
            return options("--control-dir", dir.toString());
        }

        /**
         * Sets the app by class.
         *
         * @param app a concrete {@link WorkerApp} with a public no-arg constructor, on the workers' class path
         * @return this builder
         */
        public Builder app(Class<? extends WorkerApp> app) {
            return app(app.getName());
        }

        /**
         * Sets the app by binary class name, for a class that is only on {@link #classpath}.
         *
         * @param className the app's binary name
         * @return this builder
         */
        public Builder app(String className) {
            this.appClass = className;
            return this;
        }

        /**
         * Adds jars or class directories the workers load the app from.
         *
         * @param entries existing paths
         * @return this builder
         */
        public Builder classpath(Path... entries) {
            classPath.addAll(List.of(entries));
            return this;
        }

        /**
         * Adds arguments for the app ({@link WorkerContext#args()}).
         *
         * @param args in order
         * @return this builder
         */
        public Builder appArgs(String... args) {
            appArgs.addAll(List.of(args));
            return this;
        }

        /**
         * Trains and uses an AOT cache for the workers' JVMs, kept in {@code dir}.
         *
         * @param dir the cache directory (created if missing)
         * @return this builder
         */
        public Builder aotCache(Path dir) {
            this.aotCache = dir;
            return this;
        }

        /**
         * Adds command-line options of the master, for the settings without a builder method (heartbeats,
         * timeouts, {@code --reuseport}, {@code --worker-jvm-arg}, ...).
         *
         * @param opts options and their values, as on the command line
         * @return this builder
         */
        public Builder options(String... opts) {
            options.addAll(List.of(opts));
            return this;
        }

        /**
         * Checks the settings and the app (as {@link AppLoader#resolve} does) and makes the master; nothing is bound
         * or
         * spawned until {@link Master#run()}.
         *
         * @return the master
         * @throws IllegalArgumentException naming the bad setting, the missing class path entry or what is wrong
         *                                  with the app class
         * @throws dev.knot.kqueue.KqueueException if the master's event loop cannot be opened
         */
        public Master build() throws dev.knot.kqueue.KqueueException {
            PreforkConfig config = PreforkConfig.parse(options.toArray(String[]::new));
            AppConfig app = AppLoader.resolve(new AppConfig(appClass, classPath, appArgs, aotCache));
            return new Master(config, app);
        }
    }
}
