import Synchronization

/// The times given to readings that arrive without `ts`: when they were received, kept distinct per sensor.
///
/// The history keeps one row per (sensor_id, ts). Readings decoded together (a block of stdin lines, an HTTP array)
/// share one reception time, so without this two readings of one sensor would share a key and all but the first
/// would be absorbed as "already stored". A stamp that would not be after the sensor's previous one is therefore
/// moved to one microsecond (the resolution the history stores) after it. Stamps also never go back when the wall
/// clock does (an NTP step), for the same reason; they rejoin the clock once it has caught up.
///
/// Distinct within one process: two processes stamping the same sensor in the same microsecond still collide, and
/// that collision is then reported by the writer as a conflict, never absorbed silently.
package final class ReceptionStamps: Sendable {
    private struct State {
        /// The latest reception time seen: no stamp is earlier.
        var floor = Timestamp(microseconds: .min)
        /// Per sensor, its latest stamp, while it may be ahead of `floor`.
        var latest: [String: Timestamp] = [:]
        var pruneAt = ReceptionStamps.minimumPruneSize
    }

    private static let minimumPruneSize = 1_024
    private let state = Mutex(State())

    package init() {}

    package func stamp(_ sensorID: String, receivedAt now: Timestamp) -> Timestamp {
        state.withLock { state in
            state.floor = max(state.floor, now)
            let next = state.latest[sensorID].map { max(state.floor, Timestamp(microseconds: $0.microseconds + 1)) }
                ?? state.floor
            state.latest[sensorID] = next
            if state.latest.count >= state.pruneAt {
                // A sensor whose stamp is behind the floor can no longer collide: its next one starts at the floor.
                let floor = state.floor
                state.latest = state.latest.filter { $0.value >= floor }
                state.pruneAt = max(Self.minimumPruneSize, state.latest.count * 2)
            }
            return next
        }
    }
}
