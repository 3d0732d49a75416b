package import Foundation
import SpeedoRuntime
import Synchronization

/// A headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: it reads commands
/// from descriptor 3 and writes answers and events to descriptor 4, each message a JSON text ended by a NUL byte), so
/// that a page is loaded as a user's browser does: scripts run, WebSockets connect, the Content-Security-Policy is
/// enforced. One page (tab) per browser; what it reports (console errors, exceptions, failed requests, dialogs) is
/// kept as `problems`.
package final class HeadlessBrowser: @unchecked Sendable {
    // @unchecked: `session` is set once, at the end of init, before the browser is handed to anyone; the rest is
    // constant or sits in the connection's Mutex.
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// Where Debian puts it (`scripts/install-deps.sh` installs it for the browser tests).
    package static let executable = "/usr/bin/chromium"
    package static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    private let connection: DevToolsConnection
    private let process: pid_t
    /// The browser's profile, an empty directory of its own, removed with the browser.
    private let profile: String
    private var session = ""

    /// Starts Chromium with an empty profile and opens one blank page, `width` × `height` CSS pixels.
    package init(width: Int = 1280, height: Int = 900) async throws {
        var template = Array((NSTemporaryDirectory() + "/speedo-chromium-XXXXXX").utf8CString)
        guard mkdtemp(&template) != nil else { throw Failure(description: "mkdtemp: \(String(cString: strerror(errno)))") }
        profile = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var toBrowser: [Int32] = [0, 0], fromBrowser: [Int32] = [0, 0]
        // Close-on-exec before any other spawn can inherit them (spawns take the same turns).
        let piped = SpawnTurns.exclusively {
            guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { return false }
            for descriptor in toBrowser + fromBrowser { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
            return true
        }
        guard piped else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        let arguments = [
            Self.executable, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio",
            "--user-data-dir=\(profile)", "--window-size=\(width),\(height)", "about:blank",
        ]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toBrowser[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser[1], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = SpawnTurns.exclusively { posix_spawn(&pid, Self.executable, &actions, nil, argv, environ) }
        close(toBrowser[0])
        close(fromBrowser[1])
        guard spawned == 0 else {
            close(toBrowser[1])
            close(fromBrowser[0])
            throw Failure(description: "could not start \(Self.executable): \(String(cString: strerror(spawned)))")
        }
        process = pid
        let connection = DevToolsConnection(commands: toBrowser[1])
        self.connection = connection
        let answers = fromBrowser[0]
        // The thread holds the connection, not the browser: a browser no longer used is released, its deinit ends
        // Chromium, and the end of the pipe ends the thread.
        Thread.detachNewThread { connection.readMessages(from: answers) }

        let target = try await send("Target.createTarget", ["url": "about:blank"], inSession: false)
        guard let targetID = target["targetId"] as? String else { throw Failure(description: "no target: \(target)") }
        let attached = try await send("Target.attachToTarget", ["targetId": targetID, "flatten": true], inSession: false)
        guard let sessionID = attached["sessionId"] as? String else { throw Failure(description: "no session: \(attached)") }
        session = sessionID
        for domain in ["Page", "Runtime", "Log", "Network"] { _ = try await send("\(domain).enable") }
    }

    deinit {
        kill(process, SIGKILL)
        var status: Int32 = 0
        waitpid(process, &status, 0)
        connection.close()
        try? FileManager.default.removeItem(atPath: profile)
    }

    /// Opens `url` and waits for its load event.
    package func open(_ url: String, timeout: Duration = .seconds(30)) async throws {
        let before = eventCount("Page.loadEventFired")
        _ = try await send("Page.navigate", ["url": url])
        let deadline = ContinuousClock.now + timeout
        while eventCount("Page.loadEventFired") == before {
            guard ContinuousClock.now < deadline else { throw Failure(description: "\(url) did not load within \(timeout)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The value of a JavaScript expression in the page (awaited when it is a promise), as JSON gives it.
    package func evaluate(_ expression: String) async throws -> (any Sendable)? {
        let answer = try await send(
            "Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = answer["exceptionDetails"] {
            throw Failure(description: "\(expression) threw: \(exception)")
        }
        return (answer["result"] as? [String: any Sendable])?["value"]
    }

    /// The value of a JavaScript expression (awaited), carried as JSON and decoded as `type`.
    package func value<Value: Decodable>(_ expression: String, as type: Value.Type = Value.self) async throws -> Value {
        guard let text = try await evaluate("(async () => JSON.stringify(await (\(expression))))()") as? String else {
            throw Failure(description: "\(expression) has no JSON value")
        }
        return try JSONDecoder().decode(Value.self, from: Data(text.utf8))
    }

    /// A PNG of the page as it is drawn now.
    package func screenshot() async throws -> Data {
        let answer = try await send("Page.captureScreenshot", ["format": "png"])
        guard let text = answer["data"] as? String, let png = Data(base64Encoded: text) else {
            throw Failure(description: "no screenshot in \(answer)")
        }
        return png
    }

    /// What went wrong in the page so far, one line each: console errors and warnings, uncaught exceptions, log
    /// entries of level error (a refused resource, a Content-Security-Policy violation), failed requests, and
    /// dialogs (`alert`, `confirm`, which are dismissed).
    package var problems: [String] {
        connection.events.compactMap { event in Self.problem(event.method, event.params) }
    }

    /// How many events of `method` arrived so far.
    package func eventCount(_ method: String) -> Int {
        connection.events.count { $0.method == method }
    }

    private static func problem(_ method: String, _ params: [String: any Sendable]) -> String? {
        switch method {
        case "Runtime.consoleAPICalled":
            guard let type = params["type"] as? String, type == "error" || type == "warning" || type == "assert" else {
                return nil
            }
            let values = (params["args"] as? [[String: any Sendable]] ?? []).map { "\($0["value"] ?? $0["description"] ?? "?")" }
            return "console.\(type): \(values.joined(separator: " "))"
        case "Runtime.exceptionThrown":
            let details = params["exceptionDetails"] as? [String: any Sendable]
            return "exception: \((details?["exception"] as? [String: any Sendable])?["description"] ?? details?["text"] ?? "?")"
        case "Log.entryAdded":
            guard let entry = params["entry"] as? [String: any Sendable], entry["level"] as? String == "error" else { return nil }
            return "log: \(entry["text"] ?? "?") \(entry["url"] ?? "")"
        case "Network.loadingFailed":
            return "request failed: \(params["errorText"] ?? "?")"
        case "Page.javascriptDialogOpening":
            return "dialog \(params["type"] ?? "?"): \(params["message"] ?? "")"
        default:
            return nil
        }
    }

    /// Sends one command and waits for its answer (the page's session unless `inSession` is false).
    @discardableResult
    package func send(
        _ method: String, _ params: [String: any Sendable] = [:], inSession: Bool = true, timeout: Duration = .seconds(30)
    ) async throws -> [String: any Sendable] {
        try await connection.send(method, params, session: inSession ? session : nil, timeout: timeout)
    }
}

/// The DevTools protocol on Chromium's pipe: commands written with an id, answers matched to their waiting callers,
/// events kept. What the reader thread shares with the browser.
private final class DevToolsConnection: Sendable {
    private struct State {
        var nextID = 1
        var waiting: [Int: CheckedContinuation<[String: any Sendable], any Error>] = [:]
        var events: [(method: String, params: [String: any Sendable])] = []
        var ended = false
    }

    private let state = Mutex(State())
    private let commands: Int32

    init(commands: Int32) {
        self.commands = commands
    }

    func close() {
        _ = Glibc.close(commands)
    }

    var events: [(method: String, params: [String: any Sendable])] { state.withLock { $0.events } }

    func send(
        _ method: String, _ params: [String: any Sendable], session: String?, timeout: Duration
    ) async throws -> [String: any Sendable] {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if let session { message["sessionId"] = session }
        var bytes = try JSONSerialization.data(withJSONObject: message)
        bytes.append(0)
        let timer = Task { [self] in
            try await Task.sleep(for: timeout)
            fail(id, HeadlessBrowser.Failure(description: "\(method): no answer within \(timeout)"))
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            let ended = state.withLock { state in
                if !state.ended { state.waiting[id] = continuation }
                return state.ended
            }
            guard !ended else {
                return continuation.resume(throwing: HeadlessBrowser.Failure(description: "the browser has ended"))
            }
            let written = bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let count = write(commands, buffer.baseAddress! + offset, buffer.count - offset)
                    if count <= 0 { return false }
                    offset += count
                }
                return true
            }
            if !written { fail(id, HeadlessBrowser.Failure(description: "\(method): the browser's pipe is closed")) }
        }
    }

    private func fail(_ id: Int, _ error: any Error) {
        state.withLock { $0.waiting.removeValue(forKey: id) }?.resume(throwing: error)
    }

    /// The reader thread: splits what arrives at the NULs, answers the waiting commands, keeps the events, and
    /// dismisses dialogs (a page that calls `alert` waits for it otherwise). Ends when Chromium does.
    func readMessages(from descriptor: Int32) {
        var pending = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            pending.append(contentsOf: buffer[0..<count])
            while let end = pending.firstIndex(of: 0) {
                let message = pending[pending.startIndex..<end]
                pending = pending[(end + 1)...]
                guard let object = (try? JSONSerialization.jsonObject(with: message)) as? [String: Any] else { continue }
                if let id = object["id"] as? Int {
                    let waiter = state.withLock { $0.waiting.removeValue(forKey: id) }
                    if let error = object["error"] {
                        waiter?.resume(throwing: HeadlessBrowser.Failure(description: "\(error)"))
                    } else {
                        waiter?.resume(returning: Self.sendable(object["result"]) as? [String: any Sendable] ?? [:])
                    }
                } else if let method = object["method"] as? String {
                    let params = Self.sendable(object["params"]) as? [String: any Sendable] ?? [:]
                    state.withLock { $0.events.append((method, params)) }
                    if method == "Page.javascriptDialogOpening" {
                        let session = object["sessionId"] as? String
                        Task {
                            try? await self.send("Page.handleJavaScriptDialog", ["accept": false], session: session, timeout: .seconds(5))
                        }
                    }
                }
            }
        }
        Glibc.close(descriptor)
        let waiting = state.withLock { state in
            state.ended = true
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for waiter in waiting { waiter.resume(throwing: HeadlessBrowser.Failure(description: "the browser has ended")) }
    }

    /// JSON as Foundation reads it, in types that are Sendable.
    private static func sendable(_ value: Any?) -> (any Sendable)? {
        switch value {
        case let object as [String: Any]: object.mapValues { sendable($0) ?? "null" }
        case let array as [Any]: array.map { sendable($0) ?? "null" }
        case let text as String: text
        case let number as NSNumber: number.doubleValue
        case nil: nil
        default: "\(value!)"
        }
    }
}
