package import SpeedoCore
import Synchronization

package struct DashboardSettings: Sendable, Hashable {
    /// The span the sparklines, charts and min/avg/max cover, ending now.
    package var window: TimeSpan
    /// A sensor without a reading for longer than this is shown dimmed, with its age.
    package var staleAfter: TimeSpan
    /// `--sensors`: readings of other sensors are ignored.
    package var sensorFilter: SensorGlob?

    package init(window: TimeSpan = .seconds(60), staleAfter: TimeSpan = .seconds(5), sensorFilter: SensorGlob? = nil) {
        (self.window, self.staleAfter, self.sensorFilter) = (window, staleAfter, sensorFilter)
    }
}

/// What a key press did, so the UI loop knows whether to redraw or to leave.
package enum DashboardReaction: Sendable, Hashable {
    case unchanged, changed, quit
}

/// The state of `speedo watch` and the frames it draws: pure (no clock, no terminal, no I/O), so every
/// behaviour is tested on plain values. The feed calls `record`, the screen calls `handle` and `frame`.
///
/// Histories are kept in time buckets of 1/1200 of the retention span (the longest window the `+` key reaches,
/// or `--window` when longer): 0.5 s for the default 10 minutes, so at most 1200 buckets per sensor whatever
/// the reading rate.
package struct DashboardModel: Sendable {
    /// The windows `+` and `-` step through.
    static let windowSteps: [TimeSpan] = [10, 30, 60, 120, 300, 600].map { TimeSpan.seconds($0) }
    static let bucketsPerSensor = 1200
    /// Ids rejected by `--sensors` are remembered (to skip matching them again) up to this many.
    static let rejectedIDLimit = 4096

    package private(set) var settings: DashboardSettings
    package private(set) var revision: UInt64 = 0
    private(set) var view = ViewState()
    private var live: SensorStore
    /// The store as it was when `p` paused the dashboard; frames show it until `p` again.
    private var frozen: SensorStore?
    private var rejectedIDs: Set<String> = []
    /// The grid the last frame was laid out in, so that up/down and page keys move by what the user saw.
    let grid = GridMemory()

    package init(settings: DashboardSettings) {
        self.settings = settings
        let retention = max(settings.window, Self.windowSteps[Self.windowSteps.count - 1])
        live = SensorStore(retention: retention, buckets: Self.bucketsPerSensor)
    }

    package var sensorCount: Int { live.tracks.count }

    /// What frames show: the live store, or the one frozen by pause.
    var shown: SensorStore { frozen ?? live }
    var isPaused: Bool { frozen != nil }

    /// Samples in any order (back-fill and live interleave); duplicates (same sensor+timestamp) ignored;
    /// samples older than the longest window kept are dropped.
    package mutating func record(_ samples: some Sequence<Reading>) {
        var changed = false
        for sample in samples {
            if let filter = settings.sensorFilter, !live.contains(sample.sensorID) {
                guard !rejectedIDs.contains(sample.sensorID) else { continue }
                guard filter.matches(sample.sensorID) else {
                    if rejectedIDs.count >= Self.rejectedIDLimit { rejectedIDs.removeAll(keepingCapacity: true) }
                    rejectedIDs.insert(sample.sensorID)
                    continue
                }
            }
            if live.record(sample) { changed = true }
        }
        if changed, !isPaused { revision &+= 1 }
    }

    /// Keys: q quit; ? help; arrows or h j k l move the selection (up/down by a row of the last frame's grid),
    /// PgUp/PgDn/Home/End by pages; Enter the selected sensor's detail, Esc back; s sort (id, speed,
    /// staleness); p pause: frames show the state as it was, its windows ending at its newest reading, until p
    /// again (readings are still recorded); / filter prompt; + and - step the window.
    package mutating func handle(_ key: DashboardKey) -> DashboardReaction {
        let before = (view, settings.window, isPaused)
        if view.prompt != nil {
            handlePrompt(key)
        } else if view.showsHelp {
            switch key {
            case .character("q"): return .quit
            case .character("?"), .escape: view.showsHelp = false
            default: break
            }
        } else {
            if key == .character("q") { return .quit }
            handleCommand(key)
        }
        guard (view, settings.window, isPaused) != before else { return .unchanged }
        revision &+= 1
        return .changed
    }

    private mutating func handlePrompt(_ key: DashboardKey) {
        switch key {
        case .character(let character):
            view.prompt?.append(character)
        case .backspace:
            if view.prompt?.isEmpty == false { view.prompt?.removeLast() }
        case .enter:
            view.filter = SensorFilter(view.prompt ?? "")
            view.prompt = nil
        case .escape:
            view.prompt = nil
        default:
            break
        }
    }

    private mutating func handleCommand(_ key: DashboardKey) {
        let geometry = grid.geometry
        switch key {
        case .character("?"): view.showsHelp = true
        case .character("s"): view.sort = view.sort.next
        case .character("p"): frozen = isPaused ? nil : live
        case .character("/"): view.prompt = ""
        case .character("+"): stepWindow(up: true)
        case .character("-"): stepWindow(up: false)
        case .enter: if !view.order(of: shown).isEmpty { view.showsDetail = true }
        case .escape: view.showsDetail = false
        case .left, .character("h"): moveSelection { $0 - 1 }
        case .right, .character("l"): moveSelection { $0 + 1 }
        case .up, .character("k"): moveSelection { $0 - geometry.columns }
        case .down, .character("j"): moveSelection { $0 + geometry.columns }
        case .pageUp: moveSelection { $0 - geometry.panelsPerPage }
        case .pageDown: moveSelection { $0 + geometry.panelsPerPage }
        case .home: moveSelection { _ in 0 }
        case .end: moveSelection { _ in .max }
        default: break
        }
    }

    private mutating func moveSelection(_ target: (Int) -> Int) {
        let order = view.order(of: shown)
        guard !order.isEmpty else { return }
        let position = view.selectedPosition(in: order)
        let chosen = min(max(target(position), 0), order.count - 1)
        // Without an explicit selection the first sensor is selected: choosing it again changes nothing.
        if chosen != position || view.selected != nil { view.selected = order[chosen] }
    }

    private mutating func stepWindow(up: Bool) {
        let current = settings.window
        let next = up ? Self.windowSteps.first { $0 > current } : Self.windowSteps.last { $0 < current }
        if let next { settings.window = next }
    }

    /// The whole screen at `size` (interactive; paging/selection/detail/help/filter prompt as the state says).
    package func frame(size: TerminalSize, now: Timestamp, status: FeedStatus, capabilities: TerminalCapabilities)
        -> Frame
    {
        let renderer = DashboardRenderer(
            model: self, now: now, status: status, glyphs: Glyphs(unicode: capabilities.unicode))
        let (frame, geometry) = renderer.interactiveFrame(size: size)
        if let geometry { grid.geometry = geometry }
        return frame
    }

    /// `watch --once`: every selected sensor, no paging, no selection highlight, as many rows as needed,
    /// `columns` wide.
    package func fullFrame(columns: Int, now: Timestamp, status: FeedStatus, capabilities: TerminalCapabilities)
        -> Frame
    {
        DashboardRenderer(model: self, now: now, status: status, glyphs: Glyphs(unicode: capabilities.unicode))
            .fullFrame(columns: columns)
    }

    /// Bytes held by the sensor histories (for memory figures).
    var allocatedBytes: Int { live.allocatedBytes }
}

/// What the user chose to look at: independent of the data.
struct ViewState: Sendable, Hashable {
    enum SortOrder: Sendable, Hashable, CaseIterable {
        /// Natural id order (`sensor-2` before `sensor-10`).
        case id
        /// Fastest first.
        case speed
        /// Longest without a reading first.
        case staleness

        var next: SortOrder {
            let all = Self.allCases
            return all[(all.firstIndex(of: self)! + 1) % all.count]
        }

        var label: String {
            switch self {
            case .id: "id"
            case .speed: "speed"
            case .staleness: "staleness"
            }
        }
    }

    var sort = SortOrder.id
    /// The selected sensor's track index; nil selects the first one shown.
    var selected: Int?
    var showsDetail = false
    var showsHelp = false
    var filter: SensorFilter?
    /// The filter being typed after `/`.
    var prompt: String?

    /// Track indices of the sensors shown, in display order.
    func order(of store: SensorStore) -> [Int] {
        var shown = store.naturalOrder
        if let filter { shown.removeAll { !filter.matches(store.tracks[$0].id) } }
        switch sort {
        case .id:
            return shown
        case .speed:
            // Ties keep the natural order (the position in `shown`), so the order never flickers.
            return shown.enumerated().sorted {
                let (left, right) = (store.tracks[$0.element].latestSpeed, store.tracks[$1.element].latestSpeed)
                return left != right ? left > right : $0.offset < $1.offset
            }.map(\.element)
        case .staleness:
            return shown.enumerated().sorted {
                let (left, right) = (store.tracks[$0.element].latest, store.tracks[$1.element].latest)
                return left != right ? left < right : $0.offset < $1.offset
            }.map(\.element)
        }
    }

    func selectedPosition(in order: [Int]) -> Int {
        selected.flatMap { order.firstIndex(of: $0) } ?? 0
    }
}

/// The `/` filter: a glob when the text has `*` or `?`, else a substring of the id.
struct SensorFilter: Sendable, Hashable {
    let text: String
    private let glob: SensorGlob?

    /// nil for an empty text (which clears the filter).
    init?(_ text: String) {
        guard !text.isEmpty else { return nil }
        self.text = text
        glob = text.contains(where: { $0 == "*" || $0 == "?" }) ? SensorGlob(text) : nil
    }

    func matches(_ sensorID: String) -> Bool {
        if let glob { return glob.matches(sensorID) }
        return sensorID.contains(text)
    }
}

struct GridGeometry: Sendable, Hashable {
    var columns: Int
    var panelsPerPage: Int
}

/// The grid of the last interactive frame. `frame` is a pure function of the state except for this note of
/// what it laid out, which only `handle` reads (up/down move by one grid row); the class is shared by copies
/// of a model, which is harmless since it only steers the next key press.
final class GridMemory: Sendable {
    private let state = Mutex(GridGeometry(columns: 1, panelsPerPage: 1))

    var geometry: GridGeometry {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
