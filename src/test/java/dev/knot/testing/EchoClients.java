// SPDX-License-Identifier: Apache-2.0
package dev.knot.testing;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A separate client process for echo tests: opens N connections to 127.0.0.1:port at once, then sends each a
 * random amount (mostly under 4 KiB, one in ten up to 256 KiB) in random pieces, half-closes, and checks the echo
 * byte for byte. Prints {@code ok <n>} or the first mismatch, and exits 0 only if all matched.
 */
public final class EchoClients {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int clients = Integer.parseInt(args[1]);
        CountDownLatch allConnected = new CountDownLatch(clients);
        List<Future<String>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < clients; i++) {
                long seed = i;
                results.add(pool.submit(() -> {
                    Random r = new Random(seed);
                    int size = 1 + r.nextInt(r.nextInt(10) == 0 ? 256 * 1024 : 4096);
                    byte[] data = new byte[size];
                    r.nextBytes(data);
                    try (Socket s = new Socket()) {
                        s.connect(new InetSocketAddress("127.0.0.1", port), 30_000);
                        allConnected.countDown();
                        if (!allConnected.await(60, TimeUnit.SECONDS)) return "client " + seed + ": not all clients connected";
                        OutputStream out = s.getOutputStream();
                        InputStream in = s.getInputStream();
                        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                            try {
                                for (int off = 0; off < size; ) {
                                    int n = Math.min(size - off, 1 + r.nextInt(8192));
                                    out.write(data, off, n);
                                    off += n;
                                }
                                s.shutdownOutput();
                            } catch (Exception e) {
                                throw new RuntimeException(e);
                            }
                        }, pool);
                        byte[] echoed = in.readAllBytes();
                        writer.get(60, TimeUnit.SECONDS);
                        if (!Arrays.equals(data, echoed)) {
                            return "client " + seed + ": sent " + size + " bytes, got back " + echoed.length + " that differ";
                        }
                        return "ok";
                    }
                }));
            }
            int ok = 0;
            for (Future<String> f : results) {
                String r = f.get(120, TimeUnit.SECONDS);
                if (!r.equals("ok")) {
                    System.out.println(r);
                    System.exit(1);
                }
                ok++;
            }
            System.out.println("ok " + ok);
        }
    }
}
