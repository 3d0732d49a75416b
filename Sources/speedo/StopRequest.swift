import Foundation
import Synchronization

/// SIGINT and SIGTERM ask a run to stop after the batch in hand; a second one exits at once.
enum StopRequest {
    private static let received = Atomic<Bool>(false)

    static func install() {
        // Initialises the lazy static here: a signal handler must not be the one to run its initialiser.
        _ = received.load(ordering: .relaxed)
        for signalNumber in [SIGINT, SIGTERM] {
            // glibc's signal() keeps the handler installed and restarts interrupted writes (BSD semantics).
            _ = signal(signalNumber) { _ in
                if StopRequest.received.exchange(true, ordering: .relaxed) {
                    _exit(SpeedoExitCode.interrupted.rawValue)
                }
            }
        }
    }

    static var isRequested: Bool {
        received.load(ordering: .relaxed)
    }
}
