// SpeedoTUI: filled in by the foundation work.
