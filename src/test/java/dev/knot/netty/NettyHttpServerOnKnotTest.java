// SPDX-License-Identifier: Apache-2.0
package dev.knot.netty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.channel.IoHandlerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A Netty HTTP server written as any Netty user writes one (HttpServerCodec, HttpObjectAggregator and a handler in
 * the style of Netty's hello-world example), started on Knot by changing two lines: the event loop group's factory
 * and the server channel class. The same server on NIO is the reference: both must give exactly the bytes expected.
 */
class NettyHttpServerOnKnotTest {
    /** The user's handler: answers each request with its method, URI and body length. */
    static final class HelloHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            byte[] body = (req.method() + " " + req.uri() + " " + req.content().readableBytes() + "\n").getBytes(StandardCharsets.US_ASCII);
            FullHttpResponse response = new DefaultFullHttpResponse(req.protocolVersion(), HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            if (keepAlive) {
                if (!req.protocolVersion().isKeepAliveDefault()) response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            } else {
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            ChannelFuture f = ctx.write(response);
            if (!keepAlive) f.addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** The server as its user wrote it; {@code factory} and {@code channel} are the two lines that change. */
    static Channel startServer(EventLoopGroup group, Class<? extends ServerChannel> channel) throws InterruptedException {
        return new ServerBootstrap().group(group).channel(channel)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec()).addLast(new HttpObjectAggregator(1 << 20)).addLast(new HelloHandler());
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    private static String expected(String method, String uri, int bodyLength, String connection) {
        String body = method + " " + uri + " " + bodyLength + "\n";
        return "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: " + body.length() + "\r\n"
                + (connection == null ? "" : "connection: " + connection + "\r\n") + "\r\n" + body;
    }

    private static byte[] request(int i) {
        String body = i % 3 == 0 ? "" : "x".repeat(i % 50);
        String head = (body.isEmpty() ? "GET" : "POST") + " /r/" + i + " HTTP/1.1\r\nHost: localhost\r\n"
                + (body.isEmpty() ? "" : "Content-Length: " + body.length() + "\r\n") + "\r\n";
        return (head + body).getBytes(StandardCharsets.US_ASCII);
    }

    private static String expectedFor(int i) {
        int len = i % 3 == 0 ? 0 : i % 50;
        return expected(len == 0 ? "GET" : "POST", "/r/" + i, len, null);
    }

    private static byte[] readExactly(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        assertEquals(n, b.length, "the server closed the connection early");
        return b;
    }

    private static void check(Class<? extends ServerChannel> channel, IoHandlerFactory factory, Check body) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, factory);
        try {
            Channel server = startServer(group, channel);
            try (Socket s = new Socket()) {
                s.setTcpNoDelay(true);
                s.setSoTimeout(20_000);
                s.connect(server.localAddress());
                body.run(s.getInputStream(), s.getOutputStream());
            } finally {
                server.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
    }

    @FunctionalInterface
    interface Check {
        void run(InputStream in, OutputStream out) throws Exception;
    }

    private static IoHandlerFactory factory(String transport) {
        return transport.equals("knot") ? KnotIoHandler.newFactory() : NioIoHandler.newFactory();
    }

    private static Class<? extends ServerChannel> channel(String transport) {
        return transport.equals("knot") ? KnotServerSocketChannel.class : NioServerSocketChannel.class;
    }

    @ParameterizedTest
    @ValueSource(strings = {"knot", "nio"})
    void keepAliveAnswersEachRequestOnOneConnection(String transport) throws Exception {
        check(channel(transport), factory(transport), (in, out) -> {
            for (int i = 0; i < 20; i++) {
                out.write(request(i));
                out.flush();
                byte[] want = expectedFor(i).getBytes(StandardCharsets.US_ASCII);
                assertArrayEquals(want, readExactly(in, want.length), "response " + i);
            }
            out.write("GET /bye HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] want = expected("GET", "/bye", 0, "close").getBytes(StandardCharsets.US_ASCII);
            assertArrayEquals(want, readExactly(in, want.length));
            assertEquals(-1, in.read(), "Connection: close must close the connection");
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"knot", "nio"})
    void answers2000PipelinedRequestsInOrder(String transport) throws Exception {
        int n = 2000;
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        StringBuilder want = new StringBuilder();
        for (int i = 0; i < n; i++) {
            all.writeBytes(request(i));
            want.append(expectedFor(i));
        }
        byte[] wantBytes = want.toString().getBytes(StandardCharsets.US_ASCII);
        check(channel(transport), factory(transport), (in, out) -> {
            // Written from another thread: the server answers while we are still sending.
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    out.write(all.toByteArray());
                    out.flush();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            byte[] got = readExactly(in, wantBytes.length);
            writer.get(20, TimeUnit.SECONDS);
            assertArrayEquals(wantBytes, got);
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"knot", "nio"})
    void requestsSplitAtEveryByte(String transport) throws Exception {
        check(channel(transport), factory(transport), (in, out) -> {
            byte[] req = request(7);
            byte[] want = expectedFor(7).getBytes(StandardCharsets.US_ASCII);
            for (int k = 1; k < req.length; k++) {
                out.write(req, 0, k);
                out.flush();
                out.write(req, k, req.length - k);
                out.flush();
                assertArrayEquals(want, readExactly(in, want.length), "split at byte " + k);
            }
            for (byte b : req) {                          // and one byte per write
                out.write(b);
                out.flush();
            }
            assertArrayEquals(want, readExactly(in, want.length), "one byte per write");
        });
    }
}
