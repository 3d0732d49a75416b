import Foundation
import Glibc
import SpeedoCore
import Synchronization

/// The first SIGINT/SIGTERM received, 0 before; global because a signal handler cannot capture context.
private let receivedSignal = Atomic<Int32>(0)
/// The stop request's trigger descriptor, for the handler (write(2) is async-signal-safe).
private let wakeWriteDescriptor = Atomic<Int32>(-1)

/// Turns the first SIGINT or SIGTERM into a `StopRequest` that the engines check (its flag, and its descriptor for
/// loops blocked in poll(2)). A second signal ends the process at once.
///
/// A handler rather than a blocked mask and sigwait: threads of the concurrency pool exist before any command
/// runs, and a signal delivered to one of them with the default disposition would kill the process unflushed.
package final class InterruptWatcher: Sendable {
    /// Requested by the first signal.
    package let stop = StopRequest(requestedElsewhere: { receivedSignal.load(ordering: .acquiring) != 0 })

    /// `stopDeadline`: for commands that run until stopped, the longest a stop may take before the process exits
    /// without finishing it (a broker or database that no longer answers must not hold a service's stop hostage).
    package init(stopDeadline: StopDeadline? = nil) {
        wakeWriteDescriptor.store(stop.triggerDescriptor, ordering: .releasing)
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
        if let stopDeadline {
            let thread = Thread { [stop] in
                stop.wait()
                stopDeadline.enforce()
            }
            thread.name = "speedo.stop-deadline"
            thread.start()
        }
    }

    /// The signal received, if any.
    package var signal: Int32? {
        let signal = receivedSignal.load(ordering: .acquiring)
        return signal == 0 ? nil : signal
    }

    package var isInterrupted: Bool { stop.isRequested }

    /// How a command that runs until it is stopped ends once a signal stopped it cleanly (everything flushed, as
    /// `summary` says; nil when the engine already said it). SIGTERM is how service managers stop a service
    /// (`systemctl stop`, a Kubernetes rollout): a clean stop is a success, exit 0. SIGINT is a person cutting a run
    /// short: exit 130, as shells expect. A stop that could not finish is not clean: its own exit code (75, 69…) comes
    /// first.
    package func endCleanStop(_ summary: String?) throws {
        if signal == SIGTERM {
            if let summary { Notes.standardError.note(summary) }
        } else {
            throw CommandFailure(.interrupted, summary ?? "")
        }
    }
}

/// How long a long-running command may take to stop after SIGINT/SIGTERM, and what it leaves undone when it has to
/// exit before finishing (documented in the README: every long-running command ends within `limit`).
package struct StopDeadline: Sendable {
    /// Under systemd's default stop timeout (90 s), with room for the flushes a healthy stop needs.
    package static let limit = Duration.seconds(20)

    package var exitCode: SpeedoExitCode
    /// For the last line on stderr: what a stop cut short leaves undone, and what becomes of it.
    package var consequence: String

    package init(exitCode: SpeedoExitCode, consequence: String) {
        (self.exitCode, self.consequence) = (exitCode, consequence)
    }

    /// Sleeps out the limit, then ends the process: called once the first signal came.
    fileprivate func enforce() {
        Thread.sleep(forTimeInterval: Self.limit.inSeconds)
        MessageLog.write(
            "speedo: still stopping \(Int(Self.limit.inSeconds)) s after the signal (a broker or the database does not "
                + "answer); exiting without waiting further: \(consequence)", level: .error)
        _exit(exitCode.rawValue)
    }
}
