import Foundation
import Synchronization

/// An OS thread (not the Swift concurrency pool: its work blocks in C) that runs `iteration` until `stop()`.
final class PollingThread: Sendable {
    private let stopRequested = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)

    init(name: String, iteration: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            while !stopRequested.load(ordering: .acquiring) { iteration() }
            exited.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Waits for the current iteration to finish. Must not be called from `iteration` itself.
    func stop() {
        if !stopRequested.exchange(true, ordering: .acquiringAndReleasing) {
            exited.wait()
        }
    }
}
