package import SpeedoCore
package import SpeedoRuntime
package import SpeedoTUI
import Synchronization

/// The dashboard state shared by the feed's thread (samples, status) and the UI thread (keys, frames).
package final class LiveDashboard: Sendable {
    /// What a drawn frame showed: when it differs from the current one, the screen is out of date.
    package struct Version: Equatable {
        package var revision: UInt64
        package var status: FeedStatus
    }

    private struct State {
        var model: DashboardModel
        var status: FeedStatus
    }

    private let state: Mutex<State>

    package init(model: DashboardModel, status: FeedStatus) {
        state = Mutex(State(model: model, status: status))
    }

    package func record(_ samples: [Reading]) {
        state.withLock { $0.model.record(samples) }
    }

    package func update(_ status: FeedStatus) {
        state.withLock { $0.status = status }
    }

    package func handle(_ key: DashboardKey) -> DashboardReaction {
        state.withLock { $0.model.handle(key) }
    }

    package var version: Version {
        state.withLock { Version(revision: $0.model.revision, status: $0.status) }
    }

    /// Renders under the lock: the work is bounded by the screen's size, whereas a copy of the model taken out
    /// of the lock would make the feed's next `record` duplicate the whole history (copy on write).
    package func frame(size: TerminalSize, now: Timestamp, capabilities: TerminalCapabilities) -> (Frame, Version) {
        state.withLock { state in
            let frame = state.model.frame(size: size, now: now, status: state.status, capabilities: capabilities)
            return (frame, Version(revision: state.model.revision, status: state.status))
        }
    }
}

/// Interactive `speedo watch`: the feed fills a `LiveDashboard` from its own thread; this loop, on the thread
/// that calls `run` (every curses call happens there), reads keys and redraws when something changed.
///
/// SIGINT and SIGTERM go through `StopRequest` rather than raw mode turning Ctrl-C into a key: one path
/// for both signals (SIGTERM cannot be a key), Ctrl-Z keeps suspending (curses restores the screen on
/// resume), and a signal stop the input wait at once. The watcher must exist before the screen: curses
/// installs its own SIGINT/SIGTERM handlers (which end the process) only where none is set.
package struct DashboardLoop: Sendable {
    package enum Ending: Sendable {
        case quit
        case interrupted
    }

    package let settings: DashboardSettings
    package let initialStatus: FeedStatus
    package let stop: StopRequest

    package init(settings: DashboardSettings, initialStatus: FeedStatus, stop: StopRequest) {
        (self.settings, self.initialStatus, self.stop) = (settings, initialStatus, stop)
    }

    /// At most 10 frames a second, however fast readings or keys arrive.
    private static let frameInterval = Duration.milliseconds(100)
    /// Redraw at least this often: the clock and the ages of stale sensors move without new data.
    private static let clockInterval = Duration.seconds(1)

    /// Runs until q or a signal; the terminal is restored before returning or throwing (and, while the screen
    /// is open, on a crash: see `CursesScreen`), then the feed is stopped. Throws the feed's failure when no broker
    /// answered within its connect timeout, once the screen showed why.
    package func run(feed: WatchFeed) throws -> Ending {
        let live = LiveDashboard(model: DashboardModel(settings: settings), status: initialStatus)
        feed.start(samples: { live.record($0) }, status: { live.update($0) })
        defer { feed.stop() }
        let screen = try CursesScreen()
        // Before feed.stop (defers run in reverse): the terminal comes back even if stopping takes a while.
        defer { screen.close() }
        let ending = drive(screen, live, feed)
        if let failure = feed.failure { throw failure }
        return ending
    }

    private func drive(_ screen: CursesScreen, _ live: LiveDashboard, _ feed: WatchFeed) -> Ending {
        let clock = ContinuousClock()
        var drawn: LiveDashboard.Version?
        var lastDraw = clock.now - Self.clockInterval
        var inputChangedView = true
        while !stop.isRequested, feed.failure == nil {
            let sinceDraw = lastDraw.duration(to: clock.now)
            let due = inputChangedView || live.version != drawn || sinceDraw >= Self.clockInterval
            if due, sinceDraw >= Self.frameInterval {
                let (frame, version) = live.frame(
                    size: screen.size, now: Timestamp.current(), capabilities: screen.capabilities)
                screen.draw(frame)
                (drawn, lastDraw, inputChangedView) = (version, clock.now, false)
                continue
            }
            // Wait for input until the next frame may be drawn; new data is noticed within one frame interval.
            let wait = due ? Self.frameInterval - sinceDraw : Self.frameInterval
            switch screen.nextInput(timeoutMilliseconds: Int(wait.clampedMilliseconds)) {
            case .key(let key):
                switch live.handle(key) {
                case .quit: return .quit
                case .changed: inputChangedView = true
                case .unchanged: break
                }
            case .resize:
                inputChangedView = true
            case nil:
                break
            }
        }
        return .interrupted
    }
}
