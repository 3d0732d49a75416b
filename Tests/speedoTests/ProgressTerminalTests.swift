import Foundation
import SpeedoKafka
import SpeedoTestSupport
import Testing

/// The progress lines of long work in a real terminal (tmux): `ingest` of a large file and `replay` of a long range
/// show how far they are and their rate while they run, and leave only their summary behind.
@Suite(.serialized, .programTurnsAhead) struct ProgressTerminalTests {
    /// Enough for the debug build to take a few seconds each way (the line appears after a second).
    private static let lineCount = 400_000

    @Test func ingestAndReplayShowTheirProgressWhileTheyRun() async throws {
        let cluster = try MockCluster()
        // Eight partitions: the mock cluster keeps only about 5 MB of each.
        try cluster.createTopic(name: "progress", partitions: 8)
        let files = try TemporaryDirectory()
        let input = files.path + "/readings.ndjson"
        let lines = (0..<Self.lineCount).map { index in
            #"{"sensor_id":"sensor-\#(index % 20)","speed":\#(Double(index % 1_800) / 10),"ts":\#(1_700_000_000 + index / 10).\#(index % 10)}"#
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)

        let ingestTranscript = files.path + "/ingest.transcript"
        let ingestPane = try TmuxPane(command: shellCommand(
            ["ingest", "-b", cluster.bootstrapServers, "-t", "progress", input], files),
            transcript: ingestTranscript, columns: 240)
        defer { ingestPane.killServer() }
        await #expect(try ingestPane.waitForExitStatus(files, timeout: .seconds(120)) == "0")
        let after = try ingestPane.capture()
        let grouped = Self.lineCount.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))
        #expect(after.contains("speedo ingest: \(grouped) lines read, \(grouped) published"), "\(after)")
        #expect(TmuxPane.rows(after).filter { !$0.isEmpty }.count == 1, "the progress line was not cleared:\n\(after)")
        let ingestDrawings = try TmuxPane.statusLineDrawings(ingestTranscript)
        #expect(ingestDrawings.contains { drawing in
            !drawing.hasPrefix("speedo ingest: ") && drawing.contains(" lines read, ") && drawing.contains(" published, ")
                && drawing.contains(" rejected, ") && drawing.hasSuffix(" lines/s")
        }, "no progress line was drawn: \(ingestDrawings)")

        try FileManager.default.removeItem(atPath: files.path + "/status")
        let replayTranscript = files.path + "/replay.transcript"
        let replayPane = try TmuxPane(command: shellCommand(
            ["replay", "-b", cluster.bootstrapServers, "-t", "progress", "--since", "2023-11-14T00:00:00Z",
             "--until", "2023-11-16T00:00:00Z", "--to", "stdout"], files, standardOutput: "/dev/null"),
            transcript: replayTranscript)
        defer { replayPane.killServer() }
        await #expect(try replayPane.waitForExitStatus(files, timeout: .seconds(120)) == "0")
        let replayed = try replayPane.capture()
        #expect(!replayed.contains(" s left"), "the progress line was not cleared:\n\(replayed)")
        let replayDrawings = try TmuxPane.statusLineDrawings(replayTranscript)
        #expect(replayDrawings.contains { drawing in
            drawing.hasPrefix("speedo replay: ") && drawing.contains(" of \(grouped) records, ") && drawing.hasSuffix(" s left")
        }, "no progress line was drawn: \(replayDrawings)")
    }

    /// A pane's command: speedo with stderr on the terminal, its exit status written to `status` in `files`.
    private func shellCommand(_ arguments: [String], _ files: TemporaryDirectory, standardOutput: String? = nil) -> String {
        let quoted = ([SpeedoBinary.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let output = standardOutput.map { " >'\($0)'" } ?? ""
        return "env -u SPEEDO_BROKERS -u SPEEDO_TOPIC XDG_STATE_HOME=/nonexistent \(quoted)\(output);"
            + " echo $? >'\(files.path)/status'; exec sleep 120"
    }
}
