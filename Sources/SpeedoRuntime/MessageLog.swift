import Foundation
package import Logging
import SpeedoCore
import Synchronization

/// Every message speedo writes to stderr (notes, warnings, errors, librdkafka's lines) goes through swift-log and this
/// handler: as the text people read (exactly the line, as before), or as one JSON object a line for log collectors,
/// with the timestamp, level, command, message and the message's structured fields. Chosen once per run
/// (`--log-format`, `--log-level`) before anything is said.
package enum MessageLog {
    package enum Format: String, CaseIterable, Sendable {
        case text, json
    }

    private struct Settings {
        var format = Format.text
        var command = "speedo"
    }

    private static let settings = Mutex(Settings())

    /// Installs the handler for this process; `command` names the command in JSON lines (`consume postgres`).
    package static func bootstrap(format: Format, level: Logger.Level, command: String) {
        settings.withLock { $0 = Settings(format: format, command: command) }
        LoggingSystem.bootstrap { label in
            var handler = LineLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        logger.withLock { $0.logLevel = level }
    }

    package static var format: Format { settings.withLock { $0.format } }

    private static let logger = Mutex(Logger(label: "speedo"))

    /// One message in the form every line of speedo takes (`speedo: error: …`, `speedo: warning: …`, `speedo ingest:
    /// …`); its level is read from that form unless given. `fields` are the structured values JSON lines carry.
    package static func write(_ line: String, level: Logger.Level? = nil, fields: [String: String] = [:]) {
        let logger = logger.withLock { $0 }
        logger.log(
            level: level ?? Self.level(of: line), "\(line)",
            metadata: fields.isEmpty ? nil : fields.mapValues { .string($0) })
    }

    static func level(of line: String) -> Logger.Level {
        if line.hasPrefix("speedo: error: ") || line.contains(": error: ") { return .error }
        if line.hasPrefix("speedo: warning: ") || line.contains(": warning: ") { return .warning }
        return .info
    }

    /// The message without the prefixes that text lines carry for people (`speedo: `, `speedo ingest: `, `error: `).
    static func bareMessage(_ line: String, command: String) -> Substring {
        var message = Substring(line)
        for prefix in ["speedo: ", "speedo \(command): ", "\(command): ", "error: ", "warning: "] where message.hasPrefix(prefix) {
            message = message.dropFirst(prefix.count)
        }
        return message
    }

    fileprivate static func render(
        level: Logger.Level, message: String, metadata: Logger.Metadata, label: String, date: Date
    ) -> [UInt8] {
        let (format, command) = settings.withLock { ($0.format, $0.command) }
        // Text: speedo's own lines as they are; a library's (the HTTP servers') named by its logger.
        guard format == .json else { return Array(((label == "speedo" ? "" : "speedo: \(label): ") + message + "\n").utf8) }
        var line: [UInt8] = Array(#"{"timestamp":"#.utf8)
        CanonicalJSON.appendString(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)), to: &line)
        for (key, value) in [
            ("level", "\(level)"), ("command", command), ("message", String(bareMessage(message, command: command))),
        ] + (label == "speedo" ? [] : [("logger", label)]) + metadata.sorted { $0.key < $1.key }.map({ ($0.key, "\($0.value)") }) {
            line.append(UInt8(ascii: ","))
            CanonicalJSON.appendString(key, to: &line)
            line.append(UInt8(ascii: ":"))
            if let number = Int64(value), key != "message" {
                line.append(contentsOf: Array(String(number).utf8))
            } else {
                CanonicalJSON.appendString(value, to: &line)
            }
        }
        line.append(contentsOf: Array("}\n".utf8))
        return line
    }
}

/// swift-log's handler for every logger of the process (speedo's own, and the HTTP servers' libraries').
private struct LineLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let line = MessageLog.render(
            level: event.level, message: "\(event.message)", metadata: merged, label: label, date: Date())
        // One write(2) a line: lines from librdkafka's and the servers' threads never interleave.
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
