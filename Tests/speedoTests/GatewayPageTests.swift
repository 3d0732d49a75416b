import ChromiumDriver
import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoRuntime
import SpeedoTestSupport
import Testing

/// The gateway's live page in a real browser (headless Chromium), fed by the real binaries: `simulate` publishes a
/// fleet, `consume latest` folds it into speed-latest, `gateway` serves the page. One at a time: a browser and its
/// fleet load both cores more than any other test, and the in-process tests of timeouts run beside them.
@Suite(.serialized, .programTurnsAhead) struct GatewayPageTests {
    private let speedo = SpeedoBinary(environment: [
        "XDG_STATE_HOME": "/nonexistent", "SPEEDO_BROKERS": nil, "SPEEDO_TOPIC": nil,
    ])

    /// What the page shows of one sensor. `oldest`: the sparkline's leftmost x (0–100 over the last minute);
    /// `openedAt`: the x the moment the page opened has now. A point left of it is a reading from before the page
    /// opened, which only `/api/history` can have brought.
    private struct Card: Decodable, Equatable {
        var id: String
        var digits: String
        var points: Int
        var band: String
        var oldest: Double
        var openedAt: Double
    }

    private static let cards = """
        [...document.querySelectorAll(".card")].map((card) => {
          const xs = (card.querySelector(".sparkline polyline").getAttribute("points") || "").trim().split(" ")
            .filter(Boolean).map((point) => Number(point.split(",")[0]));
          return { id: card.querySelector(".sensor").textContent, digits: card.querySelector(".digits").textContent,
            points: xs.length, band: card.dataset.band || "", oldest: xs.length ? Math.min(...xs) : 1000,
            openedAt: 100 - (Date.now() - performance.timeOrigin) / 1000 / 60 * 100 };
        })
        """

    private static let connection = #"document.getElementById("connection").textContent"#

    /// A fleet on its way: `sensors` sensors at 2 Hz for a minute, folded into speed-latest, and a gateway.
    private struct Fleet {
        let cluster: MockCluster
        let simulation: BackgroundSpeedo
        let latest: BackgroundSpeedo
        var gateway: BackgroundSpeedo
        var port: Int

        init(_ speedo: SpeedoBinary, sensors: Int, gatewayArguments: [String] = []) async throws {
            cluster = try await runOnDedicatedThread(name: "speedo-test") { () throws -> MockCluster in
                let cluster = try MockCluster()
                try cluster.createTopic(name: "speed-events", partitions: 2)
                try cluster.createTopic(name: ConnectionSettings.latestTopic, partitions: 2)
                return cluster
            }
            let brokers = cluster.bootstrapServers
            simulation = try BackgroundSpeedo(
                speedo, ["simulate", "--sensors", "\(sensors)", "--rate", "2", "--duration", "120s", "--seed", "7", "-b", brokers])
            latest = try BackgroundSpeedo(speedo, [
                "consume", "latest", "-b", brokers, "--max-rate", "10", "-X", "session.timeout.ms=3000",
                "-X", "heartbeat.interval.ms=300",
            ])
            (gateway, port) = try await Self.startGateway(speedo, brokers: brokers, listen: "127.0.0.1:0", gatewayArguments)
        }

        static func startGateway(
            _ speedo: SpeedoBinary, brokers: String, listen: String, _ arguments: [String]
        ) async throws -> (BackgroundSpeedo, Int) {
            let gateway = try BackgroundSpeedo(speedo, ["gateway", "-b", brokers, "--listen", listen] + arguments)
            try await waitUntil("the gateway listens") { port(in: gateway.stderr) != nil }
            return (gateway, try #require(port(in: gateway.stderr)))
        }

        /// From "listening on http://127.0.0.1:PORT (…".
        static func port(in stderr: String) -> Int? {
            guard let range = stderr.firstRange(of: "listening on http://127.0.0.1:") else { return nil }
            return Int(stderr[range.upperBound...].prefix { $0.isNumber })
        }

        func stop() {
            for program in [simulation, latest, gateway] { program.kill9() }
        }
    }

    /// Cards for every sensor, sparklines drawn from the recent readings the moment the page opens, values that
    /// move, the speed bands, a clean console; and an id that is not a sensor id put on the topic with kcat never
    /// reaches the page, while an odd but valid one is shown as the text it is.
    @Test func thePageShowsEverySensorLiveWithItsRecentHistory() async throws {
        let fleet = try await Fleet(speedo, sensors: 6)
        defer { fleet.stop() }
        // Long enough for the gateway to hold a few readings of every sensor.
        try await Task.sleep(for: .seconds(4))
        let browser = try await HeadlessBrowser()
        try await browser.open("http://127.0.0.1:\(fleet.port)/")
        var first: [Card] = []
        try await waitUntil("a card per sensor, drawn", timeout: .seconds(10)) {
            first = try await browser.value(Self.cards)
            return first.count == 6 && first.allSatisfy { Double($0.digits) != nil && $0.points > 0 }
        }
        #expect(first.map(\.id) == (0..<6).map { "sensor-\($0)" })
        // Readings from before the page opened: the recent history, drawn at once.
        #expect(first.allSatisfy { $0.oldest < $0.openedAt && $0.points >= 4 }, "sparklines right after load: \(first)")
        #expect(first.allSatisfy { ["slow", "cruising", "fast"].contains($0.band) }, "\(first)")
        try await waitUntil("connected", timeout: .seconds(10)) {
            try await browser.value(Self.connection, as: String.self) == "connected"
        }

        try await Task.sleep(for: .seconds(3))
        let later: [Card] = try await browser.value(Self.cards)
        let moved = zip(first, later).filter { $0.digits != $1.digits }.count
        #expect(moved >= 4, "values that changed in 3 s: \(first) → \(later)")

        let hostile = #"<img src=x onerror=alert(1)></script><script>alert(2)</script>"#
        let odd = "x:/y/../z.-_"
        let records = [hostile, odd].map { #"{"sensor_id":"\#($0)","speed":50}"# }
        let kcat = try await runProgram(
            ["kcat", "-P", "-b", fleet.cluster.bootstrapServers, "-t", "speed-events", "-K", "\t"],
            input: records.map { "\($0.contains("img") ? "hostile" : odd)\t\($0)" }.joined(separator: "\n") + "\n")
        #expect(kcat.status == 0, "\(kcat.stderr)")
        try await waitUntil("the odd id is shown", timeout: .seconds(15)) {
            try await browser.value(Self.cards, as: [Card].self).contains { $0.id == odd }
        }
        let shown: [Card] = try await browser.value(Self.cards)
        #expect(!shown.contains { $0.id.contains("img") || $0.id.contains("script") })
        #expect(try await browser.value(#"document.querySelectorAll("img, script:not([src])").length"#, as: Int.self) == 0)
        #expect(browser.problems.isEmpty, "\(browser.problems)")
    }

    /// What the address holds is data too: a pattern with markup is shown in the filter box as typed and selects
    /// nothing; a `sensor=` with markup is refused by the gateway, and the page shows the refusal, markup and all, as
    /// text. Nothing runs (no dialog, no element made from it).
    @Test func markupInTheAddressRunsNothing() async throws {
        let fleet = try await Fleet(speedo, sensors: 2)
        defer { fleet.stop() }
        let browser = try await HeadlessBrowser()
        let markup = #"<img src=x onerror=alert(1)>"#
        let escaped = markup.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        try await browser.open("http://127.0.0.1:\(fleet.port)/?sensors=\(escaped)")
        try await waitUntil("connected", timeout: .seconds(10)) {
            try await browser.value(Self.connection, as: String.self) == "connected"
        }
        #expect(try await browser.value(#"document.getElementById("filter").value"#, as: String.self) == markup)
        #expect(browser.problems.isEmpty, "\(browser.problems)")

        try await browser.open("http://127.0.0.1:\(fleet.port)/?sensor=\(escaped)")
        try await waitUntil("refused", timeout: .seconds(10)) {
            try await browser.value(Self.connection, as: String.self).hasPrefix("the gateway refused this filter: ")
        }
        let refusal = try await browser.value(Self.connection, as: String.self)
        #expect(refusal.contains(markup), "\(refusal)")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await browser.value(#"document.querySelectorAll("img").length"#, as: Int.self) == 0)
        // The refused request itself is the only problem: no dialog, no exception.
        #expect(browser.problems.allSatisfy { $0.contains("400") }, "\(browser.problems)")
    }

    /// The controls: a card opens its detail chart; once the readings stop, the cards dim and say for how long;
    /// sorting by speed puts the fastest first; the filter box selects with the same globs as `?sensors=`. Both are
    /// kept in the page's address.
    @Test func detailStaleSortAndFilterWork() async throws {
        let fleet = try await Fleet(speedo, sensors: 4)
        defer { fleet.stop() }
        let browser = try await HeadlessBrowser()
        try await browser.open("http://127.0.0.1:\(fleet.port)/")
        try await waitUntil("four cards with a few readings each", timeout: .seconds(20)) {
            let cards: [Card] = try await browser.value(Self.cards)
            return cards.count == 4 && cards.allSatisfy { Double($0.digits) != nil && $0.points >= 3 }
        }

        _ = try await browser.evaluate(#"document.querySelector('.card[data-sensor="sensor-2"]').click()"#)
        struct Detail: Decodable { var open: Bool; var sensor: String; var points: Int; var stats: String }
        let detail: Detail = try await browser.value("""
            ({ open: document.getElementById("detail").open,
               sensor: document.querySelector("#detail .sensor").textContent,
               points: (document.querySelector("#detail .chart polyline").getAttribute("points") || "").trim()
                 .split(" ").filter(Boolean).length,
               stats: document.querySelector("#detail .stats").textContent })
            """)
        #expect(detail.open && detail.sensor == "sensor-2" && detail.points > 1 && detail.stats.hasPrefix("last "), "\(detail)")
        _ = try await browser.evaluate(#"document.getElementById("close").click()"#)
        #expect(try await browser.value(#"document.getElementById("detail").open"#, as: Bool.self) == false)

        fleet.simulation.kill9()
        try await waitUntil("every card dimmed", timeout: .seconds(20)) {
            try await browser.value(
                #"[...document.querySelectorAll(".card")].every((card) => card.classList.contains("stale") && card.querySelector(".age").textContent.startsWith("no reading for "))"#,
                as: Bool.self)
        }

        _ = try await browser.evaluate(#"(() => { const sort = document.getElementById("sort"); sort.value = "speed"; sort.dispatchEvent(new Event("change")); })()"#)
        let bySpeed = try await browser.value(Self.cards, as: [Card].self).compactMap { Double($0.digits) }
        #expect(bySpeed.count == 4 && bySpeed == bySpeed.sorted(by: >), "\(bySpeed)")

        _ = try await browser.evaluate(#"(() => { const filter = document.getElementById("filter"); filter.value = "sensor-1,sensor-3"; filter.dispatchEvent(new Event("input")); })()"#)
        try await waitUntil("only the filtered sensors", timeout: .seconds(10)) {
            Set(try await browser.value(Self.cards, as: [Card].self).map(\.id)) == ["sensor-1", "sensor-3"]
        }
        let address = try await browser.value("location.search", as: String.self)
        #expect(address.contains("sensors=sensor-1%2Csensor-3") && address.contains("sort=speed"), "\(address)")
        #expect(browser.problems.isEmpty, "\(browser.problems)")
    }

    /// On a phone-wide screen the cards stand in one column and nothing is wider than the screen; with a dark
    /// preference the page turns dark.
    @Test func thePageFitsAPhoneAndFollowsTheDarkPreference() async throws {
        let fleet = try await Fleet(speedo, sensors: 3)
        defer { fleet.stop() }
        let browser = try await HeadlessBrowser(width: 390, height: 800)
        try await browser.send("Emulation.setDeviceMetricsOverride", [
            "width": 390, "height": 800, "deviceScaleFactor": 2, "mobile": true,
        ])
        try await browser.open("http://127.0.0.1:\(fleet.port)/")
        try await waitUntil("three cards", timeout: .seconds(15)) {
            try await browser.value(Self.cards, as: [Card].self).count == 3
        }
        let lefts: [Double] = try await browser.value(
            #"[...document.querySelectorAll(".card")].map((card) => card.getBoundingClientRect().left)"#)
        #expect(Set(lefts).count == 1, "one column: \(lefts)")
        #expect(try await browser.value("document.documentElement.scrollWidth <= window.innerWidth", as: Bool.self))
        let light = try await browser.value("getComputedStyle(document.body).backgroundColor", as: String.self)
        try await browser.send("Emulation.setEmulatedMedia", [
            "features": [["name": "prefers-color-scheme", "value": "dark"]] as [[String: String]],
        ])
        let dark = try await browser.value("getComputedStyle(document.body).backgroundColor", as: String.self)
        #expect(light == "rgb(246, 246, 244)" && dark == "rgb(18, 18, 20)", "\(light) → \(dark)")
        #expect(browser.problems.isEmpty, "\(browser.problems)")
    }

    /// The gateway killed: the page says it is reconnecting; the gateway back on the same port: live values again,
    /// without a reload.
    @Test func thePageReconnectsAfterTheGatewayRestarts() async throws {
        var fleet = try await Fleet(speedo, sensors: 3)
        defer { fleet.stop() }
        let browser = try await HeadlessBrowser()
        try await browser.open("http://127.0.0.1:\(fleet.port)/")
        try await waitUntil("three sensors shown", timeout: .seconds(15)) {
            try await browser.value(Self.cards, as: [Card].self).count == 3
        }
        fleet.gateway.kill9()
        try await waitUntil("the page says it reconnects", timeout: .seconds(10)) {
            try await browser.value(Self.connection, as: String.self).hasPrefix("reconnecting in ")
        }
        (fleet.gateway, _) = try await Fleet.startGateway(
            speedo, brokers: fleet.cluster.bootstrapServers, listen: "127.0.0.1:\(fleet.port)", [])
        try await waitUntil("connected again", timeout: .seconds(20)) {
            try await browser.value(Self.connection, as: String.self) == "connected"
        }
        let reconnected: [Card] = try await browser.value(Self.cards)
        try await waitUntil("live values again", timeout: .seconds(10)) {
            let now: [Card] = try await browser.value(Self.cards)
            return now.count == 3 && zip(reconnected, now).contains { $0.digits != $1.digits }
        }
        // Refused connections while it was down are expected; nothing else.
        let unexpected = browser.problems.filter { !$0.contains("ERR_CONNECTION_REFUSED") && !$0.contains("WebSocket") }
        #expect(unexpected.isEmpty, "\(unexpected)")
    }

    /// A gateway with a token: the page without it says it is not authorised (401) and why; with it, it connects.
    @Test func aRefusalIsShownAsWhatItIs() async throws {
        let token = try TemporaryFile()
        try "sesame\n".write(toFile: token.path, atomically: true, encoding: .utf8)
        let fleet = try await Fleet(speedo, sensors: 1, gatewayArguments: ["--token-file", token.path])
        defer { fleet.stop() }
        let browser = try await HeadlessBrowser()
        try await browser.open("http://127.0.0.1:\(fleet.port)/")
        try await waitUntil("refused", timeout: .seconds(10)) {
            try await browser.value(Self.connection, as: String.self).hasPrefix("not authorised (401): ")
        }
        try await browser.open("http://127.0.0.1:\(fleet.port)/?token=sesame")
        try await waitUntil("connected with the token", timeout: .seconds(10)) {
            try await browser.value(Self.connection, as: String.self) == "connected"
        }
    }
}
