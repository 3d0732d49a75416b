import Foundation
import Glibc
import Synchronization

/// Turns SIGINT and SIGTERM into a flag that long-running loops check, plus a descriptor that becomes readable,
/// so that a loop blocked in poll(2) on a slow input wakes up at once. A second signal ends the process at once.
///
/// Create it before any other thread (librdkafka's included): the signals are blocked in the creating thread and
/// every thread started later inherits that mask, so only the watcher's sigwait receives them.
final class InterruptWatcher: Sendable {
    private let received = Atomic<Int32>(0)
    /// Readable once a signal arrived; never read from, so it stays readable.
    let wakeDescriptor: Int32

    init() {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        var ends: [Int32] = [0, 0]
        precondition(pipe(&ends) == 0, "cannot create a pipe: \(String(cString: strerror(errno)))")
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        wakeDescriptor = ends[0]
        let writeEnd = ends[1]
        let thread = Thread { [self, signals] in
            Thread.current.name = "speedo-signals"
            var waitedFor = signals
            var signal: Int32 = 0
            sigwait(&waitedFor, &signal)
            self.received.store(signal, ordering: .releasing)
            _ = write(writeEnd, "!", 1)
            sigwait(&waitedFor, &signal)
            // The user insists: skip the flush.
            _exit(Int32(SpeedoExitCode.interrupted.rawValue))
        }
        thread.start()
    }

    /// The signal received, if any.
    var signal: Int32? {
        let signal = received.load(ordering: .acquiring)
        return signal == 0 ? nil : signal
    }

    var isInterrupted: Bool { signal != nil }
}
