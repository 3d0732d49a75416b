import Foundation
package import SpeedoKafka
import SpeedoCore
import SpeedoRuntime
import Synchronization

/// Whether the brokers answer, as last seen by a probe on its own thread, so that `GET /healthz` reads a value
/// instead of sending a metadata request per call (health checks can be frequent, and the request blocks).
package final class BrokerHealth: Sendable {
    package enum State: Sendable, Equatable {
        case reachable
        case unreachable(reason: String)
    }

    private let state: Mutex<State>
    private let stopRequested = Mutex(false)
    private let wakeUp = NSCondition()
    private let stopped = DispatchSemaphore(value: 0)

    /// How long a probe waits for the brokers' answer, however often probes run: a busy machine can take longer than a
    /// short interval to answer, and that is not a broker down.
    private static let probeTimeout = Duration.seconds(2)

    /// Starts probing every `interval`; `initial` is what the caller already knows (it waited for the brokers).
    package init(publisher: ReadingPublisher, interval: Duration, initial: State) {
        state = Mutex(initial)
        let thread = Thread { [self] in
            Thread.current.name = "speedo-health"
            while !sleep(for: interval) {
                let probe: State
                do throws(KafkaError) {
                    try publisher.waitForBrokers(timeout: Self.probeTimeout)
                    probe = .reachable
                } catch {
                    probe = .unreachable(reason: error.message)
                }
                state.withLock { $0 = probe }
            }
            stopped.signal()
        }
        thread.start()
    }

    package var current: State { state.withLock { $0 } }

    /// Ends the probe thread, waiting for a probe in progress (at most `probeTimeout`).
    package func stop() {
        stopRequested.withLock { $0 = true }
        wakeUp.lock()
        wakeUp.broadcast()
        wakeUp.unlock()
        stopped.wait()
    }

    /// Returns true when asked to stop.
    private func sleep(for interval: Duration) -> Bool {
        let seconds = interval.inSeconds
        let deadline = Date(timeIntervalSinceNow: seconds)
        wakeUp.lock()
        defer { wakeUp.unlock() }
        while !stopRequested.withLock({ $0 }) {
            if !wakeUp.wait(until: deadline) { return stopRequested.withLock { $0 } }
        }
        return true
    }
}
