import ArgumentParser
import SpeedoCore
import SpeedoKafka
import SpeedoProcess
import SpeedoStore
import SpeedoTUI

/// The exit codes of DESIGN.md (sysexits), one place for all commands.
enum SpeedoExitCode: Int32 {
    case ok = 0
    case usage = 64
    case inputRejected = 65
    case unavailable = 69
    case notDelivered = 75
    case interrupted = 130
}

/// An error that knows which exit code it maps to; its description is the whole message for the user.
protocol SpeedoFailure: Error, CustomStringConvertible {
    var exitCode: SpeedoExitCode { get }
}

extension ConfigurationError: SpeedoFailure {
    var exitCode: SpeedoExitCode { .usage }
}

extension KafkaError: SpeedoFailure {
    /// A property librdkafka refused or speedo forbids is the operator's `-X`: bad usage, not an unavailable broker.
    var exitCode: SpeedoExitCode {
        switch code {
        case .invalidProperty, .forbiddenProperty: .usage
        default: .unavailable
        }
    }
}

extension PostgresError: SpeedoFailure {
    var exitCode: SpeedoExitCode { .unavailable }
}

extension LocalPostgresError: SpeedoFailure {
    var exitCode: SpeedoExitCode { .unavailable }
}

extension ChildProcessError: SpeedoFailure {
    var exitCode: SpeedoExitCode { .unavailable }
}

extension CursesError: SpeedoFailure {
    var exitCode: SpeedoExitCode { .usage }
}

/// A failure of speedo's own making, with the exit code chosen where it happens.
struct CommandFailure: SpeedoFailure {
    var exitCode: SpeedoExitCode
    var description: String

    init(_ exitCode: SpeedoExitCode, _ description: String) {
        self.exitCode = exitCode
        self.description = description
    }
}
