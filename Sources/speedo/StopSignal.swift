import Glibc
import Synchronization

/// SIGINT and SIGTERM as a request to stop cleanly (finish the work in hand, then exit 130); a second signal ends the
/// process at once, for when the clean stop itself hangs.
enum StopSignal {
    private static let received = Atomic<Int>(0)

    /// Replaces the default (immediate death) with a flag the long-running loops check.
    static func install() {
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            // Only async-signal-safe work here: an atomic increment, and _exit.
            action.__sigaction_handler.sa_handler = { _ in
                if StopSignal.received.add(1, ordering: .relaxed).newValue > 1 { _exit(130) }
            }
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }

    static var isRequested: Bool { received.load(ordering: .relaxed) > 0 }
}
