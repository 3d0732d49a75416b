import Glibc
package import SpeedoCore

extension Timestamp {
    /// The wall-clock time: `now` for validation and for readings without `ts` (SpeedoCore never reads clocks).
    package static func current() -> Timestamp {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Timestamp(microseconds: Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000)
    }
}
