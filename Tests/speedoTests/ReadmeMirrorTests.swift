import Foundation
import SpeedoTestSupport
import Testing

/// README examples that need what a test machine has not (a secured cluster) mirrored one to one: the same
/// command line, pointed at an address where nothing listens, must get as far as connecting.
@Suite(.programTurns) struct ReadmeMirrorTests {
    @Test func theSecuredClusterExampleIsAValidConfiguration() async throws {
        let readings = try TemporaryFile()
        try readings.handle.write(contentsOf: Data(#"{"sensor_id":"sensor-1","speed":42}"#.utf8 + [0x0A]))
        let speedo = SpeedoBinary(environment: [
            "XDG_STATE_HOME": "/nonexistent", "SPEEDO_BROKERS": nil, "KAFKA_PASSWORD": "secret",
        ])
        // The README's command with its addresses replaced: a port nobody listens on, the system CA bundle.
        let outcome = try await speedo.run([
            "ingest", "-b", "127.0.0.1:9,127.0.0.1:10",
            "-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanism=SCRAM-SHA-512",
            "-X", "sasl.username=speedo", "-X", "sasl.password=secret",
            "-X", "ssl.ca.location=/etc/ssl/certs/ca-certificates.crt", "--connect-timeout", "1s", readings.path,
        ])
        #expect(outcome.status == 69, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("cannot reach Kafka at 127.0.0.1:9,127.0.0.1:10"), "\(outcome.stderr)")
    }
}
