import Foundation
import SpeedoTestSupport
import Testing

/// README examples that need what a test machine has not (a secured cluster) mirrored one to one: the same
/// command line, pointed at an address where nothing listens, must get as far as connecting.
@Suite(.programTurns) struct ReadmeMirrorTests {
    @Test func theSecuredClusterExampleIsAValidConfiguration() async throws {
        let readings = try TemporaryFile()
        try readings.handle.write(contentsOf: Data(#"{"sensor_id":"sensor-1","speed":42}"#.utf8 + [0x0A]))
        let password = try TemporaryFile()
        try password.handle.write(contentsOf: Data("secret\n".utf8))
        let speedo = SpeedoBinary(environment: ["XDG_STATE_HOME": "/nonexistent", "SPEEDO_BROKERS": nil])
        // The README's command with its addresses replaced: a port nobody listens on, the system CA bundle, a file
        // of our own for the password.
        let outcome = try await speedo.run([
            "ingest", "-b", "127.0.0.1:9,127.0.0.1:10",
            "-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanism=SCRAM-SHA-512",
            "-X", "sasl.username=speedo", "-X", "sasl.password=@\(password.path)",
            "-X", "ssl.ca.location=/etc/ssl/certs/ca-certificates.crt", "--connect-timeout", "1s", readings.path,
        ])
        #expect(outcome.status == 69, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("cannot reach Kafka at 127.0.0.1:9,127.0.0.1:10"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("warning"), "\(outcome.stderr)")
    }

    @Test func theProfileExampleIsTheShippedOneAndSpeedoReadsIt() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let example = try String(contentsOfFile: root + "/dist/config.example.yaml", encoding: .utf8)
        let readme = try String(contentsOfFile: root + "/README.md", encoding: .utf8)
        #expect(readme.contains("```yaml\n" + example + "```\n"), "README's profile example differs from dist/config.example.yaml")

        let password = try TemporaryFile()
        try password.handle.write(contentsOf: Data("secret\n".utf8))
        let configuration = try TemporaryFile()
        try configuration.handle.write(contentsOf: Data(
            example.replacingOccurrences(of: "/run/secrets/kafka-password", with: password.path).utf8))
        let speedo = SpeedoBinary(environment: ["XDG_STATE_HOME": "/nonexistent", "SPEEDO_BROKERS": nil])
        let shown = try await speedo.run(["--config", configuration.path, "config", "show"])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("kafka-1.example.internal:9093,kafka-2.example.internal:9093 (from profile \"production\""))
        #expect(shown.stdout.contains("gateway --allow-host"), "\(shown.stdout)")
        #expect(!shown.stdout.contains("secret"), "\(shown.stdout)")
    }
}
