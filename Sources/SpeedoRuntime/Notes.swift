import Foundation

/// Where an engine says what is not data (progress, summaries, warnings, errors). The command chooses where that goes:
/// standard error for the CLI, a list a test reads. Engines never write to the terminal themselves.
package struct Notes: Sendable {
    private let write: @Sendable (String) -> Void

    package init(_ write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    /// One line, as it is.
    package func note(_ line: String) {
        write(line)
    }

    /// One line in the form every error of speedo takes: `speedo: error: …`.
    package func error(_ message: String) {
        write("speedo: error: \(message)")
    }

    /// Standard error: where the CLI writes everything that is not data, so that stdout stays clean for pipelines.
    package static let standardError = Notes { Terminal.note($0) }
}
