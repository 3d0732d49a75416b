// The vocabulary shared by the dashboard's three parts: the feed (Kafka → readings), the model (pure: state,
// layout, frames) and the screen (the only code calling curses). The model never sees curses and the screen
// never sees Kafka, so each is tested on its own.

/// What the status line says about where the data comes from.
package struct FeedStatus: Sendable, Hashable {
    package enum Connection: Sendable, Hashable {
        case connecting
        /// Caught up with the topic once (back-fill done); following it.
        case live
        /// The broker cannot be reached; the feed keeps retrying. The reason is shown in a banner.
        case unreachable(reason: String)
    }

    package var brokers: String
    package var topic: String
    package var connection: Connection
    /// Readings taken off the topic per second, over the last few seconds.
    package var readingsPerSecond: Double
    /// Time from a record's broker timestamp to its arrival in the feed, over the last few seconds
    /// (nil until something arrived).
    package var lagP50Milliseconds: Double?
    package var lagP99Milliseconds: Double?

    package init(
        brokers: String, topic: String, connection: Connection = .connecting, readingsPerSecond: Double = 0,
        lagP50Milliseconds: Double? = nil, lagP99Milliseconds: Double? = nil
    ) {
        self.brokers = brokers
        self.topic = topic
        self.connection = connection
        self.readingsPerSecond = readingsPerSecond
        self.lagP50Milliseconds = lagP50Milliseconds
        self.lagP99Milliseconds = lagP99Milliseconds
    }
}

/// A key press, already decoded from curses' key codes.
package enum DashboardKey: Sendable, Hashable {
    case character(Character)
    case up, down, left, right
    case pageUp, pageDown, home, end
    case enter, escape, backspace
}

package struct TerminalSize: Sendable, Hashable {
    package var columns: Int
    package var rows: Int
}

/// What the terminal can show: the screen finds out (locale, `NO_COLOR`, `COLORS`); `--once` is plain.
package struct TerminalCapabilities: Sendable, Hashable {
    package enum Colors: Sendable, Hashable, Comparable {
        case none
        /// The eight ANSI colours.
        case basic
        /// 256 colours or more.
        case extended
    }

    /// UTF-8 locale: block, braille and box-drawing characters; otherwise ASCII only.
    package var unicode: Bool
    package var colors: Colors

    /// `watch --once` and other non-interactive output.
    package static let plainText = TerminalCapabilities(unicode: true, colors: .none)
}

/// The meaning of a colour, not the colour: the screen maps roles to what the terminal has.
package enum ColorRole: Sendable, Hashable, CaseIterable {
    case normal
    /// Speed gauge bands, from the thresholds.
    case slow, cruising, fast
    case accent
    case muted
    case alert
}

package struct TextStyle: Sendable, Hashable {
    package var color: ColorRole
    package var bold: Bool
    package var dim: Bool
    package var reverse: Bool

    package init(color: ColorRole = .normal, bold: Bool = false, dim: Bool = false, reverse: Bool = false) {
        (self.color, self.bold, self.dim, self.reverse) = (color, bold, dim, reverse)
    }

    package static let plain = TextStyle()
}

/// Text in one style. The text is already safe to draw: no control, bidi or zero-width characters.
package struct StyledRun: Sendable, Hashable {
    package var text: String
    package var style: TextStyle

    package init(_ text: String, _ style: TextStyle = .plain) {
        (self.text, self.style) = (text, style)
    }
}

/// One whole screen: `lines.count == size.rows`, and each line's runs fill exactly `size.columns` display
/// cells. The screen draws it as it is; `--once` prints `plainText`.
package struct Frame: Sendable, Hashable {
    package var size: TerminalSize
    package var lines: [[StyledRun]]

    package init(size: TerminalSize, lines: [[StyledRun]]) {
        (self.size, self.lines) = (size, lines)
    }

    /// The frame without styles, trailing blanks of each line and trailing empty lines removed.
    package var plainText: String {
        var rows = lines.map { runs in
            String(runs.map(\.text).joined().reversed().drop { $0 == " " }.reversed())
        }
        while rows.last?.isEmpty == true { rows.removeLast() }
        return rows.joined(separator: "\n") + "\n"
    }
}
