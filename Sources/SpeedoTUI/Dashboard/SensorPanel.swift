import SpeedoCore

/// Which parts a panel shows, richest first: when space runs short the statistics go first, then the
/// sparkline, then the big digits (a bold number instead), and last the gauge shares the number's line.
struct PanelKind: Sendable, Hashable {
    var bigDigits: Bool
    var sparkline: Bool
    var statistics: Bool
    /// The number and the gauge share one line.
    var merged: Bool

    var height: Int {
        if merged { return 2 }
        return 1 + (bigDigits ? BigDigits.height : 1) + 1 + (sparkline ? 1 : 0) + (statistics ? 1 : 0)
    }

    /// Big digits of three-digit speeds with their unit, or `min 149 avg 154 max 159`, need 20 cells.
    var minimumWidth: Int { bigDigits || statistics ? 20 : 12 }

    /// Narrower kinds without big digits keep the sparkline and statistics, so that a grid that would page
    /// with big digits can show every sensor with its history instead.
    static let preference: [PanelKind] = [
        PanelKind(bigDigits: true, sparkline: true, statistics: true, merged: false),
        PanelKind(bigDigits: true, sparkline: true, statistics: false, merged: false),
        PanelKind(bigDigits: true, sparkline: false, statistics: false, merged: false),
        PanelKind(bigDigits: false, sparkline: true, statistics: true, merged: false),
        PanelKind(bigDigits: false, sparkline: true, statistics: false, merged: false),
        PanelKind(bigDigits: false, sparkline: false, statistics: false, merged: false),
        PanelKind(bigDigits: false, sparkline: false, statistics: false, merged: true),
    ]
    static let smallest = preference[preference.count - 1]
}

/// Panels laid out in a grid: `columns` × `rows` panels of `panelWidth` cells, two blank cells apart and one
/// blank line apart.
struct GridLayout: Sendable, Hashable {
    static let columnGap = 2
    static let rowGap = 1
    /// Wider panels only stretch the gauge and sparkline; beyond this they stop helping.
    static let maximumPanelWidth = 60

    var kind: PanelKind
    var columns: Int
    var rows: Int
    var panelWidth: Int

    var panelsPerPage: Int { columns * rows }

    /// The richest kind that shows all `count` panels at once, else the richest that shows at least one;
    /// nil when not even the smallest panel fits. `height` nil: unlimited (as many rows as needed).
    static func choose(width: Int, height: Int?, count: Int) -> GridLayout? {
        let count = max(1, count)
        var fallback: GridLayout?
        for kind in PanelKind.preference where width >= kind.minimumWidth && (height ?? .max) >= kind.height {
            let columns = min(count, (width + columnGap) / (kind.minimumWidth + columnGap))
            let rows = height.map { ($0 + rowGap) / (kind.height + rowGap) } ?? (count + columns - 1) / columns
            let panelWidth = min(maximumPanelWidth, (width - columnGap * (columns - 1)) / columns)
            let layout = GridLayout(kind: kind, columns: columns, rows: rows, panelWidth: panelWidth)
            if layout.panelsPerPage >= count { return layout }
            if fallback == nil { fallback = layout }
        }
        return fallback
    }
}

extension ColorRole {
    /// The colour of a speed's band.
    init(band speed: Double) {
        self = switch SpeedBand(speed: speed) {
        case .slow: .slow
        case .cruising: .cruising
        case .fast: .fast
        }
    }
}

/// Draws one sensor's panel: exactly `kind.height` lines of exactly `width` cells.
struct SensorPanel {
    let track: SensorTrack
    let summary: WindowSummary
    let kind: PanelKind
    let width: Int
    let isSelected: Bool
    /// Time since the last reading when it is more than the stale limit.
    let staleAge: TimeSpan?
    let fullScale: Double
    let glyphs: Glyphs

    func lines() -> [[StyledRun]] {
        var lines = [header()]
        let role = ColorRole(band: track.latestSpeed)
        let speed = Int(max(0, track.latestSpeed.rounded()))
        if kind.merged {
            let number = StyledRun("\(speed) ", TextStyle(color: role, bold: true))
            lines.append([number] + gauge(width: width - DisplayWidth.of(number.text)))
        } else {
            if kind.bigDigits, let big = BigDigits.lines(speed, unicode: glyphs.unicode),
                DisplayWidth.of(big[0]) + BigDigits.unit.count + 1 <= width
            {
                for (row, text) in big.enumerated() {
                    var line = [StyledRun(text, TextStyle(color: role, bold: true))]
                    if row == big.count - 1 {
                        line.append(StyledRun(" " + BigDigits.unit, TextStyle(color: .muted)))
                    }
                    lines.append(line)
                }
            } else {
                lines.append(compactNumber(speed, role: role))
                if kind.bigDigits { lines += Array(repeating: [], count: BigDigits.height - 1) }
            }
            lines.append(gauge(width: width))
            if kind.sparkline { lines.append(sparkline()) }
            if kind.statistics { lines.append(statistics()) }
        }
        return lines.map { line in
            let fitted = CellText.fit(line, width: width, ellipsis: glyphs.ellipsis)
            guard staleAge != nil else { return fitted }
            return fitted.map { run in
                var style = run.style
                style.color = .muted
                style.dim = true
                return StyledRun(run.text, style)
            }
        }
    }

    private func header() -> [StyledRun] {
        let tag = staleAge.map { "stale " + Self.age($0) } ?? ""
        let tagWidth = tag.isEmpty ? 0 : DisplayWidth.of(tag) + 1
        let idBudget = max(1, width - tagWidth)
        let idStyle = TextStyle(color: .accent, bold: true, reverse: isSelected)
        let label = glyphs.safe(track.id)
        var line = [StyledRun(label, idStyle)]
        if DisplayWidth.of(label) > idBudget {
            line = CellText.fit(line, width: idBudget, ellipsis: glyphs.ellipsis)
        }
        if !tag.isEmpty {
            let gap = max(1, width - CellText.width(of: line) - DisplayWidth.of(tag))
            line.append(StyledRun(String(repeating: " ", count: gap) + tag, TextStyle(color: .muted)))
        }
        return line
    }

    private func compactNumber(_ speed: Int, role: ColorRole) -> [StyledRun] {
        [
            StyledRun("\(speed)", TextStyle(color: role, bold: true)),
            StyledRun(" " + BigDigits.unit, TextStyle(color: .muted)),
        ]
    }

    /// A bar with eighth-of-a-cell precision (half a cell in ASCII) between two end marks.
    private func gauge(width: Int) -> [StyledRun] {
        let inner = width - 2
        guard inner >= 1 else { return [] }
        let fraction = min(max(track.latestSpeed / fullScale, 0), 1)
        let eighths = Int((fraction * Double(inner * 8)).rounded())
        var bar = String(repeating: glyphs.gaugeFull, count: eighths / 8)
        if eighths % 8 > 0, glyphs.gaugeEighths[eighths % 8] != " " { bar.append(glyphs.gaugeEighths[eighths % 8]) }
        let empty = String(repeating: " ", count: inner - bar.count)
        return [
            StyledRun(glyphs.gaugeEnds.left, TextStyle(color: .muted)),
            StyledRun(bar, TextStyle(color: ColorRole(band: track.latestSpeed))),
            StyledRun(empty),
            StyledRun(glyphs.gaugeEnds.right, TextStyle(color: .muted)),
        ]
    }

    /// The window's column averages as levels from the window's minimum up over its range (at least
    /// `sparklineMinimumRange`, so that jitter is not blown up to full height); blank where nothing was read.
    private func sparkline() -> [StyledRun] {
        let bottom = summary.minimum
        let range = max(summary.maximum - bottom, Self.sparklineMinimumRange)
        let levels = glyphs.sparkLevels
        let text = String(
            summary.columns.map { average -> Character in
                guard let average else { return " " }
                let level = Int(((average - bottom) / range * Double(levels.count - 1)).rounded())
                return levels[min(max(level, 0), levels.count - 1)]
            })
        return [StyledRun(text, TextStyle(color: .accent))]
    }

    static let sparklineMinimumRange = 10.0

    private func statistics() -> [StyledRun] {
        guard let average = summary.average else {
            return [StyledRun("no readings in window", TextStyle(color: .muted))]
        }
        let label = TextStyle(color: .muted)
        let values = [summary.minimum, average, summary.maximum].map(Self.integer)
        // Roomy when it fits, then tighter: `min 6  avg 11  max 16`, `min 6 avg 11 max 16`, `min6 avg11 max16`.
        let spacings: [(between: String, after: String)] = [("  ", " "), (" ", " "), (" ", "")]
        let fixed = "minavgmax".count + values.joined().count
        let spacing =
            spacings.first { spacing in
                let gaps: Int = 2 * spacing.between.count + 3 * spacing.after.count
                return fixed + gaps <= width
            } ?? spacings[2]
        return [
            StyledRun("min" + spacing.after, label), StyledRun(values[0]),
            StyledRun(spacing.between + "avg" + spacing.after, label), StyledRun(values[1]),
            StyledRun(spacing.between + "max" + spacing.after, label), StyledRun(values[2]),
        ]
    }

    static func integer(_ value: Double) -> String { "\(Int(value.rounded()))" }

    /// `12s`, `3m`, `5h`, `2d`: the largest whole unit.
    static func age(_ span: TimeSpan) -> String {
        let seconds = max(0, span.microseconds / 1_000_000)
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3_600 { return "\(seconds / 60)m" }
        if seconds < 172_800 { return "\(seconds / 3_600)h" }
        return "\(seconds / 86_400)d"
    }
}

/// Numbers three lines tall: half blocks on a UTF-8 terminal (a 3×5 dot font), seven-segment strokes in ASCII.
enum BigDigits {
    static let height = 3
    static let unit = "km/h"

    /// 3×5 dots per digit, top row first.
    private static let font: [[String]] = [
        ["###", "# #", "# #", "# #", "###"], [" # ", "## ", " # ", " # ", "###"],
        ["###", "  #", "###", "#  ", "###"], ["###", "  #", "###", "  #", "###"],
        ["# #", "# #", "###", "  #", "  #"], ["###", "#  ", "###", "  #", "###"],
        ["###", "#  ", "###", "# #", "###"], ["###", "  #", "  #", "  #", "  #"],
        ["###", "# #", "###", "# #", "###"], ["###", "# #", "###", "  #", "###"],
    ]

    private static let segments: [[String]] = [
        [" _ ", "| |", "|_|"], ["   ", "  |", "  |"], [" _ ", " _|", "|_ "], [" _ ", " _|", " _|"],
        ["   ", "|_|", "  |"], [" _ ", "|_ ", " _|"], [" _ ", "|_ ", "|_|"], [" _ ", "  |", "  |"],
        [" _ ", "|_|", "|_|"], [" _ ", "|_|", " _|"],
    ]

    /// The lines of `value` (digits one cell apart), or nil for a negative value.
    static func lines(_ value: Int, unicode: Bool) -> [String]? {
        guard value >= 0 else { return nil }
        let glyphs = String(value).compactMap(\.wholeNumberValue).map {
            unicode ? halfBlocks(font[$0]) : segments[$0]
        }
        return (0..<height).map { row in glyphs.map { $0[row] }.joined(separator: " ") }
    }

    /// Two dot rows per line: both set `█`, upper `▀`, lower `▄`.
    private static func halfBlocks(_ dots: [String]) -> [String] {
        let rows = dots.map(Array.init) + [Array("   ")]
        return stride(from: 0, to: rows.count, by: 2).map { top in
            String(
                zip(rows[top], rows[top + 1]).map { upper, lower -> Character in
                    switch (upper == "#", lower == "#") {
                    case (true, true): "█"
                    case (true, false): "▀"
                    case (false, true): "▄"
                    case (false, false): " "
                    }
                })
        }
    }
}
