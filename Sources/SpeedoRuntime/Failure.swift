/// The exit codes of DESIGN.md (sysexits), one place for all commands.
package enum SpeedoExitCode: Int32, Sendable, CaseIterable {
    case ok = 0
    case inconsistent = 1
    case usage = 64
    case inputRejected = 65
    case unavailable = 69
    case notDelivered = 75
    case interrupted = 130

    /// For `--help` and the man page's EXIT STATUS (scripts/generate.sh reads them from `speedo --help`); short
    /// enough for one line of an 80-column help text.
    package var meaning: String {
        switch self {
        case .ok: "success, or a clean stop by SIGTERM of a command that runs until stopped"
        case .inconsistent: "verify: the history and the topic disagree (the findings say where)"
        case .usage: "bad usage, found before anything connects (refused -X properties too)"
        case .inputRejected: "input rejected: some records were invalid, the valid ones were delivered"
        case .unavailable: "a broker or the database stayed unavailable after the retries"
        case .notDelivered: "records not confirmed delivered by the broker (in doubt)"
        case .interrupted: "interrupted by SIGINT after a clean flush (replay, history: any signal)"
        }
    }
}

/// An error that knows which exit code it maps to; its description is the whole message for the user.
package protocol SpeedoFailure: Error, CustomStringConvertible {
    var exitCode: SpeedoExitCode { get }
}

/// A failure of speedo's own making, with the exit code chosen where it happens.
package struct CommandFailure: SpeedoFailure {
    package var exitCode: SpeedoExitCode
    package var description: String

    package init(_ exitCode: SpeedoExitCode, _ description: String) {
        (self.exitCode, self.description) = (exitCode, description)
    }
}
