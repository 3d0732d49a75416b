import SpeedoCore
import Testing

@Suite("Backoff")
struct BackoffTests {
    @Test("delays double from the initial one and stop at the cap")
    func exponentialWithCap() {
        let backoff = Backoff(initialDelay: .milliseconds(100), multiplier: 2, maximumDelay: .seconds(1), jitter: 0)
        let delays = (1...6).map { backoff.baseDelay(afterFailedAttempts: $0) }
        #expect(delays == [100, 200, 400, 800, 1000, 1000].map { Duration.milliseconds($0) })
    }

    @Test("without jitter the delay is the base delay")
    func noJitter() {
        let backoff = Backoff(initialDelay: .milliseconds(250), multiplier: 3, maximumDelay: .seconds(10), jitter: 0,
                              maximumAttempts: nil)
        var random = SplitMix64(seed: 1)
        #expect(backoff.delay(afterFailedAttempts: 3, elapsed: .zero, using: &random) == .milliseconds(2250))
    }

    @Test("jitter stays within the fraction below the base delay and is reproducible by seed")
    func jitterBounds() {
        let backoff = Backoff(initialDelay: .milliseconds(100), multiplier: 2, maximumDelay: .seconds(2), jitter: 0.5,
                              maximumAttempts: nil)
        var first = SplitMix64(seed: 42)
        var second = SplitMix64(seed: 42)
        var other = SplitMix64(seed: 7)
        var sequence: [Duration] = []
        for attempt in 1...200 {
            let failed = attempt % 8 + 1
            let base = backoff.baseDelay(afterFailedAttempts: failed)
            let delay = try! #require(backoff.delay(afterFailedAttempts: failed, elapsed: .zero, using: &first))
            #expect(delay <= base && delay >= base * 0.5)
            #expect(backoff.delay(afterFailedAttempts: failed, elapsed: .zero, using: &second) == delay)
            sequence.append(delay)
        }
        let otherSequence = (1...200).map {
            backoff.delay(afterFailedAttempts: $0 % 8 + 1, elapsed: .zero, using: &other)!
        }
        #expect(sequence != otherSequence)
        #expect(Set(sequence).count > 100, "jitter should spread the delays")
    }

    @Test("gives up after the maximum number of attempts")
    func maximumAttempts() {
        let backoff = Backoff(maximumAttempts: 3)
        #expect(backoff.delay(afterFailedAttempts: 1, elapsed: .zero) != nil)
        #expect(backoff.delay(afterFailedAttempts: 2, elapsed: .zero) != nil)
        #expect(backoff.delay(afterFailedAttempts: 3, elapsed: .zero) == nil)
    }

    @Test("the deadline shortens the last wait and then ends the retries")
    func deadline() {
        let backoff = Backoff(initialDelay: .seconds(1), maximumDelay: .seconds(4), jitter: 0, maximumAttempts: nil,
                              deadline: .seconds(10))
        #expect(backoff.delay(afterFailedAttempts: 3, elapsed: .seconds(2)) == .seconds(4))
        #expect(backoff.delay(afterFailedAttempts: 3, elapsed: .milliseconds(9_900)) == .milliseconds(100))
        #expect(backoff.delay(afterFailedAttempts: 3, elapsed: .seconds(10)) == nil)
        #expect(backoff.delay(afterFailedAttempts: 50, elapsed: .seconds(11)) == nil)
    }

    @Test("huge attempt counts neither overflow nor exceed the cap")
    func noOverflow() {
        let backoff = Backoff(initialDelay: .seconds(1), multiplier: 10, maximumDelay: .seconds(30), jitter: 0)
        #expect(backoff.baseDelay(afterFailedAttempts: 10_000) == .seconds(30))
    }
}
