import SpeedoCore

/// Text measured in terminal cells: the one place where untrusted text is made drawable and where runs are
/// cut or padded to a width, so that every line of a frame is exactly as wide as the screen.
enum CellText {
    /// `text` with every control, escape, bidi, zero-width or otherwise invisible character replaced by a
    /// visible escape (`\u{1B}`, `\n`, …), so that it can only occupy the cells DisplayWidth says; `ascii`
    /// escapes every non-ASCII character as well.
    static func sanitized(_ text: String, ascii: Bool = false) -> String {
        EscapedText.escape(text, limit: .max, asciiOnly: ascii)
    }

    /// `runs` cut or padded (with spaces in `fill`) to exactly `width` cells. A cut run ends with `ellipsis`
    /// when one is given; a wide character that would straddle the edge is left out and its cell padded.
    static func fit(
        _ runs: [StyledRun], width: Int, ellipsis: String? = nil, fill: TextStyle = .plain
    ) -> [StyledRun] {
        let width = max(0, width)
        var fitted: [StyledRun] = []
        fitted.reserveCapacity(runs.count + 1)
        var used = 0
        for run in runs where !run.text.isEmpty {
            let runWidth = DisplayWidth.of(run.text)
            if used + runWidth <= width {
                fitted.append(run)
                used += runWidth
                continue
            }
            // This run crosses the edge: cut it, keeping cells for the ellipsis.
            let marker = ellipsis.map { (text: $0, width: DisplayWidth.of($0)) }
            let budget = width - used - (marker.map { $0.width } ?? 0)
            var kept = ""
            var keptWidth = 0
            for character in run.text {
                let characterWidth = DisplayWidth.of(String(character))
                if keptWidth + characterWidth > budget { break }
                kept.append(character)
                keptWidth += characterWidth
            }
            if !kept.isEmpty { fitted.append(StyledRun(kept, run.style)) }
            used += keptWidth
            if let marker, used + marker.width <= width {
                fitted.append(StyledRun(marker.text, run.style))
                used += marker.width
            }
            break
        }
        if used < width { fitted.append(StyledRun(String(repeating: " ", count: width - used), fill)) }
        return fitted
    }

    static func width(of runs: [StyledRun]) -> Int { runs.reduce(0) { $0 + DisplayWidth.of($1.text) } }

    /// `runs` centred in `width` cells (cut when wider).
    static func centred(_ runs: [StyledRun], width: Int, ellipsis: String? = nil) -> [StyledRun] {
        let margin = max(0, (width - Self.width(of: runs)) / 2)
        return fit([StyledRun(String(repeating: " ", count: margin))] + runs, width: width, ellipsis: ellipsis)
    }
}

/// The characters a frame is drawn with: block, braille and box-drawing characters on a UTF-8 terminal,
/// ASCII otherwise (so an ASCII frame contains nothing else).
struct Glyphs: Sendable {
    let unicode: Bool
    let ellipsis: String
    let separator: String
    let times: String
    let dash: String
    /// Gauge: a full cell, then the partial cells by eighths (index 1 = one eighth).
    let gaugeFull: Character
    let gaugeEighths: [Character]
    let gaugeEnds: (left: String, right: String)
    /// Sparkline levels, lowest first.
    let sparkLevels: [Character]
    let axis: (tick: String, corner: String, horizontal: Character)
    let warning: String

    /// Untrusted text made drawable with these glyphs.
    func safe(_ text: String) -> String { CellText.sanitized(text, ascii: !unicode) }

    /// Each glyph as drawn on a UTF-8 terminal, then its ASCII stand-in.
    init(unicode: Bool) {
        self.unicode = unicode
        func either<Glyph>(_ drawn: Glyph, _ ascii: Glyph) -> Glyph { unicode ? drawn : ascii }
        ellipsis = either("…", "~")
        separator = either(" · ", " | ")
        times = either("×", "x")
        dash = either("–", "-")
        warning = either("⚠", "!")
        gaugeFull = either("█", "=")
        gaugeEighths = either([" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"], [" ", " ", " ", " ", "-", "-", "-", "-"])
        gaugeEnds = either(("▕", "▏"), ("[", "]"))
        sparkLevels = either(["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"], ["_", ".", "-", "~", "=", "+", "*", "#"])
        axis = either((" ┤", "└", "─"), (" |", "+", "-"))
    }
}
