import Foundation
package import Logging

/// Where an engine says what is not data (progress, summaries, warnings, errors). The command chooses where that goes:
/// standard error for the CLI, a list a test reads. Engines never write to the terminal themselves.
package struct Notes: Sendable {
    private let write: @Sendable (String, Logger.Level?, [String: String]) -> Void
    /// Redraws the status line of long work in place (nil: erases it); nil where no one watches it redrawn (stderr
    /// not a terminal, a log file, a test), which then gets the lines and the summary alone.
    private let redrawProgress: (@Sendable (String?) -> Void)?

    package init(_ write: @escaping @Sendable (String) -> Void, progress: (@Sendable (String?) -> Void)? = nil) {
        self.init(fieldsTo: { line, _, _ in write(line) }, progress: progress)
    }

    private init(
        fieldsTo write: @escaping @Sendable (String, Logger.Level?, [String: String]) -> Void,
        progress: (@Sendable (String?) -> Void)?
    ) {
        self.write = write
        redrawProgress = progress
    }

    /// One line, as it is; `level` when its form does not say it (`MessageLog`); `fields` (topic, partition, offset,
    /// counts) are what a JSON log line carries besides it.
    package func note(_ line: String, level: Logger.Level? = nil, fields: [String: String] = [:]) {
        write(line, level, fields)
    }

    /// One line in the form every error of speedo takes: `speedo: error: …`.
    package func error(_ message: String, fields: [String: String] = [:]) {
        write("speedo: error: \(message)", .error, fields)
    }

    /// Whether a progress line is shown at all: work that only computes one for the screen can skip it.
    package var showsProgress: Bool { redrawProgress != nil }

    /// The status line of long work, redrawn in place of the previous one.
    package func progress(_ line: String) {
        redrawProgress?(line)
    }

    /// Erases the status line, so that a note or the summary starts on a clean line.
    package func clearProgress() {
        redrawProgress?(nil)
    }

    /// Standard error: where the CLI writes everything that is not data, so that stdout stays clean for pipelines;
    /// with a progress line when it is a terminal that shows text (JSON lines are for collectors, not redrawn).
    package static let standardError: Notes = {
        let redraw: @Sendable (String?) -> Void = { Terminal.redrawStatus($0) }
        let showsProgress = Terminal.standardErrorIsTerminal && MessageLog.format == .text
        return Notes(fieldsTo: { Terminal.note($0, level: $1, fields: $2) }, progress: showsProgress ? redraw : nil)
    }()
}
