import Foundation
import Glibc
@testable import SpeedoHTTP
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTestSupport
import Testing

/// The connection limits of the HTTP ingestion API (`--max-connections`, `--idle-timeout`, `--header-timeout`), with
/// short timeouts, over raw sockets: slow headers, idle connections and connections beyond the limit.
///
/// The timeouts are short, but not so short that a busy event loop (the full suite shares NIO's threads between
/// its servers, one of them serving three hundred WebSocket clients) passes them before it reads a prompt request; and
/// answers are awaited generously, since the gateway answers from a task on the concurrency pool, which the start of
/// a full run (dozens of PostgreSQL clusters and brokers coming up) can keep busy for seconds.
@Suite struct IngestHTTPLimitsTests {
    static let limits = HTTPConnectionLimits(
        maximumConnections: 3, idleTimeout: .seconds(3), headerTimeout: .seconds(1))

    @Test func slowHeadersAreCutOffAfterTheHeaderTimeout() async throws {
        let fixture = try await IngestHTTPFixture.make()
        try await fixture.withClient(limits: Self.limits) { client in
            let closedAfter = try await slowHeaderClient(port: client.port)
            let elapsed = try #require(closedAfter, "a client sending a header line every 100 ms was never disconnected")
            #expect(elapsed >= .milliseconds(950) && elapsed < .seconds(5), "closed after \(elapsed)")
        }
    }

    @Test func idleConnectionsAreClosedAfterTheIdleTimeout() async throws {
        let fixture = try await IngestHTTPFixture.make()
        try await fixture.withClient(limits: Self.limits) { client in
            try await idleConnectionsAreClosed(port: client.port)
        }
    }

    @Test func connectionsBeyondTheLimitWaitUntilIdleOnesAreClosed() async throws {
        let fixture = try await IngestHTTPFixture.make()
        try await fixture.withClient(limits: Self.limits) { client in
            try await connectionsBeyondTheLimitWait(port: client.port, limit: Self.limits.maximumConnections)
        }
    }
}

/// Sends a request head one header line every 100 ms, never finishing it; how long until the server closed, nil
/// when it did not within 10 s.
func slowHeaderClient(port: Int) async throws -> Duration? {
    try await runOnDedicatedThread(name: "speedo-test") { () throws -> Duration? in
        let descriptor = try LoopbackSocket.connect(port: port)
        defer { close(descriptor) }
        let started = ContinuousClock.now
        LoopbackSocket.send(descriptor, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for line in 0..<100 {
            if LoopbackSocket.waitForClose(descriptor, timeout: .milliseconds(100)) { return ContinuousClock.now - started }
            guard LoopbackSocket.send(descriptor, "X-Slow-\(line): 1\r\n") else { return ContinuousClock.now - started }
        }
        return nil
    }
}

/// A connection that never sends, and one that goes quiet after an answer, are both closed after the idle timeout
/// (3 s), not before. The sockets are driven on a thread of their own; the expectations are checked here, in the
/// test's context, so that a failure is the test's.
func idleConnectionsAreClosed(port: Int) async throws {
    let (answer, closedEarly, answeredClosed, silentClosed) = try await runOnDedicatedThread(name: "speedo-test") {
        let silent = try LoopbackSocket.connect(port: port)
        defer { close(silent) }
        let answered = try LoopbackSocket.connect(port: port)
        defer { close(answered) }
        LoopbackSocket.send(answered, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let answer = LoopbackSocket.receive(answered, timeout: .seconds(20))
        let closedEarly = LoopbackSocket.waitForClose(answered, timeout: .milliseconds(1_500))
        return (
            answer, closedEarly, closedEarly || LoopbackSocket.waitForClose(answered, timeout: .seconds(15)),
            LoopbackSocket.waitForClose(silent, timeout: .seconds(15)))
    }
    #expect(answer.hasPrefix("HTTP/1.1 200") || answer.hasPrefix("HTTP/1.1 503"), "\(answer)")
    #expect(!closedEarly, "closed before the idle timeout")
    #expect(answeredClosed, "still open after the idle timeout")
    #expect(silentClosed, "a silent connection stayed open")
}

/// With `limit` idle connections open, an established one keeps working, a new one is not served until the idle
/// ones are closed by the idle timeout, and then gets its answer.
///
/// The premise, idle connections still open when the extra one asks, holds only if the first answer and the probe
/// came within the idle timeout (`IngestHTTPLimitsTests.limits`); on a machine too busy for that (a full parallel
/// run on two cores), the round is played again, and three slow rounds fail the test.
func connectionsBeyondTheLimitWait(port: Int, limit: Int, path: String = "/healthz") async throws {
    let idleTimeout = IngestHTTPLimitsTests.limits.idleTimeout
    for _ in 1...3 {
        let (first, early, late, took) = try await runOnDedicatedThread(name: "speedo-test") {
            let clock = ContinuousClock()
            let began = clock.now
            let held = try (0..<limit).map { _ in try LoopbackSocket.connect(port: port) }
            defer { held.forEach { close($0) } }
            // The first one is accepted and served while the limit is reached.
            LoopbackSocket.send(held[0], "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let first = LoopbackSocket.receive(held[0], timeout: .seconds(20))

            let extra = try LoopbackSocket.connect(port: port)
            defer { close(extra) }
            LoopbackSocket.send(extra, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let early = LoopbackSocket.receive(extra, timeout: .milliseconds(300))
            let took = clock.now - began
            return (first, early, early.isEmpty ? LoopbackSocket.receive(extra, timeout: .seconds(20)) : early, took)
        }
        guard took < idleTimeout * 0.8 else { continue }
        #expect(first.hasPrefix("HTTP/1.1 "), "a connection within the limit got no answer: \(first)")
        #expect(early.isEmpty, "a connection beyond the limit was served at once: \(early)")
        #expect(late.hasPrefix("HTTP/1.1 200") || late.hasPrefix("HTTP/1.1 503"), "no answer once idle ones were closed: \(late)")
        return
    }
    Issue.record("three rounds took longer than the idle timeout (\(idleTimeout)) to set up: the limit was not shown")
}

