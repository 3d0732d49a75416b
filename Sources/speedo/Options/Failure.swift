import ArgumentParser
import SpeedoCore
import SpeedoKafka
import SpeedoRuntime
import SpeedoStore
import SpeedoTUI

/// Where the errors of the libraries' own types land among the exit codes: one place for all commands.
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
