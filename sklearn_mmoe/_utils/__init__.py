"""Plain helpers every layer may use: the registry of variants, warnings that
point at the caller, work spread over threads, checks of plain values."""
