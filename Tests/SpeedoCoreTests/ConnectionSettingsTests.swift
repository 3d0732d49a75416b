import Testing

@testable import SpeedoCore

@Suite struct ConnectionSettingsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var brokersFlag: String? = nil
        var databaseURLFlag: String? = nil
        var topicFlag: String? = nil
        var properties: [String] = []
        var environment: [String: String] = [:]
        var devStack: DevStackEndpoints? = nil
        var profile: ProfileSettings? = nil
        var brokers: ResolvedSetting
        var topic = ResolvedSetting("speed-events", from: .builtInDefault)
        var database: ResolvedSetting
        var testDescription: String { name }
    }

    static let dev = DevStackEndpoints(brokers: "127.0.0.1:39092", databaseURL: "postgresql:///speedo?host=/tmp/dev")
    static let fullEnvironment = [
        "SPEEDO_BROKERS": "env:9092", "SPEEDO_TOPIC": "env-topic", "SPEEDO_DATABASE_URL": "postgresql://speedo-env",
        "DATABASE_URL": "postgresql://generic-env", "PGHOST": "pghost",
    ]

    static func at(_ line: Int) -> FilePosition { FilePosition(path: "/c.yaml", line: line) }
    static let profile = ProfileSettings(
        name: "prod", brokers: .init("profile:9092", at: at(3)), topic: .init("profile-topic", at: at(4)),
        databaseURL: .init("postgresql://profile", at: at(5)))

    static let cases: [Case] = [
        Case(
            name: "a profile beats the dev stack", devStack: dev, profile: profile,
            brokers: ResolvedSetting("profile:9092", from: .profile("prod", at(3))),
            topic: ResolvedSetting("profile-topic", from: .profile("prod", at(4))),
            database: ResolvedSetting("postgresql://profile", from: .profile("prod", at(5)))),
        Case(
            name: "the environment beats a profile", environment: fullEnvironment, devStack: dev, profile: profile,
            brokers: ResolvedSetting("env:9092", from: .environment("SPEEDO_BROKERS")),
            topic: ResolvedSetting("env-topic", from: .environment("SPEEDO_TOPIC")),
            database: ResolvedSetting("postgresql://speedo-env", from: .environment("SPEEDO_DATABASE_URL"))),
        Case(
            name: "flags beat a profile", brokersFlag: "flag:9092", topicFlag: "flag-topic", profile: profile,
            brokers: ResolvedSetting("flag:9092", from: .flag("--brokers")),
            topic: ResolvedSetting("flag-topic", from: .flag("--topic")),
            database: ResolvedSetting("postgresql://profile", from: .profile("prod", at(5)))),
        Case(
            name: "nothing set: defaults",
            brokers: ResolvedSetting("localhost:9092", from: .builtInDefault),
            database: ResolvedSetting("", from: .libpqDefaults)),
        Case(
            name: "dev stack beats defaults", devStack: dev,
            brokers: ResolvedSetting("127.0.0.1:39092", from: .devStack),
            database: ResolvedSetting("postgresql:///speedo?host=/tmp/dev", from: .devStack)),
        Case(
            name: "environment beats dev stack", environment: fullEnvironment, devStack: dev,
            brokers: ResolvedSetting("env:9092", from: .environment("SPEEDO_BROKERS")),
            topic: ResolvedSetting("env-topic", from: .environment("SPEEDO_TOPIC")),
            database: ResolvedSetting("postgresql://speedo-env", from: .environment("SPEEDO_DATABASE_URL"))),
        Case(
            name: "flags beat everything", brokersFlag: "flag:9092", databaseURLFlag: "postgresql://flag",
            topicFlag: "flag-topic", environment: fullEnvironment, devStack: dev,
            brokers: ResolvedSetting("flag:9092", from: .flag("--brokers")),
            topic: ResolvedSetting("flag-topic", from: .flag("--topic")),
            database: ResolvedSetting("postgresql://flag", from: .flag("--database-url"))),
        Case(
            name: "-X bootstrap.servers counts as the flag", properties: ["bootstrap.servers=x:1"],
            environment: fullEnvironment,
            brokers: ResolvedSetting("x:1", from: .flag("-X bootstrap.servers")),
            topic: ResolvedSetting("env-topic", from: .environment("SPEEDO_TOPIC")),
            database: ResolvedSetting("postgresql://speedo-env", from: .environment("SPEEDO_DATABASE_URL"))),
        Case(
            name: "DATABASE_URL when SPEEDO_DATABASE_URL is unset",
            environment: ["DATABASE_URL": "postgresql://generic-env", "PGHOST": "h"], devStack: dev,
            brokers: ResolvedSetting("127.0.0.1:39092", from: .devStack),
            database: ResolvedSetting("postgresql://generic-env", from: .environment("DATABASE_URL"))),
        Case(
            name: "libpq variables beat the dev stack",
            environment: ["PGUSER": "u", "PGHOST": "h", "PGAPPNAME": "ignored"], devStack: dev,
            brokers: ResolvedSetting("127.0.0.1:39092", from: .devStack),
            database: ResolvedSetting("", from: .libpqEnvironment(["PGHOST", "PGUSER"]))),
        Case(
            name: "empty variables count as unset",
            environment: ["SPEEDO_BROKERS": "", "SPEEDO_DATABASE_URL": "", "PGHOST": ""], devStack: dev,
            brokers: ResolvedSetting("127.0.0.1:39092", from: .devStack),
            database: ResolvedSetting("postgresql:///speedo?host=/tmp/dev", from: .devStack)),
    ]

    @Test(arguments: cases)
    func precedence(_ row: Case) throws {
        let settings = try ConnectionSettings.resolve(
            brokersFlag: row.brokersFlag, databaseURLFlag: row.databaseURLFlag, topicFlag: row.topicFlag,
            kafkaPropertyArguments: row.properties, environment: row.environment, profile: row.profile,
            devStack: row.devStack)
        #expect(settings.brokers == row.brokers)
        #expect(settings.topic == row.topic)
        #expect(settings.databaseURL == row.database)
    }

    @Test func kafkaPropertiesKeepTheirOrderAndSplitAtTheFirstEquals() throws {
        let settings = try ConnectionSettings.resolve(
            brokersFlag: "b:1", databaseURLFlag: nil, topicFlag: nil,
            kafkaPropertyArguments: [
                "security.protocol=SASL_SSL", "sasl.password=a=b", "bootstrap.servers=b:1", "client.id=",
            ],
            environment: [:], devStack: nil)
        #expect(
            settings.kafkaProperties == [
                KafkaProperty(key: "security.protocol", value: "SASL_SSL", source: .flag("-X security.protocol")),
                KafkaProperty(key: "sasl.password", value: "a=b", source: .flag("-X sasl.password")),
                KafkaProperty(key: "client.id", value: "", source: .flag("-X client.id")),
            ])
        #expect(settings.brokers == ResolvedSetting("b:1", from: .flag("--brokers")))
    }

    @Test func secretsAreReadFromTheFilesTheyNameAndALaterPropertyWins() throws {
        var profile = Self.profile
        profile.kafkaProperties = [
            ("sasl.username", .init("speedo", at: Self.at(7))), ("sasl.password", .init("@/secrets/profile", at: Self.at(8))),
            ("client.id", .init("@@literal", at: Self.at(9))),
        ]
        let files = ["/secrets/flag": "from-the-flag-file\n", "/secrets/profile": "from-the-profile-file", "/secrets/db": "postgresql://u:pw@h/db\r\n"]
        let read = { (path: String) throws -> String in
            guard let contents = files[path] else { throw CocoaLikeError(description: "No such file or directory") }
            return contents
        }
        let fromProfile = try ConnectionSettings.resolve(
            brokersFlag: nil, databaseURLFlag: "@/secrets/db", topicFlag: nil, kafkaPropertyArguments: [],
            environment: [:], profile: profile, devStack: nil, readSecret: read)
        #expect(
            fromProfile.kafkaProperties == [
                KafkaProperty(key: "sasl.username", value: "speedo", source: .profile("prod", Self.at(7))),
                KafkaProperty(
                    key: "sasl.password", value: "from-the-profile-file", source: .profile("prod", Self.at(8)),
                    secretFile: "/secrets/profile"),
                KafkaProperty(key: "client.id", value: "@literal", source: .profile("prod", Self.at(9))),
            ])
        #expect(fromProfile.databaseURL == ResolvedSetting("postgresql://u:pw@h/db", from: .flag("--database-url"), secretFile: "/secrets/db"))

        let overridden = try ConnectionSettings.resolve(
            brokersFlag: nil, databaseURLFlag: nil, topicFlag: nil, kafkaPropertyArguments: ["sasl.password=@/secrets/flag"],
            environment: [:], profile: profile, devStack: nil, readSecret: read)
        #expect(overridden.kafkaProperties.map(\.key) == ["sasl.username", "client.id", "sasl.password"])
        #expect(overridden.kafkaProperties.last?.value == "from-the-flag-file")
        #expect(overridden.kafkaProperties.last?.source == .flag("-X sasl.password"))

        #expect {
            _ = try ConnectionSettings.resolve(
                brokersFlag: nil, databaseURLFlag: nil, topicFlag: nil, kafkaPropertyArguments: ["sasl.password=@/missing"],
                environment: [:], devStack: nil, readSecret: read)
        } throws: { error in
            (error as? ConfigurationError)?.description
                == #"cannot read "/missing", named by sasl.password (from -X sasl.password option): No such file or directory; "#
                + "give a readable file (its contents are the value) or write @@ for a value that starts with @"
        }
    }

    struct CocoaLikeError: Error, CustomStringConvertible { var description: String }

    static let errors:
        [(
            properties: [String], brokersFlag: String?, topicFlag: String?, environment: [String: String],
            message: String
        )] = [
            (
                ["foo"], nil, nil, [:],
                #"invalid -X argument "foo": expected -X key=value (a librdkafka property, e.g. -X security.protocol=SASL_SSL)"#
            ),
            (
                ["=x"], nil, nil, [:],
                #"invalid -X argument "=x": expected -X key=value (a librdkafka property, e.g. -X security.protocol=SASL_SSL)"#
            ),
            (
                ["a b=c"], nil, nil, [:],
                #"invalid -X argument "a b=c": expected -X key=value (a librdkafka property, e.g. -X security.protocol=SASL_SSL)"#
            ),
            (
                ["bootstrap.servers=a:1"], "b:1", nil, [:],
                #"--brokers "b:1" and -X bootstrap.servers=a:1 disagree; give only one of them"#
            ),
            ([], "", nil, [:], "--brokers needs a value, got an empty string"),
            (
                [], nil, "bad topic", [:],
                #"invalid topic name "bad topic" (from --topic option): a Kafka topic name is 1 to 249 characters from A-Z a-z 0-9 . _ - and is not "." or "..""#
            ),
            (
                [], nil, nil, ["SPEEDO_TOPIC": ".."],
                #"invalid topic name ".." (from environment variable SPEEDO_TOPIC): a Kafka topic name is 1 to 249 characters from A-Z a-z 0-9 . _ - and is not "." or "..""#
            ),
            (
                [], nil, String(repeating: "t", count: 250), [:],
                #"invalid topic name "tttttttttttttttttttttttttttttttttttttttt…" (from --topic option): a Kafka topic name is 1 to 249 characters from A-Z a-z 0-9 . _ - and is not "." or "..""#
            ),
            (
                [], nil, "", [:],
                #"invalid topic name "" (from --topic option): a Kafka topic name is 1 to 249 characters from A-Z a-z 0-9 . _ - and is not "." or "..""#
            ),
        ]

    @Test(arguments: errors)
    func errorsNameTheProblemAndTheFix(
        properties: [String], brokersFlag: String?, topicFlag: String?, environment: [String: String], message: String
    ) {
        #expect {
            _ = try ConnectionSettings.resolve(
                brokersFlag: brokersFlag, databaseURLFlag: nil, topicFlag: topicFlag,
                kafkaPropertyArguments: properties,
                environment: environment, devStack: nil)
        } throws: { error in
            (error as? ConfigurationError)?.description == message
        }
    }

    @Test func longestLegalTopicIsAccepted() throws {
        let name = String(repeating: "a.b_c-D9", count: 31) + "x"
        #expect(name.count == 249)
        let settings = try ConnectionSettings.resolve(
            brokersFlag: nil, databaseURLFlag: nil, topicFlag: name, kafkaPropertyArguments: [], environment: [:],
            devStack: nil)
        #expect(settings.topic.value == name)
    }
}
