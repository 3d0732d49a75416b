import CRdKafka
import SpeedoCore

/// Where the cluster is and any librdkafka properties the operator passed (`-X key=value`, e.g. SASL/SSL).
/// Properties are applied in order, after the client's defaults, so a later `-X` wins over an earlier one.
package struct KafkaConfiguration: Sendable {
    package var bootstrapServers: String
    package var properties: [(String, String)]

    package init(bootstrapServers: String, properties: [(String, String)] = []) {
        (self.bootstrapServers, self.properties) = (bootstrapServers, properties)
    }

    /// For consumers that read a backlog as fast as they can (`consume postgres` catching up, `replay`):
    /// `queued.min.messages` 1,000,000 instead of librdkafka 2.0.2's 100,000 per partition. With the default, the
    /// fetcher stops at the threshold and, once the queue has drained, waits out `fetch.error.backoff.ms` (500 ms)
    /// before fetching again, so the consumer sat idle for much of a run (measured: a 1,000,000-record replay got
    /// nothing from 33 polls of 100 ms; consume postgres 7.5 s instead of 2.6 s). `-X` still overrides it.
    package func preferringBulkReads() -> KafkaConfiguration {
        var tuned = self
        tuned.properties.insert(("queued.min.messages", "1000000"), at: 0)
        return tuned
    }

    /// For consumers on the live path (`consume latest`, and the followers of speed-latest behind `watch` and the
    /// gateway): a fetch the broker answers after at most 10 ms when it has nothing new, where librdkafka 2.0.2 waits
    /// 500 ms (`fetch.wait.max.ms`), which was half a second of lag at the demo's 1 Hz a sensor (p99 517 ms measured
    /// before); a failed fetch retried after 20 ms, not 500; reconnects within a second. At high rates nothing changes:
    /// a fetch returns as soon as records are there (`fetch.min.bytes` 1). `-X` still overrides each.
    package func preferringLowLatencyReads() -> KafkaConfiguration {
        var tuned = self
        tuned.properties.insert(contentsOf: [
            ("fetch.wait.max.ms", "10"), ("fetch.error.backoff.ms", "20"),
            ("reconnect.backoff.ms", "50"), ("reconnect.backoff.max.ms", "1000"),
        ], at: 0)
        return tuned
    }

    /// For producers on the live path whose records are few already (`consume latest`'s states, at most `--max-rate` a
    /// sensor): each sent at once (`linger.ms` 0) rather than after librdkafka 2.0.2's 5 ms wait for company; what
    /// comes while a request is in flight still forms the next batch. `-X` still overrides it.
    package func preferringLowLatencyWrites() -> KafkaConfiguration {
        var tuned = self
        tuned.properties.insert(("linger.ms", "0"), at: 0)
        return tuned
    }

    /// A property a client sets itself and refuses to let callers weaken.
    struct EnforcedProperty {
        let key: String
        /// Other names librdkafka takes for the same property.
        var aliases: Set<String> = []
        let value: String
        /// Spellings of `value` the caller may repeat harmlessly.
        let acceptedValues: Set<String>
        let reason: String

        /// Refuses `key=value` when it names this property with a value that weakens it.
        func check(_ key: String, _ value: String, client: String) throws(KafkaError) {
            guard key == self.key || aliases.contains(key), !acceptedValues.contains(value) else { return }
            throw KafkaError(
                code: .forbiddenProperty,
                message: "property \(key)=\(value) is not allowed for the \(client): \(reason); "
                    + "remove it (the \(client) always uses \(self.key)=\(self.value))"
            )
        }
    }

    /// What every speedo producer promises (DESIGN.md: idempotent, acks=all), whatever `-X` says.
    static let producerGuarantees: [EnforcedProperty] = [
        .init(key: "enable.idempotence", value: "true", acceptedValues: ["true"],
              reason: "without idempotence a retried send can duplicate or reorder readings"),
        .init(key: "acks", aliases: ["request.required.acks"], value: "all", acceptedValues: ["all", "-1"],
              reason: "a record counts as delivered only once all in-sync replicas have it"),
    ]

    /// Checks `-X` properties before anything connects, so that a mistake is a usage error at once rather than a
    /// client that fails (or waits) later: each must be a property librdkafka knows with a value it takes (set on a
    /// throwaway configuration), and none may weaken the producers' guarantees, whichever clients the command uses.
    package static func check(properties: [(String, String)]) throws(KafkaError) {
        let conf = KafkaConf()
        for (key, value) in properties {
            for rule in producerGuarantees { try rule.check(key, value, client: "producer") }
            try conf.set(key, value)
        }
    }

    /// Builds an `rd_kafka_conf_t`: bootstrap servers, then `defaults` (overridable), then the caller's properties,
    /// then `enforced` (which the caller may only restate).
    func makeConf(
        client: String,
        defaults: [(String, String)],
        enforced: [EnforcedProperty] = []
    ) throws(KafkaError) -> KafkaConf {
        for (key, value) in properties {
            for rule in enforced { try rule.check(key, value, client: client) }
        }
        let conf = KafkaConf()
        try conf.set("bootstrap.servers", bootstrapServers)
        for (key, value) in defaults { try conf.set(key, value) }
        for (key, value) in properties { try conf.set(key, value) }
        for rule in enforced { try conf.set(rule.key, rule.value) }
        return conf
    }
}

/// Owns an `rd_kafka_conf_t` until `rd_kafka_new` takes it over.
final class KafkaConf {
    private(set) var pointer: OpaquePointer?

    init() {
        pointer = rd_kafka_conf_new()
        rd_kafka_conf_set_log_cb(pointer, KafkaLog.callback)
    }

    deinit {
        if let pointer { rd_kafka_conf_destroy(pointer) }
    }

    func set(_ key: String, _ value: String) throws(KafkaError) {
        let failure: String? = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { reason in
            reason[0] = 0
            let result = rd_kafka_conf_set(pointer, key, value, reason.baseAddress, reason.count)
            return result == RD_KAFKA_CONF_OK ? nil : String(cString: reason.baseAddress!)
        }
        if let failure {
            // An unknown name says nothing about its value, which may be a password under a mistyped key.
            var size = 0
            let known = rd_kafka_conf_get(pointer, key, nil, &size) != RD_KAFKA_CONF_UNKNOWN
            throw KafkaError(
                code: .invalidProperty,
                message: "cannot set Kafka property \(known ? Secrets.shownKafkaProperty(key, value) : key): \(failure); "
                    + "check the name and value against librdkafka's CONFIGURATION.md (-X key=value)"
            )
        }
    }

    /// Lets librdkafka pass `context` back to C callbacks; the caller keeps `context` alive longer than the handle.
    func setOpaque(_ context: AnyObject) {
        rd_kafka_conf_set_opaque(pointer, Unmanaged.passUnretained(context).toOpaque())
    }

    /// Gives up ownership (to `rd_kafka_new`, which frees it on success).
    func release() -> OpaquePointer? {
        defer { pointer = nil }
        return pointer
    }
}
