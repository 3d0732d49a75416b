import SpeedoPipeline
import SpeedoRuntime
import Testing

/// The gateway under the same connection tests as the ingestion API (`IngestHTTPLimitsTests`): its first request is
/// timed by speedo, later ones by Hummingbird, and its connections are counted by Hummingbird's limiter.
/// The "Error handling upgrade result" lines they log are Hummingbird's word for a connection closed before its
/// first request.
@Suite struct GatewayLimitsTests {
    @Test func slowHeadersAreCutOffAfterTheHeaderTimeout() async throws {
        let fixture = try await GatewayFixture.make(limits: IngestHTTPLimitsTests.limits)
        try await fixture.withServer { port, _ in
            let closedAfter = try await slowHeaderClient(port: port)
            let elapsed = try #require(closedAfter, "a client sending a header line every 100 ms was never disconnected")
            #expect(elapsed >= .milliseconds(950) && elapsed < .seconds(5), "closed after \(elapsed)")
        }
    }

    @Test func idleConnectionsAreClosedAfterTheIdleTimeout() async throws {
        let fixture = try await GatewayFixture.make(limits: IngestHTTPLimitsTests.limits)
        try await fixture.withServer { port, _ in
            try await idleConnectionsAreClosed(port: port)
        }
    }

    @Test func connectionsBeyondTheLimitWaitUntilIdleOnesAreClosed() async throws {
        let fixture = try await GatewayFixture.make(limits: IngestHTTPLimitsTests.limits)
        try await fixture.withListeningServer { port in
            try await connectionsBeyondTheLimitWait(port: port, limit: IngestHTTPLimitsTests.limits.maximumConnections)
        }
    }
}
