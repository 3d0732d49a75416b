import HTTPTypes
package import NIOCore
package import NIOHTTP1
import SpeedoHTTP

/// One connection of the HTTP ingestion API, behind SwiftNIO's HTTP/1.1 parser (`RawHTTPListener`; why raw NIO and
/// not Hummingbird is decided in `SpeedoHTTP`).
///
/// Everything runs on the connection's event loop; only the delivery report comes from elsewhere (the producer's
/// poll thread), and the answer is written after one hop back. Requests never pass through a Swift task.
///
/// Pipelined requests are kept here, in order, until the one before is answered. NIO's pipelining handler would do
/// it too, but it stops reading the socket while any response is pending, and resuming cost two `epoll_ctl` calls
/// per request (bench/README.md). Reading stops only when a client has sent `maximumQueuedParts` ahead.
///
/// A client that sends requests without reading the answers would otherwise make the server keep every answer: while
/// the socket is not writable (NIO's write buffer is past its high-water mark), requests wait in the queue unanswered,
/// so that such a client holds at most one buffer of answers, one read of requests and `maximumQueuedParts`.
package final class IngestHTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = HTTPServerRequestPart
    package typealias OutboundIn = HTTPServerResponsePart
    package typealias OutboundOut = HTTPServerResponsePart

    private struct Exchange {
        var request: IngestHTTPRequest
        var version: HTTPVersion
        var keepAlive: Bool
        var received: ContinuousClock.Instant
    }

    private enum State {
        case idle
        case readingBody(Exchange, SpeedBodyFormat, ByteBuffer?)
        /// Waiting for the broker's acknowledgements.
        case awaitingDelivery(Exchange)
        /// Answered from the head, or once the body passed `--max-body`: the rest of the request is read and dropped,
        /// and the connection stays usable. The client need not send a body it was refused.
        case discardingBody
    }

    /// Request parts a client may send ahead of its answers before the socket is no longer read.
    package static let maximumQueuedParts = 64

    private let responder: IngestHTTPResponder
    private var state = State.idle
    /// Parts of pipelined requests that arrived while a request was waiting for its delivery, or while the client left
    /// its answers unread.
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    /// A read was asked for while the queue was full.
    private var readHeldBack = false
    /// The server is shutting down: the connection closes as soon as no request is in progress.
    private var closeWhenIdle = false
    /// False once the connection is gone, so that a late delivery report writes nothing.
    private var isActive = true

    package init(responder: IngestHTTPResponder) {
        self.responder = responder
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if !isAwaitingDelivery, queued.isEmpty, context.channel.isWritable {
            process(part, context: context)
            finishTurn(context: context)
        } else {
            queued.append(part)
        }
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            takeUpQueued(context: context)
            finishTurn(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    package func read(context: ChannelHandlerContext) {
        if queued.count >= Self.maximumQueuedParts {
            readHeldBack = true
        } else {
            context.read()
        }
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        closeWhenIdle = true
        finishTurn(context: context)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func process(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch (part, state) {
        case (.head(let head), .idle):
            var exchange = Exchange(
                request: Self.request(of: head), version: head.version, keepAlive: head.isKeepAlive,
                received: .now)
            // curl asks before sending a body over 1 KiB, and waits a second for the answer otherwise.
            let expectsContinue = head.headers.first(name: "expect")?.lowercased() == "100-continue"
            context.triggerUserOutboundEvent(HTTPConnectionActivity.requestHeadReceived, promise: nil)
            switch responder.admit(exchange.request) {
            case .readBody(let format):
                state = .readingBody(exchange, format, nil)
                if expectsContinue {
                    let proceed = HTTPResponseHead(version: head.version, status: .continue)
                    context.writeAndFlush(wrapOutboundOut(.head(proceed)), promise: nil)
                }
            case .answer(let answer):
                // A client told no before it sent its body may never send it: the connection cannot be reused.
                if expectsContinue { exchange.keepAlive = false }
                state = .discardingBody
                write(answer, for: exchange, context: context)
            }
        case (.body(var part), .readingBody(let exchange, let format, var body)):
            guard (body?.readableBytes ?? 0) + part.readableBytes <= responder.settings.maximumBodySize else {
                state = .discardingBody
                return write(responder.tooLarge(), for: exchange, context: context)
            }
            // The usual body arrives in one part: kept as it is, not copied.
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
            state = .readingBody(exchange, format, body)
        case (.end, .readingBody(let exchange, let format, let body)):
            state = .awaitingDelivery(exchange)
            context.triggerUserOutboundEvent(HTTPConnectionActivity.requestReceived, promise: nil)
            let eventLoop = context.eventLoop
            let connection = NIOLoopBound((self, context), eventLoop: eventLoop)
            responder.ingest(body ?? ByteBuffer(), format: format) { answer in
                if eventLoop.inEventLoop {
                    connection.value.0.delivered(answer, for: exchange, context: connection.value.1)
                } else {
                    eventLoop.execute { connection.value.0.delivered(answer, for: exchange, context: connection.value.1) }
                }
            }
        case (.body, .discardingBody):
            break
        case (.end, .discardingBody):
            state = .idle
        case (.head, _), (.body, _), (.end, _):
            // The parser delivers a request's parts in order, and pipelined requests wait in `queued`.
            preconditionFailure("HTTP request part out of order in state \(state)")
        }
    }

    private func delivered(_ answer: HTTPAnswer, for exchange: Exchange, context: ChannelHandlerContext) {
        write(answer, for: exchange, context: context)
        state = .idle
        takeUpQueued(context: context)
        finishTurn(context: context)
    }

    private var isAwaitingDelivery: Bool {
        if case .awaitingDelivery = state { true } else { false }
    }

    /// Takes up the requests that arrived meanwhile, in order, until one has to wait for its delivery or the client
    /// for its answers.
    private func takeUpQueued(context: ChannelHandlerContext) {
        while isActive, !isAwaitingDelivery, context.channel.isWritable, let part = queued.popFirst() {
            process(part, context: context)
        }
    }

    /// Reads again once the queue has room, and tells the deadlines (or, shutting down, closes) once nothing is left
    /// to answer.
    private func finishTurn(context: ChannelHandlerContext) {
        if readHeldBack, queued.count < Self.maximumQueuedParts {
            readHeldBack = false
            context.read()
        }
        guard isActive, case .idle = state, queued.isEmpty else { return }
        if closeWhenIdle {
            context.close(promise: nil)
        } else {
            context.triggerUserOutboundEvent(HTTPConnectionActivity.awaitingRequest, promise: nil)
        }
    }

    private func write(_ answer: HTTPAnswer, for exchange: Exchange, context: ChannelHandlerContext) {
        responder.answered(exchange.request, status: answer.status, received: exchange.received)
        guard isActive else { return }
        var headers = HTTPHeaders()
        for field in answer.headers { headers.add(name: field.name.rawName, value: field.value) }
        headers.add(name: "Content-Length", value: String(answer.body.count))
        if !exchange.keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if exchange.version == .http1_0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let status = HTTPResponseStatus(statusCode: answer.status.code, reasonPhrase: answer.status.reasonPhrase)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: exchange.version, status: status, headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer.body)))), promise: nil)
        guard !exchange.keepAlive else { return context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil) }
        isActive = false
        queued.removeAll()
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    private static func request(of head: HTTPRequestHead) -> IngestHTTPRequest {
        let uri = Substring(head.uri)
        return IngestHTTPRequest(
            // The parser lets only tokens through as methods, and every token is a valid method here.
            method: HTTPRequest.Method(head.method.rawValue)!,
            path: uri.prefix { $0 != "?" },
            contentType: head.headers.first(name: "content-type"),
            contentLength: head.headers.first(name: "content-length").flatMap { Int($0) },
            authorization: head.headers.first(name: "authorization"), host: head.headers.first(name: "host"),
            origin: head.headers.first(name: "origin"))
    }
}
