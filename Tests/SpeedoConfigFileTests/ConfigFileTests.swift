import SpeedoConfigFile
import SpeedoCore
import Testing

@Suite struct ConfigFileTests {
    static let example = """
        # a comment
        default-profile: production
        profiles:
          production:
            brokers: [kafka-1:9093, kafka-2:9093]
            topic: fleet-events
            database-url: "@/run/secrets/database-url"
            kafka:
              security.protocol: SASL_SSL
              sasl.password: "@/run/secrets/kafka-password"
            commands:
              consume postgres:
                group: history-writers
                batch-size: 500
              watch:
                sensors: [sensor-1*, sensor-2*]
          lab:
            brokers: lab:9092

        """

    @Test func everySettingKeepsItsLine() throws {
        let file = try ConfigFile.parse(Self.example, path: "/etc/speedo/config.yaml")
        #expect(file.defaultProfile == ProfileSettings.Entry("production", at: FilePosition(path: "/etc/speedo/config.yaml", line: 2)))
        #expect(file.profiles.map(\.settings.name) == ["production", "lab"])
        let production = try #require(file.profile(named: "production"))
        let at = { (line: Int) in FilePosition(path: "/etc/speedo/config.yaml", line: line) }
        #expect(production.settings.brokers == ProfileSettings.Entry("kafka-1:9093,kafka-2:9093", at: at(5)))
        #expect(production.settings.topic == ProfileSettings.Entry("fleet-events", at: at(6)))
        #expect(production.settings.databaseURL == ProfileSettings.Entry("@/run/secrets/database-url", at: at(7)))
        #expect(production.settings.kafkaProperties.map(\.key) == ["security.protocol", "sasl.password"])
        #expect(production.settings.kafkaProperties.map(\.entry.position.line) == [9, 10])
        #expect(production.commands.map(\.command) == ["consume postgres", "watch"])
        #expect(
            production.commands[0].options == [
                .init(name: "group", values: ["history-writers"], isList: false, position: at(13)),
                .init(name: "batch-size", values: ["500"], isList: false, position: at(14)),
            ])
        #expect(production.commands[1].options == [.init(name: "sensors", values: ["sensor-1*", "sensor-2*"], isList: true, position: at(16))])
    }

    @Test(arguments: [
        ("profiles:\n  p:\n    brokrs: x:1\n",
         #"f.yaml:3: unknown key "brokrs" in profile "p" (did you mean "brokers"?); the keys there are brokers, topic, database-url, kafka, commands"#),
        ("profile:\n  p: {}\n",
         #"f.yaml:1: unknown key "profile" in the top level (did you mean "profiles"?); the keys there are default-profile, profiles"#),
        ("profiles:\n  p:\n    brokers: a\n    brokers: b\n", #"f.yaml:3: not valid YAML: the key "brokers" is given twice"#),
        ("profiles:\n  p: [\n", "f.yaml:3: not valid YAML: did not find expected node content"),
        ("default-profile: prod\nprofiles:\n  production: {}\n",
         #"f.yaml:1: default-profile "prod" is not a profile of this file; its profiles: production"#),
        ("profiles:\n  p:\n    topic: [a, b]\n", #"f.yaml:3: "topic" takes a single value, not a list or a mapping"#),
        ("profiles:\n  p:\n    kafka:\n      bootstrap.servers: x:1\n",
         #"f.yaml:4: set the brokers of profile "p" with brokers:, not kafka: bootstrap.servers"#),
        ("profiles: 3\n", "f.yaml:1: profiles must be a mapping of keys to values"),
    ])
    func mistakesAreNamedWithTheirLine(text: String, message: String) {
        #expect {
            _ = try ConfigFile.parse(text, path: "f.yaml")
        } throws: { error in
            (error as? ConfigurationError)?.description == message
        }
    }

    @Test func anEmptyFileHasNoProfiles() throws {
        #expect(try ConfigFile.parse("", path: "f.yaml").profiles.isEmpty)
        #expect(try ConfigFile.parse("# nothing yet\n", path: "f.yaml").profiles.isEmpty)
    }
}

@Suite struct ConfigSelectionTests {
    static func file(_ path: String) throws(ConfigurationError) -> ConfigFile {
        try ConfigFile.parse("default-profile: a\nprofiles:\n  a: {}\n  b: {}\n", path: path)
    }

    func select(
        config: String? = nil, profile: String? = nil, environment: [String: String] = ["HOME": "/home/u"],
        existing: Set<String> = []
    ) throws -> ConfigSelection {
        try ConfigSelection.select(
            configFlag: config, profileFlag: profile, environment: environment, fileExists: existing.contains, read: Self.file)
    }

    @Test func theFileIsTheFlagThenTheVariableThenTheFirstThatExists() throws {
        #expect(try select(config: "/x.yaml", environment: ["SPEEDO_CONFIG": "/y.yaml"]).file?.path == "/x.yaml")
        #expect(try select(config: "/x.yaml").fileSource == .flag("--config"))
        #expect(try select(environment: ["SPEEDO_CONFIG": "/y.yaml"]).fileSource == .environment("SPEEDO_CONFIG"))
        #expect(try select(existing: ["/etc/speedo/config.yaml", "/home/u/.config/speedo/config.yml"]).file?.path
            == "/home/u/.config/speedo/config.yml")
        #expect(try select(environment: ["XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"], existing: ["/xdg/speedo/config.yaml"])
            .file?.path == "/xdg/speedo/config.yaml")
        #expect(try select(existing: ["/etc/speedo/config.yaml"]).file?.path == "/etc/speedo/config.yaml")
        #expect(try select() == .none)
    }

    @Test func theProfileIsTheFlagThenTheVariableThenTheFilesDefault() throws {
        #expect(try select(config: "/c", profile: "b", environment: ["SPEEDO_PROFILE": "a"]).profile?.settings.name == "b")
        #expect(try select(config: "/c", environment: ["SPEEDO_PROFILE": "b"]).profileSource == .environment("SPEEDO_PROFILE"))
        let byDefault = try select(config: "/c")
        #expect(byDefault.profile?.settings.name == "a")
        #expect(byDefault.profileSource == .configurationKey("default-profile", FilePosition(path: "/c", line: 1)))
    }

    @Test func aProfileThatIsNotThereIsNamed() {
        #expect {
            _ = try select(config: "/c", profile: "bb")
        } throws: { error in
            (error as? ConfigurationError)?.description
                == #"no profile "bb" (from --profile option) in /c (did you mean "b" or "a"?); its profiles: a, b"#
        }
        #expect {
            _ = try select(profile: "a", environment: ["HOME": "/h"])
        } throws: { error in
            (error as? ConfigurationError)?.description == #"profile "a" (from --profile option) needs a configuration file, "#
                + "and there is none at /h/.config/speedo/config.yaml or /h/.config/speedo/config.yml or "
                + "/etc/speedo/config.yaml or /etc/speedo/config.yml; name one with --config FILE or SPEEDO_CONFIG"
        }
    }
}
