import Foundation
import Testing

/// The command-line surface as a user meets it: help that teaches, usage errors, exit codes.
@Suite struct CommandLineTests {
    let speedo = SpeedoBinary()

    @Test func rootHelpListsTheCommands() throws {
        let help = try speedo.run(["--help"])
        #expect(help.status == 0)
        for command in ["dev", "status"] {
            #expect(help.stdout.contains("  \(command) "), "--help does not list \(command)")
        }
        #expect(!help.stdout.contains("serve-broker"), "the internal broker command must stay hidden")
    }

    @Test func sharedOptionsAreDocumentedWithTheirEnvironmentVariables() throws {
        let help = try speedo.run(["status", "--help"])
        #expect(help.status == 0)
        for text in ["--brokers", "SPEEDO_BROKERS", "-X <key=value>", "--database-url", "SPEEDO_DATABASE_URL"] {
            #expect(help.stdout.contains(text), "status --help does not mention \(text)")
        }
    }

    @Test func badUsageExits64() throws {
        let negative = try speedo.run(["status", "--top", "-1"])
        #expect(negative.status == 64)
        #expect(negative.stderr.contains("--top"))

        let badDuration = try speedo.run(["status", "--timeout", "soon"])
        #expect(badDuration.status == 64)
        #expect(badDuration.stderr.contains("soon"))

        let badProperty = try speedo.run(["status", "-X", "no-equals-sign", "--timeout", "1s"])
        #expect(badProperty.status == 64)
        #expect(badProperty.stderr.contains("no-equals-sign"))
    }

    @Test func statusNamesWhatIsUnreachableAndExits69() throws {
        let nowhere = try TemporaryDirectory()
        let status = try SpeedoBinary(environment: ["XDG_STATE_HOME": nowhere.path]).run([
            "status", "-b", "127.0.0.1:1", "-d", "postgresql:///speedo?host=\(nowhere.path)&port=5999",
            "--timeout", "1s",
        ])
        #expect(status.status == 69)
        #expect(status.stderr.contains("Kafka"))
        #expect(status.stderr.contains("PostgreSQL"))
        #expect(status.stderr.contains("127.0.0.1:1"))
        #expect(!status.stderr.contains("|FAIL|"), "librdkafka's raw log lines leaked: \(status.stderr)")
    }
}
