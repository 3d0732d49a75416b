import Foundation
package import Logging

/// Where speedo writes what is not data: progress, summaries and errors go to stderr, so stdout stays
/// clean for pipelines.
package enum Terminal {
    package static func error(_ message: String) {
        MessageLog.write("speedo: error: \(message)", level: .error)
    }

    /// One message on stderr, through the run's log format; `fields` are what a JSON line carries besides it.
    package static func note(_ message: String, level: Logger.Level? = nil, fields: [String: String] = [:]) {
        MessageLog.write(message, level: level, fields: fields)
    }

    /// Replaces the line the cursor is on with `line` (carriage return, erase to the end), or erases it.
    package static func redrawStatus(_ line: String?) {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + (line ?? "")).utf8))
    }

    package static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// COLUMNS when the shell exports it (at least 20), for output sized to the terminal without asking it.
    package static var exportedColumns: Int? {
        ProcessInfo.processInfo.environment["COLUMNS"].flatMap { Int($0) }.map { max(20, $0) }
    }
}
