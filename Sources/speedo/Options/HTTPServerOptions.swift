import ArgumentParser
import SpeedoCore
import SpeedoHTTP

/// `--allow-host`, `--allow-origin`: the same options, the same rules, for every server a browser could reach.
struct HTTPHostOptions: ParsableArguments {
    @Option(
        name: .customLong("allow-host"),
        help: ArgumentHelp(
            "Also answer requests whose Host is this name (repeatable; * accepts any Host).",
            discussion: """
                Without it, only IP addresses, localhost and the --listen host are accepted as Host: a request for \
                another name is answered 421, so that a web page cannot reach the server by re-pointing its own \
                name at it (DNS rebinding). Listening on all interfaces does not widen this. Name the host \
                clients use when they reach the server by name.
                """,
            valueName: "name"))
    var allowedHosts: [String] = []

    @Option(
        name: .customLong("allow-origin"),
        help: ArgumentHelp(
            "Accept requests from browser pages of this origin, e.g. https://dash.example.com (repeatable).",
            discussion: "Without it, a request that carries an Origin other than the server's own is answered 403.",
            valueName: "origin"))
    var allowedOrigins: [String] = []

    var given: [String] {
        (allowedHosts.isEmpty ? [] : ["--allow-host"]) + (allowedOrigins.isEmpty ? [] : ["--allow-origin"])
    }

    func validate() throws {
        for origin in allowedOrigins where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) {
            throw ValidationError("--allow-origin takes scheme://host[:port], e.g. https://dash.example.com (got \(origin))")
        }
        for host in allowedHosts where host.isEmpty || host.contains("/") || host.contains(" ") {
            throw ValidationError("--allow-host takes a host name such as speedo.example.com, or * (got \(host))")
        }
    }

    func policy(listenHost: String) -> HTTPHostPolicy {
        HTTPHostPolicy(listenHost: listenHost, allowedHosts: allowedHosts, allowedOrigins: allowedOrigins)
    }
}

/// `--max-connections`, `--idle-timeout`, `--header-timeout`: the same options, the same rules, for every server.
struct HTTPLimitOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Serve at most this many connections at once; more wait to be accepted until one closes (default: ulimit -n less 64).",
        valueName: "count"))
    var maxConnections: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Close a connection that has no request in progress, or does not read its answers, for this long (default: 60s).",
        valueName: "duration"))
    var idleTimeout: String?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Close a connection whose request head is not complete this long after its first byte (default: 10s).",
        valueName: "duration"))
    var headerTimeout: String?

    var given: [String] {
        [maxConnections.map { _ in "--max-connections" }, idleTimeout.map { _ in "--idle-timeout" },
         headerTimeout.map { _ in "--header-timeout" }].compactMap { $0 }
    }

    func validate() throws {
        _ = try limits()
    }

    func limits() throws -> HTTPConnectionLimits {
        var limits = HTTPConnectionLimits.standard
        if let maxConnections {
            limits.maximumConnections = try OptionBounds.check(maxConnections, "--max-connections", 1...1_000_000)
        }
        if let idleTimeout { limits.idleTimeout = try Self.duration(idleTimeout, option: "--idle-timeout") }
        if let headerTimeout { limits.headerTimeout = try Self.duration(headerTimeout, option: "--header-timeout") }
        return limits
    }

    private static func duration(_ text: String, option: String) throws -> Duration {
        try OptionBounds.duration(text, option, .milliseconds(100)...TimeSpan.hours(24)).duration
    }
}

/// `--metrics-listen`: the same option, the same rules, for every command whose work is not HTTP.
struct MetricsListenOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Serve GET /metrics and the probes (/livez, /readyz) on this address (host:port; port 0 picks a free one, shown on stderr).",
        valueName: "host:port"))
    var metricsListen: String?

    func validate() throws {
        if let metricsListen { _ = try ListenAddress.parse(metricsListen, option: "--metrics-listen") }
    }

    /// Runs `work`, with `endpoint` served while it runs when an address was given.
    func serving<Outcome: Sendable>(
        _ endpoint: (some MetricsEndpoint)?, while work: @escaping @Sendable () async throws -> Outcome
    ) async throws -> Outcome {
        guard let metricsListen, let endpoint else { return try await work() }
        return try await endpoint.serving(
            on: try ListenAddress.address(metricsListen, option: "--metrics-listen"), notes: .standardError, while: work)
    }
}
