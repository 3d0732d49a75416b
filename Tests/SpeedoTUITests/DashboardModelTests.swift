import SpeedoCore
import Testing

@testable import SpeedoTUI

@Suite struct DashboardSnapshotTests {
    @Test(arguments: [(80, 24), (120, 40), (40, 12), (200, 60), (20, 5)])
    func gridAtSize(columns: Int, rows: Int) {
        let frame = DashboardFixture.frame(DashboardFixture.model(), columns, rows)
        expectSnapshot(frame.plainText, named: "grid-\(columns)x\(rows)")
    }

    @Test func styledGrid() {
        let frame = DashboardFixture.frame(
            DashboardFixture.model(sensors: 4), 80, 24, capabilities: DashboardFixture.colour)
        expectSnapshot(styledDump(frame), named: "grid-80x24-styled")
    }

    @Test func asciiGrid() {
        let frame = DashboardFixture.frame(
            DashboardFixture.model(sensors: 4), 80, 24, capabilities: DashboardFixture.ascii)
        expectSnapshot(frame.plainText, named: "grid-80x24-ascii")
    }

    @Test func detailView() {
        var model = DashboardFixture.model()
        _ = DashboardFixture.frame(model, 80, 24)
        _ = model.handle(.right)
        _ = model.handle(.enter)
        expectSnapshot(DashboardFixture.frame(model, 80, 24).plainText, named: "detail-80x24")
        expectSnapshot(
            DashboardFixture.frame(model, 80, 24, capabilities: DashboardFixture.ascii).plainText,
            named: "detail-80x24-ascii")
    }

    @Test func helpOverlay() {
        var model = DashboardFixture.model()
        _ = model.handle(.character("?"))
        expectSnapshot(DashboardFixture.frame(model, 80, 24).plainText, named: "help-80x24")
    }

    @Test func unreachableBannerPausedAndFilterPrompt() {
        var model = DashboardFixture.model()
        _ = model.handle(.character("p"))
        _ = model.handle(.character("/"))
        _ = model.handle(.character("1"))
        var status = DashboardFixture.status
        status.connection = .unreachable(reason: "connection refused\u{1B}[31m")
        expectSnapshot(
            styledDump(DashboardFixture.frame(model, 100, 30, status: status)),
            named: "banner-paused-prompt-100x30-styled")
    }

    @Test func onceFrame() {
        let model = DashboardFixture.model()
        let frame = model.fullFrame(
            columns: 100, now: DashboardFixture.now, status: DashboardFixture.status, capabilities: .plainText)
        expectSnapshot(frame.plainText, named: "once-100")
    }

    @Test func tooSmall() {
        let frame = DashboardFixture.frame(DashboardFixture.model(), 44, 2)
        #expect(frame.plainText == "   terminal too small: need at least 12×3\n")
    }
}

@Suite struct DashboardInvariantTests {
    /// Every frame is exactly rows × columns cells, whatever the size, state and sensor ids; nothing that can
    /// move the cursor or reorder text reaches a run; ASCII frames are ASCII.
    @Test func everyFrameFillsItsSizeExactlyWithSafeText() {
        var model = DashboardFixture.model(sensors: 30)
        for (index, id) in DashboardFixture.hostileIDs.enumerated() {
            model.record([
                Reading(
                    sensorID: id, speed: Double(index * 37), timestamp: DashboardFixture.now - .seconds(Int64(index)))
            ])
        }
        var states = [model]
        for keys: [DashboardKey] in [
            [.enter], [.character("?")], [.character("/"), .character("\u{1B}"), .character("x")],
            [.character("p"), .end],
        ] {
            var changed = model
            for key in keys { _ = changed.handle(key) }
            states.append(changed)
        }
        var selected = model
        _ = selected.handle(.character("s"))
        _ = selected.handle(.end)
        _ = selected.handle(.enter)
        states.append(selected)
        let banner = FeedStatus(brokers: "b\u{202E}1", topic: "t\u{200B}", connection: .unreachable(reason: "r\r\n宽🚗"))
        var generator = SplitMix64(seed: 42)
        for round in 0..<400 {
            let size = TerminalSize(
                columns: Int.random(in: 1...220, using: &generator), rows: Int.random(in: 1...70, using: &generator))
            let state = states[round % states.count]
            let unicode = round % 3 != 0
            let status = round % 4 == 0 ? banner : DashboardFixture.status
            let frame = state.frame(
                size: size, now: DashboardFixture.now, status: status,
                capabilities: TerminalCapabilities(unicode: unicode, colors: .basic))
            #expect(frame.size == size)
            #expect(frame.lines.count == size.rows, "\(size)")
            for line in frame.lines {
                #expect(CellText.width(of: line) == size.columns, "\(size): \(line.map(\.text).joined())")
                for run in line { expectSafe(run.text, ascii: !unicode) }
            }
        }
        for columns in [1, 5, 11, 12, 13, 40, 97, 200] {
            let frame = states[0].fullFrame(
                columns: columns, now: DashboardFixture.now, status: banner, capabilities: .plainText)
            #expect(frame.lines.count == frame.size.rows)
            for line in frame.lines { #expect(CellText.width(of: line) == columns) }
        }
    }

    private func expectSafe(_ text: String, ascii: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let unsafe =
                value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x061C || (0x200B...0x200F).contains(value)
                || (0x202A...0x202E).contains(value) || (0x2060...0x2069).contains(value) || value == 0xFEFF
            #expect(
                !unsafe, "U+\(String(value, radix: 16)) in \(text.debugDescription)", sourceLocation: sourceLocation)
            if ascii { #expect(value < 0x80, "\(text.debugDescription) is not ASCII", sourceLocation: sourceLocation) }
        }
    }

    @Test func hostileIDsAreEscapedAndCutToTheirPanel() {
        var model = DashboardModel(settings: DashboardSettings())
        model.record([Reading(sensorID: "a\u{1B}[2J\u{202E}b", speed: 50, timestamp: DashboardFixture.now)])
        let text = DashboardFixture.frame(model, 40, 12).plainText
        #expect(text.contains(#"a\u{1B}[2J\u{202E}b"#))
        var wide = DashboardModel(settings: DashboardSettings())
        wide.record([Reading(sensorID: "宽字符宽字符宽字符宽字符宽字符宽字符", speed: 50, timestamp: DashboardFixture.now)])
        // 12 cells: five wide characters (10 cells) and the ellipsis fit; the sixth would straddle the edge.
        let line = lineTexts(DashboardFixture.frame(wide, 12, 5))[0]
        #expect(line == "宽字符宽字… ")
    }
}

@Suite struct DashboardRecordTests {
    /// Exact among each sensor's newest 512 readings (see RecentTimestamps): 480 per sensor here.
    @Test func duplicatesAreIgnoredAndOrderDoesNotMatter() {
        let samples = DashboardFixture.samples(sensors: 5, hertz: 8)
        var inOrder = DashboardModel(settings: DashboardSettings())
        inOrder.record(samples)
        var shuffled = DashboardModel(settings: DashboardSettings())
        var generator = SplitMix64(seed: 7)
        shuffled.record(samples.shuffled(using: &generator))
        let revision = shuffled.revision
        shuffled.record(samples.suffix(100))  // redelivered
        #expect(shuffled.revision == revision)
        #expect(
            styledDump(DashboardFixture.frame(shuffled, 120, 40))
                == styledDump(DashboardFixture.frame(inOrder, 120, 40)))
        let track = shuffled.shown.tracks[0]
        let summary = WindowSummary(
            track: track, store: shuffled.shown, window: .seconds(60), end: DashboardFixture.now, columns: 0)
        #expect(summary.count == 480)
    }

    @Test func readingsOlderThanTheRetentionAreDropped() {
        var model = DashboardModel(settings: DashboardSettings())
        model.record([Reading(sensorID: "s", speed: 10, timestamp: DashboardFixture.now)])
        let revision = model.revision
        model.record([Reading(sensorID: "s", speed: 99, timestamp: DashboardFixture.now - .seconds(601))])
        #expect(model.revision == revision)
        model.record([Reading(sensorID: "s", speed: 99, timestamp: DashboardFixture.now - .seconds(599))])
        #expect(model.revision > revision)
    }

    @Test func sensorFilterIgnoresOtherSensors() {
        var model = DashboardModel(settings: DashboardSettings(sensorFilter: SensorGlob("sensor-1*")))
        model.record(DashboardFixture.samples(sensors: 12))
        #expect(model.sensorCount == 4)  // 1, 10, 11, 12
    }

    @Test func memoryStaysBoundedAtTenHertzForTenMinutes() {
        var model = DashboardModel(settings: DashboardSettings())
        for second in 0..<600 {
            var batch: [Reading] = []
            for tick in 0..<10 {
                for sensor in 1...2000 {
                    let time = DashboardFixture.start + TimeSpan(microseconds: Int64(second * 10 + tick) * 100_000)
                    batch.append(
                        Reading(sensorID: "sensor-\(sensor)", speed: Double(sensor % 150), timestamp: time))
                }
            }
            model.record(batch)
            if second == 59 { #expect(model.allocatedBytes < 40_000_000, "\(model.allocatedBytes) bytes after 60 s") }
        }
        #expect(model.allocatedBytes < 100_000_000, "\(model.allocatedBytes) bytes after 10 minutes")
    }

    @Test func revisionMovesOnlyWhenSomethingShownChanged() {
        var model = DashboardModel(settings: DashboardSettings())
        #expect(model.revision == 0)
        model.record([DashboardFixture.sample(sensor: 1, tick: 1)])
        #expect(model.revision == 1)
        #expect(model.handle(.left) == .unchanged)
        #expect(model.handle(.escape) == .unchanged)
        #expect(model.revision == 1)
        #expect(model.handle(.character("s")) == .changed)
        #expect(model.revision == 2)
    }
}

@Suite struct DashboardKeyTests {
    private func ids(_ model: DashboardModel) -> [String] {
        model.view.order(of: model.shown).map { model.shown.tracks[$0].id }
    }

    /// The id run drawn in reverse video.
    private func selectedID(_ frame: Frame) -> String? {
        frame.lines.lazy.flatMap { $0 }.first { $0.style.reverse && $0.style.color == .accent }?.text
    }

    @Test func quitAndHelp() {
        var model = DashboardFixture.model()
        #expect(model.handle(.character("?")) == .changed)
        #expect(
            lineTexts(DashboardFixture.frame(model, 80, 24)).contains { $0.contains("window: 10s 30s 1m 2m 5m 10m") })
        #expect(model.handle(.character("?")) == .changed)
        #expect(!lineTexts(DashboardFixture.frame(model, 80, 24)).contains { $0.contains("Keys") })
        _ = model.handle(.character("?"))
        #expect(model.handle(.escape) == .changed)
        #expect(model.handle(.character("q")) == .quit)
    }

    @Test func arrowsAndVimKeysMoveTheSelectionAcrossTheGrid() {
        var model = DashboardFixture.model(sensors: 20)
        // 80×24: all 20 fit as compact panels, 5 columns of 4.
        #expect(selectedID(DashboardFixture.frame(model, 80, 24)) == "sensor-1")
        _ = model.handle(.right)
        #expect(selectedID(DashboardFixture.frame(model, 80, 24)) == "sensor-2")
        _ = model.handle(.character("j"))
        #expect(selectedID(DashboardFixture.frame(model, 80, 24)) == "sensor-7")
        _ = model.handle(.down)
        #expect(selectedID(DashboardFixture.frame(model, 80, 24)) == "sensor-12")
        _ = model.handle(.character("h"))
        _ = model.handle(.character("k"))
        #expect(selectedID(DashboardFixture.frame(model, 80, 24)) == "sensor-6")
        _ = model.handle(.up)
        _ = model.handle(.up)
        _ = model.handle(.left)
        _ = model.handle(.left)
        #expect(selectedID(DashboardFixture.frame(model, 80, 24)) == "sensor-1")
    }

    @Test func pagesFollowTheSelection() {
        var model = DashboardFixture.model(sensors: 2000, staleSensor: nil)
        let status = { (model: DashboardModel) in lineTexts(DashboardFixture.frame(model, 80, 24)).last! }
        #expect(status(model).contains("sensors 1–9 of 2000"))
        _ = model.handle(.pageDown)
        #expect(status(model).contains("sensors 10–18 of 2000"))
        #expect(selectedID(DashboardFixture.frame(model, 80, 24)) == "sensor-10")
        _ = model.handle(.end)
        #expect(status(model).contains("sensors 1999–2000 of 2000"))
        _ = model.handle(.character("l"))
        #expect(selectedID(DashboardFixture.frame(model, 80, 24)) == "sensor-2000")
        _ = model.handle(.home)
        _ = model.handle(.left)
        #expect(status(model).contains("sensors 1–9 of 2000"))
        for _ in 0..<9 { _ = model.handle(.right) }
        #expect(status(model).contains("sensors 10–18 of 2000"))
        // 200×60: 9 columns × 7 rows of full panels; the page is the one holding the selection.
        let large = lineTexts(DashboardFixture.frame(model, 200, 60))
        #expect(large.last!.contains("sensors 1–63 of 2000"))
        #expect(large[0].hasPrefix("sensor-1 "))
    }

    @Test func enterOpensTheDetailOfTheSelectionAndEscapeReturns() {
        var model = DashboardFixture.model()
        _ = DashboardFixture.frame(model, 80, 24)
        _ = model.handle(.right)
        #expect(model.handle(.enter) == .changed)
        let detail = lineTexts(DashboardFixture.frame(model, 80, 24))
        #expect(detail[0].hasPrefix("sensor-2  last "))
        #expect(detail[1].contains("count 600"))
        #expect(detail.contains { $0.contains("22:13:20") && $0.contains("22:14:20") })
        _ = model.handle(.right)
        #expect(lineTexts(DashboardFixture.frame(model, 80, 24))[0].hasPrefix("sensor-3  last "))
        #expect(model.handle(.escape) == .changed)
        #expect(lineTexts(DashboardFixture.frame(model, 80, 24))[0].hasPrefix("sensor-1 "))
    }

    @Test func sortCyclesThroughIdSpeedAndStaleness() {
        var model = DashboardModel(settings: DashboardSettings())
        let now = DashboardFixture.now
        model.record([
            Reading(sensorID: "sensor-10", speed: 50, timestamp: now - .seconds(1)),
            Reading(sensorID: "sensor-2", speed: 20, timestamp: now - .seconds(30)),
            Reading(sensorID: "sensor-1", speed: 90, timestamp: now - .seconds(5)),
            Reading(sensorID: "alpha", speed: 50, timestamp: now - .seconds(2)),
        ])
        #expect(ids(model) == ["alpha", "sensor-1", "sensor-2", "sensor-10"])
        _ = model.handle(.character("s"))
        #expect(ids(model) == ["sensor-1", "alpha", "sensor-10", "sensor-2"])
        #expect(lineTexts(DashboardFixture.frame(model, 80, 24)).last!.contains("sort speed"))
        _ = model.handle(.character("s"))
        #expect(ids(model) == ["sensor-2", "sensor-1", "alpha", "sensor-10"])
        _ = model.handle(.character("s"))
        #expect(ids(model) == ["alpha", "sensor-1", "sensor-2", "sensor-10"])
    }

    @Test func pauseFreezesTheFrameWhileReadingsAreStillRecorded() {
        var model = DashboardFixture.model(sensors: 4)
        let before = lineTexts(DashboardFixture.frame(model, 80, 24))
        #expect(model.handle(.character("p")) == .changed)
        let revision = model.revision
        let later = (0..<100).map {
            Reading(
                sensorID: "sensor-1", speed: 150,
                timestamp: DashboardFixture.now + TimeSpan(microseconds: Int64($0) * 100_000))
        }
        model.record(later + [Reading(sensorID: "sensor-99", speed: 1, timestamp: DashboardFixture.now)])
        #expect(model.revision == revision)
        #expect(model.sensorCount == 5)
        let paused = lineTexts(DashboardFixture.frame(model, 80, 24))
        #expect(paused.dropLast() == before.dropLast())
        #expect(paused.last!.hasPrefix("PAUSED"))
        _ = model.handle(.character("p"))
        let resumed = lineTexts(DashboardFixture.frame(model, 80, 24))
        #expect(resumed.last!.contains("sensors 1–5 of 5"))
        #expect(resumed.dropLast() != before.dropLast())
    }

    @Test func filterPromptAppliesSubstringsAndGlobs() {
        var model = DashboardFixture.model(sensors: 12)
        for key: [DashboardKey] in [[.character("/")], "1q?".map { .character($0) }] {
            for key in key { #expect(model.handle(key) == .changed) }
        }
        #expect(lineTexts(DashboardFixture.frame(model, 80, 24)).dropLast().last!.hasPrefix("filter: 1q?"))
        _ = model.handle(.backspace)
        _ = model.handle(.backspace)
        _ = model.handle(.enter)
        #expect(ids(model) == ["sensor-1", "sensor-10", "sensor-11", "sensor-12"])
        #expect(lineTexts(DashboardFixture.frame(model, 120, 24)).last!.contains("sensors 1–4 of 4 (12 in all)"))
        for key in "/sensor-?".map({ DashboardKey.character($0) }) { _ = model.handle(key) }
        _ = model.handle(.enter)
        #expect(ids(model).count == 9)
        _ = model.handle(.character("/"))
        _ = model.handle(.character("x"))
        _ = model.handle(.escape)
        #expect(ids(model).count == 9)
        _ = model.handle(.character("/"))
        _ = model.handle(.enter)
        #expect(ids(model).count == 12)
        for key in "/nothing".map({ DashboardKey.character($0) }) { _ = model.handle(key) }
        _ = model.handle(.enter)
        #expect(DashboardFixture.frame(model, 80, 24).plainText.contains("no sensor matches nothing"))
    }

    @Test func plusAndMinusStepTheWindow() {
        var model = DashboardFixture.model(sensors: 2)
        var windows: [Int64] = []
        for _ in 0..<5 {
            _ = model.handle(.character("+"))
            windows.append(model.settings.window.microseconds / 1_000_000)
        }
        #expect(windows == [120, 300, 600, 600, 600])
        #expect(model.handle(.character("+")) == .unchanged)
        windows = []
        for _ in 0..<7 {
            _ = model.handle(.character("-"))
            windows.append(model.settings.window.microseconds / 1_000_000)
        }
        #expect(windows == [300, 120, 60, 30, 10, 10, 10])
        #expect(lineTexts(DashboardFixture.frame(model, 120, 24)).last!.contains("window 10s"))
        let detailStats = { (model: DashboardModel) -> String in
            var detail = model
            _ = detail.handle(.enter)
            return lineTexts(DashboardFixture.frame(detail, 120, 24))[1]
        }
        // The window includes both ends: readings from now − 10 s to now at 10 Hz.
        #expect(detailStats(model).contains("count 101"))
        _ = model.handle(.character("+"))
        #expect(detailStats(model).contains("count 301"))
    }
}

@Suite struct DashboardStalenessTests {
    @Test func staleSensorsAreDimmedWithTheirAge() {
        var model = DashboardModel(settings: DashboardSettings(staleAfter: .seconds(5)))
        let now = DashboardFixture.now
        model.record([
            Reading(sensorID: "fresh", speed: 40, timestamp: now - .seconds(5)),
            Reading(sensorID: "recent", speed: 40, timestamp: now - .seconds(12)),
            Reading(sensorID: "old", speed: 40, timestamp: now - .seconds(185)),
        ])
        let frame = DashboardFixture.frame(model, 120, 30)
        let text = lineTexts(frame)
        #expect(text[0].contains("fresh") && !text[0].contains("fresh stale"))
        #expect(text[0].contains("stale 12s"))
        #expect(text[0].contains("stale 3m"))
        let dimmed = frame.lines.flatMap { $0 }.filter { $0.style.dim }.map(\.text).joined()
        #expect(dimmed.contains("old") && dimmed.contains("recent") && !dimmed.contains("fresh"))
    }

    @Test func agesReadInTheLargestWholeUnit() {
        #expect(SensorPanel.age(.seconds(12)) == "12s")
        #expect(SensorPanel.age(.seconds(180)) == "3m")
        #expect(SensorPanel.age(.seconds(7_200)) == "2h")
        #expect(SensorPanel.age(.seconds(3 * 86_400)) == "3d")
    }
}

@Suite struct DashboardPieceTests {
    @Test func naturalOrderReadsNumbersByValue() {
        let ids = ["sensor-10", "sensor-2", "sensor-1", "sensor-02", "b", "a9", "a10", "sensor-10a"]
        #expect(
            ids.sorted(by: NaturalOrder.precedes) == [
                "a9", "a10", "b", "sensor-1", "sensor-2", "sensor-02", "sensor-10", "sensor-10a",
            ])
    }

    @Test func gaugeHasEighthCellPrecisionAndBandColours() {
        var model = DashboardModel(settings: DashboardSettings())
        // 160 km/h full scale; 17 cells inside the ends at width 19 (too narrow for big digits): 20 km/h is
        // 17 eighths of a cell, 45 km/h 38.25, 100 km/h 85.
        model.record([
            Reading(sensorID: "a", speed: 20, timestamp: DashboardFixture.now),
            Reading(sensorID: "b", speed: 45, timestamp: DashboardFixture.now),
            Reading(sensorID: "c", speed: 100, timestamp: DashboardFixture.now),
        ])
        let frame = model.fullFrame(
            columns: 19, now: DashboardFixture.now, status: DashboardFixture.status, capabilities: .plainText)
        let bands: [ColorRole] = [.slow, .cruising, .fast]
        let gauges = frame.lines.flatMap { $0 }.filter { bands.contains($0.style.color) && !$0.style.bold }
        #expect(gauges.map(\.text) == ["██▏", "████▊", "██████████▋"])
        #expect(gauges.map(\.style.color) == bands)
        let ascii = model.fullFrame(
            columns: 19, now: DashboardFixture.now, status: DashboardFixture.status,
            capabilities: DashboardFixture.ascii)
        #expect(lineTexts(ascii).contains("[====-            ]"))
    }

    @Test func bigDigitsInBothFonts() {
        #expect(BigDigits.lines(407, unicode: true) == ["█ █ █▀█ ▀▀█", "▀▀█ █ █   █", "  ▀ ▀▀▀   ▀"])
        #expect(BigDigits.lines(407, unicode: false) == ["     _   _ ", "|_| | |   |", "  | |_|   |"])
    }

    @Test func cellFittingCutsWideCharactersWithoutOverflow() {
        #expect(CellText.fit([StyledRun("ab")], width: 4) == [StyledRun("ab"), StyledRun("  ")])
        #expect(CellText.fit([StyledRun("宽宽宽")], width: 5, ellipsis: "…") == [StyledRun("宽宽"), StyledRun("…")])
        #expect(
            CellText.fit([StyledRun("宽宽宽")], width: 4, ellipsis: "…") == [
                StyledRun("宽"), StyledRun("…"), StyledRun(" "),
            ])
        #expect(CellText.fit([StyledRun("🚗🚗")], width: 3) == [StyledRun("🚗"), StyledRun(" ")])
        #expect(
            CellText.sanitized("a\u{1B}[2J\u{7}\r\n\t\u{202E}\u{200B}\u{E0041}b")
                == #"a\u{1B}[2J\u{7}\r\n\t\u{202E}\u{200B}\u{E0041}b"#)
    }
}
