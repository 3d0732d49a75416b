import ChromiumDriver
import Foundation

/// `speedo-bench page --url URL [--seconds S] [--memory-seconds S] [--sensors N]`: the gateway's page in headless
/// Chromium. After the page shows `--sensors` cards: frames drawn per second and the time spent in long tasks (over
/// 50 ms, the main thread blocked) over `--seconds`; then, once the page holds all it keeps of every sensor (the
/// gateway's 600 readings: a minute at 10 Hz), the JavaScript heap after a garbage collection and the number of DOM
/// nodes, sampled every 30 s over `--memory-seconds`. Prints `RESULT name value` lines.
struct PageBenchmark {
    static let usage = "usage: speedo-bench page --url URL [--seconds S] [--memory-seconds S] [--sensors N]"
    var url: String
    var seconds: Int
    var memorySeconds: Int
    var sensors: Int

    init(_ arguments: ArraySlice<String>) throws(BenchmarkUsageError) {
        let options = try BenchmarkOptions(
            arguments, known: ["url", "seconds", "memory-seconds", "sensors"], usage: Self.usage)
        url = try options.required("url")
        seconds = try options.number("seconds", default: 30)
        memorySeconds = try options.number("memory-seconds", default: 300, minimum: 0)
        sensors = try options.number("sensors", default: 200)
    }

    /// Counts frames and long tasks from the first moment of every document (as the browser's own tools do, not
    /// through the page's script, so the page's Content-Security-Policy does not apply).
    private static let probe = """
        window.speedoBench = { frames: 0, longTasks: 0, longTaskMs: 0 };
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) { speedoBench.longTasks += 1; speedoBench.longTaskMs += entry.duration; }
        }).observe({ type: "longtask", buffered: true });
        (function frame() { speedoBench.frames += 1; requestAnimationFrame(frame); })();
        """

    private struct Counters: Decodable {
        var frames: Int
        var longTasks: Int
        var longTaskMs: Double
    }

    func run() async throws {
        let browser = try await HeadlessBrowser()
        try await browser.send("Page.addScriptToEvaluateOnNewDocument", ["source": Self.probe])
        try await browser.open(url)
        let deadline = ContinuousClock.now + .seconds(60)
        while try await browser.value(#"document.querySelectorAll(".card").length"#, as: Int.self) < sensors {
            guard ContinuousClock.now < deadline else { throw BenchmarkUsageError(description: "fewer than \(sensors) cards after 60 s") }
            try await Task.sleep(for: .milliseconds(200))
        }
        let shown = ContinuousClock.now
        try await Task.sleep(for: .seconds(5))
        let before: Counters = try await browser.value("speedoBench")
        try await Task.sleep(for: .seconds(seconds))
        let after: Counters = try await browser.value("speedoBench")
        let fps = Double(after.frames - before.frames) / Double(seconds)
        let longTaskShare = (after.longTaskMs - before.longTaskMs) / Double(seconds * 1000)
        print(String(format: "RESULT fps %.1f", fps))
        print(String(format: "RESULT long_task_share %.4f", longTaskShare))
        print("RESULT long_tasks \(after.longTasks - before.longTasks)")

        // Steady state first: every sensor's readings at the page's bound.
        let filled = shown + .seconds(70)
        if ContinuousClock.now < filled { try await Task.sleep(until: filled) }
        var heaps: [Double] = []
        var nodes: [Int] = []
        for sample in 0...(memorySeconds / 30) {
            if sample > 0 { try await Task.sleep(for: .seconds(30)) }
            try await browser.send("HeapProfiler.collectGarbage")
            let heap = try await browser.send("Runtime.getHeapUsage")
            heaps.append((heap["usedSize"] as? Double ?? 0) / 1_048_576)
            nodes.append(try await browser.value(#"document.getElementsByTagName("*").length"#))
            FileHandle.standardError.write(Data(String(format: "heap %.1f MiB, %d DOM nodes\n", heaps.last!, nodes.last!).utf8))
        }
        print(String(format: "RESULT heap_first_mib %.1f", heaps.first!))
        print(String(format: "RESULT heap_last_mib %.1f", heaps.last!))
        print(String(format: "RESULT heap_max_mib %.1f", heaps.max()!))
        print("RESULT nodes_first \(nodes.first!)")
        print("RESULT nodes_last \(nodes.last!)")
        let problems = browser.problems
        print("RESULT problems \(problems.count)")
        for problem in problems.prefix(5) { FileHandle.standardError.write(Data("page: \(problem)\n".utf8)) }
    }
}

/// `speedo-bench screenshot --url URL --out FILE [--width W] [--height H] [--wait S]`: a PNG of a page after `--wait`
/// seconds; `--ansi FILE` instead of `--url` draws a terminal capture (`tmux capture-pane -e -p`: text with SGR
/// colour sequences) as a terminal would, in white on black.
struct Screenshot {
    static let usage = "usage: speedo-bench screenshot (--url URL | --ansi FILE) --out FILE [--width W] [--height H] [--wait S]"
    var source: String
    var isCapture: Bool
    var output: String
    var width: Int
    var height: Int
    var wait: Int

    init(_ arguments: ArraySlice<String>) throws(BenchmarkUsageError) {
        let options = try BenchmarkOptions(
            arguments, known: ["url", "ansi", "out", "width", "height", "wait"], usage: Self.usage)
        guard let source = options.text("url") ?? options.text("ansi") else {
            throw BenchmarkUsageError(description: Self.usage)
        }
        (self.source, isCapture) = (source, options.text("url") == nil)
        output = try options.required("out")
        width = try options.number("width", default: 1280)
        height = try options.number("height", default: 800)
        wait = try options.number("wait", default: 3, minimum: 0)
    }

    func run() async throws {
        let browser = try await HeadlessBrowser(width: width, height: height)
        if isCapture {
            let html = TerminalCapture.html(try String(contentsOfFile: source, encoding: .utf8))
            try await browser.open("data:text/html;base64," + Data(html.utf8).base64EncodedString())
        } else {
            try await browser.open(source)
        }
        try await Task.sleep(for: .seconds(wait))
        try await browser.screenshot().write(to: URL(fileURLWithPath: output))
    }
}

/// A terminal capture as HTML: SGR sequences (bold, dim, reverse, the 16 and 256 colours, true colour) become
/// styled spans on a black background, every other character is escaped text.
enum TerminalCapture {
    private struct Style: Equatable {
        var foreground: String?
        var background: String?
        var bold = false
        var dim = false
        var reverse = false

        var css: String {
            var (fg, bg) = (foreground ?? "#d0d0d0", background ?? "#000")
            if reverse { (fg, bg) = (bg, fg) }
            return "color:\(fg);background:\(bg)" + (bold ? ";font-weight:bold" : "") + (dim ? ";opacity:.6" : "")
        }
    }

    private static let basic = [
        "#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
        "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff",
    ]

    private static func color(_ index: Int) -> String {
        if index < 16 { return basic[index] }
        if index >= 232 { let level = 8 + (index - 232) * 10; return rgb(level, level, level) }
        let cube = index - 16
        let level = { (value: Int) in value == 0 ? 0 : 55 + value * 40 }
        return rgb(level(cube / 36), level(cube / 6 % 6), level(cube % 6))
    }

    private static func rgb(_ red: Int, _ green: Int, _ blue: Int) -> String { "rgb(\(red),\(green),\(blue))" }

    private static func apply(_ codes: [Int], to style: inout Style) {
        var index = 0
        while index < codes.count {
            let code = codes[index]
            switch code {
            case 0: style = Style()
            case 1: style.bold = true
            case 2: style.dim = true
            case 22: (style.bold, style.dim) = (false, false)
            case 7: style.reverse = true
            case 27: style.reverse = false
            case 30...37: style.foreground = color(code - 30)
            case 90...97: style.foreground = color(code - 90 + 8)
            case 39: style.foreground = nil
            case 40...47: style.background = color(code - 40)
            case 100...107: style.background = color(code - 100 + 8)
            case 49: style.background = nil
            case 38, 48:
                var value: String?
                if index + 2 < codes.count, codes[index + 1] == 5 {
                    value = color(codes[index + 2])
                    index += 2
                } else if index + 4 < codes.count, codes[index + 1] == 2 {
                    value = rgb(codes[index + 2], codes[index + 3], codes[index + 4])
                    index += 4
                }
                if code == 38 { style.foreground = value } else { style.background = value }
            default: break
            }
            index += 1
        }
    }

    static func html(_ capture: String) -> String {
        var body = ""
        var style = Style()
        var open = false
        var characters = capture[...]
        func openSpan() {
            body += "<span style=\"\(style.css)\">"
            open = true
        }
        openSpan()
        while let character = characters.popFirst() {
            if character == "\u{1B}", characters.first == "[" {
                characters.removeFirst()
                let parameters = characters.prefix { $0.isNumber || $0 == ";" }
                characters.removeFirst(parameters.count)
                let final = characters.popFirst()
                guard final == "m" else { continue }
                let codes = parameters.isEmpty ? [0] : parameters.split(separator: ";", omittingEmptySubsequences: false).map { Int($0) ?? 0 }
                apply(codes, to: &style)
                if open { body += "</span>" }
                openSpan()
                continue
            }
            switch character {
            case "<": body += "&lt;"
            case ">": body += "&gt;"
            case "&": body += "&amp;"
            default: body.append(character)
            }
        }
        if open { body += "</span>" }
        return """
            <!doctype html><meta charset="utf-8"><body style="margin:0;background:#000;overflow:hidden">\
            <pre style="margin:0;padding:8px;font:15px/1.25 'DejaVu Sans Mono',monospace;color:#d0d0d0">\(body)</pre>
            """
    }
}
