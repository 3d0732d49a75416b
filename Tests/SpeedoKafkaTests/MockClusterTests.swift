import Foundation
import SpeedoKafka
import SpeedoRuntime
import Synchronization
import Testing

@Suite("Mock cluster")
struct MockClusterTests {
    /// Setting a broker down rebinds its port at once; a child spawned meanwhile by another thread holds a copy of the
    /// old listener until it execs, the bind fails, and librdkafka aborts the whole process. Without `SpawnTurns` this
    /// aborted within a few cycles here.
    @Test func aBrokerSetDownAndUpWhileProgramsStartKeepsItsPort() async throws {
        let cluster = try MockCluster()
        let address = cluster.bootstrapServers
        let stop = Atomic(false)
        let spawned = Atomic(0)
        let spawners = (0..<2).map { _ in
            Thread {
                while !stop.load(ordering: .relaxed) {
                    if (try? ChildProcess(executable: "/bin/true", arguments: []).run())?.status == 0 {
                        spawned.add(1, ordering: .relaxed)
                    }
                    usleep(500)
                }
            }
        }
        spawners.forEach { $0.start() }
        defer { stop.store(true, ordering: .relaxed) }
        for _ in 0..<50 {
            try cluster.setBroker(1, up: false)
            try cluster.setBroker(1, up: true)
        }
        stop.store(true, ordering: .relaxed)
        #expect(spawned.load(ordering: .relaxed) > 0)
        #expect(cluster.bootstrapServers == address)
        // Still a broker, reachable on the same port.
        try KafkaAdmin(configuration: configuration(cluster)).waitForBrokers(timeout: .seconds(10))
    }
}
