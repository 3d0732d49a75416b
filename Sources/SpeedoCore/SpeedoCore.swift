// SpeedoCore: filled in by the foundation work.
