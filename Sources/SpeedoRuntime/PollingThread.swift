import Foundation
import Glibc
import Synchronization

/// An OS thread (not the Swift concurrency pool: its work blocks in C) that runs `iteration` until `stop()`.
package final class PollingThread: Sendable {
    private let stopRequested = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)
    /// The loop's pthread id, so that a `stop()` reached from inside `iteration` does not wait for itself.
    private let loopThread = Atomic<UInt>(0)

    package init(name: String, iteration: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            // Set from inside: only then does Foundation on Linux name the OS thread (seen in ps, perf, gdb).
            Thread.current.name = name
            loopThread.store(UInt(pthread_self()), ordering: .releasing)
            while !stopRequested.load(ordering: .acquiring) { iteration() }
            exited.signal()
        }
        thread.start()
    }

    /// Waits for the current iteration to finish (unless called from it, e.g. when a callback releases the owner).
    /// `interrupt` cuts a blocking iteration short (e.g. `rd_kafka_yield`), so that stopping costs no poll timeout.
    package func stop(interrupt: () -> Void = {}) {
        let alreadyStopping = stopRequested.exchange(true, ordering: .acquiringAndReleasing)
        interrupt()
        let calledFromLoop = pthread_equal(pthread_self(), pthread_t(loopThread.load(ordering: .acquiring))) != 0
        if !alreadyStopping && !calledFromLoop { exited.wait() }
    }
}
