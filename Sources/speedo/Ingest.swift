import ArgumentParser
import SpeedoCore

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate readings and publish them to Kafka.",
        discussion: """
            With --listen, serves the HTTP ingestion API (POST /speed, GET /healthz, GET /metrics) until \
            SIGTERM or SIGINT; it then finishes the requests in flight, flushes and exits 130.
            """
    )

    @OptionGroup(title: "Kafka")
    var kafka: KafkaOptions

    @OptionGroup(title: "HTTP")
    var http: HTTPIngestOptions

    func validate() throws {
        guard http.listen != nil else { throw ValidationError("--listen is required") }
    }

    func run() async throws {
        let settings = try ConnectionSettings.resolve(kafka: kafka, database: nil)
        try await IngestHTTPServer(options: http, settings: settings).run()
    }
}
