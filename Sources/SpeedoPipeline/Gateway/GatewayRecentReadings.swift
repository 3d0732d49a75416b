import NIOCore
package import SpeedoCore

/// Each sensor's readings of the last `window` (at most `perSensor` of them), as `speed-latest` brought them: what the
/// page draws its sparklines from the moment it opens (`GET /api/history`), before the WebSocket has sent anything.
/// Bounded: `perSensor` readings of 16 bytes per sensor (10,000 sensors: under 100 MB at the most).
package struct GatewayRecentReadings: Sendable {
    package struct Point: Sendable, Equatable {
        package var timestamp: Timestamp
        package var speed: Double
    }

    package static let window = TimeSpan.seconds(300)
    /// A minute at 10 Hz.
    package static let perSensor = 600

    private var bySensor: [String: CircularBuffer<Point>] = [:]

    package init() {}

    /// Adds `reading` unless its sensor already has one as recent (a state published again, or replayed), and drops
    /// what fell out of the window or past the bound.
    package mutating func append(_ reading: Reading) {
        Self.append(reading, to: &bySensor[reading.sensorID, default: CircularBuffer(initialCapacity: 16)])
    }

    /// Works on the buffer in the dictionary itself: taken out and put back, it would be copied on every reading.
    private static func append(_ reading: Reading, to points: inout CircularBuffer<Point>) {
        if let last = points.last, reading.timestamp <= last.timestamp { return }
        points.append(Point(timestamp: reading.timestamp, speed: reading.speed))
        let oldest = reading.timestamp - window
        while let first = points.first, first.timestamp < oldest || points.count > perSensor {
            points.removeFirst()
        }
    }

    package mutating func forget(_ sensorID: String) {
        bySensor[sensorID] = nil
    }

    /// The readings since `since` of the sensors `subscription` selects, by sensor id, as `GET /api/history` sends
    /// them: `{"window_s":300,"sensors":[{"sensor_id":"a","readings":[[1700000000.5,42.5],…]},…]}` (time as Unix
    /// epoch seconds, like a reading's `ts`), sensors in order of their ids.
    package func json(selecting subscription: GatewaySubscription, since: Timestamp) -> [UInt8] {
        var out = Array(#"{"window_s":"#.utf8)
        CanonicalJSON.appendNumber(Self.window.seconds, to: &out)
        out.append(contentsOf: #","sensors":["#.utf8)
        var first = true
        for sensorID in bySensor.keys.sorted() where subscription.selects(sensorID) {
            let points = bySensor[sensorID]!.filter { $0.timestamp >= since }
            guard !points.isEmpty else { continue }
            out.append(contentsOf: (first ? #"{"sensor_id":"# : #",{"sensor_id":"#).utf8)
            first = false
            CanonicalJSON.appendString(sensorID, to: &out)
            out.append(contentsOf: #","readings":["#.utf8)
            for (index, point) in points.enumerated() {
                out.append(contentsOf: (index == 0 ? "[" : ",[").utf8)
                CanonicalJSON.appendEpochSeconds(point.timestamp, to: &out)
                out.append(UInt8(ascii: ","))
                CanonicalJSON.appendNumber(point.speed, to: &out)
                out.append(UInt8(ascii: "]"))
            }
            out.append(contentsOf: "]}".utf8)
        }
        out.append(contentsOf: "]}\n".utf8)
        return out
    }
}
