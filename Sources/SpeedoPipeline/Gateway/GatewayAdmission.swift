import HTTPTypes
import Hummingbird
package import HummingbirdCore
package import SpeedoCore
package import SpeedoHTTP

/// What one WebSocket client asked for in its query: which sensors, and in which form.
package struct GatewaySubscription: Sendable, Equatable {
    package enum Format: String, Sendable {
        /// The `speed-latest` value: `{"sensor_id":…,"speed":…,"ts":…,"window_s":…,"count":…,"min":…,"avg":…,"max":…}`.
        case json
        /// The bare speed, e.g. `42.5`: always a number, for the simplest pages (the seed's "0 km/h" bug came from
        /// a payload that was not one).
        case number
    }

    /// Sensors named with `sensor=`; with no `sensors=` either, every sensor is selected.
    package var sensorIDs: Set<String> = []
    package var glob: SensorGlob?
    package var format = Format.json
    /// `GET /api/history` only (`since=`): how far back, at most `GatewayRecentReadings.window`.
    package var lookBack = GatewayRecentReadings.window

    package func selects(_ sensorID: String) -> Bool {
        (sensorIDs.isEmpty && glob == nil) || sensorIDs.contains(sensorID) || glob?.matches(sensorID) == true
    }
}

/// Decides, before a WebSocket upgrade, whether `GET /ws/speed` may proceed, and with which subscription: the
/// Host and Origin (421, 403: `HTTPHostPolicy`), the bearer token (401) and the query (400), in that order. The same
/// answer is given to the upgrade (which goes ahead only when admitted) and to the plain HTTP response a refused client
/// gets. `GET /api/history` is admitted the same way, with `since=` instead of `format=`.
package struct GatewayAdmission: Sendable {
    package static let path = "/ws/speed"
    /// The recent readings, for the page to draw what happened before it opened.
    package static let historyPath = "/api/history"

    package let authentication: BearerTokenCheck
    package let hosts: HTTPHostPolicy

    package init(authentication: BearerTokenCheck, hosts: HTTPHostPolicy) {
        (self.authentication, self.hosts) = (authentication, hosts)
    }

    /// `host` is the request's Host (its authority).
    package func admit(uri: URI, authorization: String?, origin: String?, host: String?) -> Result<GatewaySubscription, HTTPRefusal> {
        if let refusal = hosts.refusal(host: host, origin: origin) { return .failure(refusal) }
        let parameters = uri.queryParameters
        if let refusal = authentication.refusal(authorization: authorization, queryToken: parameters["token"]) {
            return .failure(refusal)
        }
        return Self.subscription(parameters, history: uri.path == Self.historyPath)
    }

    /// The message says what was wrong and what is accepted.
    private static func subscription(
        _ parameters: FlatDictionary<Substring, Substring>, history: Bool
    ) -> Result<GatewaySubscription, HTTPRefusal> {
        let usage = "use sensor=ID (repeatable), sensors=GLOB (e.g. sensors=truck-*), "
            + (history ? "since=DURATION (e.g. since=60s, at most \(GatewayRecentReadings.window))" : "format=json|number")
            + " and token=TOKEN"
        func failure(_ message: String) -> Result<GatewaySubscription, HTTPRefusal> {
            .failure(HTTPRefusal(status: .badRequest, code: "bad-query", message: message))
        }
        var subscription = GatewaySubscription()
        let givenOnce: Set<Substring> = history ? ["sensors", "since", "token"] : ["sensors", "format", "token"]
        var seen: Set<Substring> = []
        for (name, value) in parameters {
            switch name {
            case "sensor":
                do throws(Rejection) {
                    subscription.sensorIDs.insert(try Reading.validatedSensorID(String(value)))
                } catch {
                    return failure("sensor=\(EscapedText.escape(String(value))) is not a sensor id: the id \(error.rule)")
                }
            case _ where givenOnce.contains(name):
                guard seen.insert(name).inserted else { return failure("\(name)= may be given only once; \(usage)") }
                if name == "sensors" {
                    guard let glob = SensorGlob(String(value)) else {
                        return failure("sensors= needs a pattern such as truck-* or a-?,b-*; \(usage)")
                    }
                    subscription.glob = glob
                } else if name == "since" {
                    guard let span = try? TimeSpan.parse(String(value)), span.microseconds > 0,
                        span <= GatewayRecentReadings.window
                    else {
                        return failure("since=\(EscapedText.escape(String(value))) is not a duration from 1ms to "
                            + "\(GatewayRecentReadings.window) (e.g. since=60s)")
                    }
                    subscription.lookBack = span
                } else if name == "format" {
                    guard let format = GatewaySubscription.Format(rawValue: String(value)) else {
                        return failure("format=\(EscapedText.escape(String(value))) is not known: use format=json or format=number")
                    }
                    subscription.format = format
                }
            default:
                return failure("unknown query parameter \(EscapedText.quoted(String(name))); \(usage)")
            }
        }
        if subscription.format == .number && (subscription.sensorIDs.count != 1 || subscription.glob != nil) {
            return failure("format=number sends one bare number per update, so it needs exactly one sensor=ID and no sensors=")
        }
        return .success(subscription)
    }
}
