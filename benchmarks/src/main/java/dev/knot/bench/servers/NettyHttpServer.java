// SPDX-License-Identifier: Apache-2.0
package dev.knot.bench.servers;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The Netty baseline for HTTP plaintext: Netty's native epoll transport with one event loop thread, the standard
 * {@link HttpServerCodec}, and a handler in the style of Netty's TechEmpower entry (pre-built header names and
 * values, header validation off, flush at read-complete so pipelined answers leave in one write). The response is
 * byte-identical to Knot's HTTP example: {@code Server: knot}, {@code Content-Type: text/plain}, {@code Date},
 * {@code Content-Length: 13}, in that order; the Date is refreshed once a second on the loop.
 *
 * <p>Usage: {@code NettyHttpServer [knot|epoll|io_uring|nio] PORT} (epoll when only the port is given)
 */
public final class NettyHttpServer {
    private NettyHttpServer() {}

    static final AsciiString SERVER = AsciiString.cached("Server"), CONTENT_TYPE = AsciiString.cached("Content-Type"),
            DATE = AsciiString.cached("Date"), CONTENT_LENGTH = AsciiString.cached("Content-Length");
    static final AsciiString KNOT = AsciiString.cached("knot"), TEXT_PLAIN = AsciiString.cached("text/plain"),
            HELLO_LENGTH = AsciiString.cached("13"), ZERO = AsciiString.cached("0");
    static final AsciiString CONNECTION = AsciiString.cached("Connection"), CLOSE = AsciiString.cached("close");
    static final byte[] HELLO = "Hello, World!".getBytes(StandardCharsets.US_ASCII);
    static final ByteBuf HELLO_BUF = Unpooled.unreleasableBuffer(Unpooled.directBuffer(HELLO.length).writeBytes(HELLO)).asReadOnly();
    static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);
    static final HttpHeadersFactory TRAILERS = DefaultHttpHeadersFactory.trailersFactory().withValidation(false);

    static volatile AsciiString date = new AsciiString(HttpDate.now());

    @ChannelHandler.Sharable
    static final class Hello extends NettyTransports.FlushingHandler {
        static final Hello INSTANCE = new Hello();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest req) {
                    String uri = req.uri();
                    boolean hello = uri.equals("/plaintext") || uri.equals("/");
                    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                            hello ? HttpResponseStatus.OK : HttpResponseStatus.NOT_FOUND,
                            hello ? HELLO_BUF.duplicate() : Unpooled.EMPTY_BUFFER, HEADERS, TRAILERS);
                    HttpHeaders h = res.headers();
                    h.set(SERVER, KNOT);
                    if (hello) h.set(CONTENT_TYPE, TEXT_PLAIN);
                    h.set(DATE, date);
                    h.set(CONTENT_LENGTH, hello ? HELLO_LENGTH : ZERO);
                    if (HttpUtil.isKeepAlive(req)) {
                        ctx.write(res, ctx.voidPromise());
                    } else {
                        h.set(CONNECTION, CLOSE);
                        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    public static void main(String[] args) throws Exception {
        String transport = NettyTransports.transport(args);
        int port = NettyTransports.port(args);
        EventLoopGroup group = NettyTransports.group(transport, 1);
        group.next().scheduleAtFixedRate(() -> date = new AsciiString(HttpDate.now()), 1, 1, TimeUnit.SECONDS);
        NettyTransports.serve(transport, group, port, "http server", p -> p.addLast(new HttpServerCodec(), Hello.INSTANCE));
    }
}
