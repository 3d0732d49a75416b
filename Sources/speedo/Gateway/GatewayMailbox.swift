import NIOWebSocket
import SpeedoCore
import Synchronization

/// One client's undelivered updates, between the hub (which must never wait) and the client's writer task (which
/// waits for the socket). Only the newest state per sensor is kept (`CoalescingQueue`), so a slow client costs at
/// most one entry per sensor, and gets the newest state when it catches up.
final class GatewayMailbox: Sendable {
    enum Delivery: Sendable {
        case updates([GatewayUpdate])
        /// Send a close frame with this code and reason, then stop.
        case close(WebSocketErrorCode, reason: String)
        /// The writer was cancelled: the connection is going away.
        case finished
    }

    struct Offered {
        var coalesced = 0
        /// How long the oldest undelivered update has waited.
        var waited = Duration.zero
    }

    private struct State {
        var queue = CoalescingQueue<GatewayUpdate>()
        var writer: CheckedContinuation<Delivery, Never>?
        var closing: (code: WebSocketErrorCode, reason: String)?
        var cancelled = false
        /// Which sensors this client selected, decided once per sensor (glob matching is not free).
        var selected: [String: Bool] = [:]
    }

    let subscription: GatewaySubscription
    private let state = Mutex(State())
    /// Closes the connection without waiting for the writer, for a client that stopped reading altogether.
    private let abort: @Sendable () -> Void

    init(subscription: GatewaySubscription, abort: @escaping @Sendable () -> Void) {
        self.subscription = subscription
        self.abort = abort
    }

    /// Queues the updates this client selected and wakes its writer if it waits.
    func offer(_ updates: [GatewayUpdate], now: Duration) -> Offered {
        let (offered, wake) = state.withLock { state -> (Offered, (CheckedContinuation<Delivery, Never>, [GatewayUpdate])?) in
            var offered = Offered()
            guard state.closing == nil, !state.cancelled else { return (offered, nil) }
            for update in updates where isSelected(update.sensorID, in: &state) {
                if state.queue.push(update, for: update.sensorID, now: now) { offered.coalesced += 1 }
            }
            offered.waited = state.queue.age(now: now)
            guard let writer = state.writer, !state.queue.isEmpty else { return (offered, nil) }
            state.writer = nil
            return (offered, (writer, state.queue.takeAll()))
        }
        if let (writer, updates) = wake { writer.resume(returning: .updates(updates)) }
        return offered
    }

    /// How long the oldest undelivered update has waited.
    func waited(now: Duration) -> Duration {
        state.withLock { $0.queue.age(now: now) }
    }

    /// The writer's next job; waits while there is none.
    func next() async -> Delivery {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Delivery? in
                    if let closing = state.closing { return .close(closing.code, reason: closing.reason) }
                    if state.cancelled { return .finished }
                    if !state.queue.isEmpty { return .updates(state.queue.takeAll()) }
                    state.writer = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let writer = state.withLock { state in
                state.cancelled = true
                defer { state.writer = nil }
                return state.writer
            }
            writer?.resume(returning: .finished)
        }
    }

    /// Asks the writer to close with this reason (it gets a second to send the close frame, after which the connection
    /// is closed regardless). Returns false when the client was already being closed.
    @discardableResult
    func close(code: WebSocketErrorCode, reason: String) -> Bool {
        let (first, writer) = state.withLock { state -> (Bool, CheckedContinuation<Delivery, Never>?) in
            guard state.closing == nil, !state.cancelled else { return (false, nil) }
            state.closing = (code, reason)
            state.queue = CoalescingQueue()
            defer { state.writer = nil }
            return (true, state.writer)
        }
        writer?.resume(returning: .close(code, reason: reason))
        if first { abort() }
        return first
    }

    private func isSelected(_ sensorID: String, in state: inout State) -> Bool {
        if let known = state.selected[sensorID] { return known }
        let selected = subscription.selects(sensorID)
        state.selected[sensorID] = selected
        return selected
    }
}
