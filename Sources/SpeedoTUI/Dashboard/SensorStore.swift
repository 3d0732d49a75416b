import SpeedoCore

/// Everything the dashboard knows about one sensor.
struct SensorTrack: Sendable {
    /// As received: untrusted, made drawable only when drawn (`Glyphs.safe`).
    let id: String
    var latest: Timestamp
    var latestSpeed: Double
    var history: SpeedHistory
    var recent = RecentTimestamps()
}

/// The sensors seen so far and their histories. Track indices never change (tracks are only appended), so a
/// copy taken when the dashboard is paused still names the same sensors by index.
struct SensorStore: Sendable {
    private(set) var tracks: [SensorTrack] = []
    /// Track indices in natural id order (`sensor-2` before `sensor-10`), kept sorted as sensors arrive.
    private(set) var naturalOrder: [Int] = []
    /// The newest reading's time over all sensors.
    private(set) var newest: Timestamp?
    /// The fastest reading ever recorded (the gauges' scale grows to it).
    private(set) var fastest = 0.0
    private var indexByID: [String: Int] = [:]

    /// Width of a history bucket and how many buckets are kept: together the retention span.
    let bucketWidth: TimeSpan
    let bucketLimit: Int

    init(retention: TimeSpan, buckets: Int) {
        bucketLimit = buckets
        let rounded = (retention.microseconds + Int64(buckets) - 1) / Int64(buckets)
        bucketWidth = TimeSpan(microseconds: max(1, rounded))
    }

    var retention: TimeSpan { TimeSpan(microseconds: bucketWidth.microseconds * Int64(bucketLimit)) }

    func bucket(of timestamp: Timestamp) -> Int64 {
        let (quotient, remainder) = timestamp.microseconds.quotientAndRemainder(dividingBy: bucketWidth.microseconds)
        return remainder < 0 ? quotient - 1 : quotient
    }

    func contains(_ sensorID: String) -> Bool { indexByID[sensorID] != nil }

    /// Adds one reading; false when it changed nothing (a duplicate, or older than the retention span).
    mutating func record(_ sample: Reading) -> Bool {
        guard sample.speed.isFinite else { return false }
        if let newest, sample.timestamp < newest - retention { return false }
        let bucket = bucket(of: sample.timestamp)
        guard let index = indexByID[sample.sensorID] else {
            var history = SpeedHistory(slotLimit: bucketLimit)
            _ = history.add(speed: sample.speed, bucket: bucket)
            var track = SensorTrack(
                id: sample.sensorID, latest: sample.timestamp, latestSpeed: sample.speed, history: history)
            track.recent.insert(sample.timestamp)
            insert(track)
            noteNewest(sample)
            return true
        }
        let isNewest = sample.timestamp > tracks[index].latest
        // A reading newer than every other one cannot be a duplicate: the live stream skips the look-up.
        if !isNewest, tracks[index].recent.contains(sample.timestamp) { return false }
        guard tracks[index].history.add(speed: sample.speed, bucket: bucket) else { return false }
        tracks[index].recent.insert(sample.timestamp)
        if isNewest {
            tracks[index].latest = sample.timestamp
            tracks[index].latestSpeed = sample.speed
        }
        noteNewest(sample)
        return true
    }

    private mutating func noteNewest(_ sample: Reading) {
        if newest.map({ sample.timestamp > $0 }) ?? true { newest = sample.timestamp }
        fastest = max(fastest, sample.speed)
    }

    private mutating func insert(_ track: SensorTrack) {
        let index = tracks.count
        indexByID[track.id] = index
        tracks.append(track)
        var low = 0
        var high = naturalOrder.count
        while low < high {
            let middle = (low + high) / 2
            if NaturalOrder.precedes(tracks[naturalOrder[middle]].id, track.id) {
                low = middle + 1
            } else {
                high = middle
            }
        }
        naturalOrder.insert(index, at: low)
    }

    /// Bytes held by the histories and duplicate rings (an estimate of the store's memory).
    var allocatedBytes: Int {
        tracks.reduce(0) { $0 + $1.history.allocatedBytes + $1.recent.allocatedBytes + $1.id.utf8.count * 2 }
            + tracks.capacity * MemoryLayout<SensorTrack>.stride
    }
}

/// Ids compared as people read them: runs of digits by their value, so `sensor-2` < `sensor-10` < `sensor-10a`.
enum NaturalOrder {
    static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        var left = lhs.utf8[...]
        var right = rhs.utf8[...]
        while let a = left.first, let b = right.first {
            if isDigit(a), isDigit(b) {
                let leftDigits = left.prefix(while: isDigit)
                let rightDigits = right.prefix(while: isDigit)
                let leftValue = leftDigits.drop { $0 == UInt8(ascii: "0") }
                let rightValue = rightDigits.drop { $0 == UInt8(ascii: "0") }
                if leftValue.count != rightValue.count { return leftValue.count < rightValue.count }
                if !leftValue.elementsEqual(rightValue) { return leftValue.lexicographicallyPrecedes(rightValue) }
                // Equal values: fewer leading zeros first, so the order stays total.
                if leftDigits.count != rightDigits.count { return leftDigits.count < rightDigits.count }
                left = left.dropFirst(leftDigits.count)
                right = right.dropFirst(rightDigits.count)
            } else {
                if a != b { return a < b }
                left = left.dropFirst()
                right = right.dropFirst()
            }
        }
        return left.isEmpty && !right.isEmpty
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
}
