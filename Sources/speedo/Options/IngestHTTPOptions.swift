import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoHTTP

/// The options of `speedo ingest --listen`: the HTTP ingestion API.
struct HTTPIngestOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Serve the HTTP ingestion API on this address instead of reading files or stdin.",
            discussion: """
                POST /speed takes one reading (application/json), a JSON array of readings, or NDJSON \
                (application/x-ndjson); it answers 200 only once the broker acknowledged every valid reading, \
                and 503 with Retry-After when the queue is full or a reading was not confirmed. GET /readyz \
                (or /healthz) tells whether the brokers answer, GET /livez only that the process answers (for \
                liveness probes: a broker outage must not restart it); GET /metrics serves Prometheus metrics. Port 0 picks a free \
                port; the address in use is logged on stderr. A reading not confirmed in time is answered 503 \
                delivery-in-doubt: it may still be on the topic. Send each reading's ts: a resend of a reading \
                with its ts is stored once, while one without ts is stamped with the time it arrives, so its \
                resend becomes a second reading. Requests must name an IP address, localhost, the --listen host \
                or an --allow-host name in their Host (421 otherwise), and browser pages of other origins need \
                --allow-origin (403 otherwise).
                """,
            valueName: "host:port"))
    var listen: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Largest request body accepted (413 beyond it): bytes, or with KiB or MiB.", valueName: "size"))
    var maxBody: String?

    @Option(parsing: .unconditional, 
        help: ArgumentHelp(
            "How long a reading may wait for the broker's acknowledgement before its request answers 503 (in doubt).",
            valueName: "duration"))
    var deliveryTimeout: String?

    @Option(
        help: ArgumentHelp(
            "Require `Authorization: Bearer <token>` on /speed and /metrics; the token is the file's content, trimmed.",
            discussion: "GET /healthz stays open, for load balancers. Listening on all interfaces without it prints a warning.",
            valueName: "path"))
    var tokenFile: String?

    @Flag(help: "Log one line per HTTP request on stderr.")
    var accessLog = false

    @OptionGroup var hosts: HTTPHostOptions

    @OptionGroup var connections: HTTPLimitOptions

    static let defaultMaximumBodySize = 1 << 20
    static let defaultDeliveryTimeout = Duration.seconds(5)

    /// Options that mean something only with --listen, as given.
    var listenOnlyOptionsGiven: [String] {
        [maxBody.map { _ in "--max-body" }, deliveryTimeout.map { _ in "--delivery-timeout" },
         tokenFile.map { _ in "--token-file" }, accessLog ? "--access-log" : nil].compactMap { $0 }
            + hosts.given + connections.given
    }

    func validate() throws {
        if listen == nil {
            if let first = listenOnlyOptionsGiven.first { throw ValidationError("\(first) needs --listen") }
            return
        }
        _ = try listenAddress()
        _ = try maximumBodySize()
        _ = try parsedDeliveryTimeout()
    }

    func listenAddress() throws -> HTTPListenAddress {
        guard let listen else { throw ValidationError("--listen is missing") }
        return try ListenAddress.address(listen)
    }

    func maximumBodySize() throws -> Int {
        guard let maxBody else { return Self.defaultMaximumBodySize }
        return try ByteSize.parse(maxBody, option: "--max-body")
    }

    func parsedDeliveryTimeout() throws -> Duration {
        guard let deliveryTimeout else { return Self.defaultDeliveryTimeout }
        // librdkafka needs message.timeout.ms (set to this) well above linger.ms.
        return try OptionBounds.duration(deliveryTimeout, "--delivery-timeout", .milliseconds(100)...TimeSpan.hours(1)).duration
    }
}

enum ListenAddress {
    /// `host:port`, `[v6]:port`; port 0 asks the system for a free one.
    static func parse(_ text: String, option: String = "--listen") throws -> (host: String, port: Int) {
        let usage = "\(option) takes host:port, e.g. 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080 (got \(text))"
        guard let colon = text.lastIndex(of: ":") else { throw ValidationError(usage) }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError(usage)
        }
        return (host, port)
    }

    /// The same, with how it was given, for a server's messages.
    static func address(_ text: String, option: String = "--listen") throws -> HTTPListenAddress {
        let (host, port) = try parse(text, option: option)
        return HTTPListenAddress(host: host, port: port, given: text, option: option)
    }
}

enum ByteSize {
    /// `1048576`, `512KiB`, `1MiB` (also `K`/`KB`/`M`/`MB`, read as powers of 1024).
    static func parse(_ text: String, option: String) throws -> Int {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count).lowercased()
        let multipliers: [String: Int] = ["": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20]
        guard let value = Int(digits), let multiplier = multipliers[unit] else {
            throw ValidationError("\(option) takes a size such as 1048576, 512KiB or 1MiB (got \(text))")
        }
        let (size, overflow) = value.multipliedReportingOverflow(by: multiplier)
        // The publisher numbers a request's readings in 24 bits; a reading takes more than 16 bytes.
        guard !overflow, size >= 1, size <= 256 << 20 else {
            throw ValidationError("\(option) must be between 1 byte and 256MiB (got \(text))")
        }
        return size
    }
}
