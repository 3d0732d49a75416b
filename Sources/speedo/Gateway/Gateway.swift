import ArgumentParser
import SpeedoCore
import SpeedoHTTP
import SpeedoPipeline
import SpeedoRuntime

struct Gateway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Push each sensor's latest state from speed-latest to web clients over WebSocket.",
        discussion: """
            Follows every partition of the compacted topic speed-latest (written by `speedo consume latest`) from \
            its beginning, without a consumer group, and serves:

              GET /ws/speed   a WebSocket: first the latest state of every sensor, then every update, one JSON text
                              message each, as on the topic:
                              {"sensor_id":"sensor-1","speed":42.5,"ts":1700000000.5,"window_s":60,"count":600,"min":0,"avg":38.2,"max":71.5}
                              ?sensor=ID (repeatable) and ?sensors=GLOB (e.g. truck-*) choose sensors;
                              ?format=number&sensor=ID sends the bare speed instead (always a number);
                              a bad query is answered 400 before any upgrade.
              GET /           the live page: a card per sensor with a gauge coloured by speed band (as in watch),
                              the speed, a sparkline of the last minute, min/avg/max, dimmed after 5 s without a
                              reading; a filter (the same globs as ?sensors), sorting, a detail chart; the connection's
                              state. Its own ?sensor, ?sensors and ?token are passed on. Scripts and styles come from the gateway only (a
                              Content-Security-Policy forbids inline script, eval and anything from elsewhere).
              GET /api/history
                              each sensor's recent readings (the last 5 minutes, at most 600 each, as speed-latest
                              brought them), for the page to draw at once: {"window_s":300,"sensors":[{"sensor_id":…,
                              "readings":[[ts,speed],…]},…]}; ?sensor, ?sensors and ?since=DURATION (e.g. 60s) choose
                              what is sent
              GET /readyz     200 once the topic was read to its end; 503 while starting or when the brokers are unreachable
                              (GET /healthz is the same)
              GET /livez      200 whenever the process answers, brokers reachable or not (for liveness probes)
              GET /metrics    Prometheus metrics: connections, messages sent, updates coalesced, slow clients dropped,
                              delivery lag p50/p99 (reading time to arrival here, last 5 s)

            A slow client never slows the others or the topic's reader: while its socket is full it is skipped, \
            and when it catches up it gets only the newest state of each sensor (older undelivered ones are \
            "coalesced"); a client whose oldest undelivered update has waited longer than --max-lag is closed (code \
            1008 with the reason). Idle clients are pinged every --ping-interval and closed when they do not answer.

            With --token-file, /ws/speed, /api/history and /metrics need the token: `Authorization: Bearer <token>`, or \
            ?token=<token> on /ws/speed and /api/history (browsers cannot set headers on a WebSocket). A browser's WebSocket is accepted \
            only from the gateway's own pages and the sites named with --allow-origin (scheme://host[:port]); clients \
            that send no Origin, or a ws:// or wss:// one (not browsers), are accepted. Every request must name in \
            its Host an IP address, localhost, the --listen host or a name given with --allow-host (421 otherwise): \
            a web page cannot reach the gateway by re-pointing its own name at it (DNS rebinding). Listening on all \
            interfaces without --token-file prints a warning.

            Connections are bounded: at most --max-connections at once (more wait to be accepted), a connection's \
            first request head must be complete within --header-timeout of its first byte (a later one within \
            --idle-timeout of the answer before), and a connection without a request in progress is closed after \
            --idle-timeout (WebSocket clients are kept alive by pings instead).

            SIGINT or SIGTERM stop accepting connections, send every client a close frame, and exit 0 (SIGTERM) or \
            130 (SIGINT); a second signal exits at once.

            Examples:
              speedo gateway
                  the dev stack, on http://127.0.0.1:9000/
              speedo gateway --listen 0.0.0.0:9000 --token-file /etc/speedo/token --allow-origin https://dash.example.com
              websocat 'ws://127.0.0.1:9000/ws/speed?format=number&sensor=sensor-1'
            """
    )

    @OptionGroup(title: "Kafka") var kafka: KafkaClientOptions

    @Option(help: ArgumentHelp(
        "The address to serve on; port 0 picks a free port (the address in use is logged on stderr).", valueName: "host:port"))
    var listen = "127.0.0.1:9000"

    @Option(help: ArgumentHelp(
        "Require this token (the file's content, trimmed) on /ws/speed and /metrics.", valueName: "path"))
    var tokenFile: String?

    @OptionGroup(title: "Clients") var hosts: HTTPHostOptions

    @OptionGroup(title: "Connections") var connections: HTTPLimitOptions

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Close a client whose oldest undelivered update has waited longer than this.", valueName: "duration"))
    var maxLag = "2s"

    @Option(parsing: .unconditional, help: ArgumentHelp("Ping idle clients this often; one that does not answer in time is closed.", valueName: "duration"))
    var pingInterval = "30s"

    func validate() throws {
        _ = try ListenAddress.parse(listen)
        _ = try timings()
    }

    /// `--max-lag` and `--ping-interval` as durations.
    private func timings() throws -> (maxLag: Duration, pingInterval: Duration) {
        (try OptionBounds.duration(maxLag, "--max-lag", .milliseconds(10)...TimeSpan.hours(1)).duration,
         try OptionBounds.duration(pingInterval, "--ping-interval", .milliseconds(100)...TimeSpan.hours(1)).duration)
    }

    func run() async throws {
        let resolved = try kafka.resolved()
        let address = try ListenAddress.address(listen)
        let limits = try connections.limits()
        let timings = try timings()
        let server = GatewayServer.Settings(
            admission: GatewayAdmission(
                authentication: try BearerTokenCheck(tokenFile: tokenFile), hosts: hosts.policy(listenHost: address.host)),
            pingInterval: timings.pingInterval, closeTimeout: .seconds(5), limits: limits)

        let interrupts = InterruptWatcher(stopDeadline: StopDeadline(
            exitCode: .interrupted, consequence: "clients not closed yet were cut off without a close frame"))
        try await GatewayService.run(
            connection: resolved, listen: address, server: server, maxLag: timings.maxLag,
            connectTimeout: try kafka.startupWait(), stop: interrupts.stop, notes: .standardError)
        try interrupts.endCleanStop("speedo gateway: stopped on a signal; every client was sent a close frame")
    }
}
