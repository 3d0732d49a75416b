import Foundation
import SpeedoCore
import Testing

@testable import SpeedoTUI

/// Deterministic readings: speeds follow a triangle wave per sensor (integer arithmetic, so every machine
/// computes the same frames).
enum DashboardFixture {
    /// 2023-11-14T22:13:20Z.
    static let start = Timestamp(microseconds: 1_700_000_000_000_000)
    static let now = start + .seconds(60)
    static let status = FeedStatus(
        brokers: "localhost:9092", topic: "speed-events", connection: .live, readingsPerSecond: 140,
        lagP50Milliseconds: 4, lagP99Milliseconds: 12)
    static let ascii = TerminalCapabilities(unicode: false, colors: .none)
    static let colour = TerminalCapabilities(unicode: true, colors: .extended)

    static let hostileIDs = [
        "esc\u{1B}[2J", "bell\u{07}", "cr\r\nlf\ttab", "\u{202E}evil", "zero\u{200B}width", "宽字符宽字符宽字符宽字符",
        "🚗🚓🚑🚒", "e\u{301}\u{301}", "\u{FEFF}bom\u{2066}x\u{061C}", "c1\u{85}\u{9B}2J",
        String(repeating: "long", count: 50),
    ]

    /// `sensor-1` … `sensor-N` at 10 Hz over the minute before `now`; the km/h of sensor k swing by ±10 around
    /// 11·k with a period of 20 s. `staleSensor` stops 20 s early.
    static func samples(sensors: Int, staleSensor: Int? = nil, hertz: Int = 10) -> [Reading] {
        var samples: [Reading] = []
        samples.reserveCapacity(sensors * 60 * hertz)
        for tick in 0..<(60 * hertz) {
            for sensor in 1...sensors {
                if sensor == staleSensor, tick >= 40 * hertz { continue }
                samples.append(sample(sensor: sensor, tick: tick, hertz: hertz))
            }
        }
        return samples
    }

    static func sample(sensor: Int, tick: Int, hertz: Int = 10) -> Reading {
        let phase = (tick + sensor * 7) % (20 * hertz)
        let swing = Double(abs(phase - 10 * hertz)) / Double(hertz)  // 0 … 10
        return Reading(
            sensorID: "sensor-\(sensor)",
            speed: Double(11 * sensor) - 5 + swing,
            timestamp: start + TimeSpan(microseconds: Int64(tick + 1) * 1_000_000 / Int64(hertz)))
    }

    static func model(sensors: Int = 14, staleSensor: Int? = 3, settings: DashboardSettings = DashboardSettings())
        -> DashboardModel
    {
        var model = DashboardModel(settings: settings)
        model.record(samples(sensors: sensors, staleSensor: staleSensor))
        return model
    }

    static func frame(
        _ model: DashboardModel, _ columns: Int, _ rows: Int, capabilities: TerminalCapabilities = .plainText,
        status: FeedStatus = status
    ) -> Frame {
        model.frame(
            size: TerminalSize(columns: columns, rows: rows), now: now, status: status, capabilities: capabilities)
    }
}

/// Text of a frame with its styles: each styled run as `[text|role,bold,dim,reverse]`.
func styledDump(_ frame: Frame) -> String {
    frame.lines.map { runs in
        runs.map { run -> String in
            guard run.style != .plain else { return run.text }
            var flags = ["\(run.style.color)"]
            if run.style.bold { flags.append("bold") }
            if run.style.dim { flags.append("dim") }
            if run.style.reverse { flags.append("reverse") }
            return "[\(run.text)|\(flags.joined(separator: ","))]"
        }.joined()
    }.joined(separator: "\n") + "\n"
}

/// Compares `text` with Snapshots/`name`.txt; `SPEEDO_RECORD_SNAPSHOTS=1` writes it instead.
func expectSnapshot(_ text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Snapshots").appendingPathComponent(name + ".txt")
    if ProcessInfo.processInfo.environment["SPEEDO_RECORD_SNAPSHOTS"] == "1" {
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        #expect(throws: Never.self, sourceLocation: sourceLocation) {
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return
    }
    guard let stored = try? String(contentsOf: url, encoding: .utf8) else {
        Issue.record(
            "no snapshot \(name).txt: record it with SPEEDO_RECORD_SNAPSHOTS=1", sourceLocation: sourceLocation)
        return
    }
    #expect(text == stored, "frame differs from Snapshots/\(name).txt", sourceLocation: sourceLocation)
}

/// The frame's lines as plain text, one string per line (trailing blanks kept).
func lineTexts(_ frame: Frame) -> [String] { frame.lines.map { $0.map(\.text).joined() } }
