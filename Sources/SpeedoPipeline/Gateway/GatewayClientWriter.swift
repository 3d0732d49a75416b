package import NIOCore
package import NIOWebSocket
import SpeedoCore
import SpeedoRuntime
import Synchronization

/// The clients of one event loop, and the one pending task that writes the log's new entries to all of them.
///
/// Everything about a client but its close request lives on its event loop: `scheduleWriting` (from any thread) only
/// makes sure that one writing pass is queued there.
package final class GatewayLoopClients: Sendable {
    package let eventLoop: any EventLoop
    /// Weak: the hub owns this, and a pass still queued when the gateway shuts down may run after the hub is gone.
    private weak let hub: GatewayHub?
    /// Empty (nil) until the first client: the box is made off the loop.
    private let clients: NIOLoopBoundBox<[ObjectIdentifier: GatewayClientWriter]?>
    private let passQueued = Atomic<Bool>(false)

    package init(eventLoop: any EventLoop, hub: GatewayHub) {
        self.eventLoop = eventLoop
        self.hub = hub
        clients = NIOLoopBoundBox.makeEmptyBox(valueType: [ObjectIdentifier: GatewayClientWriter].self, eventLoop: eventLoop)
    }

    /// Queues a writing pass on the event loop unless one is queued already: a pass started after this call sees the
    /// log as it is now.
    package func scheduleWriting() {
        guard !passQueued.exchange(true, ordering: .acquiringAndReleasing) else { return }
        eventLoop.execute { [self] in
            passQueued.store(false, ordering: .releasing)
            guard let hub else { return }
            let log = hub.log
            let now = hub.now
            var totals = GatewayClientWriter.Totals()
            for client in (clients.value ?? [:]).values { client.write(log, now: now, totals: &totals) }
            hub.metrics.countSent(totals.sent)
            hub.metrics.countCoalesced(totals.coalesced)
        }
    }

    /// On the event loop.
    package func add(_ client: GatewayClientWriter) {
        if clients.value == nil { clients.value = [:] }
        clients.value?[ObjectIdentifier(client)] = client
    }

    /// On the event loop.
    package func remove(_ client: GatewayClientWriter) {
        clients.value?[ObjectIdentifier(client)] = nil
    }
}

/// A client's close request, from its event loop (which decides that it is too slow) to its task (which sends the
/// close frame through the WebSocket library, whose state machine it belongs to).
package final class GatewayCloseRequest: Sendable {
    private struct State {
        var request: (code: WebSocketErrorCode, reason: String)?
        var waiter: CheckedContinuation<(WebSocketErrorCode, String)?, Never>?
        var cancelled = false
    }

    private let state = Mutex(State())

    /// Returns false when a close was requested already.
    package func request(code: WebSocketErrorCode, reason: String) -> Bool {
        let (first, waiter) = state.withLock { state -> (Bool, CheckedContinuation<(WebSocketErrorCode, String)?, Never>?) in
            guard state.request == nil, !state.cancelled else { return (false, nil) }
            state.request = (code, reason)
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        waiter?.resume(returning: (code, reason))
        return first
    }

    /// Waits for a close request: the code and reason to send, or nil when the task was cancelled (the connection
    /// is going away).
    package func wait() async -> (WebSocketErrorCode, String)? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> (WebSocketErrorCode, String)?? in
                    if let request = state.request { return .some((request.code, request.reason)) }
                    if state.cancelled { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                state.cancelled = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}

/// Writes one client's updates straight to its socket, as frames encoded once for every client (`GatewayUpdate`), a
/// batch per flush, on the channel's event loop: no task, actor or async writer per message, which at a thousand
/// clients cost more than the rest of the gateway.
///
/// The client's place in the shared log is its cursor. When its socket is full (NIO reports the channel not
/// writable), nothing is written and the cursor stays: the entries behind it age, newer states of a sensor replace
/// older ones in what it will get (`GatewayUpdateLog`), and once the oldest has waited longer than the hub's
/// `maxLag` the client is closed with a reason. The entries it was sent last may still wait in the channel's outbound
/// buffer with nothing behind them in the log: a socket that stays full for longer than `maxLag` closes the client
/// too. A socket that drains again resumes the writing at once.
///
/// It sits first in the pipeline, next to the socket, so its frames skip the WebSocket encoder. That is sound
/// because the gateway's WebSocket has no extensions (nothing to apply to a frame on its way out) and server frames
/// are not masked. Pings, pongs and the close frame still go through the WebSocket library.
package final class GatewayClientWriter: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    package struct Totals {
        package var sent = 0
        package var coalesced = 0
    }

    private let subscription: GatewaySubscription
    private let hub: GatewayHub
    private let closeRequest: GatewayCloseRequest
    private var context: ChannelHandlerContext?
    private var loopClients: GatewayLoopClients?
    private var cursor = 0
    /// Since when the socket has been full (`hub.now`), nil while it takes more.
    private var fullSince: Duration?
    private var closing = false
    /// Which sensors this client selected, decided once per sensor (glob matching is not free).
    private var selected: [String: Bool] = [:]
    private let selectsEverything: Bool

    /// How long a client being closed for lag has to take its close frame before the connection is cut.
    package static let closeGrace = TimeAmount.seconds(1)

    package init(subscription: GatewaySubscription, hub: GatewayHub, closeRequest: GatewayCloseRequest) {
        self.subscription = subscription
        self.hub = hub
        self.closeRequest = closeRequest
        selectsEverything = subscription.sensorIDs.isEmpty && subscription.glob == nil
    }

    /// Joins the hub and sends the snapshot.
    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let (loopClients, snapshot, cursor) = hub.register(on: context.eventLoop)
        self.loopClients = loopClients
        self.cursor = cursor
        loopClients.add(self)
        var totals = Totals()
        send(snapshot.filter { isSelected($0.sensorID) }, totals: &totals)
        hub.metrics.countSent(totals.sent)
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        loopClients?.remove(self)
        loopClients = nil
        self.context = nil
        hub.unregister()
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        fullSince = context.channel.isWritable ? nil : hub.now
        if context.channel.isWritable {
            var totals = Totals()
            write(hub.log, now: hub.now, totals: &totals)
            hub.metrics.countSent(totals.sent)
            hub.metrics.countCoalesced(totals.coalesced)
        }
        context.fireChannelWritabilityChanged()
    }

    /// Sends what the client has not had of `log`, or, when its socket is full, checks how long that has waited.
    package func write(_ log: GatewayUpdateLog, now: Duration, totals: inout Totals) {
        guard let context, !closing else { return }
        if let fullSince, now - fullSince > hub.maxLag { return closeForLag(waited: now - fullSince) }
        guard cursor < log.end else { return }
        guard cursor >= log.start else {
            // Entries it never got were dropped from the log: they had waited longer than maxLag.
            return closeForLag(waited: hub.maxLag)
        }
        guard context.channel.isWritable else {
            let waited = now - log.entries[cursor - log.start].arrival
            if waited > hub.maxLag { closeForLag(waited: waited) }
            return
        }
        var batch: [GatewayUpdate] = []
        for number in cursor..<log.end {
            let (update, replaced) = log.entry(number, before: log.end)
            guard isSelected(update.sensorID) else { continue }
            if replaced {
                totals.coalesced += 1
            } else {
                batch.append(update)
            }
        }
        cursor = log.end
        send(batch, totals: &totals)
    }

    private func send(_ updates: [GatewayUpdate], totals: inout Totals) {
        guard let context, !updates.isEmpty else { return }
        for update in updates {
            context.write(wrapOutboundOut(update.frame(subscription.format)), promise: nil)
            totals.sent += 1
        }
        context.flush()
    }

    private func closeForLag(waited: Duration) {
        guard let context else { return }
        closing = true
        let milliseconds = waited / .milliseconds(1)
        let limit = hub.maxLag / .milliseconds(1)
        // A close reason has room for 123 bytes.
        guard closeRequest.request(code: .policyViolation, reason: "too slow: \(Int(milliseconds)) ms behind, limit \(Int(limit)) ms")
        else { return }
        hub.metrics.countDropped()
        // A client that stopped reading will not take the close frame either.
        let channel = context.channel
        context.eventLoop.scheduleTask(in: Self.closeGrace) { channel.close(promise: nil) }
    }

    private func isSelected(_ sensorID: String) -> Bool {
        if selectsEverything { return true }
        if let known = selected[sensorID] { return known }
        let selects = subscription.selects(sensorID)
        selected[sensorID] = selects
        return selects
    }
}
