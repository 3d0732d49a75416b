/// The exit codes of DESIGN.md (sysexits), one place for all commands.
package enum SpeedoExitCode: Int32, Sendable {
    case ok = 0
    case usage = 64
    case inputRejected = 65
    case unavailable = 69
    case notDelivered = 75
    case interrupted = 130
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
