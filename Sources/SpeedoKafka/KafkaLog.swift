import CRdKafka
import Logging
import SpeedoRuntime
import Synchronization

/// librdkafka's own log lines (failed connections, brokers going down) pass through here, so that they
/// read like the rest of speedo's messages on stderr, and a command that reports such failures itself
/// (in its own words, with what to do) can keep them quiet.
package enum KafkaLog {
    /// syslog levels, as librdkafka uses them.
    package enum Level: Int32, Sendable {
        case critical = 2, error = 3, warning = 4, notice = 5, info = 6, debug = 7
    }

    private static let threshold = Mutex(Level.error)

    /// Lines at `level` or more severe are shown; the default shows errors.
    package static func show(upTo level: Level) {
        threshold.withLock { $0 = level }
    }

    static func emit(level: Int32, message: String) {
        guard level <= threshold.withLock({ $0.rawValue }) else { return }
        let logLevel: Logger.Level =
            switch Level(rawValue: level) ?? .error {
            case .critical: .critical
            case .error: .error
            case .warning: .warning
            case .notice: .notice
            case .info: .info
            case .debug: .debug
            }
        MessageLog.write("speedo: kafka: \(message)", level: logLevel, fields: ["source": "librdkafka"])
    }

    /// Installed on every configuration; runs on librdkafka's threads.
    static let callback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
        _, level, _, message in
        guard let message else { return }
        KafkaLog.emit(level: level, message: String(cString: message))
    }
}
