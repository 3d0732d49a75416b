import Foundation
import HTTPTypes
package import SpeedoCore
package import SpeedoHTTP

/// `GET /`, `/speedo.js` and `/speedo.css`: the live page, one document with its script and style beside it (no
/// framework, no build step, nothing from elsewhere), embedded in the binary from `Page/`. It draws the recent readings
/// from `GET /api/history` at once, then follows `/ws/speed`; the page's own query (`sensor`, `sensors`, `token`) is
/// passed on to both, so `http://HOST:PORT/?sensors=truck-*&token=…` shows only the trucks.
///
/// The script is served from its own path so that the Content-Security-Policy can forbid every inline script and
/// style, `eval`, and anything from another origin: a sensor id that holds markup stays text even if a bug let it
/// into the document.
package struct GatewayPage: Sendable {
    /// The paths the page is made of.
    package static let paths = ["/", "/speedo.js", "/speedo.css"]

    private let document: [UInt8]

    /// `staleAfter`: a card whose latest reading is older than this is dimmed; `window`: the span of a sparkline
    /// (the defaults are `watch`'s).
    package init(staleAfter: TimeSpan = .seconds(5), window: TimeSpan = .seconds(60)) {
        let settings = [
            ("{{slow-below}}", SpeedBand.slowBelow), ("{{cruising-below}}", SpeedBand.cruisingBelow),
            ("{{full-scale}}", SpeedBand.minimumFullScale), ("{{stale-after}}", staleAfter.seconds),
            ("{{window}}", window.seconds), ("{{history}}", GatewayRecentReadings.window.seconds),
            ("{{points}}", Double(GatewayRecentReadings.perSensor)),
        ]
        var text = String(decoding: PackageResources.index_html, as: UTF8.self)
        for (placeholder, value) in settings {
            var number: [UInt8] = []
            CanonicalJSON.appendNumber(value, to: &number)
            text = text.replacingOccurrences(of: placeholder, with: String(decoding: number, as: UTF8.self))
        }
        document = Array(text.utf8)
    }

    /// The answer for one of `paths`; nil for any other path.
    package func answer(path: String) -> HTTPAnswer? {
        let (body, type): ([UInt8], String)
        switch path {
        case "/": (body, type) = (document, "text/html; charset=utf-8")
        case "/speedo.js": (body, type) = (PackageResources.speedo_js, "text/javascript; charset=utf-8")
        case "/speedo.css": (body, type) = (PackageResources.speedo_css, "text/css; charset=utf-8")
        default: return nil
        }
        return HTTPReply.body(.ok, body, contentType: type, headers: Self.headers)
    }

    /// Scripts, styles and connections from this origin only (`'self'` covers ws: and wss: to it); images only the
    /// empty icon (`data:`); no frames, forms or base URL; no guessing of types; no referrer sent on.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        + "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    private static let headers: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!: contentSecurityPolicy,
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
        .cacheControl: "no-cache",
    ]
}
