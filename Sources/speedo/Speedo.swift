import ArgumentParser

@main
struct Speedo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speedo",
        abstract: "Real-time vehicle-speed telemetry over Kafka and PostgreSQL."
    )
}
