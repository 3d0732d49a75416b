package import NIOCore
package import SpeedoCore
import SpeedoRuntime

/// One sensor's latest state as the WebSocket frames that carry it, encoded once for every client that gets it (the
/// buffers are shared, not copied). A class, so that handing it to a thousand clients costs one reference count each.
package final class GatewayUpdate: Sendable {
    package let sensorID: String
    /// When the hub received it, on its monotonic clock: how long an undelivered update has waited.
    package let arrival: Duration
    /// A text frame of the `speed-latest` value as `LatestState.encoded()` writes it.
    private let jsonFrame: ByteBuffer
    /// A text frame of the bare speed, e.g. `42.5`.
    private let numberFrame: ByteBuffer

    package init(_ state: LatestState, arrival: Duration) {
        sensorID = state.reading.sensorID
        self.arrival = arrival
        jsonFrame = Self.textFrame(state.encoded())
        var speed: [UInt8] = []
        CanonicalJSON.appendNumber(state.reading.speed, to: &speed)
        numberFrame = Self.textFrame(speed)
    }

    package func frame(_ format: GatewaySubscription.Format) -> ByteBuffer {
        switch format {
        case .json: jsonFrame
        case .number: numberFrame
        }
    }

    /// A final, unmasked text frame (RFC 6455, 5.2): what a server sends.
    package static func textFrame(_ payload: [UInt8]) -> ByteBuffer {
        var frame = ByteBuffer()
        frame.reserveCapacity(payload.count + 10)
        frame.writeInteger(UInt8(0x81))
        switch payload.count {
        case ..<126:
            frame.writeInteger(UInt8(payload.count))
        case ...0xFFFF:
            frame.writeInteger(UInt8(126))
            frame.writeInteger(UInt16(payload.count))
        default:
            frame.writeInteger(UInt8(127))
            frame.writeInteger(UInt64(payload.count))
        }
        frame.writeBytes(payload)
        return frame
    }
}

/// The recent updates, in arrival order, numbered, shared by every client: a client keeps only the number of the
/// next update it has to get (its cursor), so a thousand clients cost the hub one append per update, not a thousand.
///
/// Coalescing falls out of the numbering: each entry knows the number of the next update of the same sensor, so a
/// client sending the entries from its cursor to `end` skips every one that a newer entry in that range replaces.
/// A client that falls behind therefore gets at most one message per sensor when it catches up, the newest.
///
/// Entries older than the retention are dropped: a client whose cursor falls before `start` has been behind longer
/// than that, and is closed.
package struct GatewayUpdateLog: Sendable {
    /// The number of `entries[0]`.
    package private(set) var start = 0
    package private(set) var entries: [GatewayUpdate] = []
    /// For each entry, the number of the next entry of the same sensor; `Int.max` while there is none.
    package private(set) var replacedBy: [Int] = []
    /// Each sensor's newest entry, by number.
    private var newest: [String: Int] = [:]

    package init(entries: [GatewayUpdate] = [], replacedBy: [Int] = [], newest: [String: Int] = [:]) {
        (self.entries, self.replacedBy, self.newest) = (entries, replacedBy, newest)
    }

    /// The number the next update will get.
    package var end: Int { start + entries.count }

    package mutating func append(_ update: GatewayUpdate) {
        let number = end
        if let previous = newest.updateValue(number, forKey: update.sensorID), previous >= start {
            replacedBy[previous - start] = number
        }
        entries.append(update)
        replacedBy.append(.max)
    }

    /// Forgets a sensor (a tombstone): its entries stay (clients that have not got them still will), but a later
    /// update of it starts afresh.
    package mutating func forget(_ sensorID: String) {
        newest[sensorID] = nil
    }

    /// Drops the entries that arrived before `cutoff`, in bulk (at least a quarter of the log at a time, so that the
    /// shifting stays cheap per update). Called for every update: whether a quarter has expired is one look, and how
    /// many have, a binary search (entries are in arrival order); counting them one by one was 8 % of the gateway's
    /// time at 20,000 updates/s.
    package mutating func trim(arrivedBefore cutoff: Duration) {
        guard !entries.isEmpty, entries[max(entries.count / 4 - 1, 0)].arrival < cutoff else { return }
        var (expired, unexpiredFrom) = (0, entries.count)
        while expired < unexpiredFrom {
            let middle = (expired + unexpiredFrom) / 2
            if entries[middle].arrival < cutoff { expired = middle + 1 } else { unexpiredFrom = middle }
        }
        entries.removeFirst(expired)
        replacedBy.removeFirst(expired)
        start += expired
    }

    /// The entry numbered `number`, and whether a newer entry before `end` replaces it.
    package func entry(_ number: Int, before end: Int) -> (update: GatewayUpdate, replaced: Bool) {
        (entries[number - start], replacedBy[number - start] < end)
    }
}
