import Glibc
import Synchronization

/// The first SIGINT/SIGTERM received, 0 before; global because a signal handler cannot capture context.
private let receivedSignal = Atomic<Int32>(0)
/// The write end of the wake-up pipe, for the handler (write(2) is async-signal-safe).
private let wakeWriteDescriptor = Atomic<Int32>(-1)

/// Turns SIGINT and SIGTERM into a flag that long-running loops check, plus a descriptor that becomes readable,
/// so that a loop blocked in poll(2) on a slow input wakes up at once. A second signal ends the process at once.
///
/// A handler rather than a blocked mask and sigwait: threads of the concurrency pool exist before any command
/// runs, and a signal delivered to one of them with the default disposition would kill the process unflushed.
final class InterruptWatcher: Sendable {
    /// Readable once a signal arrived; never read from, so it stays readable.
    let wakeDescriptor: Int32

    init() {
        var ends: [Int32] = [0, 0]
        precondition(pipe(&ends) == 0, "cannot create a pipe: \(String(cString: strerror(errno)))")
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        wakeDescriptor = ends[0]
        wakeWriteDescriptor.store(ends[1], ordering: .releasing)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            guard receivedSignal.compareExchange(expected: 0, desired: signal, ordering: .acquiringAndReleasing).exchanged
            else {
                // The user insists: skip the flush.
                _exit(Int32(SpeedoExitCode.interrupted.rawValue))
            }
            var byte: UInt8 = 1
            _ = write(wakeWriteDescriptor.load(ordering: .acquiring), &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
    }

    /// The signal received, if any.
    var signal: Int32? {
        let signal = receivedSignal.load(ordering: .acquiring)
        return signal == 0 ? nil : signal
    }

    var isInterrupted: Bool { signal != nil }
}

extension InterruptWatcher {
    /// Blocks the calling thread until SIGINT or SIGTERM arrives (at once if one already did).
    func waitForSignal() {
        var descriptor = pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)
        while !isInterrupted, poll(&descriptor, 1, -1) < 0, errno == EINTR {}
    }
}
