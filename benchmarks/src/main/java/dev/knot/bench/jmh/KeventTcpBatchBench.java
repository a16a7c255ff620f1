// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.jmh;

import dev.knot.net.ListenSocket;
import dev.knot.net.StreamSocket;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * {@link KeventFdBatchBench} on loopback TCP instead of AF_UNIX: 256 connections, the accepted ends registered, every
 * 4th with one byte pending. TCP is where EVFILT_READ's exact data can be asked of many sockets at once: with
 * io_uring's socket commands (Linux 6.7+) the 64 FIONREADs of one call become one io_uring_enter
 * ({@code Kqueue.dataQueryPath()}); {@code -Dknot.uring.dataQueries=false} gives the per-event ioctls to compare.
 *
 * <p>The C floors are {@code benchmarks/floor/kevent_floor.c --tcp}: "fd-tcp" (one FIONREAD per event) and
 * "fd-tcp-uring" (one submission of SIOCINQ commands per call).
 */
public class KeventTcpBatchBench extends KeventFdBatchBench {
    private ListenSocket listener;

    @Override
    StreamSocket[] newPair() throws IOException {
        if (listener == null) listener = ListenSocket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), DESCRIPTORS);
        StreamSocket client = StreamSocket.connect(listener.localAddress());
        StreamSocket server = null;
        for (long deadline = System.nanoTime() + 5_000_000_000L; server == null; ) {
            server = listener.accept();
            if (server == null && System.nanoTime() > deadline) throw new IOException("accept timed out");
        }
        if (!client.isConnected() && !client.finishConnect()) throw new IOException("connect did not complete");
        return new StreamSocket[] {server, client};
    }

    @Override
    void awaitDelivered() throws IOException {
        listener.close();
        // Loopback TCP delivers within the sender's write, but wait on the kqueue rather than assume it.
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (kq.kevent(null, 0, events, EVENTS, 0) < READY) {
            if (System.nanoTime() > deadline) throw new IOException("the bytes never arrived on every connection");
            Thread.onSpinWait();
        }
    }
}
