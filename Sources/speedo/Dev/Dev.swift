import ArgumentParser

struct Dev: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run the embedded local stack: a Kafka-protocol broker and a private PostgreSQL.",
        discussion: """
            The broker is librdkafka's mock cluster, served by a background speedo process; it keeps \
            records in memory only, so `dev down` forgets them. PostgreSQL is a private cluster from \
            Debian's postgresql package, reached over a unix socket; its data survives `dev down`. \
            Both live under $XDG_STATE_HOME/speedo (default ~/.local/state/speedo).

            While the stack runs, every other speedo command uses it when no broker or database is given:

              speedo dev up
              eval "$(speedo dev env)"    # for kcat, psql and your own tools
              speedo status
              speedo dev down
            """,
        subcommands: [DevUp.self, DevDown.self, DevStatus.self, DevEnv.self, ServeBroker.self]
    )
}
