import CNCurses
import Glibc

/// The curses session could not start: standard input/output are not a terminal, or TERM names none curses knows.
package struct CursesError: Error, CustomStringConvertible, Sendable {
    package enum Code: Sendable {
        case noTerminal
    }

    package var code: Code
    package var description: String
}

/// What the user did, as the dashboard sees it.
package enum ScreenInput: Sendable, Hashable {
    case key(DashboardKey)
    /// The terminal changed size; curses has already resized its screen.
    case resize(TerminalSize)
}

/// The curses session on the process's own terminal: THE only code of speedo that calls curses.
///
/// curses is global, single-threaded state, so a screen is made, used and closed on one thread (it is not
/// `Sendable`). Drawing erases and rewrites the whole frame and curses sends the terminal only what changed,
/// in one update, so nothing flickers. `close()` (also run by `deinit`) restores the terminal; while the
/// screen is open, a crash (SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE, SIGTRAP) restores it too before the
/// process dies the way it would have.
package final class CursesScreen {
    package let capabilities: TerminalCapabilities
    private var session: OpaquePointer?
    private let window: UnsafeMutablePointer<WINDOW>
    private let pairs: [ColorRole: Int16]

    /// Starts curses on stdin/stdout, with `TERM` from the environment.
    package init() throws(CursesError) {
        // Exported sizes would freeze the screen at that size across resizes.
        unsetenv("LINES")
        unsetenv("COLUMNS")
        setlocale(LC_ALL, "")
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            throw CursesError(code: .noTerminal, description: "standard input and output must be a terminal")
        }
        // newterm, not initscr: initscr ends the process when the terminal is unknown.
        guard let session = speedo_newterm(), let window = speedo_stdscr() else {
            let name = getenv("TERM").map { String(cString: $0) } ?? "(unset)"
            throw CursesError(
                code: .noTerminal,
                description: "curses cannot drive the terminal TERM=\(name); set TERM to a known type (e.g. xterm-256color)")
        }
        self.session = session
        self.window = window
        cbreak()
        noecho()
        keypad(window, true)
        leaveok(window, true)
        curs_set(0)
        // Esc alone is a key here; curses would otherwise wait a second for the rest of an escape sequence.
        set_escdelay(25)

        let colors = Self.colorDepth()
        capabilities = TerminalCapabilities(unicode: Self.localeIsUTF8(), colors: colors)
        pairs = Self.definePairs(for: colors)
        FatalSignalRestore.install()
    }

    deinit { close() }

    /// Ends curses and gives the terminal back as it was; doing it twice is harmless.
    package func close() {
        guard let session else { return }
        FatalSignalRestore.uninstall()
        endwin()
        delscreen(session)
        self.session = nil
    }

    package var size: TerminalSize {
        TerminalSize(columns: Int(getmaxx(window)), rows: Int(getmaxy(window)))
    }

    /// Shows `frame`: lines beyond the screen are left out, the rest of the screen is blank.
    package func draw(_ frame: Frame) {
        guard session != nil else { return }
        werase(window)
        let rows = min(frame.lines.count, Int(getmaxy(window)))
        for (row, runs) in frame.lines.prefix(rows).enumerated() {
            wmove(window, Int32(row), 0)
            for run in runs {
                let style = run.style
                wattr_set(
                    window, speedo_attributes(style.bold ? 1 : 0, style.dim ? 1 : 0, style.reverse ? 1 : 0),
                    pairs[style.color] ?? 0, nil)
                // Writing into the bottom-right cell reports an error (the cursor cannot advance), yet draws.
                _ = waddnstr(window, run.text, -1)
            }
        }
        wattr_set(window, 0, 0, nil)
        wnoutrefresh(window)
        doupdate()
    }

    /// The next key or resize, waiting at most `timeoutMilliseconds`; nil when nothing came (or a key the
    /// dashboard has no use for).
    package func nextInput(timeoutMilliseconds: Int) -> ScreenInput? {
        guard session != nil else { return nil }
        wtimeout(window, Int32(clamping: timeoutMilliseconds))
        var code: wint_t = 0
        switch wget_wch(window, &code) {
        case KEY_CODE_YES:
            if Int32(code) == KEY_RESIZE { return .resize(size) }
            return Self.functionKeys[Int32(code)].map(ScreenInput.key)
        case OK:
            return Self.characterKey(code).map(ScreenInput.key)
        default:
            return nil
        }
    }

    private static let functionKeys: [Int32: DashboardKey] = [
        KEY_UP: .up, KEY_DOWN: .down, KEY_LEFT: .left, KEY_RIGHT: .right,
        KEY_PPAGE: .pageUp, KEY_NPAGE: .pageDown, KEY_HOME: .home, KEY_END: .end,
        KEY_ENTER: .enter, KEY_BACKSPACE: .backspace,
    ]

    private static func characterKey(_ code: wint_t) -> DashboardKey? {
        switch code {
        case 27: return .escape
        case 10, 13: return .enter
        case 8, 127: return .backspace
        case 0..<32: return nil
        default: return Unicode.Scalar(UInt32(code)).map { .character(Character($0)) }
        }
    }

    private static func localeIsUTF8() -> Bool {
        guard let codeset = nl_langinfo(nl_item(CODESET)) else { return false }
        let name = String(cString: codeset).uppercased()
        return name == "UTF-8" || name == "UTF8"
    }

    /// NO_COLOR (any value, see no-color.org) or a terminal without colours: none; 8 or 16: the ANSI colours.
    private static func colorDepth() -> TerminalCapabilities.Colors {
        guard getenv("NO_COLOR") == nil, has_colors(), start_color() == OK else { return .none }
        let count = speedo_colors()
        if count >= 256 { return .extended }
        return count >= 8 ? .basic : .none
    }

    /// One colour pair per role (pair 0, the terminal's own colours, for `.normal`), on the terminal's own
    /// background so that light and dark themes both work.
    private static func definePairs(for colors: TerminalCapabilities.Colors) -> [ColorRole: Int16] {
        guard colors != .none else { return [:] }
        let defaultBackground: Int16 = use_default_colors() == OK ? -1 : Int16(COLOR_BLACK)
        var pairs: [ColorRole: Int16] = [:]
        for (index, role) in ColorRole.allCases.enumerated() where role != .normal {
            let (foreground, background) = palette(role, colors)
            let pair = Int16(index)
            init_pair(pair, foreground, background ?? defaultBackground)
            pairs[role] = pair
        }
        return pairs
    }

    /// Foreground and background (nil: the terminal's) of a role at a colour depth; 256-colour entries are
    /// softer tones of the same hues.
    private static func palette(_ role: ColorRole, _ colors: TerminalCapabilities.Colors) -> (Int16, Int16?) {
        let extended = colors == .extended
        switch role {
        case .normal: return (-1, nil)
        case .slow: return (extended ? 114 : Int16(COLOR_GREEN), nil)
        case .cruising: return (extended ? 221 : Int16(COLOR_YELLOW), nil)
        case .fast: return (extended ? 203 : Int16(COLOR_RED), nil)
        case .accent: return (extended ? 75 : Int16(COLOR_CYAN), nil)
        case .muted: return (extended ? 245 : Int16(COLOR_WHITE), nil)
        case .alert: return (extended ? 231 : Int16(COLOR_WHITE), extended ? 160 : Int16(COLOR_RED))
        }
    }
}

/// Restores the terminal when the process crashes with curses active, then lets the crash go on as it would
/// have (to the previous handler: the Swift runtime's backtracer, or the default action). endwin is not
/// async-signal-safe: the process is dying anyway, and a terminal left in curses mode is the worse outcome.
private enum FatalSignalRestore {
    private static let signals: [Int32] = [SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE, SIGTRAP]

    /// The dispositions before ours, read once per process (the runtime's, which do not change) and never
    /// written again, so the handler can read them without a lock.
    private static let previous: [(signal: Int32, action: sigaction)] = signals.map { signal in
        var action = sigaction()
        sigaction(signal, nil, &action)
        return (signal, action)
    }

    static func install() {
        _ = previous
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            endwin()
            for entry in FatalSignalRestore.previous where entry.signal == signal {
                var action = entry.action
                sigaction(signal, &action, nil)
            }
            raise(signal)
        }
        sigemptyset(&action.sa_mask)
        // SA_NODEFER: the re-raised signal reaches the previous handler at once, from inside this one.
        action.sa_flags = Int32(SA_NODEFER)
        for signal in signals { sigaction(signal, &action, nil) }
    }

    static func uninstall() {
        for entry in previous {
            var action = entry.action
            sigaction(entry.signal, &action, nil)
        }
    }
}
