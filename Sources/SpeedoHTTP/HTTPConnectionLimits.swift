import Glibc
package import HummingbirdCore
package import NIOCore
import SpeedoCore
import SpeedoRuntime

/// What the clients of an HTTP server may hold of it: how many connections are served at once, how long a connection may
/// wait between requests, and how long a request's head may take to arrive. Together with reading no more from a
/// client whose answers are not drained, they bound a server's memory and descriptors whatever its clients do.
package struct HTTPConnectionLimits: Sendable {
    /// Connections beyond it wait in the kernel's accept queue until one closes (no descriptor, no memory here).
    package var maximumConnections: Int
    /// A connection with no request in progress, or whose client does not read its answers, is closed after this.
    package var idleTimeout: Duration
    /// A request's head (request line and headers) must be complete within this of its first byte.
    package var headerTimeout: Duration

    package static let standard = HTTPConnectionLimits(
        maximumConnections: defaultMaximumConnections, idleTimeout: .seconds(60), headerTimeout: .seconds(10))

    /// Descriptors kept for what is not a client: the brokers, the database, files, the listening socket.
    package static let reservedDescriptors = 64

    /// As many connections as the process may open descriptors (`ulimit -n`) less `reservedDescriptors`: accepting
    /// more would fail anyway, and fail for everything else the server opens too.
    package static let defaultMaximumConnections: Int = {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return 1 << 16 }
        return max(16, Int(clamping: limit.rlim_cur) - reservedDescriptors)
    }()
}

/// What the HTTP handler behind `HTTPConnectionDeadlines` tells it, as outbound user events.
package enum HTTPConnectionActivity: Sendable {
    /// A request's head is complete: its body, if any, must keep coming (`idleTimeout` between its bytes).
    case requestHeadReceived
    /// The whole request is in: no deadline runs while it is answered (the server bounds that itself).
    case requestReceived
    /// Every request is answered: the idle timeout runs until the next request's first byte.
    case awaitingRequest
    /// Later requests are timed by the server's own handlers: the deadlines end here.
    case handedOver
}

/// Closes a connection that waits too long: idle between requests (`idleTimeout`), in the middle of a request's head
/// (`headerTimeout`, against clients that send their headers a byte at a time), silent in the middle of a body, or
/// unwritable because its client does not read its answers (`idleTimeout`). First in the pipeline, it sees the bytes as they arrive; the HTTP
/// handler tells it where requests begin and end (`HTTPConnectionActivity`).
package final class HTTPConnectionDeadlines: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = ByteBuffer
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    private enum Phase {
        case awaitingRequest
        case readingHead
        case readingBody
        case answering
    }

    private let idleTimeout: TimeAmount
    private let headerTimeout: TimeAmount
    private var phase = Phase.awaitingRequest
    /// When the connection is closed unless something happens; nil: no deadline.
    private var deadline: NIODeadline?
    /// One timer, moved when it fires before the deadline or would fire after it: requests move the deadline several
    /// times each, mostly later, and rescheduling a timer every time would cost the event loop more than the request.
    private var timer: (task: Scheduled<Void>, firesAt: NIODeadline)?

    package init(limits: HTTPConnectionLimits) {
        idleTimeout = TimeAmount(limits.idleTimeout)
        headerTimeout = TimeAmount(limits.headerTimeout)
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { rearm(context: context) }
    }

    package func channelActive(context: ChannelHandlerContext) {
        rearm(context: context)
        context.fireChannelActive()
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
    }

    package func channelInactive(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .awaitingRequest:
            phase = .readingHead
            rearm(context: context)
        case .readingBody:
            rearm(context: context)
        case .readingHead, .answering:
            break
        }
        context.fireChannelRead(data)
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        rearm(context: context)
        context.fireChannelWritabilityChanged()
    }

    package func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let activity = event as? HTTPConnectionActivity else {
            return context.triggerUserOutboundEvent(event, promise: promise)
        }
        promise?.succeed()
        switch activity {
        case .requestHeadReceived:
            phase = .readingBody
        case .requestReceived:
            phase = .answering
        case .awaitingRequest:
            phase = .awaitingRequest
        case .handedOver:
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        rearm(context: context)
    }

    private func rearm(context: ChannelHandlerContext) {
        let timeout: TimeAmount
        if !context.channel.isWritable {
            timeout = idleTimeout
        } else {
            switch phase {
            case .awaitingRequest, .readingBody: timeout = idleTimeout
            case .readingHead: timeout = headerTimeout
            case .answering:
                deadline = nil
                return
            }
        }
        let next = NIODeadline.now() + timeout
        deadline = next
        if let timer {
            guard timer.firesAt > next else { return }
            timer.task.cancel()
        }
        schedule(at: next, context: context)
    }

    private func schedule(at time: NIODeadline, context: ChannelHandlerContext) {
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: time) { [self] in
            timer = nil
            guard let deadline else { return }
            if deadline <= .now() {
                context.close(promise: nil)
            } else {
                schedule(at: deadline, context: context)
            }
        }
        timer = (task, time)
    }
}

extension HTTPConnectionLimits {
    /// The handler of a listening socket that stops accepting at `maximumConnections`.
    package func makeAcceptLimiter() -> AvailableConnectionsChannelHandler<MaximumAvailableConnections> {
        AvailableConnectionsChannelHandler(maxConnections: maximumConnections)
    }
}
