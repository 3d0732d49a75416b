import SpeedoCore

/// Lays out and draws one frame of the model: banner, panels (or help, or detail), filter prompt, status line.
struct DashboardRenderer {
    let model: DashboardModel
    let now: Timestamp
    let status: FeedStatus
    let glyphs: Glyphs

    private var store: SensorStore { model.shown }
    private var view: ViewState { model.view }
    private var settings: DashboardSettings { model.settings }

    /// Where windows end and ages are measured from: now, or, while paused, the newest reading of the frozen
    /// state (so the frozen frame does not scroll away).
    private var reference: Timestamp { model.isPaused ? (store.newest ?? now) : now }

    /// The frame, and the grid it shows (nil when it shows none).
    func interactiveFrame(size: TerminalSize) -> (Frame, GridGeometry?) {
        let width = max(0, size.columns)
        let height = max(0, size.rows)
        let order = view.order(of: store)
        let top = banner(width: width).map { [$0] } ?? []
        var bottomCount = 1
        if view.prompt != nil { bottomCount += 1 }
        let areaHeight = height - top.count - bottomCount
        let smallest = PanelKind.smallest
        guard width >= smallest.minimumWidth, areaHeight >= smallest.height else {
            let needed = "\(smallest.minimumWidth)\(glyphs.times)\(smallest.height + top.count + bottomCount)"
            let message = [StyledRun("terminal too small: need at least \(needed)", TextStyle(color: .alert))]
            var lines = Array(repeating: [StyledRun](), count: height)
            if height > 0 {
                lines[(height - 1) / 2] = CellText.centred(message, width: width, ellipsis: glyphs.ellipsis)
            }
            return (finished(lines, size: size), nil)
        }

        var area: [[StyledRun]]
        var shownRange: String
        var geometry: GridGeometry?
        let position = view.selectedPosition(in: order)
        if view.showsHelp {
            area = help(width: width, height: areaHeight)
            shownRange = "help"
        } else if view.showsDetail, !order.isEmpty {
            area = detail(of: store.tracks[order[position]], width: width, height: areaHeight)
            shownRange = "sensor \(position + 1) of \(order.count)"
        } else if order.isEmpty {
            area = emptyArea(width: width, height: areaHeight)
            shownRange = "sensors 0 of 0"
        } else {
            // The guard above made room for the smallest panel, so a layout exists.
            let layout = GridLayout.choose(width: width, height: areaHeight, count: order.count)!
            let page = position / layout.panelsPerPage
            let first = page * layout.panelsPerPage
            let shown = order[first..<min(order.count, first + layout.panelsPerPage)]
            area = grid(shown, layout: layout, selected: order[position])
            shownRange =
                shown.count == 1
                ? "sensor \(first + 1) of \(order.count)"
                : "sensors \(first + 1)\(glyphs.dash)\(shown.endIndex) of \(order.count)"
            geometry = GridGeometry(columns: layout.columns, panelsPerPage: layout.panelsPerPage)
        }
        area = Array(area.prefix(areaHeight))
        area += Array(repeating: [], count: areaHeight - area.count)

        var lines = top + area
        if let prompt = view.prompt {
            lines.append([
                StyledRun("filter: ", TextStyle(color: .accent, bold: true)), StyledRun(glyphs.safe(prompt)),
                StyledRun(" ", TextStyle(reverse: true)),
                StyledRun("  Enter applies, Esc cancels; * and ? make a glob", TextStyle(color: .muted)),
            ])
        }
        lines.append(statusLine(width: width, shownRange: shownRange, matching: order.count))
        return (finished(lines, size: size), geometry)
    }

    /// Every sensor shown, as many rows as it takes; no selection.
    func fullFrame(columns: Int) -> Frame {
        let width = max(0, columns)
        let order = view.order(of: store)
        var lines = banner(width: width).map { [$0] } ?? []
        if order.isEmpty {
            lines.append([StyledRun("no readings yet", TextStyle(color: .muted))])
        } else if let layout = GridLayout.choose(width: width, height: nil, count: order.count) {
            lines += grid(order[...], layout: layout, selected: nil)
        } else {
            lines.append([
                StyledRun(
                    "too narrow: need at least \(PanelKind.smallest.minimumWidth) columns", TextStyle(color: .alert))
            ])
        }
        lines.append(statusLine(width: width, shownRange: "sensors \(order.count)", matching: order.count))
        return finished(lines, size: TerminalSize(columns: width, rows: lines.count))
    }

    /// Exactly `size.rows` lines of exactly `size.columns` cells.
    private func finished(_ lines: [[StyledRun]], size: TerminalSize) -> Frame {
        let rows = max(0, size.rows)
        var fitted = lines.prefix(rows).map { CellText.fit($0, width: size.columns, ellipsis: glyphs.ellipsis) }
        while fitted.count < rows { fitted.append(CellText.fit([], width: size.columns)) }
        return Frame(size: size, lines: fitted)
    }

    // MARK: - Panels

    private func grid(_ tracks: ArraySlice<Int>, layout: GridLayout, selected: Int?) -> [[StyledRun]] {
        let fullScale = SpeedBand.fullScale(fastest: store.fastest)
        let gap = StyledRun(String(repeating: " ", count: GridLayout.columnGap))
        var lines: [[StyledRun]] = []
        for rowStart in stride(from: tracks.startIndex, to: tracks.endIndex, by: layout.columns) {
            if rowStart > tracks.startIndex { lines += Array(repeating: [], count: GridLayout.rowGap) }
            let panels = tracks[rowStart..<min(tracks.endIndex, rowStart + layout.columns)].map { index in
                panel(
                    index, kind: layout.kind, width: layout.panelWidth, isSelected: index == selected,
                    fullScale: fullScale
                ).lines()
            }
            for row in 0..<layout.kind.height {
                var line: [StyledRun] = []
                for (column, panel) in panels.enumerated() {
                    if column > 0 { line.append(gap) }
                    line += panel[row]
                }
                lines.append(line)
            }
        }
        return lines
    }

    private func panel(_ index: Int, kind: PanelKind, width: Int, isSelected: Bool, fullScale: Double) -> SensorPanel {
        let track = store.tracks[index]
        let summary = WindowSummary(
            track: track, store: store, window: settings.window, end: reference, columns: kind.sparkline ? width : 0)
        return SensorPanel(
            track: track, summary: summary, kind: kind, width: width, isSelected: isSelected,
            staleAge: staleAge(of: track), fullScale: fullScale, glyphs: glyphs)
    }

    private func staleAge(of track: SensorTrack) -> TimeSpan? {
        let age = reference - track.latest
        return age > settings.staleAfter ? age : nil
    }

    private func emptyArea(width: Int, height: Int) -> [[StyledRun]] {
        let message =
            view.filter.map { "no sensor matches \(glyphs.safe($0.text)) (/ then Enter clears the filter)" }
            ?? (store.tracks.isEmpty ? "waiting for readings\(glyphs.ellipsis)" : "no sensor to show")
        var lines = Array(repeating: [StyledRun](), count: height)
        lines[(height - 1) / 2] = CellText.centred(
            [StyledRun(message, TextStyle(color: .muted))], width: width, ellipsis: glyphs.ellipsis)
        return lines
    }

    // MARK: - Help

    static let keyHelp: [(keys: String, action: String)] = [
        ("q", "quit"),
        ("?", "this help (? or Esc closes it)"),
        ("arrows, h j k l", "move the selection"),
        ("PgUp PgDn Home End", "page through the sensors"),
        ("Enter", "details of the selected sensor (Esc returns)"),
        ("s", "sort: id, speed, staleness"),
        ("p", "pause / resume (readings are still recorded)"),
        ("/", "filter: substring, or glob with * ?; empty clears"),
        ("+ -", "window: 10s 30s 1m 2m 5m 10m"),
    ]

    private func help(width: Int, height: Int) -> [[StyledRun]] {
        let keyWidth = Self.keyHelp.map { $0.keys.count }.max()!
        var block: [[StyledRun]] = [[StyledRun("Keys", TextStyle(color: .accent, bold: true))], []]
        for (keys, action) in Self.keyHelp {
            let padding = String(repeating: " ", count: keyWidth - keys.count + 2)
            block.append([StyledRun(keys, TextStyle(bold: true)), StyledRun(padding + action)])
        }
        let blockWidth = block.map(CellText.width(of:)).max()!
        let margin = StyledRun(String(repeating: " ", count: max(0, (width - blockWidth) / 2)))
        let topMargin = max(0, (height - block.count) / 2)
        return Array(repeating: [], count: topMargin) + block.map { [margin] + $0 }
    }

    // MARK: - Detail

    private func detail(of track: SensorTrack, width: Int, height: Int) -> [[StyledRun]] {
        let summary = WindowSummary(track: track, store: store, window: settings.window, end: reference, columns: 0)
        let muted = TextStyle(color: .muted)
        let role = ColorRole(band: track.latestSpeed)
        let stale = staleAge(of: track) != nil ? " (stale)" : ""
        var lines: [[StyledRun]] = [
            [
                StyledRun(glyphs.safe(track.id), TextStyle(color: .accent, bold: true)),
                StyledRun("  last ", muted),
                StyledRun(Self.decimal(track.latestSpeed) + " km/h", TextStyle(color: role, bold: true)),
                StyledRun("  age ", muted), StyledRun(SensorPanel.age(reference - track.latest) + stale),
            ]
        ]
        var statistics = [StyledRun("window \(settings.window)  count ", muted), StyledRun("\(summary.count)")]
        if let average = summary.average {
            statistics += [
                StyledRun("  min ", muted), StyledRun(Self.decimal(summary.minimum)),
                StyledRun("  avg ", muted), StyledRun(Self.decimal(average)),
                StyledRun("  max ", muted), StyledRun(Self.decimal(summary.maximum)),
            ]
        }
        lines.append(statistics)

        // Below: the chart, its time axis and the axis labels.
        let top = max(10, ((summary.average == nil ? 0 : summary.maximum) / 10).rounded(.up) * 10)
        let labelWidth = String(Int(top)).count + 1
        let rows = height - lines.count - 2
        let columns = width - labelWidth - 1
        guard rows >= 2, columns >= 8 else { return lines }
        let dotsPerCell = glyphs.unicode ? 2 : 1
        let points = WindowSummary(
            track: track, store: store, window: settings.window, end: reference, columns: columns * dotsPerCell
        ).columns.enumerated().compactMap { column, value in value.map { (x: Double(column), y: $0) } }
        let chart =
            glyphs.unicode
            ? BrailleChart(
                columns: columns, rows: rows, xRange: 0...Double(columns * dotsPerCell - 1), yRange: 0...top
            ).render(points)
            : Self.asciiChart(points, columns: columns, rows: rows, top: top)
        for (index, row) in chart.enumerated() {
            let label = index == 0 ? String(Int(top)) : index == chart.count - 1 ? "0" : ""
            let padding = String(repeating: " ", count: labelWidth - 1 - label.count)
            lines.append([
                StyledRun(padding + label + glyphs.axis.tick, muted), StyledRun(row, TextStyle(color: .accent)),
            ])
        }
        let indent = String(repeating: " ", count: labelWidth)
        lines.append([
            StyledRun(indent + glyphs.axis.corner + String(repeating: glyphs.axis.horizontal, count: columns), muted)
        ])
        let start = Self.clock(reference - settings.window)
        let end = Self.clock(reference)
        let gap = String(repeating: " ", count: max(1, columns + 1 - start.count - end.count))
        lines.append([StyledRun(indent + start + gap + end, muted), StyledRun("  UTC, km/h", muted)])
        return lines
    }

    /// A chart of `*` marks, one column per point, for terminals without braille.
    private static func asciiChart(_ points: [(x: Double, y: Double)], columns: Int, rows: Int, top: Double) -> [String]
    {
        var grid = Array(repeating: Array(repeating: Character(" "), count: columns), count: rows)
        for point in points {
            let column = min(max(Int(point.x), 0), columns - 1)
            let level = Int((min(max(point.y / top, 0), 1) * Double(rows - 1)).rounded())
            grid[rows - 1 - level][column] = "*"
        }
        return grid.map { String($0) }
    }

    // MARK: - Banner and status

    /// The whole width in alert colours, so it cannot be missed.
    private func banner(width: Int) -> [StyledRun]? {
        guard case .unreachable(let reason) = status.connection else { return nil }
        let style = TextStyle(color: .alert, bold: true, reverse: true)
        let text = "\(glyphs.warning) cannot reach \(glyphs.safe(status.brokers)): \(glyphs.safe(reason)); retrying"
        return CellText.fit([StyledRun(text, style)], width: width, ellipsis: glyphs.ellipsis, fill: style)
    }

    /// `matching`: how many sensors pass the filter (the others are counted as "in all").
    private func statusLine(width: Int, shownRange: String, matching: Int) -> [StyledRun] {
        let muted = TextStyle(color: .muted)
        // Most telling first: a narrow terminal cuts the end of the line.
        var parts: [[StyledRun]] = []
        if model.isPaused { parts.append([StyledRun("PAUSED", TextStyle(color: .alert, bold: true, reverse: true))]) }
        switch status.connection {
        case .connecting: parts.append([StyledRun("connecting", TextStyle(color: .muted, bold: true))])
        case .live: parts.append([StyledRun("live", TextStyle(color: .slow, bold: true))])
        case .unreachable: parts.append([StyledRun("unreachable", TextStyle(color: .alert, bold: true))])
        }
        var range = shownRange
        if store.tracks.count != matching { range += " (\(store.tracks.count) in all)" }
        parts.append([StyledRun(range)])
        if let filter = view.filter {
            parts.append([StyledRun("filter " + glyphs.safe(filter.text), TextStyle(color: .accent))])
        }
        parts.append([StyledRun("window \(settings.window)")])
        parts.append([StyledRun("sort \(view.sort.label)")])
        parts.append([StyledRun(Self.rate(status.readingsPerSecond))])
        if let lag = status.lagP99Milliseconds { parts.append([StyledRun("lag p99 " + Self.milliseconds(lag))]) }
        parts.append([StyledRun(glyphs.safe(status.brokers), muted)])
        parts.append([StyledRun(glyphs.safe(status.topic), muted)])
        if !view.showsHelp, view.prompt == nil { parts.append([StyledRun("? help", muted)]) }

        var left: [StyledRun] = []
        for (index, part) in parts.enumerated() {
            if index > 0 { left.append(StyledRun(glyphs.separator, muted)) }
            left += part
        }
        let clock = Self.clock(now)
        guard width >= clock.count + 20 else { return left }
        return CellText.fit(left, width: width - clock.count - 1, ellipsis: glyphs.ellipsis)
            + [StyledRun(" "), StyledRun(clock, TextStyle(bold: true))]
    }

    // MARK: - Numbers

    /// `HH:MM:SS` in UTC.
    static func clock(_ time: Timestamp) -> String { String(time.rfc3339.dropFirst(11).prefix(8)) }

    /// One decimal: `42.5`.
    static func decimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return (tenths < 0 ? "-" : "") + "\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }

    static func rate(_ perSecond: Double) -> String {
        if perSecond >= 999_950 { return decimal(perSecond / 1_000_000) + "M/s" }
        if perSecond >= 999.5 { return decimal(perSecond / 1_000) + "k/s" }
        return "\(Int(perSecond.rounded()))/s"
    }

    static func milliseconds(_ value: Double) -> String {
        value >= 999.5 ? decimal(value / 1_000) + "s" : "\(Int(value.rounded()))ms"
    }
}
