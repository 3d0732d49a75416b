// SpeedoKafka: filled in by the foundation work.
