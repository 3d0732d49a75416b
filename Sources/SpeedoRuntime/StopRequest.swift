import Foundation
import Glibc
import Synchronization

/// Asks an engine to finish what it is doing and stop: a flag its loops check, and a descriptor that becomes readable,
/// so that a loop blocked in poll(2) on a slow input wakes up at once. The CLI requests it on SIGINT/SIGTERM
/// (`InterruptWatcher`); a test requests it directly.
package final class StopRequest: Sendable {
    /// Readable once a stop was requested; never read from, so it stays readable.
    package let wakeDescriptor: Int32
    /// The write end of the wake-up pipe; write(2) on it is async-signal-safe, so a signal handler may request too.
    package let triggerDescriptor: Int32
    private let requested = Atomic<Bool>(false)
    /// A request made where no Swift object can be reached (a signal handler): checked as well.
    private let requestedElsewhere: @Sendable () -> Bool

    package init(requestedElsewhere: @escaping @Sendable () -> Bool = { false }) {
        var ends: [Int32] = [0, 0]
        precondition(pipe(&ends) == 0, "cannot create a pipe: \(String(cString: strerror(errno)))")
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        wakeDescriptor = ends[0]
        triggerDescriptor = ends[1]
        self.requestedElsewhere = requestedElsewhere
    }

    deinit {
        close(wakeDescriptor)
        close(triggerDescriptor)
    }

    package var isRequested: Bool { requested.load(ordering: .acquiring) || requestedElsewhere() }

    package func request() {
        guard !requested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(triggerDescriptor, &byte, 1)
    }

    /// Blocks the calling thread until a stop is requested (at once if one already was).
    package func wait() {
        var descriptor = pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)
        while !isRequested, poll(&descriptor, 1, -1) < 0 || descriptor.revents == 0 {}
    }
}

extension StopRequest {
    /// Suspends until a stop is requested (at once if one was) or the task is cancelled, without holding a thread
    /// of the concurrency pool: a thread of its own waits in poll(2) on the request's descriptor.
    package func requested() async {
        // Cancelling the task requests this one, so that the waiting thread wakes up and ends either way.
        let cancelled = StopRequest()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let thread = Thread { [self] in
                    var descriptors = [
                        pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0),
                        pollfd(fd: cancelled.wakeDescriptor, events: Int16(POLLIN), revents: 0),
                    ]
                    while !isRequested, !cancelled.isRequested {
                        _ = poll(&descriptors, 2, -1)
                    }
                    continuation.resume()
                }
                thread.name = "speedo-stop-wait"
                thread.start()
            }
        } onCancel: {
            cancelled.request()
        }
    }
}
